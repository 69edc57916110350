"""Municipal remediation (seed spec 3.4; policy 6.5.13-6.5.14, 6.7.9-6.7.10): the
contractor work order with its estimate, the $5,000 Council gate and its emergency
exception, the actual costs, the invoice to the registered owner, payments, and the unpaid
balance added to the tax roll (Municipal Act, 2001, s.446) with the Treasurer's load file.

Plain Python. The remediation workflow decides *when* each step happens; these rules guard
the record itself: what a valid work order, approval, cost, payment or tax-roll entry is,
and which step may follow which. Every rule names the field, the rule and the policy.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from services.common.errors import FailedPrecondition, FieldViolation, InvalidArgument

# Policy 6.5.13: "where the expense is anticipated to exceed $5,000" — strictly more than.
COUNCIL_GATE_CENTS = 500_000
MAX_ESTIMATE_CENTS = 10_000_000_000  # $100M: a typo guard, not a policy limit
MAX_COST_CENTS = 10_000_000_000
MAX_COSTS_PER_REQUEST = 100
MAX_PAYMENT_PERIOD_DAYS = 365

LIMITS = {
    "description": 4000,
    "contractor": 200,
    "council_resolution": 64,
    "emergency_description": 4000,
    "emergency_urgency": 4000,
    "note": 2000,
    "reason": 2000,
    "reference": 64,
    "cost_description": 500,
    "requested_by": 200,
    "decided_by": 200,
    "export_key": 128,
}


class WorkOrderStatus(StrEnum):
    AWAITING_COUNCIL = "awaiting_council"
    APPROVED = "approved"
    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    INVOICED = "invoiced"
    PAID = "paid"
    ON_TAX_ROLL = "on_tax_roll"
    REFUSED = "refused"
    CANCELLED = "cancelled"


# Before the work starts: the Town has spent nothing yet, so it may still call it off.
CANCELLABLE = frozenset(
    {WorkOrderStatus.AWAITING_COUNCIL, WorkOrderStatus.APPROVED, WorkOrderStatus.SCHEDULED}
)
# Approved and not yet completed: the work (and its costs) may go ahead (policy 6.5.13).
WORKABLE = frozenset({WorkOrderStatus.APPROVED, WorkOrderStatus.SCHEDULED})


class ApprovalKind(StrEnum):
    NOT_REQUIRED = "not_required"  # public land, or an estimate of $5,000 or less
    COUNCIL = "council"  # policy 6.5.13
    EMERGENCY = "emergency"  # policy 6.5.14


class Decision(StrEnum):
    APPROVED = "approved"
    REFUSED = "refused"


class EmergencyRisk(StrEnum):
    """Policy 6.5.14: "risk to life, health, safety or property"."""

    LIFE = "life"
    HEALTH = "health"
    SAFETY = "safety"
    PROPERTY = "property"


class CostKind(StrEnum):
    CONTRACTOR_INVOICE = "contractor_invoice"  # a line of the contractor's invoice
    STAFF_TIME = "staff_time"
    OTHER = "other"  # disbursements: disposal fees, locksmith, title search ...


class InvoiceStatus(StrEnum):
    ISSUED = "issued"
    PAID = "paid"
    ON_TAX_ROLL = "on_tax_roll"


class PaymentMethod(StrEnum):
    CASH = "cash"
    CHEQUE = "cheque"
    DEBIT = "debit"
    CREDIT_CARD = "credit_card"
    EFT = "eft"
    ONLINE = "online"


class CouncilItemKind(StrEnum):
    APPROVAL_REQUEST = "approval_request"  # reported before the action is taken (6.5.13)
    EMERGENCY_APPROVAL = "emergency_approval"  # reported for information afterwards (6.5.14)


# Who may approve under 6.5.14 ("the Chief Administrative Officer, Chief Building
# Official, or Fire Chief"), and who records Council's decisions.
EMERGENCY_APPROVER_ROLES = ("cao", "cbo", "fire_chief")
COUNCIL_DECISION_RECORDER_ROLE = "clerk"


def council_approval_required(private_land: bool, estimate_cents: int) -> bool:
    """Policy 6.5.13: Town staff or contractors entering private land where the expense is
    anticipated to exceed $5,000 (exactly $5,000 does not)."""
    return private_land and estimate_cents > COUNCIL_GATE_CENTS


def work_order_number(case_number: str, seq: int) -> str:
    return f"{case_number}-W{seq}"


def invoice_number(case_number: str, seq: int) -> str:
    return f"{case_number}-INV{seq}"


def money(cents: int) -> str:
    """``625000`` → ``$6,250.00`` (for people; the load file uses plain decimals)."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}${whole:,}.{part:02d}"


