"""``RemediationWorkflow``: municipal remediation of one work order, a child of the case
workflow (seed spec 3.4; policy 6.5.13-6.5.14, 6.7.9-6.7.10).

It creates the contractor work order with its estimate and sends the owner the notice of
the steps the Town will take (6.7.10). Work on private land expected to cost more than
$5,000 waits — durably, for months if need be — for Council's decision, recorded by the
Clerk (6.5.13), unless the CAO, the Chief Building Official or the Fire Chief approves it
as an emergency with a recorded risk to life, health, safety or property and no time for
Council (6.5.14), which is then listed for Council's next report. Approved work is done by
the contractor; officers record the actual costs and the completion; the registered owner
is invoiced; a durable timer runs for the payment period; the Treasurer records payments;
a balance unpaid at the end of the period is added to the tax roll (Municipal Act s.446).

Staff act through validated *updates* whose validators check the actor's roles again (the
gateway checked them first); every side effect is an activity keyed on case + step, so a
retry never records twice. The parent hears of each case status change through
``SIGNAL_REMEDIATION_PROGRESS`` and stays the authority on the case's status; this
workflow's own ``CaseStatus`` search attribute and current details follow its progress.

Deterministic: no I/O, time only from ``workflow.now()``. Nothing here names the
complainant; owner names stay inside the activities.

Patch ids: this is the first released version, so no patch exists yet. A later change to
the command sequence is guarded by ``workflow.patched(<ID>)`` with the id declared here,
and the histories recorded before it stay under ``tests/workflow/histories/`` so the
replay tests prove old runs still replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    # `import a.b as c`, not `from a import b` (see workflows/case_lifecycle.py): the
    # sandbox holds its own copy of the `workflows` package.
    import workflows.remediation_activities as acts
    from workflows.contracts import (
        CASE_NUMBER,
        CASE_STATUS,
        COUNCIL_GATE_CENTS,
        REMEDIATION_WORKFLOW_TYPE,
        SIGNAL_REMEDIATION_PROGRESS,
        RemediationInput,
        RemediationProgress,
        RemediationResult,
    )

# Message names (the gateway sends these).
QUERY_REMEDIATION_STATE = "remediation_state"
UPDATE_COUNCIL_DECISION = "record_council_decision"
UPDATE_EMERGENCY_APPROVAL = "approve_emergency"
UPDATE_SCHEDULE_WORK = "schedule_work"
UPDATE_RECORD_COSTS = "record_costs"
UPDATE_COMPLETE_WORK = "complete_work"
UPDATE_RECORD_PAYMENT = "record_payment"
UPDATE_CANCEL = "cancel_work_order"

# Error types of the ApplicationError a rejected update fails with.
ERROR_PERMISSION_DENIED = "PermissionDenied"
ERROR_INVALID_ARGUMENT = "InvalidArgument"
ERROR_FAILED_PRECONDITION = "FailedPrecondition"

# Who may do what (the gateway checks the same roles before sending the update).
CLERK = "clerk"  # records Council's decisions (6.5.13)
EMERGENCY_APPROVERS = ("cao", "cbo", "fire_chief")  # policy 6.5.14
WORK_ROLES = ("officer", "supervisor")  # schedule, costs, completion, cancellation
TREASURER = "treasurer"  # payments

EMERGENCY_RISKS = ("life", "health", "safety", "property")  # policy 6.5.14
COST_KINDS = ("contractor_invoice", "staff_time", "other")
PAYMENT_METHODS = ("cash", "cheque", "debit", "credit_card", "eft", "online")
MAX_TEXT = 4000
MAX_COSTS = 100

SYSTEM = "system"
DEFAULT_TIMEZONE = "America/Toronto"
# The services may restart: steps nobody waits on retry until they answer; a staff
# member waiting on an update gets an answer within minutes.
STEP_START_TO_CLOSE = timedelta(seconds=30)
RENDER_START_TO_CLOSE = timedelta(seconds=90)
UPDATE_SCHEDULE_TO_CLOSE = timedelta(minutes=5)
ACTIVITY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
_CASE_NUMBER = re.compile(r"^BL-\d{4}-\d{6,}$")


class Phase(StrEnum):
    """Where the work order is. ``case_status`` maps it to the case status the parent records."""

    STARTING = "starting"
    AWAITING_COUNCIL = "awaiting_council"
    APPROVED = "approved"
    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    INVOICED = "invoiced"
    PAID = "paid"
    ON_TAX_ROLL = "on_tax_roll"
    REFUSED = "refused_by_council"
    CANCELLED = "cancelled"


# --- update payloads and the state query --------------------------------------------------


@dataclass
class CouncilDecisionRequest:
    decision: str  # "approved" | "refused"
    resolution_number: str
    meeting_date: str  # ISO date of the Council meeting
    actor: str  # the Clerk's subject, from the verified token
    actor_roles: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class EmergencyApprovalRequest:
    risk: str  # "life" | "health" | "safety" | "property"
    risk_description: str
    no_time_for_council: bool
    urgency: str  # why it cannot wait for the next Council meeting
    actor: str
    actor_roles: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class ScheduleWorkRequest:
    scheduled_on: str
    actor: str
    actor_roles: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class CostItem:
    kind: str  # "contractor_invoice" | "staff_time" | "other"
    description: str
    amount_cents: int
    hours: float = 0.0
    reference: str = ""  # the contractor's invoice number, a timesheet ...
    incurred_on: str = ""


@dataclass
class RecordCostsRequest:
    costs: list[CostItem]
    actor: str
    actor_roles: list[str] = field(default_factory=list)


@dataclass
class CompleteWorkRequest:
    completed_on: str
    actor: str
    actor_roles: list[str] = field(default_factory=list)
    costs: list[CostItem] = field(default_factory=list)  # final costs, recorded first
    note: str = ""


@dataclass
class PaymentRequest:
    amount_cents: int
    received_on: str
    method: str
    actor: str
    actor_roles: list[str] = field(default_factory=list)
    reference: str = ""


@dataclass
class CancelRequest:
    reason: str
    actor: str
    actor_roles: list[str] = field(default_factory=list)


@dataclass
class RemediationStep:
    at: datetime
    event: str
    phase: str
    note: str = ""
    actor: str = ""


@dataclass
class RemediationState:
    """What the ``remediation_state`` query answers."""

    case_number: str
    work_order_seq: int
    work_order_number: str
    phase: str
    case_status: str  # the case status last reported to the parent ("" before the first)
    current_details: str
    estimate_cents: int
    council_approval_required: bool
    approval: str = ""  # "not_required" | "council" | "emergency"
    council_resolution: str = ""
    emergency_risk: str = ""
    scheduled_on: str = ""
    completed_on: str = ""
    actual_cost_cents: int = 0
    cost_entries: int = 0
    invoice_number: str = ""
    invoice_amount_cents: int = 0
    balance_cents: int = 0
    due_on: str = ""
    due_at: datetime | None = None
    payments: int = 0
    added_to_tax_roll: bool = False
    documents: list[str] = field(default_factory=list)  # notices document ids, in order
    timeline: list[RemediationStep] = field(default_factory=list)


# --- pure rules (also used by the gateway to answer early) ---------------------------------


class Rejection(ValueError):
    """An update the rules refuse: the field, the rule, the policy section, and the kind of
    error (permission, argument, or a state that does not allow it)."""

    def __init__(
        self, field: str, rule: str, policy: str | None = None, kind: str = ERROR_INVALID_ARGUMENT
    ) -> None:
        cite = f" (policy {policy})" if policy else ""
        super().__init__(f"{field}: {rule}{cite}")
        self.field = field
        self.rule = rule
        self.policy = policy
        self.kind = kind


def council_gate_applies(private_land: bool, estimate_cents: int) -> bool:
    """Policy 6.5.13: entering private lands where the expense is anticipated to *exceed*
    $5,000 (exactly $5,000 does not)."""
    return private_land and estimate_cents > COUNCIL_GATE_CENTS


def _roles(roles: Iterable[str], allowed: Sequence[str], who: str, policy: str | None) -> None:
    if not set(roles) & set(allowed):
        raise Rejection("actor_roles", f"requires {who}", policy, ERROR_PERMISSION_DENIED)


def _iso(value: str, name: str, policy: str | None = None) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise Rejection(name, "must be an ISO date (YYYY-MM-DD)", policy) from None


def _text(value: str, name: str, rule: str, policy: str | None = None) -> None:
    if not value.strip():
        raise Rejection(name, rule, policy)
    if len(value) > MAX_TEXT:
        raise Rejection(name, f"must be at most {MAX_TEXT} characters")


def _phase(current: Phase, allowed: Iterable[Phase], what: str, policy: str | None = None) -> None:
    allowed = tuple(allowed)
    if current not in allowed:
        raise Rejection(
            "phase",
            f"{what} is not possible while the work order is {current.value} "
            f"(only when {' or '.join(p.value for p in allowed)})",
            policy,
            ERROR_FAILED_PRECONDITION,
        )


def check_council_decision(request: CouncilDecisionRequest, phase: Phase, today: date) -> None:
    _roles(request.actor_roles, (CLERK,), "the Clerk ('clerk') to record Council's decision", "6.5.13")
    _phase(phase, (Phase.AWAITING_COUNCIL,), "recording Council's decision", "6.5.13")
    if request.decision not in ("approved", "refused"):
        raise Rejection("decision", "must be 'approved' or 'refused'", "6.5.13")
    _text(
        request.resolution_number,
        "resolution_number",
        "is required: the number of Council's resolution",
        "6.5.13",
    )
    if len(request.resolution_number) > 64:
        raise Rejection("resolution_number", "must be at most 64 characters")
    meeting = _iso(request.meeting_date, "meeting_date", "6.5.13")
    if meeting > today:
        raise Rejection(
            "meeting_date",
            f"must not be after today ({today.isoformat()}): record the decision after the meeting",
            "6.5.13",
        )


def check_emergency_approval(request: EmergencyApprovalRequest, phase: Phase) -> str:
    """The role under which the approval is given ("cao", "cbo" or "fire_chief")."""
    _roles(
        request.actor_roles,
        EMERGENCY_APPROVERS,
        "the Chief Administrative Officer ('cao'), the Chief Building Official ('cbo') or the Fire Chief "
        "('fire_chief') to approve without Council",
        "6.5.14",
    )
    _phase(phase, (Phase.AWAITING_COUNCIL,), "an emergency approval", "6.5.14")
    if request.risk not in EMERGENCY_RISKS:
        raise Rejection(
            "risk",
            "must name the risk if action is not taken promptly: life, health, safety or property",
            "6.5.14",
        )
    _text(
        request.risk_description,
        "risk_description",
        "is required: describe the risk to life, health, safety or property",
        "6.5.14",
    )
    if not request.no_time_for_council:
        raise Rejection(
            "no_time_for_council",
            "must be true: without Council's approval the work may proceed only when there is "
            "not sufficient time to report to Council",
            "6.5.14",
        )
    _text(
        request.urgency,
        "urgency",
        "is required: why there is not sufficient time to report to a Council meeting",
        "6.5.14",
    )
    return next(role for role in EMERGENCY_APPROVERS if role in request.actor_roles)


def check_schedule(request: ScheduleWorkRequest, phase: Phase, approved_on: date) -> None:
    _roles(request.actor_roles, WORK_ROLES, "an officer or supervisor", None)
    _phase(phase, (Phase.APPROVED, Phase.SCHEDULED), "scheduling the work", "6.5.13")
    if _iso(request.scheduled_on, "scheduled_on") < approved_on:
        raise Rejection(
            "scheduled_on", f"must not be before the work was approved ({approved_on.isoformat()})", "6.5.13"
        )


def check_costs(costs: Sequence[CostItem], today: date, *, required: bool = True) -> None:
    if required and not costs:
        raise Rejection("costs", "at least one cost entry is required")
    if len(costs) > MAX_COSTS:
        raise Rejection("costs", f"at most {MAX_COSTS} entries per request")
    for index, cost in enumerate(costs):
        where = f"costs[{index}]"
        if cost.kind not in COST_KINDS:
            raise Rejection(f"{where}.kind", f"must be one of {', '.join(COST_KINDS)}")
        _text(cost.description, f"{where}.description", "is required: what the cost is for")
        if cost.amount_cents <= 0:
            raise Rejection(f"{where}.amount_cents", "must be a positive amount in cents")
        if cost.kind == "staff_time" and not cost.hours > 0:
            raise Rejection(f"{where}.hours", "staff time needs the hours worked (more than 0)")
        if cost.kind != "staff_time" and cost.hours:
            raise Rejection(f"{where}.hours", "is only recorded for staff time")
        if cost.kind == "contractor_invoice" and not cost.reference.strip():
            raise Rejection(
                f"{where}.reference", "a contractor invoice line needs the contractor's invoice number"
            )
        if cost.incurred_on and _iso(cost.incurred_on, f"{where}.incurred_on") > today:
            raise Rejection(f"{where}.incurred_on", f"must not be after today ({today.isoformat()})")


def check_record_costs(request: RecordCostsRequest, phase: Phase, today: date) -> None:
    _roles(request.actor_roles, WORK_ROLES, "an officer or supervisor", None)
    _phase(phase, (Phase.APPROVED, Phase.SCHEDULED), "recording costs", "6.5.13")
    check_costs(request.costs, today)


def check_completion(
    request: CompleteWorkRequest, phase: Phase, approved_on: date, today: date, costs_so_far: int
) -> None:
    _roles(request.actor_roles, WORK_ROLES, "an officer or supervisor", None)
    _phase(phase, (Phase.APPROVED, Phase.SCHEDULED), "completing the work", "6.5.13")
    check_costs(request.costs, today, required=False)
    completed_on = _iso(request.completed_on, "completed_on")
    if completed_on > today:
        raise Rejection("completed_on", f"must not be after today ({today.isoformat()})")
    if completed_on < approved_on:
        raise Rejection(
            "completed_on", f"must not be before the work was approved ({approved_on.isoformat()})", "6.5.13"
        )
    if costs_so_far + sum(c.amount_cents for c in request.costs) <= 0:
        raise Rejection(
            "costs", "record the actual costs of the work: they are recovered from the owner", "6.7.9"
        )


def check_payment(
    request: PaymentRequest, phase: Phase, window_closed: bool, balance: int, issued_on: date, today: date
) -> None:
    _roles(request.actor_roles, (TREASURER,), "the Treasurer ('treasurer')", None)
    if window_closed or phase is Phase.ON_TAX_ROLL:
        raise Rejection(
            "phase",
            "the payment period has ended: the unpaid balance is on the tax roll and collected "
            "with the property "
            "taxes (Municipal Act, 2001, s.446)",
            "6.7.9",
            ERROR_FAILED_PRECONDITION,
        )
    _phase(phase, (Phase.INVOICED,), "recording a payment")
    if request.amount_cents <= 0:
        raise Rejection("amount_cents", "must be a positive amount in cents")
    if request.amount_cents > balance:
        raise Rejection("amount_cents", f"must not exceed the balance owing of {acts.money(balance)}")
    received = _iso(request.received_on, "received_on")
    if received > today:
        raise Rejection("received_on", f"must not be after today ({today.isoformat()})")
    if received < issued_on:
        raise Rejection("received_on", f"must not be before the invoice was issued ({issued_on.isoformat()})")
    if request.method not in PAYMENT_METHODS:
        raise Rejection("method", f"must be one of {', '.join(PAYMENT_METHODS)}")


def check_cancel(request: CancelRequest, phase: Phase, costs_so_far: int) -> None:
    _roles(request.actor_roles, WORK_ROLES, "an officer or supervisor", None)
    _phase(phase, (Phase.AWAITING_COUNCIL, Phase.APPROVED, Phase.SCHEDULED), "cancelling the work order")
    _text(request.reason, "reason", "is required: why the Town will not do the work", "6.5.10 f")
    if costs_so_far:
        raise Rejection(
            "costs",
            f"costs of {acts.money(costs_so_far)} are recorded; complete the work order so they "
            "are recovered from the owner",
            "6.7.9",
            ERROR_FAILED_PRECONDITION,
        )


def check_input(input: RemediationInput) -> list[str]:
    problems: list[str] = []
    if not _CASE_NUMBER.match(input.case_number):
        problems.append("case_number: must be a case number like BL-2026-000123")
    if input.work_order_seq < 1:
        problems.append("work_order_seq: must be 1 or more")
    if input.estimate_cents <= 0:
        problems.append("estimate_cents: must be a positive estimate in cents (policy 6.5.13)")
    if not input.work_description.strip():
        problems.append("work_description: is required (policy 6.7.10)")
    if not input.contractor.strip():
        problems.append("contractor: is required")
    if not input.requested_by.strip():
        problems.append("requested_by: is required")
    if not 0 <= input.payment_period_days <= 365:
        problems.append(
            "payment_period_days: must be between 1 and 365 (0: the configured period) (policy 6.7.9)"
        )
    try:
        acts.town_zone(input.town_timezone)
    except ValueError:
        problems.append(f"town_timezone: unknown time zone {input.town_timezone!r}")
    return problems


# --- the workflow -------------------------------------------------------------------------


@workflow.defn(name=REMEDIATION_WORKFLOW_TYPE)
class RemediationWorkflow:
    @workflow.init
    def __init__(self, input: RemediationInput) -> None:
        self._input = input
        self._problems = check_input(input)
        bad_zone = any(p.startswith("town_timezone") for p in self._problems)
        self._zone = acts.town_zone(DEFAULT_TIMEZONE if bad_zone else input.town_timezone)
        self._prefix = f"{input.case_number}:remediation-{input.work_order_seq}"
        self._current = Phase.STARTING
        self._approved_at: datetime | None = None
        self._emergency = False
        self._window_closed = False
        self._issued_on: date | None = None
        self._schedules = 0
        self._lock = asyncio.Lock()
        self._state = RemediationState(
            case_number=input.case_number,
            work_order_seq=input.work_order_seq,
            work_order_number="",
            phase=Phase.STARTING.value,
            case_status="",
            current_details="",
            estimate_cents=input.estimate_cents,
            council_approval_required=council_gate_applies(input.private_land, input.estimate_cents),
        )

    @workflow.run
    async def run(self, input: RemediationInput) -> RemediationResult:
        if self._problems:
            raise ApplicationError("; ".join(self._problems), type=ERROR_INVALID_ARGUMENT, non_retryable=True)
        workflow.upsert_search_attributes([CASE_NUMBER.value_set(input.case_number)])
        self._details(f"Creating work order {input.work_order_seq} ({acts.money(input.estimate_cents)})")
        order = await self._step(
            acts.RemediationActivities.create_work_order,
            acts.CreateWorkOrderInput(
                case_number=input.case_number,
                work_order_seq=input.work_order_seq,
                step_key=f"{self._prefix}:work-order",
                description=input.work_description,
                contractor=input.contractor,
                estimate_cents=input.estimate_cents,
                private_land=input.private_land,
                requested_by=input.requested_by,
                property_roll_number=input.property_roll_number,
                payment_period_days=input.payment_period_days,
                occurred_at=workflow.now(),
            ),
        )
        self._state.work_order_number = order.work_order_number
        self._log(
            "work_order_created",
            f"estimate {acts.money(input.estimate_cents)}, contractor {input.contractor}",
            input.requested_by,
        )
        # Policy 6.7.10: before taking the measures, the owner is told the steps.
        await self._render(acts.OWNER_NOTICE)

        if self._state.council_approval_required:
            # Policy 6.5.13: reported to Council prior to the action being taken.
            await self._render(acts.COUNCIL_REQUEST)
            self._phase = Phase.AWAITING_COUNCIL
            await self._report(
                "awaiting_council_approval",
                f"Work order {order.work_order_number} ({acts.money(input.estimate_cents)} on private land) "
                "awaits Council's decision (policy 6.5.13)",
            )
            await workflow.wait_condition(lambda: self._phase is not Phase.AWAITING_COUNCIL)
            if self._phase is Phase.REFUSED:
                await self._report(
                    "escalated",
                    f"Council refused work order {order.work_order_number} (resolution "
                    f"{self._state.council_resolution}); another enforcement method is needed",
                )
                return await self._finish("refused_by_council")
            if self._phase is Phase.CANCELLED:
                return await self._finish("cancelled")
            if self._emergency:
                # Policy 6.5.14: reported to Council for information at the earliest opportunity.
                await self._render(acts.COUNCIL_INFORMATION)
        else:
            self._approved_at = workflow.now()
            self._state.approval = "not_required"
            self._phase = Phase.APPROVED

        await self._report(
            "remediation",
            f"Work order {order.work_order_number} approved ({self._state.approval.replace('_', ' ')}); "
            f"{self._input.contractor} to do the work",
        )
        await self._render(acts.CONTRACTOR_WORK_ORDER)
        await workflow.wait_condition(lambda: self._phase in (Phase.COMPLETED, Phase.CANCELLED))
        if self._phase is Phase.CANCELLED:
            return await self._finish("cancelled")

        # The remedial work is done: the property complies; now the costs are recovered.
        invoice = await self._step(
            acts.RemediationActivities.issue_invoice,
            acts.IssueInvoiceInput(
                case_number=input.case_number,
                work_order_seq=input.work_order_seq,
                step_key=f"{self._prefix}:invoice",
                occurred_at=workflow.now(),
            ),
        )
        self._take_invoice(invoice)
        self._phase = Phase.INVOICED
        await self._render(acts.INVOICE)
        await self._report(
            "complied",
            f"Work order {order.work_order_number} completed; invoice {invoice.invoice_number} for "
            f"{acts.money(invoice.invoice_amount_cents)} due {invoice.due_on}",
        )
        self._log(
            "invoiced",
            f"invoice {invoice.invoice_number} {acts.money(invoice.invoice_amount_cents)}, "
            f"due {invoice.due_on}",
        )

        # The payment period: a durable timer to the end of the due date (policy 6.7.9).
        due_at = invoice.due_at or workflow.now()
        while self._phase is Phase.INVOICED:
            remaining = due_at - workflow.now()
            if remaining <= timedelta(0):
                break
            # Ends early when a payment settles the invoice; otherwise at the due time.
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: self._phase is not Phase.INVOICED, timeout=remaining)
        async with self._lock:
            # Payments recorded from here on would race the tax roll: the window is shut.
            self._window_closed = True
        if self._phase is Phase.PAID:
            return await self._finish("completed")

        taxed = await self._step(
            acts.RemediationActivities.add_to_tax_roll,
            acts.AddToTaxRollInput(
                case_number=input.case_number,
                work_order_seq=input.work_order_seq,
                step_key=f"{self._prefix}:tax-roll",
                occurred_at=workflow.now(),
            ),
        )
        self._phase = Phase.ON_TAX_ROLL
        self._state.added_to_tax_roll = True
        self._state.balance_cents = taxed.balance_cents
        self._log(
            "added_to_tax_roll",
            f"{acts.money(taxed.tax_roll_amount_cents)} unpaid after {self._state.due_on}",
        )
        await self._render(acts.TAX_ROLL_NOTICE)
        return await self._finish("completed")

    # ------------------------------------------------------------------ query

    @workflow.query(name=QUERY_REMEDIATION_STATE)
    def state(self) -> RemediationState:
        return self._state

    @property
    def _phase(self) -> Phase:
        return self._current

    @_phase.setter
    def _phase(self, phase: Phase) -> None:
        self._current = phase
        self._state.phase = phase.value

    # ------------------------------------------------------------------ updates

    @workflow.update(name=UPDATE_COUNCIL_DECISION)
    async def record_council_decision(self, request: CouncilDecisionRequest) -> RemediationState:
        async with self._lock:
            self._checked(lambda: check_council_decision(request, self._phase, self._today()))
            order = await self._update_step(
                acts.RemediationActivities.record_approval,
                acts.RecordApprovalInput(
                    case_number=self._input.case_number,
                    work_order_seq=self._input.work_order_seq,
                    step_key=f"{self._prefix}:council-decision",
                    kind="council",
                    decision=request.decision,
                    council_resolution=request.resolution_number.strip(),
                    council_meeting_on=request.meeting_date.strip(),
                    decided_by=request.actor,
                    decided_by_role=CLERK,
                    note=request.note,
                    occurred_at=workflow.now(),
                ),
            )
            self._state.approval = order.approval_kind
            self._state.council_resolution = request.resolution_number.strip()
            if request.decision == "approved":
                self._approved_at = workflow.now()
                self._phase = Phase.APPROVED
            else:
                self._phase = Phase.REFUSED
            self._log(
                "council_decision",
                f"Council {request.decision} (resolution {request.resolution_number}, "
                f"meeting {request.meeting_date})",
                request.actor,
            )
            return self.state()

    @record_council_decision.validator
    def validate_council_decision(self, request: CouncilDecisionRequest) -> None:
        self._checked(lambda: check_council_decision(request, self._phase, self._today()))

    @workflow.update(name=UPDATE_EMERGENCY_APPROVAL)
    async def approve_emergency(self, request: EmergencyApprovalRequest) -> RemediationState:
        async with self._lock:
            role = self._checked(lambda: check_emergency_approval(request, self._phase))
            order = await self._update_step(
                acts.RemediationActivities.record_approval,
                acts.RecordApprovalInput(
                    case_number=self._input.case_number,
                    work_order_seq=self._input.work_order_seq,
                    step_key=f"{self._prefix}:emergency-approval",
                    kind="emergency",
                    decision="approved",
                    emergency_risk=request.risk,
                    emergency_description=request.risk_description.strip(),
                    emergency_urgency=request.urgency.strip(),
                    no_time_for_council=request.no_time_for_council,
                    decided_by=request.actor,
                    decided_by_role=role,
                    note=request.note,
                    occurred_at=workflow.now(),
                ),
            )
            self._state.approval = order.approval_kind
            self._state.emergency_risk = request.risk
            self._emergency = True
            self._approved_at = workflow.now()
            self._phase = Phase.APPROVED
            self._log("emergency_approval", f"approved by {role}: risk to {request.risk}", request.actor)
            return self.state()

    @approve_emergency.validator
    def validate_emergency(self, request: EmergencyApprovalRequest) -> None:
        self._checked(lambda: check_emergency_approval(request, self._phase))

    @workflow.update(name=UPDATE_SCHEDULE_WORK)
    async def schedule_work(self, request: ScheduleWorkRequest) -> RemediationState:
        async with self._lock:
            self._checked(lambda: check_schedule(request, self._phase, self._approved_on()))
            await self._update_step(
                acts.RemediationActivities.schedule_work,
                acts.ScheduleWorkInput(
                    case_number=self._input.case_number,
                    work_order_seq=self._input.work_order_seq,
                    step_key=f"{self._prefix}:schedule-{self._schedules + 1}",
                    scheduled_on=request.scheduled_on.strip(),
                    note=request.note,
                    actor=request.actor,
                    occurred_at=workflow.now(),
                ),
            )
            self._schedules += 1
            self._state.scheduled_on = request.scheduled_on.strip()
            self._phase = Phase.SCHEDULED
            self._log("work_scheduled", f"scheduled for {self._state.scheduled_on}", request.actor)
            self._details(
                f"Work order {self._state.work_order_number}: work scheduled for {self._state.scheduled_on}"
            )
            return self.state()

    @schedule_work.validator
    def validate_schedule(self, request: ScheduleWorkRequest) -> None:
        self._checked(lambda: check_schedule(request, self._phase, self._approved_on()))

    @workflow.update(name=UPDATE_RECORD_COSTS)
    async def record_costs(self, request: RecordCostsRequest) -> RemediationState:
        async with self._lock:
            self._checked(lambda: check_record_costs(request, self._phase, self._today()))
            await self._record_costs(request.costs, request.actor)
            return self.state()

    @record_costs.validator
    def validate_costs(self, request: RecordCostsRequest) -> None:
        self._checked(lambda: check_record_costs(request, self._phase, self._today()))

    @workflow.update(name=UPDATE_COMPLETE_WORK)
    async def complete_work(self, request: CompleteWorkRequest) -> RemediationState:
        async with self._lock:
            self._checked(
                lambda: check_completion(
                    request, self._phase, self._approved_on(), self._today(), self._state.actual_cost_cents
                )
            )
            if request.costs:
                await self._record_costs(request.costs, request.actor)
            await self._update_step(
                acts.RemediationActivities.complete_work,
                acts.CompleteWorkInput(
                    case_number=self._input.case_number,
                    work_order_seq=self._input.work_order_seq,
                    step_key=f"{self._prefix}:completed",
                    completed_on=request.completed_on.strip(),
                    note=request.note,
                    actor=request.actor,
                    occurred_at=workflow.now(),
                ),
            )
            self._state.completed_on = request.completed_on.strip()
            self._phase = Phase.COMPLETED
            self._log(
                "work_completed",
                f"completed {self._state.completed_on}; "
                f"actual costs {acts.money(self._state.actual_cost_cents)}",
                request.actor,
            )
            return self.state()

    @complete_work.validator
    def validate_completion(self, request: CompleteWorkRequest) -> None:
        self._checked(
            lambda: check_completion(
                request, self._phase, self._approved_on(), self._today(), self._state.actual_cost_cents
            )
        )

    @workflow.update(name=UPDATE_RECORD_PAYMENT)
    async def record_payment(self, request: PaymentRequest) -> RemediationState:
        async with self._lock:
            self._checked(lambda: self._check_payment(request))
            invoice = await self._update_step(
                acts.RemediationActivities.record_payment,
                acts.RecordPaymentInput(
                    case_number=self._input.case_number,
                    work_order_seq=self._input.work_order_seq,
                    step_key=f"{self._prefix}:payment-{self._state.payments + 1}",
                    amount_cents=request.amount_cents,
                    received_on=request.received_on.strip(),
                    method=request.method,
                    reference=request.reference,
                    actor=request.actor,
                    occurred_at=workflow.now(),
                ),
            )
            self._state.payments += 1
            self._state.balance_cents = invoice.balance_cents
            self._log(
                "payment",
                f"{acts.money(request.amount_cents)} received {request.received_on}; "
                f"balance {acts.money(invoice.balance_cents)}",
                request.actor,
            )
            if invoice.balance_cents == 0:
                self._phase = Phase.PAID
            else:
                self._details(
                    f"Invoice {self._state.invoice_number}: {acts.money(invoice.balance_cents)} owing, "
                    f"due {self._state.due_on}"
                )
            return self.state()

    @record_payment.validator
    def validate_payment(self, request: PaymentRequest) -> None:
        self._checked(lambda: self._check_payment(request))

    @workflow.update(name=UPDATE_CANCEL)
    async def cancel_work_order(self, request: CancelRequest) -> RemediationState:
        async with self._lock:
            self._checked(lambda: check_cancel(request, self._phase, self._state.actual_cost_cents))
            await self._update_step(
                acts.RemediationActivities.cancel_work_order,
                acts.CancelWorkOrderInput(
                    case_number=self._input.case_number,
                    work_order_seq=self._input.work_order_seq,
                    step_key=f"{self._prefix}:cancel",
                    reason=request.reason.strip(),
                    actor=request.actor,
                    occurred_at=workflow.now(),
                ),
            )
            self._phase = Phase.CANCELLED
            self._log("cancelled", request.reason.strip(), request.actor)
            return self.state()

    @cancel_work_order.validator
    def validate_cancel(self, request: CancelRequest) -> None:
        self._checked(lambda: check_cancel(request, self._phase, self._state.actual_cost_cents))

    # ------------------------------------------------------------------ internals

    def _checked(self, check: Any) -> Any:
        try:
            return check()
        except Rejection as rejection:
            raise ApplicationError(
                str(rejection),
                {"field": rejection.field, "rule": rejection.rule, "policy": rejection.policy},
                type=rejection.kind,
                non_retryable=True,
            ) from None

    def _check_payment(self, request: PaymentRequest) -> None:
        check_payment(
            request,
            self._phase,
            self._window_closed,
            self._state.balance_cents,
            self._issued_on or self._today(),
            self._today(),
        )

    async def _record_costs(self, costs: Sequence[CostItem], actor: str) -> None:
        first = self._state.cost_entries + 1
        lines = [
            acts.CostLine(
                # Numbered by the workflow: a retry of this update's activity records
                # each entry once, and the next request continues the numbering.
                step_key=f"{self._prefix}:cost-{first + index}",
                kind=cost.kind,
                description=cost.description.strip(),
                amount_cents=cost.amount_cents,
                hours=cost.hours,
                reference=cost.reference.strip(),
                incurred_on=cost.incurred_on.strip(),
            )
            for index, cost in enumerate(costs)
        ]
        order = await self._update_step(
            acts.RemediationActivities.record_costs,
            acts.RecordCostsInput(
                case_number=self._input.case_number,
                work_order_seq=self._input.work_order_seq,
                costs=lines,
                actor=actor,
                occurred_at=workflow.now(),
            ),
        )
        self._state.cost_entries += len(lines)
        self._state.actual_cost_cents = order.actual_cost_cents
        self._log(
            "costs_recorded",
            f"{len(lines)} entries; actual costs {acts.money(order.actual_cost_cents)}",
            actor,
        )

    async def _step(self, activity: Any, argument: Any) -> acts.WorkOrderSnapshot:
        """A step nobody waits on: retried until the service answers; a business refusal
        fails the workflow with the service's reason."""
        result: acts.WorkOrderSnapshot = await workflow.execute_activity_method(
            activity, argument, start_to_close_timeout=STEP_START_TO_CLOSE, retry_policy=ACTIVITY_RETRY
        )
        return result

    async def _update_step(self, activity: Any, argument: Any) -> acts.WorkOrderSnapshot:
        """A step a staff member waits on: a refusal answers their update with the reason
        (field, rule, policy) and leaves the workflow as it was."""
        try:
            result: acts.WorkOrderSnapshot = await workflow.execute_activity_method(
                activity,
                argument,
                start_to_close_timeout=STEP_START_TO_CLOSE,
                schedule_to_close_timeout=UPDATE_SCHEDULE_TO_CLOSE,
                retry_policy=ACTIVITY_RETRY,
            )
            return result
        except ActivityError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError):
                raise ApplicationError(
                    cause.message,
                    *cause.details,
                    type=cause.type or ERROR_FAILED_PRECONDITION,
                    non_retryable=True,
                ) from err
            raise ApplicationError(
                f"the step could not be recorded: {cause or err}", type="Unavailable", non_retryable=True
            ) from err

    async def _render(self, document: str) -> None:
        rendered: acts.RenderedDocument = await workflow.execute_activity_method(
            acts.RemediationActivities.render_document,
            acts.RenderDocumentInput(
                case_number=self._input.case_number,
                work_order_seq=self._input.work_order_seq,
                document=document,
                step_key=f"{self._prefix}:{document.replace('_', '-')}",
                occurred_at=workflow.now(),
            ),
            start_to_close_timeout=RENDER_START_TO_CLOSE,
            retry_policy=ACTIVITY_RETRY,
        )
        self._state.documents.append(rendered.document_id)
        self._log("document", f"{rendered.title} ({rendered.template})")

    def _take_invoice(self, invoice: acts.WorkOrderSnapshot) -> None:
        self._state.invoice_number = invoice.invoice_number
        self._state.invoice_amount_cents = invoice.invoice_amount_cents
        self._state.balance_cents = invoice.balance_cents
        self._state.due_on = invoice.due_on
        self._state.due_at = invoice.due_at
        self._issued_on = self._today()

    async def _report(self, case_status: str, detail: str) -> None:
        """Tell the parent about a case status change, and mirror it in this workflow's
        search attributes and current details."""
        self._details(detail)
        if case_status == self._state.case_status:
            return
        self._state.case_status = case_status
        workflow.upsert_search_attributes([CASE_STATUS.value_set(case_status)])
        parent_info = workflow.info().parent
        parent = self._input.parent_workflow_id or (parent_info.workflow_id if parent_info else "")
        if not parent:
            return
        try:
            await workflow.get_external_workflow_handle(parent).signal(
                SIGNAL_REMEDIATION_PROGRESS,
                RemediationProgress(
                    work_order_seq=self._input.work_order_seq, case_status=case_status, detail=detail
                ),
            )
        except FailureError as err:
            # A parent that is gone cannot be told; the work order's record in cases stands.
            workflow.logger.warning("could not report progress to %s: %s", parent, err)

    async def _finish(self, outcome: str) -> RemediationResult:
        self._details(
            {
                "refused_by_council": f"Work order {self._state.work_order_number} refused by Council",
                "cancelled": f"Work order {self._state.work_order_number} cancelled",
            }.get(
                outcome,
                f"Work order {self._state.work_order_number} completed; costs "
                + ("added to the tax roll" if self._state.added_to_tax_roll else "paid"),
            )
        )
        # Let accepted updates answer their callers before the run ends.
        await workflow.wait_condition(workflow.all_handlers_finished)
        return RemediationResult(
            work_order_seq=self._input.work_order_seq,
            outcome=outcome,
            actual_cost_cents=self._state.actual_cost_cents,
            invoice_number=self._state.invoice_number,
            paid=self._phase is Phase.PAID,
            added_to_tax_roll=self._state.added_to_tax_roll,
            emergency=self._emergency,
            work_order_number=self._state.work_order_number,
        )

    def _details(self, sentence: str) -> None:
        self._state.current_details = sentence
        workflow.set_current_details(sentence)

    def _log(self, event: str, note: str, actor: str = SYSTEM) -> None:
        self._state.timeline.append(
            RemediationStep(at=workflow.now(), event=event, phase=self._phase.value, note=note, actor=actor)
        )

    def _today(self) -> date:
        return workflow.now().astimezone(self._zone).date()

    def _approved_on(self) -> date:
        return (self._approved_at or workflow.now()).astimezone(self._zone).date()
