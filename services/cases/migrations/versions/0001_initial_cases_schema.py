"""Initial cases schema: assessment roll (properties), zones, officers, cases with their
complaints, status history and assignments, per-year case number counters, the
append-only audit log and the outbox.

Hand-checked against services/cases/adapters/orm.py (a test compares them). Status names
are spelled out here, not imported: a migration must not change when the code does.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ALL_STATUSES = (
    "status IN ('awaiting_compliance', 'awaiting_council_approval', 'closed', 'complied', "
    "'escalated', 'notice_issued', 'received', 'referred', 'reinspection', 'rejected', "
    "'remediation', 'under_investigation')"
)
# A case in these statuses absorbs new complaints (policy 6.6.5); at most one per key+code.
OPEN_STATUSES = (
    "status IN ('awaiting_compliance', 'awaiting_council_approval', 'escalated', "
    "'notice_issued', 'received', 'reinspection', 'remediation', 'under_investigation')"
)


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("actor_subject", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("case_number", sa.String(length=32), nullable=True),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        schema="cases",
    )
    op.create_index(
        op.f("ix_cases_audit_log_case_number"), "audit_log", ["case_number"], unique=False, schema="cases"
    )
    op.create_table(
        "case_number_counters",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_case_number_counters")),
        schema="cases",
    )
    op.create_table(
        "officers",
        sa.Column("officer_id", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("badge_number", sa.String(length=64), server_default="", nullable=False),
        sa.Column("department", sa.String(length=8), nullable=False),
        sa.Column("specialties", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("zone_codes", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("officer_id", name=op.f("pk_officers")),
        schema="cases",
    )
    op.create_table(
        "outbox",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("msg_id", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outbox")),
        sa.UniqueConstraint("msg_id", name=op.f("uq_outbox_msg_id")),
        schema="cases",
    )
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["seq"],
        unique=False,
        schema="cases",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "properties",
        sa.Column("roll_number", sa.String(length=19), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("address_key", sa.Text(), nullable=False),
        sa.Column("street_line", sa.Text(), nullable=False),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.Column("lon", sa.Double(), nullable=True),
        sa.Column("owner_name", sa.Text(), server_default="", nullable=False),
        sa.Column("owner_mailing_address", sa.Text(), server_default="", nullable=False),
        sa.Column("zone_code", sa.String(length=64), server_default="", nullable=False),
        sa.Column("land_use", sa.String(length=64), server_default="", nullable=False),
        sa.Column("ward", sa.String(length=64), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("roll_number ~ '^[0-9]{19}$'", name=op.f("ck_properties_roll_number_format")),
        sa.PrimaryKeyConstraint("roll_number", name=op.f("pk_properties")),
        schema="cases",
    )
    op.create_index("ix_properties_lat_lon", "properties", ["lat", "lon"], unique=False, schema="cases")
    op.create_index("ix_properties_street_line", "properties", ["street_line"], unique=False, schema="cases")
    op.create_table(
        "zones",
        sa.Column("zone_code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("geojson", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("zone_code", name=op.f("pk_zones")),
        schema="cases",
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("case_number", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("priority_rank", sa.SmallInteger(), nullable=False),
        sa.Column("service_code", sa.String(length=100), nullable=False),
        sa.Column("bylaw_number", sa.String(length=32), server_default="", nullable=False),
        sa.Column("matrix_version", sa.String(length=64), server_default="", nullable=False),
        sa.Column("enforced_by", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("location_address", sa.Text(), server_default="", nullable=False),
        sa.Column("location_address_id", sa.String(length=64), server_default="", nullable=False),
        sa.Column("location_postal_code", sa.String(length=16), server_default="", nullable=False),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.Column("lon", sa.Double(), nullable=True),
        sa.Column("property_roll_number", sa.String(length=19), nullable=True),
        sa.Column("match_method", sa.String(length=16), server_default="", nullable=False),
        sa.Column("match_distance_m", sa.Double(), server_default="0", nullable=False),
        sa.Column("dedupe_kind", sa.String(length=8), nullable=False),
        sa.Column("dedupe_key", sa.Text(), nullable=False),
        sa.Column("zone_code", sa.String(length=64), server_default="", nullable=False),
        sa.Column("assigned_officer_id", sa.String(length=64), server_default="", nullable=False),
        sa.Column("complaint_count", sa.Integer(), server_default="1", nullable=False),
        sa.Column("restricted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("status_reason", sa.Text(), server_default="", nullable=False),
        sa.Column("outcome", sa.String(length=32), server_default="", nullable=False),
        sa.Column("summary", sa.Text(), server_default="", nullable=False),
        sa.Column("channel", sa.String(length=32), server_default="", nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("compliance_confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "dedupe_kind IN ('roll', 'address', 'gps')", name=op.f("ck_cases_dedupe_kind_known")
        ),
        sa.CheckConstraint(
            ALL_STATUSES,
            name=op.f("ck_cases_status_known"),
        ),
        sa.CheckConstraint("complaint_count >= 1", name=op.f("ck_cases_complaint_count_positive")),
        sa.CheckConstraint("priority_rank IN (1, 2, 3)", name=op.f("ck_cases_priority_rank_known")),
        sa.ForeignKeyConstraint(
            ["property_roll_number"],
            ["cases.properties.roll_number"],
            name=op.f("fk_cases_property_roll_number_properties"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("case_number", name=op.f("uq_cases_case_number")),
        schema="cases",
    )
    op.create_index(
        "ix_cases_assigned_officer_id", "cases", ["assigned_officer_id"], unique=False, schema="cases"
    )
    op.create_index(
        "ix_cases_dedupe_recent",
        "cases",
        ["dedupe_key", "service_code", "received_at"],
        unique=False,
        schema="cases",
    )
    op.create_index(
        "ix_cases_gps",
        "cases",
        ["service_code", "lat", "lon"],
        unique=False,
        schema="cases",
        postgresql_where=sa.text("dedupe_kind = 'gps'"),
    )
    op.create_index(
        "ix_cases_queue",
        "cases",
        ["priority_rank", "received_at", "case_number"],
        unique=False,
        schema="cases",
    )
    op.create_index("ix_cases_status", "cases", ["status"], unique=False, schema="cases")
    op.create_index(
        "uq_cases_open_dedupe",
        "cases",
        ["dedupe_key", "service_code"],
        unique=True,
        schema="cases",
        postgresql_where=sa.text(OPEN_STATUSES),
    )
    op.create_table(
        "case_assignments",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("step_key", sa.String(length=200), nullable=False),
        sa.Column("officer_id", sa.String(length=64), nullable=False),
        sa.Column("previous_officer_id", sa.String(length=64), server_default="", nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("actor_subject", sa.String(length=200), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.cases.id"], name=op.f("fk_case_assignments_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_assignments")),
        sa.UniqueConstraint("case_id", "step_key", name="uq_case_assignments_case_step"),
        schema="cases",
    )
    op.create_table(
        "case_complaints",
        sa.Column("complaint_id", sa.String(length=128), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("disposition", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=32), server_default="", nullable=False),
        sa.Column("match_method", sa.String(length=16), server_default="", nullable=False),
        sa.Column("match_roll_number", sa.String(length=19), nullable=True),
        sa.Column("match_distance_m", sa.Double(), server_default="0", nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "disposition IN ('created', 'joined', 'repeat_after_compliance')",
            name=op.f("ck_case_complaints_disposition_known"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.cases.id"], name=op.f("fk_case_complaints_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["match_roll_number"],
            ["cases.properties.roll_number"],
            name=op.f("fk_case_complaints_match_roll_number_properties"),
        ),
        sa.PrimaryKeyConstraint("complaint_id", name=op.f("pk_case_complaints")),
        schema="cases",
    )
    op.create_index(
        op.f("ix_cases_case_complaints_case_id"), "case_complaints", ["case_id"], unique=False, schema="cases"
    )
    op.create_table(
        "status_history",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("step_key", sa.String(length=200), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=False),
        sa.Column("to_status", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("outcome", sa.String(length=32), server_default="", nullable=False),
        sa.Column("actor_subject", sa.String(length=200), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.cases.id"], name=op.f("fk_status_history_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_history")),
        sa.UniqueConstraint("case_id", "step_key", name="uq_status_history_case_step"),
        schema="cases",
    )
    # The audit trail is append-only: rows can be added, never changed or removed.
    op.execute(
        """
        CREATE FUNCTION cases.audit_log_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'cases.audit_log is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON cases.audit_log "
        "FOR EACH ROW EXECUTE FUNCTION cases.audit_log_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON cases.audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION cases.audit_log_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_log_no_truncate ON cases.audit_log")
    op.execute("DROP TRIGGER audit_log_append_only ON cases.audit_log")
    op.execute("DROP FUNCTION cases.audit_log_append_only()")
    op.drop_table("status_history", schema="cases")
    op.drop_index(op.f("ix_cases_case_complaints_case_id"), table_name="case_complaints", schema="cases")
    op.drop_table("case_complaints", schema="cases")
    op.drop_table("case_assignments", schema="cases")
    op.drop_index(
        "uq_cases_open_dedupe",
        table_name="cases",
        schema="cases",
        postgresql_where=sa.text(OPEN_STATUSES),
    )
    op.drop_index("ix_cases_status", table_name="cases", schema="cases")
    op.drop_index("ix_cases_queue", table_name="cases", schema="cases")
    op.drop_index(
        "ix_cases_gps", table_name="cases", schema="cases", postgresql_where=sa.text("dedupe_kind = 'gps'")
    )
    op.drop_index("ix_cases_dedupe_recent", table_name="cases", schema="cases")
    op.drop_index("ix_cases_assigned_officer_id", table_name="cases", schema="cases")
    op.drop_table("cases", schema="cases")
    op.drop_table("zones", schema="cases")
    op.drop_index("ix_properties_street_line", table_name="properties", schema="cases")
    op.drop_index("ix_properties_lat_lon", table_name="properties", schema="cases")
    op.drop_table("properties", schema="cases")
    op.drop_index(
        "ix_outbox_unpublished",
        table_name="outbox",
        schema="cases",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.drop_table("outbox", schema="cases")
    op.drop_table("officers", schema="cases")
    op.drop_table("case_number_counters", schema="cases")
    op.drop_index(op.f("ix_cases_audit_log_case_number"), table_name="audit_log", schema="cases")
    op.drop_table("audit_log", schema="cases")