def decimal_amount(cents: int) -> str:
    """``625000`` → ``6250.00`` (what a tax system imports)."""
    whole, part = divmod(cents, 100)
    return f"{whole}.{part:02d}"


# --- records ---------------------------------------------------------------------------------


@dataclass
class Approval:
    kind: ApprovalKind
    decision: Decision | None = None
    council_resolution: str = ""
    council_meeting_on: date | None = None
    emergency_risk: EmergencyRisk | None = None
    emergency_description: str = ""
    emergency_urgency: str = ""
    decided_by: str = ""
    decided_by_role: str = ""
    decided_at: datetime | None = None
    note: str = ""
    step_key: str = ""


@dataclass(frozen=True, slots=True)
class CostEntry:
    step_key: str
    kind: CostKind
    description: str
    amount_cents: int
    hours: Decimal | None = None
    reference: str = ""
    incurred_on: date | None = None
    recorded_by: str = ""
    recorded_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Payment:
    step_key: str
    amount_cents: int
    received_on: date
    method: PaymentMethod
    reference: str = ""
    recorded_by: str = ""
    recorded_at: datetime | None = None


@dataclass
class Invoice:
    invoice_number: str
    step_key: str
    amount_cents: int
    issued_at: datetime
    issued_on: date
    due_on: date
    due_at: datetime
    payment_period_days: int
    owner_name: str
    owner_mailing_address: str
    roll_number: str
    status: InvoiceStatus = InvoiceStatus.ISSUED
    paid_cents: int = 0
    payments: list[Payment] = field(default_factory=list)
    id: int | None = None

    @property
    def balance_cents(self) -> int:
        return self.amount_cents - self.paid_cents


@dataclass
class TaxRollItem:
    step_key: str
    roll_number: str
    owner_name: str
    amount_cents: int
    invoice_number: str
    case_number: str
    bylaw_number: str
    added_on: date
    added_at: datetime
    first_exported_at: datetime | None = None
    id: int | None = None


@dataclass
class WorkOrder:
    case_number: str
    work_order_seq: int
    work_order_number: str
    step_key: str
    property_roll_number: str
    description: str
    contractor: str
    estimate_cents: int
    private_land: bool
    council_approval_required: bool
    status: WorkOrderStatus
    requested_by: str
    created_at: datetime
    updated_at: datetime
    payment_period_days: int
    approval: Approval | None = None
    scheduled_on: date | None = None
    completed_on: date | None = None
    completion_note: str = ""
    cancelled_reason: str = ""
    costs: list[CostEntry] = field(default_factory=list)
    invoice: Invoice | None = None
    tax_roll_item: TaxRollItem | None = None
    # Read from the case and the assessment roll, not stored on the work order.
    property_address: str = ""
    owner_name: str = ""
    owner_mailing_address: str = ""
    bylaw_number: str = ""
    service_code: str = ""
    restricted: bool = False
    id: int | None = None

    @property
    def actual_cost_cents(self) -> int:
        return sum(c.amount_cents for c in self.costs)

    def approved_on(self, zone: ZoneInfo) -> date:
        """The first day work may be done: the approval's date, or the work order's when
        no approval was needed (policy 6.5.13: reported *prior to* the action)."""
        when = self.approval.decided_at if self.approval and self.approval.decided_at else self.created_at
        return when.astimezone(zone).date()


@dataclass(frozen=True, slots=True)
class TaxRollExport:
    export_key: str
    exported_at: datetime
    exported_by: str
    re_export: bool
    items: tuple[TaxRollItem, ...]

    @property
    def total_cents(self) -> int:
        return sum(i.amount_cents for i in self.items)


