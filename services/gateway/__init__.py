"""The gateway: the system's only HTTP edge (FastAPI).

It serves Open311 GeoReport v2 to residents and the 311 system, the staff REST API behind
OIDC bearer tokens with role checks, and ``/healthz``; it holds no data of its own and talks
to the services only over gRPC (``protos/bylaw/v1``) and to Temporal for staff actions.
"""
