"""Bootstrap shared by every service: settings, logging, errors, gRPC server, database,
outbox, NATS and Temporal helpers. Nothing here knows about a particular service."""
