"""Acknowledgements, SLA targets, frivolous/vexatious marking and the dead-letter vault.

- complaints: service-level targets per priority (policy 6.5.4, 6.8.5); when and how the
  acknowledgement went out, when the case workflow was told and when the overdue alert
  was raised (policy 4.2, 6.5.5); the staff marking as frivolous (4.4) or vexatious (4.11)
  and whether the case still has to be closed through its workflow.
- dead_letters / dead_letter_reads: the full original of each dead-lettered 311 message,
  AES-GCM encrypted (the DLQ subject carries none of its identity, policy 6.3), and the
  audit of every read and resubmission.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "intake"


def upgrade() -> None:
    tz = sa.DateTime(timezone=True)
    for name, column in (
        ("first_inspection_due", sa.Column("first_inspection_due", tz, nullable=True)),
        ("resolution_due", sa.Column("resolution_due", tz, nullable=True)),
        ("sla_version", sa.Column("sla_version", sa.String(64), server_default="", nullable=False)),
        ("acknowledged_at", sa.Column("acknowledged_at", tz, nullable=True)),
        ("acknowledged_via", sa.Column("acknowledged_via", sa.String(32), server_default="", nullable=False)),
        ("acknowledged_by", sa.Column("acknowledged_by", sa.String(200), server_default="", nullable=False)),
        ("ack_signalled_at", sa.Column("ack_signalled_at", tz, nullable=True)),
        ("ack_overdue_alerted_at", sa.Column("ack_overdue_alerted_at", tz, nullable=True)),
        ("marked_kind", sa.Column("marked_kind", sa.String(16), nullable=True)),
        ("marked_reason", sa.Column("marked_reason", sa.Text(), server_default="", nullable=False)),
        ("marked_by", sa.Column("marked_by", sa.String(200), server_default="", nullable=False)),
        ("marked_at", sa.Column("marked_at", tz, nullable=True)),
        (
            "case_rejection_pending",
            sa.Column("case_rejection_pending", sa.Boolean(), server_default=sa.false(), nullable=False),
        ),
    ):
        assert column.name == name
        op.add_column("complaints", column, schema=S)
    op.create_check_constraint(
        op.f("ck_complaints_marked_kind"),
        "complaints",
        "marked_kind IS NULL OR marked_kind IN ('frivolous', 'vexatious')",
        schema=S,
    )
    op.create_index(
        "ix_complaints_ack_pending",
        "complaints",
        ["acknowledgement_due"],
        schema=S,
        postgresql_where=sa.text("acknowledged_at IS NULL AND acknowledgement_due IS NOT NULL"),
    )
    op.create_index(
        "ix_complaints_ack_unsignalled",
        "complaints",
        ["acknowledged_at"],
        schema=S,
        postgresql_where=sa.text("acknowledged_at IS NOT NULL AND ack_signalled_at IS NULL"),
    )
    op.create_index(
        "ix_complaints_case_rejection_pending",
        "complaints",
        ["marked_at"],
        schema=S,
        postgresql_where=sa.text("case_rejection_pending"),
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("msg_key", sa.String(length=120), nullable=False),
        sa.Column("stream_sequence", sa.BigInteger(), nullable=True),
        sa.Column("external_request_id", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("violations", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("headers", sa.LargeBinary(), nullable=True),
        sa.Column("key_version", sa.SmallInteger(), nullable=False),
        sa.Column("failed_at", tz, server_default=sa.text("now()"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resubmitted_as", sa.String(length=24), nullable=True),
        sa.Column("resubmitted_by", sa.String(length=200), nullable=False),
        sa.Column("resubmitted_at", tz, nullable=True),
        sa.CheckConstraint("status IN ('open', 'resubmitted')", name=op.f("ck_dead_letters_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
        sa.UniqueConstraint("msg_key", name=op.f("uq_dead_letters_msg_key")),
        schema=S,
    )
    op.create_index("ix_dead_letters_failed_at", "dead_letters", ["failed_at"], schema=S)
    op.create_table(
        "dead_letter_reads",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("dead_letter_id", sa.UUID(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("actor_subject", sa.String(length=200), nullable=False),
        sa.Column("actor_roles", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("purpose", sa.String(length=500), nullable=False),
        sa.Column("read_at", tz, server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["dead_letter_id"],
            [f"{S}.dead_letters.id"],
            name=op.f("fk_dead_letter_reads_dead_letter_id_dead_letters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letter_reads")),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("dead_letter_reads", schema=S)
    op.drop_index("ix_dead_letters_failed_at", table_name="dead_letters", schema=S)
    op.drop_table("dead_letters", schema=S)
    op.drop_index("ix_complaints_case_rejection_pending", table_name="complaints", schema=S)
    op.drop_index("ix_complaints_ack_unsignalled", table_name="complaints", schema=S)
    op.drop_index("ix_complaints_ack_pending", table_name="complaints", schema=S)
    op.drop_constraint(op.f("ck_complaints_marked_kind"), "complaints", schema=S, type_="check")
    for name in (
        "case_rejection_pending", "marked_at", "marked_by", "marked_reason", "marked_kind",
        "ack_overdue_alerted_at", "ack_signalled_at", "acknowledged_by", "acknowledged_via",
        "acknowledged_at", "sla_version", "resolution_due", "first_inspection_due",
    ):  # fmt: skip
        op.drop_column("complaints", name, schema=S)
