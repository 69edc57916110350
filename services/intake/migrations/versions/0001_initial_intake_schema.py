"""Initial intake schema: the Service Level Matrix versions and rows, Town closure days,
complaints (with the unique (source, external_request_id) idempotency constraint), the
encrypted complainant vault, the vault read audit, and the outbox.

Generated from services/intake/adapters/orm.py and checked by a test that compares the
migrated database with the models. The complaint number sequence is created by hand
(autogenerate does not see sequences).

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


def upgrade() -> None:
    op.execute(sa.schema.CreateSequence(sa.Sequence("complaint_number_seq", schema="intake", start=1)))
    op.create_table(
        "closure_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("declared_by", sa.String(length=200), nullable=False),
        sa.Column("declared_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_closure_days")),
        schema="intake",
    )
    op.create_table(
        "complaints",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "service_request_id",
            sa.String(length=24),
            server_default=sa.text(
                "'SR-' || to_char(now() AT TIME ZONE 'UTC', 'YYYY') || '-' || "
                "lpad(nextval('intake.complaint_number_seq')::text, 7, '0')"
            ),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=120), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("external_request_id", sa.String(length=100), nullable=True),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("entered_by", sa.String(length=200), nullable=False),
        sa.Column("service_code", sa.String(length=64), nullable=False),
        sa.Column("service_name", sa.String(length=300), nullable=False),
        sa.Column("bylaw_number", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("enforced_by", postgresql.ARRAY(sa.String(length=8)), nullable=False),
        sa.Column("matrix_version", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("address_id", sa.String(length=64), nullable=False),
        sa.Column("postal_code", sa.String(length=16), nullable=False),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.Column("lon", sa.Double(), nullable=True),
        sa.Column("media_url", sa.String(length=2000), nullable=False),
        sa.Column("verbal", sa.Boolean(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("restricted", sa.Boolean(), nullable=False),
        sa.Column("written_confirmation_required", sa.Boolean(), nullable=False),
        sa.Column("follow_up", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reason_code", sa.String(length=32), nullable=True),
        sa.Column("disposition", sa.String(length=32), nullable=True),
        sa.Column("case_number", sa.String(length=32), nullable=True),
        sa.Column("related_case_number", sa.String(length=32), nullable=True),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("property_roll_number", sa.String(length=32), nullable=False),
        sa.Column("referred_to", sa.String(length=200), nullable=False),
        sa.Column("service_notice", sa.Text(), nullable=False),
        sa.Column("acknowledgement_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("case_linked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("workflow_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "(state = 'done') = (outcome IS NOT NULL)", name=op.f("ck_complaints_done_has_outcome")
        ),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('new_case', 'joined_case', 'referred', 'rejected')",
            name=op.f("ck_complaints_outcome"),
        ),
        sa.CheckConstraint("state IN ('received', 'case_linked', 'done')", name=op.f("ck_complaints_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
        sa.UniqueConstraint("service_request_id", name=op.f("uq_complaints_service_request_id")),
        sa.UniqueConstraint("source", "external_request_id", name="uq_complaints_source_external_request_id"),
        schema="intake",
    )
    op.create_index("ix_complaints_case_number", "complaints", ["case_number"], unique=False, schema="intake")
    op.create_index(
        "ix_complaints_requested_at", "complaints", ["requested_at"], unique=False, schema="intake"
    )
    op.create_index(
        "ix_complaints_service_code_requested_at",
        "complaints",
        ["service_code", "requested_at"],
        unique=False,
        schema="intake",
    )
    op.create_index(
        "ix_complaints_unfinished",
        "complaints",
        ["received_at"],
        unique=False,
        schema="intake",
        postgresql_where=sa.text("state <> 'done'"),
    )
    op.create_table(
        "matrix_versions",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("council_resolution", sa.String(length=64), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=False),
        sa.Column("loaded_by", sa.String(length=200), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matrix_versions")),
        sa.UniqueConstraint("label", name=op.f("uq_matrix_versions_label")),
        schema="intake",
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
        schema="intake",
    )
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["seq"],
        unique=False,
        schema="intake",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "complainants",
        sa.Column("complaint_id", sa.UUID(), nullable=False),
        sa.Column("first_name", sa.LargeBinary(), nullable=True),
        sa.Column("last_name", sa.LargeBinary(), nullable=True),
        sa.Column("email", sa.LargeBinary(), nullable=True),
        sa.Column("phone", sa.LargeBinary(), nullable=True),
        sa.Column("address", sa.LargeBinary(), nullable=True),
        sa.Column("description", sa.LargeBinary(), nullable=True),
        sa.Column("preferred_contact", sa.String(length=8), nullable=False),
        sa.Column("key_version", sa.SmallInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["intake.complaints.id"],
            name=op.f("fk_complainants_complaint_id_complaints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("complaint_id", name=op.f("pk_complainants")),
        schema="intake",
    )
    op.create_table(
        "matrix_entries",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("service_code", sa.String(length=64), nullable=False),
        sa.Column("bylaw_short_title", sa.String(length=200), nullable=False),
        sa.Column("infraction", sa.String(length=200), nullable=False),
        sa.Column("bylaw_number", sa.String(length=16), nullable=False),
        sa.Column("legislative", sa.Boolean(), nullable=False),
        sa.Column("patrol", sa.Boolean(), nullable=False),
        sa.Column("proactive", sa.Boolean(), nullable=False),
        sa.Column("reactive", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("enforced_by", postgresql.ARRAY(sa.String(length=8)), nullable=False),
        sa.Column("footnote", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["intake.matrix_versions.id"],
            name=op.f("fk_matrix_entries_version_id_matrix_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matrix_entries")),
        sa.UniqueConstraint("version_id", "service_code", name=op.f("uq_matrix_entries_version_id")),
        schema="intake",
    )
    op.create_table(
        "vault_reads",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("complaint_id", sa.UUID(), nullable=False),
        sa.Column("actor_subject", sa.String(length=200), nullable=False),
        sa.Column("actor_roles", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("purpose", sa.String(length=500), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["intake.complaints.id"],
            name=op.f("fk_vault_reads_complaint_id_complaints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vault_reads")),
        schema="intake",
    )


def downgrade() -> None:
    op.drop_table("vault_reads", schema="intake")
    op.drop_table("matrix_entries", schema="intake")
    op.drop_table("complainants", schema="intake")
    op.drop_index(
        "ix_outbox_unpublished",
        table_name="outbox",
        schema="intake",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.drop_table("outbox", schema="intake")
    op.drop_table("matrix_versions", schema="intake")
    op.drop_index(
        "ix_complaints_unfinished",
        table_name="complaints",
        schema="intake",
        postgresql_where=sa.text("state <> 'done'"),
    )
    op.drop_index("ix_complaints_service_code_requested_at", table_name="complaints", schema="intake")
    op.drop_index("ix_complaints_requested_at", table_name="complaints", schema="intake")
    op.drop_index("ix_complaints_case_number", table_name="complaints", schema="intake")
    op.drop_table("complaints", schema="intake")
    op.drop_table("closure_days", schema="intake")
    op.execute(sa.schema.DropSequence(sa.Sequence("complaint_number_seq", schema="intake")))
