"""Tables of the ``reporting`` schema: the read model.

Every fact table is keyed by the event id that produced it, and ``processed_events``
records each event once (applied in the same transaction as its facts), so applying an
event twice is impossible by construction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Index, String, Text, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import service_metadata

SCHEMA = "reporting"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


metadata = Base.metadata


class ProcessedEventRow(Base):
    """Every event seen, handled or not: the idempotency ledger and the activity feed."""

    __tablename__ = "processed_events"

    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(100), nullable=False)
    case_number: Mapped[str] = mapped_column(String(64), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    handled: Mapped[bool] = mapped_column(Boolean, nullable=False)
    summary: Mapped[str] = mapped_column(String(500), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False)
    applied_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )

    __table_args__ = (Index("ix_processed_events_occurred_at", "occurred_at"),)


class CaseRow(Base):
    """What is known about a case; filled from whichever case event arrives first."""

    __tablename__ = "cases"

    case_number: Mapped[str] = mapped_column(String(64), primary_key=True)
    service_code: Mapped[str] = mapped_column(String(64), nullable=False)
    priority: Mapped[str] = mapped_column(String(16), nullable=False)
    zone_code: Mapped[str] = mapped_column(String(64), nullable=False)
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    restricted: Mapped[bool] = mapped_column(Boolean, nullable=False)

    __table_args__ = (Index("ix_cases_received_at", "received_at"),)


class ComplaintRow(Base):
    __tablename__ = "complaints"

    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    complaint_id: Mapped[str] = mapped_column(String(64), nullable=False)
    case_number: Mapped[str] = mapped_column(String(64), nullable=False)
    service_code: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        Index("ix_complaints_received_at", "received_at"),
        Index("ix_complaints_case_number", "case_number"),
    )


class StatusChangeRow(Base):
    __tablename__ = "status_changes"

    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    case_number: Mapped[str] = mapped_column(String(64), nullable=False)
    from_status: Mapped[str] = mapped_column(String(32), nullable=False)
    to_status: Mapped[str] = mapped_column(String(32), nullable=False)
    outcome: Mapped[str] = mapped_column(String(32), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    service_code: Mapped[str] = mapped_column(String(64), nullable=False)
    case_received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_status_changes_case_number_occurred_at", "case_number", "occurred_at"),
        Index("ix_status_changes_to_status_occurred_at", "to_status", "occurred_at"),
    )


class InspectionRow(Base):
    __tablename__ = "inspections"

    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    case_number: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(64), nullable=False)
    inspected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (Index("ix_inspections_inspected_at", "inspected_at"),)


class EnforcementActionRow(Base):
    __tablename__ = "enforcement_actions"

    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    case_number: Mapped[str] = mapped_column(String(64), nullable=False)
    method: Mapped[str] = mapped_column(String(64), nullable=False)
    service_code: Mapped[str] = mapped_column(String(64), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (Index("ix_enforcement_actions_occurred_at", "occurred_at"),)


class EmergencyActionRow(Base):
    __tablename__ = "emergency_actions"

    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    case_number: Mapped[str] = mapped_column(String(64), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    description: Mapped[str] = mapped_column(String(500), nullable=False)

    __table_args__ = (Index("ix_emergency_actions_occurred_at", "occurred_at"),)
