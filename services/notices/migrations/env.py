"""Alembic environment for the ``notices`` schema (see services.common.alembic_env)."""

from services.common.alembic_env import run_migrations
from services.notices.adapters.orm import metadata

run_migrations(metadata)
