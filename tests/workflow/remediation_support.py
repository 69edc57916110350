"""Helpers for the remediation workflow tests and the history recorder: in-memory stand-ins
for the remediation activities (same names and payloads as ``RemediationActivities``,
keeping the cases service's once-per-step-key behaviour), a stand-in parent case workflow
that starts the child and records its progress signals, inputs and staff requests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from temporalio import activity, workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from workflows import remediation_activities as acts
from workflows.contracts import (
    SIGNAL_REMEDIATION_PROGRESS,
    RemediationInput,
    RemediationProgress,
    RemediationResult,
    remediation_workflow_id,
)
from workflows.remediation import (
    QUERY_REMEDIATION_STATE,
    CancelRequest,
    CompleteWorkRequest,
    CostItem,
    CouncilDecisionRequest,
    EmergencyApprovalRequest,
    PaymentRequest,
    RecordCostsRequest,
    RemediationState,
    RemediationWorkflow,
    ScheduleWorkRequest,
)

TORONTO = ZoneInfo("America/Toronto")
PARENT_QUERY = "progress"


@dataclass
class _Order:
    request: acts.CreateWorkOrderInput
    gated: bool
    status: str
    period: int
    approval_kind: str = ""
    approval_decision: str = ""
    costs: dict[str, acts.CostLine] = field(default_factory=dict)
    invoice_step: str = ""
    invoice_amount: int = 0
    paid: int = 0
    payments: dict[str, int] = field(default_factory=dict)
    issued_on: date | None = None
    due_on: date | None = None
    tax_roll_amount: int = 0


@dataclass
class FakeRemediation:
    """Records every call; applies each step key once, like the cases and notices services."""

    default_period_days: int = 30
    # activity name -> (error type, message) refused non-retryably, like a business error
    refuse: dict[str, tuple[str, str]] = field(default_factory=dict)
    # activity name -> transient failures before success (a service restarting)
    transient_failures: dict[str, int] = field(default_factory=dict)
    orders: dict[tuple[str, int], _Order] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    rendered: dict[str, str] = field(default_factory=dict)  # step_key -> document
    invoices_issued: int = 0
    tax_roll_items: int = 0

    def _enter(self, name: str) -> None:
        self.calls.append(name)
        if name in self.refuse:
            kind, message = self.refuse[name]
            raise ApplicationError(
                message, {"field": "request", "rule": message, "policy": None}, type=kind, non_retryable=True
            )
        if self.transient_failures.get(name, 0) > 0:
            self.transient_failures[name] -= 1
            raise RuntimeError(f"{name}: service unavailable")

    def _snapshot(self, key: tuple[str, int]) -> acts.WorkOrderSnapshot:
        order = self.orders[key]
        due_at = (
            datetime.combine(order.due_on + timedelta(days=1), time(0), TORONTO).astimezone(UTC)
            if order.due_on
            else None
        )
        return acts.WorkOrderSnapshot(
            case_number=key[0],
            work_order_seq=key[1],
            work_order_number=f"{key[0]}-W{key[1]}",
            status=order.status,
            council_approval_required=order.gated,
            estimate_cents=order.request.estimate_cents,
            actual_cost_cents=sum(c.amount_cents for c in order.costs.values()),
            approval_kind=order.approval_kind,
            approval_decision=order.approval_decision,
            payment_period_days=order.period,
            cost_step_keys=list(order.costs),
            invoice_number=f"{key[0]}-INV{key[1]}" if order.invoice_step else "",
            invoice_amount_cents=order.invoice_amount,
            balance_cents=order.invoice_amount - order.paid,
            due_on=order.due_on.isoformat() if order.due_on else "",
            due_at=due_at,
            tax_roll_amount_cents=order.tax_roll_amount,
        )

    @activity.defn(name=acts.CREATE_WORK_ORDER)
    async def create_work_order(self, request: acts.CreateWorkOrderInput) -> acts.WorkOrderSnapshot:
        self._enter(acts.CREATE_WORK_ORDER)
        key = (request.case_number, request.work_order_seq)
        if key not in self.orders:
            gated = request.private_land and request.estimate_cents > 500_000
            self.orders[key] = _Order(
                request=request,
                gated=gated,
                status="awaiting_council" if gated else "approved",
                period=request.payment_period_days or self.default_period_days,
                approval_kind="" if gated else "not_required",
            )
        return self._snapshot(key)

    @activity.defn(name=acts.RECORD_APPROVAL)
    async def record_approval(self, request: acts.RecordApprovalInput) -> acts.WorkOrderSnapshot:
        self._enter(acts.RECORD_APPROVAL)
        key = (request.case_number, request.work_order_seq)
        order = self.orders[key]
        order.approval_kind, order.approval_decision = request.kind, request.decision
        order.status = "refused" if request.decision == "refused" else "approved"
        return self._snapshot(key)

    @activity.defn(name=acts.SCHEDULE_WORK)
    async def schedule_work(self, request: acts.ScheduleWorkInput) -> acts.WorkOrderSnapshot:
        self._enter(acts.SCHEDULE_WORK)
        key = (request.case_number, request.work_order_seq)
        self.orders[key].status = "scheduled"
        return self._snapshot(key)

    @activity.defn(name=acts.RECORD_COSTS)
    async def record_costs(self, request: acts.RecordCostsInput) -> acts.WorkOrderSnapshot:
        self._enter(acts.RECORD_COSTS)
        key = (request.case_number, request.work_order_seq)
        for line in request.costs:
            self.orders[key].costs.setdefault(line.step_key, line)
        return self._snapshot(key)

    @activity.defn(name=acts.COMPLETE_WORK)
    async def complete_work(self, request: acts.CompleteWorkInput) -> acts.WorkOrderSnapshot:
        self._enter(acts.COMPLETE_WORK)
        key = (request.case_number, request.work_order_seq)
        self.orders[key].status = "completed"
        return self._snapshot(key)

    @activity.defn(name=acts.CANCEL_WORK_ORDER)
    async def cancel_work_order(self, request: acts.CancelWorkOrderInput) -> acts.WorkOrderSnapshot:
        self._enter(acts.CANCEL_WORK_ORDER)
        key = (request.case_number, request.work_order_seq)
        self.orders[key].status = "cancelled"
        return self._snapshot(key)

    @activity.defn(name=acts.ISSUE_INVOICE)
    async def issue_invoice(self, request: acts.IssueInvoiceInput) -> acts.WorkOrderSnapshot:
        self._enter(acts.ISSUE_INVOICE)
        key = (request.case_number, request.work_order_seq)
        order = self.orders[key]
        if not order.invoice_step:
            self.invoices_issued += 1
            order.invoice_step = request.step_key
            order.invoice_amount = sum(c.amount_cents for c in order.costs.values())
            order.issued_on = request.occurred_at.astimezone(TORONTO).date()
            order.due_on = order.issued_on + timedelta(days=order.period)
            order.status = "invoiced"
        return self._snapshot(key)

    @activity.defn(name=acts.RECORD_PAYMENT)
    async def record_payment(self, request: acts.RecordPaymentInput) -> acts.WorkOrderSnapshot:
        self._enter(acts.RECORD_PAYMENT)
        key = (request.case_number, request.work_order_seq)
        order = self.orders[key]
        if request.step_key not in order.payments:
            order.payments[request.step_key] = request.amount_cents
            order.paid += request.amount_cents
            if order.paid == order.invoice_amount:
                order.status = "paid"
        return self._snapshot(key)

    @activity.defn(name=acts.ADD_TO_TAX_ROLL)
    async def add_to_tax_roll(self, request: acts.AddToTaxRollInput) -> acts.WorkOrderSnapshot:
        self._enter(acts.ADD_TO_TAX_ROLL)
        key = (request.case_number, request.work_order_seq)
        order = self.orders[key]
        if not order.tax_roll_amount:
            assert order.due_on is not None
            # The cases rule: only after the due date, in the Town's time zone (policy 6.7.9).
            if request.occurred_at.astimezone(TORONTO).date() <= order.due_on:
                raise ApplicationError("not yet due", type="FailedPrecondition", non_retryable=True)
            self.tax_roll_items += 1
            order.tax_roll_amount = order.invoice_amount - order.paid
            order.status = "on_tax_roll"
        return self._snapshot(key)

    @activity.defn(name=acts.RENDER_DOCUMENT)
    async def render_document(self, request: acts.RenderDocumentInput) -> acts.RenderedDocument:
        self._enter(acts.RENDER_DOCUMENT)
        self.rendered.setdefault(request.step_key, request.document)
        return acts.RenderedDocument(
            document_id=str(uuid.uuid5(uuid.NAMESPACE_URL, request.step_key)),
            template=acts.TEMPLATES[request.document],
            title=request.document.replace("_", " ").title(),
        )

    def activities(self) -> list[Any]:
        return [
            self.create_work_order,
            self.record_approval,
            self.schedule_work,
            self.record_costs,
            self.complete_work,
            self.cancel_work_order,
            self.issue_invoice,
            self.record_payment,
            self.add_to_tax_roll,
            self.render_document,
        ]

    def documents(self) -> list[str]:
        return list(self.rendered.values())


@workflow.defn(name="RemediationParentStandIn")
class ParentStandIn:
    """Stands in for CaseLifecycleWorkflow: starts the remediation child, records the
    progress it reports, and returns the child's result."""

    def __init__(self) -> None:
        self.progress: list[RemediationProgress] = []

    @workflow.run
    async def run(self, input: RemediationInput) -> RemediationResult:
        result: RemediationResult = await workflow.execute_child_workflow(
            RemediationWorkflow.run,
            input,
            id=remediation_workflow_id(input.case_number, input.work_order_seq),
        )
        return result

    @workflow.signal(name=SIGNAL_REMEDIATION_PROGRESS)
    def remediation_progress(self, progress: RemediationProgress) -> None:
        self.progress.append(progress)

    @workflow.query(name=PARENT_QUERY)
    def reported(self) -> list[RemediationProgress]:
        return self.progress


