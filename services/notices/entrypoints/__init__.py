"""Notices entry points: the gRPC servicer."""
