"""Alembic environment for the ``cases`` schema (see services.common.alembic_env)."""

from services.cases.adapters.orm import metadata
from services.common.alembic_env import run_migrations

run_migrations(metadata)
