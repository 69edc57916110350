"""Evidence items, append-only.

Revision ID: 0001_items
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_items"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "evidence"


def upgrade() -> None:
    op.create_table(
        "items",
        sa.Column("evidence_id", postgresql.UUID(as_uuid=False), nullable=False),
        sa.Column("case_number", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("captured_lat", sa.Float(), nullable=True),
        sa.Column("captured_lon", sa.Float(), nullable=True),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stored_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("captured_by", sa.String(200), nullable=False),
        sa.Column("caption", sa.Text(), nullable=False),
        sa.Column("object_key", sa.String(100), nullable=False),
        sa.Column("step_key", sa.String(200), nullable=True),
        sa.Column("uploaded_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("evidence_id", name="pk_items"),
        sa.UniqueConstraint("case_number", "sha256", name="uq_items_case_number_sha256"),
        sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="ck_items_sha256_hex"),
        sa.CheckConstraint("size_bytes > 0", name="ck_items_size_positive"),
        sa.CheckConstraint("object_key = 'sha256/' || sha256", name="ck_items_object_key_is_content_address"),
        sa.CheckConstraint(
            "kind IN ('photo', 'video', 'document', 'rendered_notice')",
            name="ck_items_kind_known",
        ),
        sa.CheckConstraint("(captured_lat IS NULL) = (captured_lon IS NULL)", name="ck_items_point_complete"),
        schema=SCHEMA,
    )
    op.create_index(
        "uq_items_case_number_step_key",
        "items",
        ["case_number", "step_key"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("step_key IS NOT NULL"),
    )
    op.create_index("ix_items_case_number_stored_at", "items", ["case_number", "stored_at"], schema=SCHEMA)
    # Evidence is append-only: the database itself refuses to change or remove a row, so
    # the guarantee does not depend on every code path behaving.
    op.execute(
        f"""
        CREATE FUNCTION "{SCHEMA}".refuse_evidence_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'evidence items are immutable: % refused', TG_OP
                USING ERRCODE = 'integrity_constraint_violation';
        END;
        $$
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER items_append_only BEFORE UPDATE OR DELETE ON "{SCHEMA}".items
        FOR EACH ROW EXECUTE FUNCTION "{SCHEMA}".refuse_evidence_change()
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER items_no_truncate BEFORE TRUNCATE ON "{SCHEMA}".items
        FOR EACH STATEMENT EXECUTE FUNCTION "{SCHEMA}".refuse_evidence_change()
        """
    )


def downgrade() -> None:
    op.execute(f'DROP TRIGGER IF EXISTS items_no_truncate ON "{SCHEMA}".items')
    op.execute(f'DROP TRIGGER IF EXISTS items_append_only ON "{SCHEMA}".items')
    op.execute(f'DROP FUNCTION IF EXISTS "{SCHEMA}".refuse_evidence_change()')
    op.drop_table("items", schema=SCHEMA)