@dataclass
class CouncilReportItem:
    case_number: str
    work_order_seq: int
    work_order_number: str
    kind: CouncilItemKind
    summary: str
    estimate_cents: int
    occurred_at: datetime
    property_address: str = ""
    reported_at: datetime | None = None
    reported_meeting_on: date | None = None
    id: int | None = None


# --- validation helpers ----------------------------------------------------------------------


def parse_date(
    value: str, field_name: str, violations: list[FieldViolation], *, required: bool = True
) -> date | None:
    value = value.strip()
    if not value:
        if required:
            violations.append(FieldViolation(field_name, "is required: an ISO date (YYYY-MM-DD)"))
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        violations.append(FieldViolation(field_name, "must be an ISO date (YYYY-MM-DD)"))
        return None


def _text(
    value: str,
    field_name: str,
    limit_key: str,
    violations: list[FieldViolation],
    *,
    rule: str = "",
    policy: str | None = None,
) -> str:
    value = value.strip()
    if rule and not value:
        violations.append(FieldViolation(field_name, rule, policy))
    limit = LIMITS[limit_key]
    if len(value) > limit:
        violations.append(FieldViolation(field_name, f"must be at most {limit} characters; got {len(value)}"))
    return value


def local_date(at: datetime, zone: ZoneInfo) -> date:
    return at.astimezone(zone).date()


