"""Notices use cases: render (idempotent per case step), read, list, list templates."""
