"""Reporting read model: processed-event ledger and fact tables.

Revision ID: 0001_read_model
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_read_model"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "reporting"
EVENT_ID = sa.String(100)
CASE = sa.String(64)
CODE = sa.String(64)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "processed_events",
        sa.Column("event_id", EVENT_ID, nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("case_number", CASE, nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("handled", sa.Boolean(), nullable=False),
        sa.Column("summary", sa.String(500), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("applied_at", TS, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_processed_events"),
        schema=SCHEMA,
    )
    op.create_index("ix_processed_events_occurred_at", "processed_events", ["occurred_at"], schema=SCHEMA)

    op.create_table(
        "cases",
        sa.Column("case_number", CASE, nullable=False),
        sa.Column("service_code", CODE, nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("zone_code", CODE, nullable=False),
        sa.Column("received_at", TS, nullable=True),
        sa.Column("restricted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("case_number", name="pk_cases"),
        schema=SCHEMA,
    )
    op.create_index("ix_cases_received_at", "cases", ["received_at"], schema=SCHEMA)

    op.create_table(
        "complaints",
        sa.Column("event_id", EVENT_ID, nullable=False),
        sa.Column("complaint_id", CODE, nullable=False),
        sa.Column("case_number", CASE, nullable=False),
        sa.Column("service_code", CODE, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_complaints"),
        schema=SCHEMA,
    )
    op.create_index("ix_complaints_received_at", "complaints", ["received_at"], schema=SCHEMA)
    op.create_index("ix_complaints_case_number", "complaints", ["case_number"], schema=SCHEMA)

    op.create_table(
        "status_changes",
        sa.Column("event_id", EVENT_ID, nullable=False),
        sa.Column("case_number", CASE, nullable=False),
        sa.Column("from_status", sa.String(32), nullable=False),
        sa.Column("to_status", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("service_code", CODE, nullable=False),
        sa.Column("case_received_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("event_id", name="pk_status_changes"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_status_changes_case_number_occurred_at",
        "status_changes",
        ["case_number", "occurred_at"],
        schema=SCHEMA,
    )
    op.create_index(
        "ix_status_changes_to_status_occurred_at",
        "status_changes",
        ["to_status", "occurred_at"],
        schema=SCHEMA,
    )

    op.create_table(
        "inspections",
        sa.Column("event_id", EVENT_ID, nullable=False),
        sa.Column("case_number", CASE, nullable=False),
        sa.Column("kind", CODE, nullable=False),
        sa.Column("inspected_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_inspections"),
        schema=SCHEMA,
    )
    op.create_index("ix_inspections_inspected_at", "inspections", ["inspected_at"], schema=SCHEMA)

    op.create_table(
        "enforcement_actions",
        sa.Column("event_id", EVENT_ID, nullable=False),
        sa.Column("case_number", CASE, nullable=False),
        sa.Column("method", CODE, nullable=False),
        sa.Column("service_code", CODE, nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_enforcement_actions"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_enforcement_actions_occurred_at", "enforcement_actions", ["occurred_at"], schema=SCHEMA
    )

    op.create_table(
        "emergency_actions",
        sa.Column("event_id", EVENT_ID, nullable=False),
        sa.Column("case_number", CASE, nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_emergency_actions"),
        schema=SCHEMA,
    )
    op.create_index("ix_emergency_actions_occurred_at", "emergency_actions", ["occurred_at"], schema=SCHEMA)


def downgrade() -> None:
    for table in (
        "emergency_actions",
        "enforcement_actions",
        "inspections",
        "status_changes",
        "complaints",
        "cases",
        "processed_events",
    ):
        op.drop_table(table, schema=SCHEMA)