def case_number() -> str:
    return f"BL-2026-{uuid.uuid4().int % 1_000_000:06d}"


def make_input(number: str | None = None, **overrides: Any) -> RemediationInput:
    number = number or case_number()
    values: dict[str, Any] = {
        "case_number": number,
        "work_order_seq": 1,
        "work_description": "Remove refuse and derelict vehicle parts from the rear yard",
        "estimate_cents": 250_000,
        "contractor": "Napanee Property Services",
        "private_land": True,
        "requested_by": "officer-7",
        "property_roll_number": "1121010001001000000",
        "parent_workflow_id": f"case-{number}",
    }
    values.update(overrides)
    return RemediationInput(**values)


@asynccontextmanager
async def remediation_worker(client: Client, fake: FakeRemediation) -> AsyncIterator[str]:
    queue = f"remediation-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[RemediationWorkflow, ParentStandIn],
        activities=fake.activities(),
    ):
        yield queue


async def start_with_parent(
    client: Client, queue: str, input: RemediationInput
) -> tuple[WorkflowHandle[Any, Any], WorkflowHandle[Any, Any]]:
    """The parent (id ``case-<number>``) and a handle on its child."""
    parent = await client.start_workflow(
        ParentStandIn.run, input, id=f"case-{input.case_number}", task_queue=queue
    )
    child = client.get_workflow_handle(remediation_workflow_id(input.case_number, input.work_order_seq))
    return parent, child


