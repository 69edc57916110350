"""Unit tests of the cases service (domain, use cases with fakes, servicer, demo town)."""