def end_of_day(day: date, zone: ZoneInfo) -> datetime:
    """The instant a local day ends (the next local midnight), in UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)


# --- creating a work order -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewWorkOrder:
    description: str
    contractor: str
    estimate_cents: int
    private_land: bool
    requested_by: str


def check_new_work_order(seq: int, order: NewWorkOrder) -> list[FieldViolation]:
    violations: list[FieldViolation] = []
    if seq < 1:
        violations.append(
            FieldViolation("work_order_seq", "must be 1 or more (work orders are numbered within the case)")
        )
    _text(
        order.description,
        "description",
        "description",
        violations,
        rule="is required: what the contractor must do to remedy the contravention",
        policy="6.7.10",
    )
    _text(order.contractor, "contractor", "contractor", violations, rule="is required: who does the work")
    _text(
        order.requested_by,
        "requested_by",
        "requested_by",
        violations,
        rule="is required: the officer who chose direct enforcement",
    )
    if order.estimate_cents <= 0:
        violations.append(
            FieldViolation(
                "estimate_cents",
                "must be a positive estimate in cents: the Council gate depends on it",
                "6.5.13",
            )
        )
    elif order.estimate_cents > MAX_ESTIMATE_CENTS:
        violations.append(FieldViolation("estimate_cents", f"must be at most {MAX_ESTIMATE_CENTS} cents"))
    return violations


def initial_status(required: bool) -> tuple[WorkOrderStatus, Approval | None]:
    if required:
        return WorkOrderStatus.AWAITING_COUNCIL, None
    return WorkOrderStatus.APPROVED, Approval(kind=ApprovalKind.NOT_REQUIRED, decision=Decision.APPROVED)


# --- approvals ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
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


def check_approval(order: WorkOrder, request: ApprovalRequest, today: date) -> Approval:
    """The approval ``request`` would record on ``order``; raises naming every problem."""
    violations: list[FieldViolation] = []
    try:
        kind = ApprovalKind(request.kind)
    except ValueError:
        kind = None
    if kind not in (ApprovalKind.COUNCIL, ApprovalKind.EMERGENCY):
        raise InvalidArgument(
            FieldViolation("kind", "must be 'council' (policy 6.5.13) or 'emergency' (policy 6.5.14)")
        )
    decided_by = _text(
        request.decided_by,
        "decided_by",
        "decided_by",
        violations,
        rule="is required: who recorded or gave the approval",
    )
    note = _text(request.note, "note", "note", violations)
    if kind is ApprovalKind.COUNCIL:
        if request.decided_by_role != COUNCIL_DECISION_RECORDER_ROLE:
            violations.append(
                FieldViolation(
                    "decided_by_role", "a Council decision is recorded by the Clerk ('clerk')", "6.5.13"
                )
            )
        try:
            decision = Decision(request.decision)
        except ValueError:
            decision = None
            violations.append(FieldViolation("decision", "must be 'approved' or 'refused'", "6.5.13"))
        resolution = _text(
            request.council_resolution,
            "council_resolution",
            "council_resolution",
            violations,
            rule="is required: the number of Council's resolution",
            policy="6.5.13",
        )
        meeting_on = parse_date(request.council_meeting_on, "council_meeting_on", violations)
        if meeting_on is not None and meeting_on > today:
            violations.append(
                FieldViolation(
                    "council_meeting_on",
                    f"must not be after today ({today.isoformat()}): "
                    "a decision is recorded after the meeting",
                    "6.5.13",
                )
            )
        if violations:
            raise InvalidArgument(violations)
        assert decision is not None
        approval = Approval(
            kind=kind,
            decision=decision,
            council_resolution=resolution,
            council_meeting_on=meeting_on,
            decided_by=decided_by,
            decided_by_role=request.decided_by_role,
            note=note,
        )
    else:
        if request.decided_by_role not in EMERGENCY_APPROVER_ROLES:
            violations.append(
                FieldViolation(
                    "decided_by_role",
                    "an emergency approval is given by the CAO ('cao'), the Chief Building Official ('cbo') "
                    "or the Fire Chief ('fire_chief')",
                    "6.5.14",
                )
            )
        if request.decision != Decision.APPROVED.value:
            violations.append(
                FieldViolation(
                    "decision",
                    "an emergency approval can only approve ('approved'); "
                    "without it the work waits for Council",
                    "6.5.14",
                )
            )
        try:
            risk: EmergencyRisk | None = EmergencyRisk(request.emergency_risk)
        except ValueError:
            risk = None
            violations.append(
                FieldViolation(
                    "emergency_risk",
                    "must name the risk if action is not taken promptly: "
                    "'life', 'health', 'safety' or 'property'",
                    "6.5.14",
                )
            )
        description = _text(
            request.emergency_description,
            "emergency_description",
            "emergency_description",
            violations,
            rule="is required: describe the risk to life, health, safety or property",
            policy="6.5.14",
        )
        urgency = _text(
            request.emergency_urgency,
            "emergency_urgency",
            "emergency_urgency",
            violations,
            rule="is required: why there is not sufficient time to report to a Council meeting",
            policy="6.5.14",
        )
        if not request.no_time_for_council:
            violations.append(
                FieldViolation(
                    "no_time_for_council",
                    "must be true: the emergency path applies only when there is not sufficient time "
                    "to report to Council",
                    "6.5.14",
                )
            )
        if violations:
            raise InvalidArgument(violations)
        approval = Approval(
            kind=kind,
            decision=Decision.APPROVED,
            emergency_risk=risk,
            emergency_description=description,
            emergency_urgency=urgency,
            decided_by=decided_by,
            decided_by_role=request.decided_by_role,
            note=note,
        )
    if order.status is not WorkOrderStatus.AWAITING_COUNCIL:
        if not order.council_approval_required:
            raise FailedPrecondition(
                f"work order {order.work_order_number} needs no Council approval "
                f"(estimate {money(order.estimate_cents)}"
                f"{'' if order.private_land else ', not on private land'}; "
                "policy 6.5.13 applies to more than $5,000 on private land)"
            )
        raise FailedPrecondition(
            f"work order {order.work_order_number} is {order.status.value}; "
            "it is no longer awaiting Council (policy 6.5.13)"
        )
    return approval


def same_approval(recorded: Approval, wanted: Approval) -> bool:
    """A retry of the step that recorded ``recorded`` (same decision, same authority)."""
    return (
        recorded.kind is wanted.kind
        and recorded.decision is wanted.decision
        and recorded.council_resolution == wanted.council_resolution
        and recorded.emergency_risk is wanted.emergency_risk
    )


def apply_approval(order: WorkOrder, approval: Approval, at: datetime) -> None:
    order.approval = approval
    order.status = (
        WorkOrderStatus.REFUSED if approval.decision is Decision.REFUSED else WorkOrderStatus.APPROVED
    )
    order.updated_at = at


# --- scheduling, costs, completion, cancellation --------------------------------------------


def check_schedule(order: WorkOrder, scheduled_on: date, zone: ZoneInfo) -> None:
    if order.status not in WORKABLE:
        raise FailedPrecondition(_not_workable(order))
    approved_on = order.approved_on(zone)
    if scheduled_on < approved_on:
        raise InvalidArgument(
            FieldViolation(
                "scheduled_on",
                f"must not be before the work was approved ({approved_on.isoformat()})",
                "6.5.13",
            )
        )


@dataclass(frozen=True, slots=True)
class NewCost:
    step_key: str
    kind: str
    description: str
    amount_cents: int
    hours: float = 0.0
    reference: str = ""
    incurred_on: str = ""


def check_costs(costs: Sequence[NewCost], today: date) -> list[CostEntry]:
    """Validated cost entries (fields only; :func:`check_costs_allowed` checks the state)."""
    if not costs:
        raise InvalidArgument(FieldViolation("costs", "at least one cost entry is required"))
    if len(costs) > MAX_COSTS_PER_REQUEST:
        raise InvalidArgument(FieldViolation("costs", f"at most {MAX_COSTS_PER_REQUEST} entries per request"))
    violations: list[FieldViolation] = []
    entries: list[CostEntry] = []
    seen: set[str] = set()
    for index, cost in enumerate(costs):
        where = f"costs[{index}]"
        if not cost.step_key.strip():
            violations.append(
                FieldViolation(f"{where}.step_key", "is required (idempotency key of the entry)")
            )
        elif cost.step_key in seen:
            violations.append(FieldViolation(f"{where}.step_key", "is repeated in this request"))
        elif len(cost.step_key) > 200:
            violations.append(FieldViolation(f"{where}.step_key", "must be at most 200 characters"))
        seen.add(cost.step_key)
        try:
            kind: CostKind | None = CostKind(cost.kind)
        except ValueError:
            kind = None
            violations.append(
                FieldViolation(f"{where}.kind", "must be 'contractor_invoice', 'staff_time' or 'other'")
            )
        description = _text(
            cost.description,
            f"{where}.description",
            "cost_description",
            violations,
            rule="is required: what the cost is for",
        )
        reference = _text(cost.reference, f"{where}.reference", "reference", violations)
        if cost.amount_cents <= 0:
            violations.append(FieldViolation(f"{where}.amount_cents", "must be a positive amount in cents"))
        elif cost.amount_cents > MAX_COST_CENTS:
            violations.append(
                FieldViolation(f"{where}.amount_cents", f"must be at most {MAX_COST_CENTS} cents")
            )
        hours: Decimal | None = None
        if kind is CostKind.STAFF_TIME:
            if not cost.hours or cost.hours <= 0 or cost.hours > 10_000:
                violations.append(
                    FieldViolation(f"{where}.hours", "staff time needs the hours worked (more than 0)")
                )
            else:
                hours = Decimal(str(cost.hours)).quantize(Decimal("0.01"))
        elif cost.hours:
            violations.append(FieldViolation(f"{where}.hours", "is only recorded for staff time"))
        if kind is CostKind.CONTRACTOR_INVOICE and not reference:
            violations.append(
                FieldViolation(
                    f"{where}.reference", "a contractor invoice line needs the contractor's invoice number"
                )
            )
        incurred_on = parse_date(cost.incurred_on, f"{where}.incurred_on", violations, required=False)
        if incurred_on is not None and incurred_on > today:
            violations.append(
                FieldViolation(f"{where}.incurred_on", f"must not be after today ({today.isoformat()})")
            )
        if kind is not None:
            entries.append(
                CostEntry(
                    cost.step_key.strip(), kind, description, cost.amount_cents, hours, reference, incurred_on
                )
            )
    if violations:
        raise InvalidArgument(violations)
    return entries


def check_costs_allowed(order: WorkOrder) -> None:
    if order.status not in WORKABLE:
        raise FailedPrecondition(
            _not_workable(order)
            + "; costs are recorded while the approved work is under way (before the invoice)"
        )


def same_cost(recorded: CostEntry, wanted: CostEntry) -> bool:
    return (recorded.kind, recorded.amount_cents, recorded.description) == (
        wanted.kind,
        wanted.amount_cents,
        wanted.description,
    )


def check_completion(order: WorkOrder, completed_on: date, today: date, zone: ZoneInfo) -> None:
    if order.status not in WORKABLE:
        raise FailedPrecondition(_not_workable(order))
    violations: list[FieldViolation] = []
    approved_on = order.approved_on(zone)
    if completed_on > today:
        violations.append(FieldViolation("completed_on", f"must not be after today ({today.isoformat()})"))
    if completed_on < approved_on:
        violations.append(
            FieldViolation(
                "completed_on",
                f"must not be before the work was approved ({approved_on.isoformat()})",
                "6.5.13",
            )
        )
    if order.actual_cost_cents <= 0:
        violations.append(
            FieldViolation(
                "costs",
                "record the actual costs before completing the work: they are recovered from the owner",
                "6.7.9",
            )
        )
    if violations:
        raise InvalidArgument(violations)


def check_cancellation(order: WorkOrder, reason: str) -> str:
    violations: list[FieldViolation] = []
    reason = _text(
        reason,
        "reason",
        "reason",
        violations,
        rule="is required: why the Town will not do the work",
        policy="6.5.10 f",
    )
    if violations:
        raise InvalidArgument(violations)
    if order.status not in CANCELLABLE:
        raise FailedPrecondition(
            f"work order {order.work_order_number} is {order.status.value}; "
            "only work not yet done can be cancelled"
        )
    if order.costs:
        raise FailedPrecondition(
            f"work order {order.work_order_number} already has costs of {money(order.actual_cost_cents)}; "
            "complete it so they are recovered from the owner (policy 6.7.9)"
        )
    return reason


def _not_workable(order: WorkOrder) -> str:
    if order.status is WorkOrderStatus.AWAITING_COUNCIL:
        return (
            f"work order {order.work_order_number} is awaiting Council's decision: no work on private "
            "land over $5,000 before Council approves it or an emergency approval is given "
            "(policy 6.5.13, 6.5.14)"
        )
    return f"work order {order.work_order_number} is {order.status.value}"


# --- invoice, payments, tax roll -------------------------------------------------------------


def new_invoice(
    order: WorkOrder,
    step_key: str,
    at: datetime,
    zone: ZoneInfo,
    period_days: int,
    owner_name: str,
    owner_mailing_address: str,
) -> Invoice:
    if order.status is not WorkOrderStatus.COMPLETED:
        raise FailedPrecondition(
            f"work order {order.work_order_number} is {order.status.value}; the owner is invoiced "
            "for the actual costs once the work is completed"
        )
    if not 1 <= period_days <= MAX_PAYMENT_PERIOD_DAYS:
        raise InvalidArgument(
            FieldViolation(
                "payment_period_days", f"must be between 1 and {MAX_PAYMENT_PERIOD_DAYS} days", "6.7.9"
            )
        )
    issued_on = local_date(at, zone)
    due_on = issued_on + timedelta(days=period_days)
    return Invoice(
        invoice_number=invoice_number(order.case_number, order.work_order_seq),
        step_key=step_key,
        amount_cents=order.actual_cost_cents,
        issued_at=at,
        issued_on=issued_on,
        due_on=due_on,
        due_at=end_of_day(due_on, zone),
        payment_period_days=period_days,
        owner_name=owner_name,
        owner_mailing_address=owner_mailing_address,
        roll_number=order.property_roll_number,
    )


@dataclass(frozen=True, slots=True)
class NewPayment:
    amount_cents: int
    received_on: str
    method: str
    reference: str = ""


def check_payment(order: WorkOrder, payment: NewPayment, step_key: str, today: date) -> Payment:
    invoice = order.invoice
    if invoice is None:
        raise FailedPrecondition(f"work order {order.work_order_number} has no invoice yet; nothing is owing")
    if invoice.status is InvoiceStatus.ON_TAX_ROLL:
        raise FailedPrecondition(
            f"invoice {invoice.invoice_number} is on the tax roll; the balance is collected with the "
            "property taxes (Municipal Act, 2001, s.446)"
        )
    if invoice.status is InvoiceStatus.PAID:
        raise FailedPrecondition(f"invoice {invoice.invoice_number} is paid in full")
    violations: list[FieldViolation] = []
    if payment.amount_cents <= 0:
        violations.append(FieldViolation("amount_cents", "must be a positive amount in cents"))
    elif payment.amount_cents > invoice.balance_cents:
        violations.append(
            FieldViolation(
                "amount_cents",
                f"must not exceed the balance owing of {money(invoice.balance_cents)} "
                f"on invoice {invoice.invoice_number}",
            )
        )
    received_on = parse_date(payment.received_on, "received_on", violations)
    if received_on is not None:
        if received_on > today:
            violations.append(FieldViolation("received_on", f"must not be after today ({today.isoformat()})"))
        elif received_on < invoice.issued_on:
            violations.append(
                FieldViolation(
                    "received_on",
                    f"must not be before the invoice was issued ({invoice.issued_on.isoformat()})",
                )
            )
    try:
        method: PaymentMethod | None = PaymentMethod(payment.method)
    except ValueError:
        method = None
        violations.append(
            FieldViolation("method", f"must be one of {', '.join(m.value for m in PaymentMethod)}")
        )
    reference = _text(payment.reference, "reference", "reference", violations)
    if violations:
        raise InvalidArgument(violations)
    assert received_on is not None and method is not None
    return Payment(step_key, payment.amount_cents, received_on, method, reference)


def apply_payment(invoice: Invoice, payment: Payment) -> None:
    invoice.payments.append(payment)
    invoice.paid_cents += payment.amount_cents
    if invoice.balance_cents == 0:
        invoice.status = InvoiceStatus.PAID


def check_tax_roll(order: WorkOrder, at: datetime, zone: ZoneInfo) -> Invoice:
    invoice = order.invoice
    if invoice is None:
        raise FailedPrecondition(
            f"work order {order.work_order_number} has no invoice; only invoiced costs go on the tax roll"
        )
    if invoice.status is not InvoiceStatus.ISSUED or invoice.balance_cents <= 0:
        raise FailedPrecondition(
            f"invoice {invoice.invoice_number} is {invoice.status.value}; "
            "nothing unpaid to add to the tax roll"
        )
    if local_date(at, zone) <= invoice.due_on:
        raise FailedPrecondition(
            f"invoice {invoice.invoice_number} is due on {invoice.due_on.isoformat()}; unpaid costs "
            "go on the tax roll only after the payment period (policy 6.7.9)"
        )
    return invoice


# --- the Treasurer's load file -------------------------------------------------------------

TAX_ROLL_COLUMNS = ("roll_number", "owner", "amount", "invoice_number", "case_number", "bylaw", "date")
# Spreadsheet programs run cells starting with these as formulas (CSV injection); the
# owner's name comes from the assessment roll, which this service does not control.
_FORMULA_START = re.compile(r"^[=+\-@\t\r]")


def _safe_cell(value: str) -> str:
    return f"'{value}" if _FORMULA_START.match(value) else value


def tax_roll_csv(items: Iterable[TaxRollItem]) -> str:
    """The load file: one row per item, amounts as plain decimals, dates as YYYY-MM-DD."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(TAX_ROLL_COLUMNS)
    for item in items:
        writer.writerow(
            [
                item.roll_number,
                _safe_cell(item.owner_name),
                decimal_amount(item.amount_cents),
                item.invoice_number,
                item.case_number,
                _safe_cell(item.bylaw_number),
                item.added_on.isoformat(),
            ]
        )
    return out.getvalue()


def check_export_key(key: str) -> str:
    key = key.strip()
    if not key:
        raise InvalidArgument(FieldViolation("export_key", "is required (idempotency key of the export)"))
    if len(key) > LIMITS["export_key"]:
        raise InvalidArgument(
            FieldViolation("export_key", f"must be at most {LIMITS['export_key']} characters")
        )
    return key
