"""Alembic environment for the ``intake`` schema (see services.common.alembic_env)."""

from services.common.alembic_env import run_migrations
from services.intake.adapters.orm import metadata

run_migrations(metadata)
