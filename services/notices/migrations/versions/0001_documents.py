"""Rendered documents, one per case step.

Revision ID: 0001_documents
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_documents"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "notices"


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("document_id", postgresql.UUID(as_uuid=False), nullable=False),
        sa.Column("case_number", sa.String(64), nullable=False),
        sa.Column("step_key", sa.String(150), nullable=False),
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("template_version", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("html_sha256", sa.String(64), nullable=False),
        sa.Column("pdf_sha256", sa.String(64), nullable=False),
        sa.Column("html_evidence_id", sa.String(36), nullable=False),
        sa.Column("pdf_evidence_id", sa.String(36), nullable=False),
        sa.Column("formats", postgresql.ARRAY(sa.String(8)), nullable=False),
        sa.Column("legal_references", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("rendered_by", sa.String(200), nullable=False),
        sa.Column("rendered_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("document_id", name="pk_documents"),
        sa.UniqueConstraint("case_number", "step_key", name="uq_documents_case_number_step_key"),
        sa.CheckConstraint("html_sha256 ~ '^[0-9a-f]{64}$'", name="ck_documents_html_sha256_hex"),
        sa.CheckConstraint(
            "pdf_sha256 = '' OR pdf_sha256 ~ '^[0-9a-f]{64}$'", name="ck_documents_pdf_sha256_hex"
        ),
        sa.CheckConstraint(
            "(pdf_sha256 = '') = (pdf_evidence_id = '')", name="ck_documents_pdf_stored_with_hash"
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_documents_case_number_rendered_at", "documents", ["case_number", "rendered_at"], schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_table("documents", schema=SCHEMA)
