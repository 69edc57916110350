"""Cases entry points: the gRPC servicer and its protobuf conversions."""
