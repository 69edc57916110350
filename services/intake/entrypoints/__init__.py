"""Intake entry points: the gRPC servicer, the 311 NATS consumer and background sweeps."""
