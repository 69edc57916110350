"""Intake adapters: PostgreSQL tables and repositories, the vault cipher, the cases client
and the Temporal workflow starter."""
