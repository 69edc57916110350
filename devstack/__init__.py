"""The embedded default: starts real PostgreSQL, NATS (JetStream), the Temporal dev server
and an S3-compatible server from PyPI wheels, then every service — for `make run` and for
the test suite's fixtures. Nothing here is imported by the services themselves."""
