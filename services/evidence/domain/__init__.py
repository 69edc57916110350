"""Evidence domain: what an evidence item is and the rules an upload must satisfy.
Plain Python only (no SQLAlchemy, gRPC, S3 or Pillow imports)."""