async def state(handle: WorkflowHandle[Any, Any]) -> RemediationState:
    result: RemediationState = await handle.query(QUERY_REMEDIATION_STATE, result_type=RemediationState)
    return result


async def reported(parent: WorkflowHandle[Any, Any]) -> list[str]:
    progress: list[RemediationProgress] = await parent.query(
        PARENT_QUERY, result_type=list[RemediationProgress]
    )
    return [p.case_status for p in progress]


async def expect_reported(
    parent: WorkflowHandle[Any, Any], expected: list[str], seconds: float = 10.0
) -> None:
    """The parent has been told exactly ``expected``. A child's signal reaches the parent in
    a workflow task of the parent's own, so a query straight after the child's step can run
    before it: ask again until it matches, then fail with what the parent last said."""
    deadline = asyncio.get_running_loop().time() + seconds
    while (told := await reported(parent)) != expected and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.1)
    assert told == expected


async def local_today(client_time: datetime) -> str:
    return client_time.astimezone(TORONTO).date().isoformat()


# --- staff requests ------------------------------------------------------------------------


def council_decision(decision: str, meeting: str, **overrides: Any) -> CouncilDecisionRequest:
    values: dict[str, Any] = {
        "decision": decision,
        "resolution_number": "2026-114",
        "meeting_date": meeting,
        "actor": "clerk-1",
        "actor_roles": ["clerk"],
    }
    values.update(overrides)
    return CouncilDecisionRequest(**values)


