"""Tables of the case lifecycle (issue 4, migration 0002): inspections, enforcement
actions, compliance deadline changes, escalation alerts and closure summaries.

Every step the case workflow records is unique on (case, step_key), so a retried activity
never writes a second notice, fine or alert; action numbers are unique across the Town.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.cases.adapters.orm import Base
from services.cases.domain.lifecycle import (
    ActionKind,
    AlertKind,
    DeadlineChangeKind,
    InspectionKind,
    InspectionState,
)


def _sql_list(values: list[str]) -> str:
    return ", ".join(f"'{v}'" for v in sorted(values))


ACTIONS_SQL = _sql_list([k.value for k in ActionKind])
ALERTS_SQL = _sql_list([k.value for k in AlertKind])
DEADLINE_KINDS_SQL = _sql_list([k.value for k in DeadlineChangeKind])
INSPECTION_KINDS_SQL = _sql_list([k.value for k in InspectionKind])
INSPECTION_STATES_SQL = _sql_list([k.value for k in InspectionState])


def _case_fk() -> Mapped[int]:
    return mapped_column(BigInteger, ForeignKey("cases.cases.id"), nullable=False)


def _recorded() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class InspectionRow(Base):
    """One visit: created when it is scheduled (or, unscheduled, when it is recorded);
    ``record_step_key`` is the step that recorded its findings."""

    __tablename__ = "inspections"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    case_id: Mapped[int] = _case_fk()
    step_key: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    scheduled_for: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    due_by: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    officer_id: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    record_step_key: Mapped[str | None] = mapped_column(String(200))
    inspected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    checklist_id: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    checklist_version: Mapped[str] = mapped_column(String(32), nullable=False, server_default="")
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, server_default="[]")
    violation_found: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    bylaw_sections: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, server_default="{}")
    notes: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    report_document_id: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    actor_subject: Mapped[str] = mapped_column(String(200), nullable=False)
    recorded_at: Mapped[datetime] = _recorded()

    __table_args__ = (
        UniqueConstraint("case_id", "step_key", name="uq_inspections_case_step"),
        UniqueConstraint("case_id", "record_step_key", name="uq_inspections_case_record_step"),
        CheckConstraint(f"kind IN ({INSPECTION_KINDS_SQL})", name="inspection_kind_known"),
        CheckConstraint(f"state IN ({INSPECTION_STATES_SQL})", name="inspection_state_known"),
        CheckConstraint(
            "state <> 'completed' OR (inspected_at IS NOT NULL AND record_step_key IS NOT NULL)",
            name="completed_inspection_recorded",
        ),
    )


class EnforcementActionRow(Base):
    __tablename__ = "enforcement_actions"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    case_id: Mapped[int] = _case_fk()
    step_key: Mapped[str] = mapped_column(String(200), nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    number: Mapped[str] = mapped_column(String(48), nullable=False, unique=True)
    bylaw_section: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    comply_by: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    fine_code: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    amount_cents: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    total_payable_cents: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    fine_description: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    fine_schedule_version: Mapped[str] = mapped_column(String(32), nullable=False, server_default="")
    deviation_reason: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    justification: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    details: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    document_id: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    officer_id: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    actor_subject: Mapped[str] = mapped_column(String(200), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    recorded_at: Mapped[datetime] = _recorded()

    __table_args__ = (
        UniqueConstraint("case_id", "step_key", name="uq_enforcement_actions_case_step"),
        UniqueConstraint("case_id", "seq", name="uq_enforcement_actions_case_seq"),
        CheckConstraint(f"action IN ({ACTIONS_SQL})", name="enforcement_action_known"),
        CheckConstraint("amount_cents >= 0 AND total_payable_cents >= amount_cents", name="amounts_valid"),
    )


class DeadlineChangeRow(Base):
    __tablename__ = "deadline_changes"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    case_id: Mapped[int] = _case_fk()
    step_key: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    previous_deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    written_request_on: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    contact_attempted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    action_step_key: Mapped[str] = mapped_column(String(200), nullable=False, server_default="")
    actor_subject: Mapped[str] = mapped_column(String(200), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    recorded_at: Mapped[datetime] = _recorded()

    __table_args__ = (
        UniqueConstraint("case_id", "step_key", name="uq_deadline_changes_case_step"),
        CheckConstraint(f"kind IN ({DEADLINE_KINDS_SQL})", name="deadline_change_kind_known"),
        # Policy 6.7.8 and 6.7.7 as constraints, so no writer can skip them.
        CheckConstraint(
            "kind <> 'extended' OR (written_request_on IS NOT NULL AND reason <> '')",
            name="extension_requested_in_writing",
        ),
        CheckConstraint(
            "kind <> 'shortened' OR (contact_attempted_at IS NOT NULL AND reason <> '')",
            name="shortening_after_contact_with_reason",
        ),
    )


class AlertRow(Base):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    case_id: Mapped[int] = _case_fk()
    step_key: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    detail: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cleared_reason: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    actor_subject: Mapped[str] = mapped_column(String(200), nullable=False)
    recorded_at: Mapped[datetime] = _recorded()

    __table_args__ = (
        UniqueConstraint("case_id", "step_key", name="uq_alerts_case_step"),
        CheckConstraint(f"kind IN ({ALERTS_SQL})", name="alert_kind_known"),
        # The supervisor's list of open alerts, newest first.
        Index("ix_alerts_open", "raised_at", postgresql_where=text("cleared_at IS NULL")),
        Index("ix_alerts_case_id", "case_id"),
    )


class ClosureRow(Base):
    __tablename__ = "case_closures"

    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.cases.id"), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(32), nullable=False)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    closed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    first_order_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    days_since_complaint: Mapped[int] = mapped_column(Integer, nullable=False)
    days_since_order: Mapped[int] = mapped_column(Integer, nullable=False)
    business_days_open: Mapped[int] = mapped_column(Integer, nullable=False)
    enforcement_actions: Mapped[int] = mapped_column(Integer, nullable=False)
    inspections: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    closure_document_id: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    actor_subject: Mapped[str] = mapped_column(String(200), nullable=False)
    recorded_at: Mapped[datetime] = _recorded()

    __table_args__ = (
        CheckConstraint("days_since_complaint >= 0 AND business_days_open >= 0", name="closure_days_valid"),
        CheckConstraint("days_since_order >= -1", name="closure_order_days_valid"),
    )
