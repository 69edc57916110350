"""Inputs of the remediation use cases, independent of gRPC (the servicer converts).

Dates are the Town's local ISO dates as the caller sent them ("YYYY-MM-DD"); the use cases
parse them so a bad one is a named validation error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.cases.domain.remediation import NewCost, NewPayment
from services.cases.service_layer.commands import Actor


@dataclass(frozen=True, slots=True)
class WorkOrderRef:
    case_number: str
    work_order_seq: int


@dataclass(frozen=True, slots=True)
class CreateWorkOrder:
    ref: WorkOrderRef
    step_key: str
    description: str
    contractor: str
    estimate_cents: int
    private_land: bool
    requested_by: str
    property_roll_number: str = ""
    payment_period_days: int = 0  # 0: the configured period
    occurred_at: datetime | None = None
    actor: Actor = field(default_factory=Actor)


@dataclass(frozen=True, slots=True)
class RecordApproval:
    ref: WorkOrderRef
    step_key: str
    kind: str
    decision: str
    council_resolution: str = ""
    council_meeting_on: str = ""
    emergency_risk: str = ""
    emergency_description: str = ""
    emergency_urgency: str = ""
    no_time_for_council: bool = False
    decided_by: str = ""
    decided_by_role: str = ""
    note: str = ""
    occurred_at: datetime | None = None
    actor: Actor = field(default_factory=Actor)


@dataclass(frozen=True, slots=True)
class ScheduleWork:
    ref: WorkOrderRef
    step_key: str
    scheduled_on: str
    note: str = ""
    occurred_at: datetime | None = None
    actor: Actor = field(default_factory=Actor)


@dataclass(frozen=True, slots=True)
class RecordCosts:
    ref: WorkOrderRef
    costs: tuple[NewCost, ...]
    occurred_at: datetime | None = None
    actor: Actor = field(default_factory=Actor)


@dataclass(frozen=True, slots=True)
class CompleteWork:
    ref: WorkOrderRef
    step_key: str
    completed_on: str
    note: str = ""
    occurred_at: datetime | None = None
    actor: Actor = field(default_factory=Actor)


@dataclass(frozen=True, slots=True)
class CancelWorkOrder:
    ref: WorkOrderRef
    step_key: str
    reason: str
    occurred_at: datetime | None = None
    actor: Actor = field(default_factory=Actor)


@dataclass(frozen=True, slots=True)
class IssueInvoice:
    ref: WorkOrderRef
    step_key: str
    payment_period_days: int = 0  # 0: the work order's period
    occurred_at: datetime | None = None
    actor: Actor = field(default_factory=Actor)


@dataclass(frozen=True, slots=True)
class RecordPayment:
    ref: WorkOrderRef
    step_key: str
    payment: NewPayment
    occurred_at: datetime | None = None
    actor: Actor = field(default_factory=Actor)


@dataclass(frozen=True, slots=True)
class AddToTaxRoll:
    ref: WorkOrderRef
    step_key: str
    occurred_at: datetime | None = None
    actor: Actor = field(default_factory=Actor)


@dataclass(frozen=True, slots=True)
class ExportTaxRoll:
    export_key: str
    re_export: bool = False
    actor: Actor = field(default_factory=Actor)


@dataclass(frozen=True, slots=True)
class MarkCouncilItemsReported:
    item_ids: tuple[int, ...]
    meeting_on: str
    actor: Actor = field(default_factory=Actor)
