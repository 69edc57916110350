"""Intake use cases and the ports they need."""
