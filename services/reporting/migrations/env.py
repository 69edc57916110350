"""Alembic environment for the ``reporting`` schema (see services.common.alembic_env)."""

from services.common.alembic_env import run_migrations
from services.reporting.adapters.orm import metadata

run_migrations(metadata)
