"""Inputs and outputs of the case lifecycle use cases, independent of gRPC."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.cases.domain.cases import Case, StatusChange
from services.cases.domain.checklists import Checklist, Finding
from services.cases.domain.lifecycle import Alert, Closure, Inspection, PriorCase
from services.cases.domain.properties import Officer, Property
from services.cases.service_layer.commands import Actor


@dataclass(frozen=True, slots=True)
class ScheduleInspection:
    case_number: str
    step_key: str
    kind: str
    scheduled_for: datetime | None
    due_by: datetime | None = None
    officer_id: str = ""
    reason: str = ""
    occurred_at: datetime | None = None
    actor: Actor = field(default_factory=Actor)


@dataclass(frozen=True, slots=True)
class RecordInspection:
    case_number: str
    step_key: str
    kind: str
    inspected_at: datetime | None
    checklist_id: str
    findings: tuple[Finding, ...]
    officer_id: str = ""
    notes: str = ""
    scheduled_step_key: str = ""
    actor: Actor = field(default_factory=Actor)


@dataclass(frozen=True, slots=True)
class RecordAction:
    case_number: str
    step_key: str
    action: str
    bylaw_section: str = ""
    comply_by: datetime | None = None
    fine_code: str = ""
    deviation_reason: str = ""
    justification: str = ""
    details: str = ""
    officer_id: str = ""
    occurred_at: datetime | None = None
    actor: Actor = field(default_factory=Actor)


@dataclass(frozen=True, slots=True)
class AttachDocument:
    case_number: str
    record: str  # "inspection" | "enforcement_action"
    step_key: str
    document_id: str
    actor: Actor = field(default_factory=Actor)


@dataclass(frozen=True, slots=True)
class RecordDeadlineChange:
    case_number: str
    step_key: str
    kind: str
    deadline: datetime | None = None
    reason: str = ""
    written_request_on: datetime | None = None
    contact_attempted_at: datetime | None = None
    action_step_key: str = ""
    occurred_at: datetime | None = None
    actor: Actor = field(default_factory=Actor)


@dataclass(frozen=True, slots=True)
class RaiseAlert:
    case_number: str
    step_key: str
    kind: str
    due_at: datetime | None = None
    detail: str = ""
    occurred_at: datetime | None = None
    actor: Actor = field(default_factory=Actor)


@dataclass(frozen=True, slots=True)
class ClearAlert:
    case_number: str
    step_key: str
    reason: str = ""
    occurred_at: datetime | None = None
    actor: Actor = field(default_factory=Actor)


@dataclass(frozen=True, slots=True)
class ListAlerts:
    case_number: str = ""
    kind: str = ""
    open_only: bool = False
    department: str = ""
    assigned_officer_id: str = ""
    page_size: int = 0
    page_token: str = ""
    actor: Actor = field(default_factory=Actor)


@dataclass(frozen=True, slots=True)
class AlertPage:
    alerts: list[Alert]
    next_page_token: str


@dataclass(frozen=True, slots=True)
class RecordClosure:
    case_number: str
    outcome: str
    closed_at: datetime | None
    days_since_complaint: int
    days_since_order: int
    business_days_open: int
    first_order_at: datetime | None = None
    reason: str = ""
    closure_document_id: str = ""
    actor: Actor = field(default_factory=Actor)


@dataclass(frozen=True, slots=True)
class ClosureView:
    closure: Closure
    timeline: list[StatusChange]


@dataclass(frozen=True, slots=True)
class PreInspectionPacket:
    """Seed spec 2.1: what an officer reads before visiting (never complainant identity,
    which the cases service does not hold)."""

    case: Case
    property: Property | None
    prior_cases: list[PriorCase]
    inspections: list[Inspection]
    checklists: list[Checklist]
    officer: Officer | None
