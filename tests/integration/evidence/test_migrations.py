"""The evidence migrations create exactly what the ORM models declare."""

from __future__ import annotations

from services.evidence.adapters.orm import metadata
from tests.integration.evidence.harness import migration_drift


def test_migrations_match_models(database_url: str) -> None:
    assert migration_drift("evidence", metadata, database_url) == []
