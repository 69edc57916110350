"""Reporting entry points: the gRPC servicer and the JetStream event consumer."""
