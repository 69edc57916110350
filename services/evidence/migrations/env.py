"""Alembic environment for the ``evidence`` schema (see services.common.alembic_env)."""

from services.common.alembic_env import run_migrations
from services.evidence.adapters.orm import metadata

run_migrations(metadata)
