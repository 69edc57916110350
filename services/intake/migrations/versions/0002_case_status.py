"""Follow the case: each complaint keeps its case's status (from the cases service's
``case.status_changed`` events) so the public view closes when the case closes, and the
ids of the events already applied.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "complaints", sa.Column("case_status", sa.String(length=32), nullable=True), schema="intake"
    )
    op.add_column(
        "complaints", sa.Column("case_status_at", sa.DateTime(timezone=True), nullable=True), schema="intake"
    )
    op.create_table(
        "applied_events",
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_applied_events")),
        schema="intake",
    )


def downgrade() -> None:
    op.drop_table("applied_events", schema="intake")
    op.drop_column("complaints", "case_status_at", schema="intake")
    op.drop_column("complaints", "case_status", schema="intake")