def emergency(**overrides: Any) -> EmergencyApprovalRequest:
    values: dict[str, Any] = {
        "risk": "safety",
        "risk_description": "Collapsing rear porch over the public sidewalk",
        "no_time_for_council": True,
        "urgency": "The next Council meeting is three weeks away; the porch may fall any day",
        "actor": "fire-chief-1",
        "actor_roles": ["fire_chief"],
    }
    values.update(overrides)
    return EmergencyApprovalRequest(**values)


def contractor_cost(amount: int = 180_000, reference: str = "NPS-4411") -> CostItem:
    return CostItem(
        kind="contractor_invoice",
        description="Clean-up crew and disposal",
        amount_cents=amount,
        reference=reference,
    )


def staff_cost(amount: int = 19_500, hours: float = 3.0) -> CostItem:
    return CostItem(
        kind="staff_time", description="Officer supervision on site", amount_cents=amount, hours=hours
    )


def costs(*items: CostItem, **overrides: Any) -> RecordCostsRequest:
    values: dict[str, Any] = {"costs": list(items), "actor": "officer-7", "actor_roles": ["officer"]}
    values.update(overrides)
    return RecordCostsRequest(**values)


def schedule(on: str, **overrides: Any) -> ScheduleWorkRequest:
    values: dict[str, Any] = {"scheduled_on": on, "actor": "officer-7", "actor_roles": ["officer"]}
    values.update(overrides)
    return ScheduleWorkRequest(**values)


def completion(on: str, *items: CostItem, **overrides: Any) -> CompleteWorkRequest:
    values: dict[str, Any] = {
        "completed_on": on,
        "costs": list(items),
        "actor": "officer-7",
        "actor_roles": ["officer"],
        "note": "Before and after photos uploaded",
    }
    values.update(overrides)
    return CompleteWorkRequest(**values)


def payment(amount: int, received_on: str, **overrides: Any) -> PaymentRequest:
    values: dict[str, Any] = {
        "amount_cents": amount,
        "received_on": received_on,
        "method": "cheque",
        "reference": "chq 1043",
        "actor": "treasurer-1",
        "actor_roles": ["treasurer"],
    }
    values.update(overrides)
    return PaymentRequest(**values)


def cancel(reason: str, **overrides: Any) -> CancelRequest:
    values: dict[str, Any] = {"reason": reason, "actor": "officer-7", "actor_roles": ["officer"]}
    values.update(overrides)
    return CancelRequest(**values)
