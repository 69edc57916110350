"""Evidence entry points: the gRPC servicer."""
