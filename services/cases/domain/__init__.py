"""The cases domain: plain Python entities and rules (no SQLAlchemy, gRPC, NATS or Temporal).

``addresses`` normalises civic addresses, ``geo`` measures distances, ``properties`` is the
assessment roll, officers and zones, ``zones`` does point-in-polygon, ``cases`` holds the
case record and its rules, ``events`` the domain events published on NATS.
"""
