"""Tables of the ``evidence`` schema.

``items`` is append-only: a trigger (see the initial migration) refuses UPDATE, DELETE and
TRUNCATE, so no code path — ours or a mistaken one — can alter recorded evidence.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import service_metadata

SCHEMA = "evidence"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


metadata = Base.metadata


class ItemRow(Base):
    __tablename__ = "items"

    evidence_id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    case_number: Mapped[str] = mapped_column(String(64), nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    filename: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    captured_lat: Mapped[float | None] = mapped_column(Float)
    captured_lon: Mapped[float | None] = mapped_column(Float)
    captured_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stored_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    captured_by: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    caption: Mapped[str] = mapped_column(Text, nullable=False, default="")
    object_key: Mapped[str] = mapped_column(String(100), nullable=False)
    # NULL (not "") when the upload is not a workflow step, so the partial unique index
    # below only constrains real step keys.
    step_key: Mapped[str | None] = mapped_column(String(200))
    uploaded_by: Mapped[str] = mapped_column(String(200), nullable=False, default="")

    __table_args__ = (
        # Same bytes for the same case are one item (idempotent re-upload).
        UniqueConstraint("case_number", "sha256", name="uq_items_case_number_sha256"),
        # One item per workflow step of a case (idempotent retries of that step).
        Index(
            "uq_items_case_number_step_key",
            "case_number",
            "step_key",
            unique=True,
            postgresql_where=text("step_key IS NOT NULL"),
        ),
        Index("ix_items_case_number_stored_at", "case_number", "stored_at"),
        CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
        CheckConstraint("size_bytes > 0", name="size_positive"),
        CheckConstraint("object_key = 'sha256/' || sha256", name="object_key_is_content_address"),
        CheckConstraint(
            "kind IN ('photo', 'video', 'document', 'rendered_notice')",
            name="kind_known",
        ),
        CheckConstraint("(captured_lat IS NULL) = (captured_lon IS NULL)", name="point_complete"),
    )
