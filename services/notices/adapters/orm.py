"""Tables of the ``notices`` schema."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Index, String, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import service_metadata

SCHEMA = "notices"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


metadata = Base.metadata


class DocumentRow(Base):
    """One rendering of one template for one case step. Later issues add service and
    delivery tracking as their own tables referring to ``document_id``."""

    __tablename__ = "documents"

    document_id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    case_number: Mapped[str] = mapped_column(String(64), nullable=False)
    step_key: Mapped[str] = mapped_column(String(150), nullable=False)
    template: Mapped[str] = mapped_column(String(64), nullable=False)
    template_version: Mapped[str] = mapped_column(String(32), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    html: Mapped[str] = mapped_column(Text, nullable=False)
    html_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    pdf_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    html_evidence_id: Mapped[str] = mapped_column(String(36), nullable=False)
    pdf_evidence_id: Mapped[str] = mapped_column(String(36), nullable=False)
    formats: Mapped[list[str]] = mapped_column(ARRAY(String(8)), nullable=False)
    legal_references: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    rendered_by: Mapped[str] = mapped_column(String(200), nullable=False)
    rendered_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )

    __table_args__ = (
        # The idempotency key of RenderDocument: one document per case step.
        UniqueConstraint("case_number", "step_key", name="uq_documents_case_number_step_key"),
        Index("ix_documents_case_number_rendered_at", "case_number", "rendered_at"),
        CheckConstraint("html_sha256 ~ '^[0-9a-f]{64}$'", name="html_sha256_hex"),
        CheckConstraint("pdf_sha256 = '' OR pdf_sha256 ~ '^[0-9a-f]{64}$'", name="pdf_sha256_hex"),
        CheckConstraint("(pdf_sha256 = '') = (pdf_evidence_id = '')", name="pdf_stored_with_hash"),
    )
