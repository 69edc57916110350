"""Tables of the ``cases`` schema (SQLAlchemy 2 typed models). The Alembic migrations in
``services/cases/migrations`` create exactly these; a test compares the two.

Constraints carry the rules that must hold under concurrency: one open case per property
key and service code (partial unique index), one complaint id → one case, one status
history row per (case, step_key), and an append-only audit log (trigger in the migration).
Case numbers come from a sequence per year (``case_number_seq_YYYY``), created by the
repository when a year's first case is opened; sequences are not tables, so none is here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Double,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.cases.domain.cases import OPEN_STATUSES, CaseStatus, Disposition
from services.common.db import service_metadata
from services.common.outbox import outbox_table

SCHEMA = "cases"


class Base(DeclarativeBase):
    # Same as services.common.db.make_base(SCHEMA), spelled as a class so mypy can type
    # the models.
    metadata = service_metadata(SCHEMA)


metadata = Base.metadata


def _sql_list(values: list[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


ALL_STATUSES_SQL = _sql_list(sorted(s.value for s in CaseStatus))
OPEN_STATUSES_SQL = _sql_list(sorted(s.value for s in OPEN_STATUSES))
DISPOSITIONS_SQL = _sql_list(sorted(d.value for d in Disposition))


def _created() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class PropertyRow(Base):
    """A parcel on the assessment roll. ``address_key``/``street_line`` are the normalised
    address (services.cases.domain.addresses), indexed for matching complaints."""

    __tablename__ = "properties"

    roll_number: Mapped[str] = mapped_column(String(19), primary_key=True)
    address: Mapped[str] = mapped_column(Text, nullable=False)
    address_key: Mapped[str] = mapped_column(Text, nullable=False)
    street_line: Mapped[str] = mapped_column(Text, nullable=False)
    lat: Mapped[float | None] = mapped_column(Double)
    lon: Mapped[float | None] = mapped_column(Double)
    owner_name: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    owner_mailing_address: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    zone_code: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    land_use: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    ward: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()

    __table_args__ = (
        CheckConstraint("roll_number ~ '^[0-9]{19}$'", name="roll_number_format"),
        Index("ix_properties_street_line", "street_line"),
        # Bounding-box search for GPS matching (lat range first: it is the selective one).
        Index("ix_properties_lat_lon", "lat", "lon"),
    )


class ZoneRow(Base):
    __tablename__ = "zones"

    zone_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    geojson: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()


class OfficerRow(Base):
    __tablename__ = "officers"

    officer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(Text, nullable=False)
    badge_number: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    department: Mapped[str] = mapped_column(String(8), nullable=False)
    specialties: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, server_default="{}")
    zone_codes: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, server_default="{}")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()


class CaseRow(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    case_number: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    status: Mapped[str] = mapped_column(String(32), nullable=False)
    priority_rank: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    service_code: Mapped[str] = mapped_column(String(100), nullable=False)
    bylaw_number: Mapped[str] = mapped_column(String(32), nullable=False, server_default="")
    matrix_version: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    enforced_by: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, server_default="{}")
    location_address: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    location_address_id: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    location_postal_code: Mapped[str] = mapped_column(String(16), nullable=False, server_default="")
    lat: Mapped[float | None] = mapped_column(Double)
    lon: Mapped[float | None] = mapped_column(Double)
    property_roll_number: Mapped[str | None] = mapped_column(
        String(19), ForeignKey("cases.properties.roll_number")
    )
    match_method: Mapped[str] = mapped_column(String(16), nullable=False, server_default="")
    match_distance_m: Mapped[float] = mapped_column(Double, nullable=False, server_default="0")
    dedupe_kind: Mapped[str] = mapped_column(String(8), nullable=False)
    dedupe_key: Mapped[str] = mapped_column(Text, nullable=False)
    zone_code: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    assigned_officer_id: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    complaint_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    restricted: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    status_reason: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    outcome: Mapped[str] = mapped_column(String(32), nullable=False, server_default="")
    summary: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    channel: Mapped[str] = mapped_column(String(32), nullable=False, server_default="")
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    compliance_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Issue 4 (migration 0002): the department queue and the pending compliance deadline.
    department: Mapped[str] = mapped_column(String(8), nullable=False, server_default="BE")
    compliance_deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(f"status IN ({ALL_STATUSES_SQL})", name="status_known"),
        CheckConstraint("priority_rank IN (1, 2, 3)", name="priority_rank_known"),
        CheckConstraint("dedupe_kind IN ('roll', 'address', 'gps')", name="dedupe_kind_known"),
        CheckConstraint("complaint_count >= 1", name="complaint_count_positive"),
        # Policy 6.6.5 under concurrency: at most one open case per property key and code.
        Index(
            "uq_cases_open_dedupe",
            "dedupe_key",
            "service_code",
            unique=True,
            postgresql_where=text(f"status IN ({OPEN_STATUSES_SQL})"),
        ),
        Index("ix_cases_dedupe_recent", "dedupe_key", "service_code", "received_at"),
        # Work queue order (policy 6.5.4) and its keyset pagination.
        Index("ix_cases_queue", "priority_rank", "received_at", "case_number"),
        Index("ix_cases_status", "status"),
        Index("ix_cases_assigned_officer_id", "assigned_officer_id"),
        Index("ix_cases_department_queue", "department", "priority_rank", "received_at", "case_number"),
        Index("ix_cases_gps", "service_code", "lat", "lon", postgresql_where=text("dedupe_kind = 'gps'")),
    )


class CaseComplaintRow(Base):
    """Each complaint (intake's Open311 request id) and what it did: the idempotency record
    of OpenCase."""

    __tablename__ = "case_complaints"

    complaint_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.cases.id"), nullable=False, index=True)
    disposition: Mapped[str] = mapped_column(String(32), nullable=False)
    channel: Mapped[str] = mapped_column(String(32), nullable=False, server_default="")
    # How this complaint's own location matched the roll (a retry answers the same).
    match_method: Mapped[str] = mapped_column(String(16), nullable=False, server_default="")
    match_roll_number: Mapped[str | None] = mapped_column(
        String(19), ForeignKey("cases.properties.roll_number")
    )
    match_distance_m: Mapped[float] = mapped_column(Double, nullable=False, server_default="0")
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_at: Mapped[datetime] = _created()

    __table_args__ = (CheckConstraint(f"disposition IN ({DISPOSITIONS_SQL})", name="disposition_known"),)


class StatusHistoryRow(Base):
    __tablename__ = "status_history"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.cases.id"), nullable=False)
    step_key: Mapped[str] = mapped_column(String(200), nullable=False)
    from_status: Mapped[str] = mapped_column(String(32), nullable=False)
    to_status: Mapped[str] = mapped_column(String(32), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    outcome: Mapped[str] = mapped_column(String(32), nullable=False, server_default="")
    actor_subject: Mapped[str] = mapped_column(String(200), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    recorded_at: Mapped[datetime] = _created()

    __table_args__ = (UniqueConstraint("case_id", "step_key", name="uq_status_history_case_step"),)


class AssignmentRow(Base):
    __tablename__ = "case_assignments"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.cases.id"), nullable=False)
    step_key: Mapped[str] = mapped_column(String(200), nullable=False)
    officer_id: Mapped[str] = mapped_column(String(64), nullable=False)
    previous_officer_id: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    reason: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    actor_subject: Mapped[str] = mapped_column(String(200), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    recorded_at: Mapped[datetime] = _created()

    __table_args__ = (UniqueConstraint("case_id", "step_key", name="uq_case_assignments_case_step"),)


class ReferenceVersionRow(Base):
    """A version per reference table ("officers", "zones"), bumped by a statement trigger on
    any change to that table (migration 0004), so in-memory copies know when to reload."""

    __tablename__ = "reference_versions"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")


class OfficerOpenLoadRow(Base):
    """Each officer's open caseload, kept by a trigger on ``cases`` (migration 0004) and
    spread over shards picked by the writing backend so concurrent new cases for one
    officer do not queue on one row. An officer's caseload is the sum over the shards."""

    __tablename__ = "officer_open_load"

    officer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    open_cases: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")


class AuditLogRow(Base):
    """Append-only (a trigger refuses UPDATE and DELETE): who did what, to which case, when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    recorded_at: Mapped[datetime] = _created()
    actor_subject: Mapped[str] = mapped_column(String(200), nullable=False)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    case_number: Mapped[str | None] = mapped_column(String(32), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default="{}")


outbox = outbox_table(metadata)

# Tables of the case lifecycle (issue 4) live in their own module on the same metadata;
# importing it here registers them wherever the schema is used (migrations, tests).
from services.cases.adapters import lifecycle_orm  # noqa: E402, F401

# Municipal remediation's tables (work orders, costs, invoices, tax roll) live in their own
# module; importing it here registers them on this metadata for Alembic and the tests.
from services.cases.adapters import remediation_orm as remediation_orm  # noqa: E402
