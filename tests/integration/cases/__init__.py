"""Integration tests of the cases service against real PostgreSQL and NATS."""
