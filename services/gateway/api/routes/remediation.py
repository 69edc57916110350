"""Municipal remediation through the staff API (issue 4 item 6; seed spec 3.4; policy
6.5.13-6.5.14, 6.7.9-6.7.10): contractor work orders, Council's decision (the Clerk), the
emergency approval (the CAO, the Chief Building Official or the Fire Chief), costs and
completion (officers), payments and the tax-roll load file (the Treasurer), and the items
for Council's next report (the Clerk).

Staff actions are updates of the work order's ``RemediationWorkflow`` (validated there
again against the caller's roles); reads come from the cases service, the system of
record, and the workflow's state query. The statutory roles are checked exactly — no
administrator stands in for the Clerk, the Treasurer or the officials of 6.5.14.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from bylaw.v1 import cases_pb2
from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Response, status
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel, Field
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from services.common.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unavailable,
)
from services.gateway.api.deps import CaseReader, ClientsDep, PrincipalDep, SettingsDep
from services.gateway.clients import READ_TIMEOUT, WRITE_TIMEOUT
from services.gateway.errors import rpc
from services.gateway.security import Principal, Role
from workflows.contracts import (
    REMEDIATION_WORKFLOW_TYPE,
    UPDATE_TAKE_ENFORCEMENT_ACTION,
    CaseLifecycleState,
    EnforcementActionRequest,
    RemediationInput,
    WorkOrderRequest,
    remediation_workflow_id,
    workflow_id,
)
from workflows.remediation import (
    QUERY_REMEDIATION_STATE,
    UPDATE_CANCEL,
    UPDATE_COMPLETE_WORK,
    UPDATE_COUNCIL_DECISION,
    UPDATE_EMERGENCY_APPROVAL,
    UPDATE_RECORD_COSTS,
    UPDATE_RECORD_PAYMENT,
    UPDATE_SCHEDULE_WORK,
    CancelRequest,
    CompleteWorkRequest,
    CostItem,
    CouncilDecisionRequest,
    EmergencyApprovalRequest,
    PaymentRequest,
    RecordCostsRequest,
    RemediationState,
    ScheduleWorkRequest,
    council_gate_applies,
)

router = APIRouter(tags=["remediation"])

CASE_NUMBER = Annotated[str, Path(pattern=r"^BL-\d{4}-\d{6}$", examples=["BL-2026-000123"])]
SEQ = Annotated[int, Path(ge=1, le=999, description="work order number within the case")]
DATE = r"^\d{4}-\d{2}-\d{2}$"


def require_exact_roles(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """Staff holding one of ``roles`` themselves; 403 otherwise. Unlike ``require_roles``,
    ``admin`` does not stand in: the policy names who decides (6.5.13, 6.5.14)."""
    allowed = ", ".join(r.value for r in roles)

    async def dependency(principal: PrincipalDep) -> Principal:
        if not any(r in principal.roles for r in roles):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"requires one of the roles: {allowed}")
        return principal

    return dependency


Officer = Annotated[Principal, Depends(require_exact_roles(Role.OFFICER, Role.SUPERVISOR))]
Clerk = Annotated[Principal, Depends(require_exact_roles(Role.CLERK))]
EmergencyApprover = Annotated[Principal, Depends(require_exact_roles(Role.CAO, Role.CBO, Role.FIRE_CHIEF))]
Treasurer = Annotated[Principal, Depends(require_exact_roles(Role.TREASURER))]

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "a field breaks a rule: {detail, errors: [{field, rule, policy}]}"},
    403: {"description": "the caller lacks the role the policy names (checked here and in the workflow)"},
    404: {"description": "no such case or work order"},
    409: {"description": "the work order is not at a stage that allows this"},
}


# --- documents ---------------------------------------------------------------------------


class WorkOrderIn(BaseModel):
    """Direct enforcement (policy 6.2.2 e): the work order, and what the case workflow needs
    to accept it as the next enforcement step (progressive enforcement, 6.2.3-6.2.4, 6.4.7)."""

    work_description: str = Field(min_length=1, max_length=4000, description="what the contractor must do")
    estimate_cents: int = Field(gt=0, le=10_000_000_000, description="estimated cost in cents")
    contractor: str = Field(min_length=1, max_length=200)
    private_land: bool = Field(description="the Council gate applies to entry onto private lands (6.5.13)")
    details: str = Field(default="", max_length=4000, description="how the by-law is contravened (6.7.4 a)")
    required_action: str = Field(default="", max_length=4000, description="what the owner had to do (6.7.4)")
    deviation_reason: str = Field(
        default="", max_length=2000, description="why the usual next step is not taken (6.4.7)"
    )
    justification: str = Field(
        default="", max_length=64, description="e.g. health_and_safety (6.2.4 c, 6.4.7)"
    )


class WorkOrderStarted(BaseModel):
    case_number: str
    work_order_seq: int
    workflow_id: str
    council_approval_required: bool


class CouncilDecisionIn(BaseModel):
    decision: Literal["approved", "refused"]
    resolution_number: str = Field(min_length=1, max_length=64)
    meeting_date: str = Field(pattern=DATE, description="the Council meeting that decided")
    note: str = Field(default="", max_length=2000)


class EmergencyApprovalIn(BaseModel):
    risk: str = Field(
        max_length=16,
        description="life, health, safety or property: the risk if action is not taken promptly (6.5.14)",
    )
    risk_description: str = Field(max_length=4000)
    no_time_for_council: bool = Field(
        description="there is not sufficient time to report to Council (6.5.14)"
    )
    urgency: str = Field(max_length=4000, description="why it cannot wait for the next Council meeting")
    note: str = Field(default="", max_length=2000)


class ScheduleIn(BaseModel):
    scheduled_on: str = Field(pattern=DATE)
    note: str = Field(default="", max_length=2000)


class CostIn(BaseModel):
    kind: Literal["contractor_invoice", "staff_time", "other"]
    description: str = Field(min_length=1, max_length=500)
    amount_cents: int = Field(gt=0, le=10_000_000_000)
    hours: float = Field(default=0.0, ge=0, le=10_000, description="staff time only")
    reference: str = Field(default="", max_length=64, description="the contractor's invoice number ...")
    incurred_on: str = Field(default="", pattern=rf"{DATE}|^$")

    def to_item(self) -> CostItem:
        return CostItem(
            kind=self.kind,
            description=self.description,
            amount_cents=self.amount_cents,
            hours=self.hours,
            reference=self.reference,
            incurred_on=self.incurred_on,
        )


class CostsIn(BaseModel):
    costs: list[CostIn] = Field(min_length=1, max_length=100)


class CompletionIn(BaseModel):
    completed_on: str = Field(pattern=DATE)
    costs: list[CostIn] = Field(default_factory=list, max_length=100)
    note: str = Field(default="", max_length=2000)


class PaymentIn(BaseModel):
    amount_cents: int = Field(gt=0)
    received_on: str = Field(pattern=DATE)
    method: Literal["cash", "cheque", "debit", "credit_card", "eft", "online"]
    reference: str = Field(default="", max_length=64)


class CancelIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class ProgressOut(BaseModel):
    """The work order's workflow: where it is, and what it has done."""

    phase: str
    case_status: str
    current_details: str
    approval: str
    council_resolution: str
    emergency_risk: str
    scheduled_on: str
    completed_on: str
    actual_cost_cents: int
    invoice_number: str
    invoice_amount_cents: int
    balance_cents: int
    due_on: str
    payments: int
    added_to_tax_roll: bool
    documents: list[str]

    @classmethod
    def from_state(cls, state: RemediationState) -> ProgressOut:
        return cls(
            phase=state.phase,
            case_status=state.case_status,
            current_details=state.current_details,
            approval=state.approval,
            council_resolution=state.council_resolution,
            emergency_risk=state.emergency_risk,
            scheduled_on=state.scheduled_on,
            completed_on=state.completed_on,
            actual_cost_cents=state.actual_cost_cents,
            invoice_number=state.invoice_number,
            invoice_amount_cents=state.invoice_amount_cents,
            balance_cents=state.balance_cents,
            due_on=state.due_on,
            payments=state.payments,
            added_to_tax_roll=state.added_to_tax_roll,
            documents=list(state.documents),
        )


class CostOut(BaseModel):
    kind: str
    description: str
    amount_cents: int
    hours: float
    reference: str
    incurred_on: str
    recorded_by: str


class InvoiceOut(BaseModel):
    invoice_number: str
    amount_cents: int
    paid_cents: int
    balance_cents: int
    status: str
    issued_on: str
    due_on: str
    payment_period_days: int


class WorkOrderOut(BaseModel):
    case_number: str
    work_order_seq: int
    work_order_number: str
    status: str
    description: str
    contractor: str
    estimate_cents: int
    private_land: bool
    council_approval_required: bool
    property_roll_number: str
    property_address: str
    owner_name: str = Field(description="registered owner from the assessment roll (staff only)")
    bylaw_number: str
    approval_kind: str
    approval_decision: str
    council_resolution: str
    council_meeting_on: str
    emergency_risk: str
    decided_by_role: str
    scheduled_on: str
    completed_on: str
    costs: list[CostOut]
    actual_cost_cents: int
    payment_period_days: int
    invoice: InvoiceOut | None
    on_tax_roll: bool
    requested_by: str
    workflow: ProgressOut | None = Field(default=None, description="the work order's workflow, when running")

    @classmethod
    def from_proto(cls, order: cases_pb2.WorkOrder, workflow: ProgressOut | None = None) -> WorkOrderOut:
        invoice = order.invoice if order.HasField("invoice") else None
        return cls(
            case_number=order.case_number,
            work_order_seq=order.work_order_seq,
            work_order_number=order.work_order_number,
            status=order.status,
            description=order.description,
            contractor=order.contractor,
            estimate_cents=order.estimate_cents,
            private_land=order.private_land,
            council_approval_required=order.council_approval_required,
            property_roll_number=order.property_roll_number,
            property_address=order.property_address,
            owner_name=order.owner_name,
            bylaw_number=order.bylaw_number,
            approval_kind=order.approval.kind,
            approval_decision=order.approval.decision,
            council_resolution=order.approval.council_resolution,
            council_meeting_on=order.approval.council_meeting_on,
            emergency_risk=order.approval.emergency_risk,
            decided_by_role=order.approval.decided_by_role,
            scheduled_on=order.scheduled_on,
            completed_on=order.completed_on,
            costs=[
                CostOut(
                    kind=c.kind,
                    description=c.description,
                    amount_cents=c.amount_cents,
                    hours=c.hours,
                    reference=c.reference,
                    incurred_on=c.incurred_on,
                    recorded_by=c.recorded_by,
                )
                for c in order.costs
            ],
            actual_cost_cents=order.actual_cost_cents,
            payment_period_days=order.payment_period_days,
            invoice=(
                InvoiceOut(
                    invoice_number=invoice.invoice_number,
                    amount_cents=invoice.amount_cents,
                    paid_cents=invoice.paid_cents,
                    balance_cents=invoice.balance_cents,
                    status=invoice.status,
                    issued_on=invoice.issued_on,
                    due_on=invoice.due_on,
                    payment_period_days=invoice.payment_period_days,
                )
                if invoice is not None
                else None
            ),
            on_tax_roll=order.HasField("tax_roll_item"),
            requested_by=order.requested_by,
            workflow=workflow,
        )


class WorkOrderList(BaseModel):
    items: list[WorkOrderOut]


class CouncilItemOut(BaseModel):
    item_id: int
    case_number: str
    work_order_number: str
    kind: str = Field(description="approval_request (6.5.13) or emergency_approval (6.5.14, for information)")
    summary: str
    estimate_cents: int
    property_address: str
    occurred_at: datetime | None
    reported_meeting_on: str

    @classmethod
    def from_proto(cls, item: cases_pb2.CouncilReportItem) -> CouncilItemOut:
        return cls(
            item_id=item.item_id,
            case_number=item.case_number,
            work_order_number=item.work_order_number,
            kind=item.kind,
            summary=item.summary,
            estimate_cents=item.estimate_cents,
            property_address=item.property_address,
            occurred_at=_when(item.occurred_at) if item.HasField("occurred_at") else None,
            reported_meeting_on=item.reported_meeting_on,
        )


class CouncilItems(BaseModel):
    items: list[CouncilItemOut]


class CouncilItemsReportedIn(BaseModel):
    item_ids: list[int] = Field(min_length=1, max_length=500)
    meeting_on: str = Field(pattern=DATE)


def _when(ts: Timestamp) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)


# --- talking to the workflow -------------------------------------------------------------


def _roles(principal: Principal) -> list[str]:
    return sorted(r.value for r in principal.roles)


def _rejection(error: ApplicationError) -> DomainError:
    """The workflow's refusal as the domain error the staff API answers with."""
    violations = [
        FieldViolation(str(d.get("field", "request")), str(d.get("rule", error.message)), d.get("policy"))
        for d in error.details
        if isinstance(d, dict)
    ]
    kind = error.type or ""
    if kind == "InvalidArgument":
        return InvalidArgument(violations or [FieldViolation("request", error.message)])
    if kind == "PermissionDenied":
        return PermissionDenied(error.message)
    if kind == "NotFound":
        return NotFound(error.message)
    if kind == "AlreadyExists":
        return AlreadyExists(error.message)
    if kind in ("FailedPrecondition", "InvalidTransition"):
        return FailedPrecondition(error.message)
    return Unavailable(error.message)


async def _handle(clients: ClientsDep, case_number: str, seq: int) -> WorkflowHandle[Any, Any]:
    client = await clients.temporal.client()
    return client.get_workflow_handle(remediation_workflow_id(case_number, seq))


async def _update(clients: ClientsDep, case_number: str, seq: int, name: str, request: object) -> ProgressOut:
    handle = await _handle(clients, case_number, seq)
    try:
        state: RemediationState = await handle.execute_update(name, request, result_type=RemediationState)
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError):
            raise _rejection(cause) from None
        raise Unavailable(f"the work order's workflow did not answer: {cause}") from None
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise FailedPrecondition(
                f"work order {seq} of case {case_number} has no remediation in progress "
                "(finished or never started)"
            ) from None
        raise Unavailable(f"Temporal: {err.message}") from None
    return ProgressOut.from_state(state)


async def _progress(clients: ClientsDep, case_number: str, seq: int) -> ProgressOut | None:
    handle = await _handle(clients, case_number, seq)
    try:
        state: RemediationState = await handle.query(QUERY_REMEDIATION_STATE, result_type=RemediationState)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise Unavailable(f"Temporal: {err.message}") from None
    return ProgressOut.from_state(state)


# --- work orders -------------------------------------------------------------------------


@router.post(
    "/cases/{case_number}/work-orders",
    summary="Order municipal remediation: a contractor work order with its estimate (seed spec 3.4)",
    description=(
        "Direct enforcement through the case workflow, which checks it against progressive "
        "enforcement and starts the work order's remediation workflow as its child (a case kept "
        "without a case workflow gets the remediation workflow on its own). Over $5,000 on "
        "private land it waits for Council (policy 6.5.13). The owner is sent notice of every "
        "step the Town will take (6.7.10)."
    ),
    response_model=WorkOrderStarted,
    status_code=status.HTTP_202_ACCEPTED,
    responses=ERRORS,
)
async def create_work_order(
    case_number: CASE_NUMBER,
    body: WorkOrderIn,
    clients: ClientsDep,
    settings: SettingsDep,
    principal: Officer,
) -> WorkOrderStarted:
    # The case must exist and be visible to the caller (restricted cases, policy 6.10).
    case = await rpc(
        "cases",
        clients.cases.GetCase(
            cases_pb2.GetCaseRequest(case_number=case_number, actor=principal.to_actor()),
            timeout=READ_TIMEOUT,
        ),
    )
    if not case.property_match.property.roll_number:
        # Answered now rather than by a workflow failing after the 202.
        raise InvalidArgument(
            FieldViolation(
                "property_roll_number",
                "the case matched no parcel on the assessment roll: remedial work needs one (the costs "
                "are recovered from its registered owner and unpaid costs go on its tax roll)",
                "6.7.9",
            )
        )
    client = await clients.temporal.client()
    # The case workflow is the authority on enforcement: through it, direct enforcement is
    # checked against progressive enforcement (6.2.3-6.2.4, 6.7.5) and it starts and
    # follows the remediation child itself.
    try:
        case_state: CaseLifecycleState = await client.get_workflow_handle(
            workflow_id(case_number)
        ).execute_update(
            UPDATE_TAKE_ENFORCEMENT_ACTION,
            EnforcementActionRequest(
                action="direct_enforcement",
                details=body.details,
                required_action=body.required_action,
                deviation_reason=body.deviation_reason,
                justification=body.justification,
                work_order=WorkOrderRequest(
                    work_description=body.work_description.strip(),
                    estimate_cents=body.estimate_cents,
                    contractor=body.contractor.strip(),
                    private_land=body.private_land,
                ),
                actor=principal.subject,
            ),
            result_type=CaseLifecycleState,
        )
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError):
            raise _rejection(cause) from None
        raise Unavailable(f"the case workflow did not answer: {cause}") from None
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise Unavailable(f"Temporal: {err.message}") from None
    else:
        child = case_state.remediation
        if child is None:
            raise Unavailable("the case workflow accepted direct enforcement but reported no work order")
        return WorkOrderStarted(
            case_number=case_number,
            work_order_seq=child.work_order_seq,
            workflow_id=child.workflow_id,
            council_approval_required=council_gate_applies(body.private_land, body.estimate_cents),
        )
    # No case workflow runs for this case (a record kept without one): the work order's
    # workflow is started on its own, numbered after the work orders cases holds.
    existing = await rpc(
        "cases",
        clients.cases.ListWorkOrders(
            cases_pb2.ListWorkOrdersRequest(case_number=case_number, actor=principal.to_actor()),
            timeout=READ_TIMEOUT,
        ),
    )
    seq = max((w.work_order_seq for w in existing.work_orders), default=0) + 1
    input = RemediationInput(
        case_number=case_number,
        work_order_seq=seq,
        work_description=body.work_description.strip(),
        estimate_cents=body.estimate_cents,
        contractor=body.contractor.strip(),
        private_land=body.private_land,
        requested_by=principal.subject,
        parent_workflow_id=workflow_id(case_number),
        town_timezone=settings.timezone,
    )
    started_id = remediation_workflow_id(case_number, seq)
    try:
        await client.start_workflow(
            REMEDIATION_WORKFLOW_TYPE,
            input,
            id=started_id,
            task_queue=settings.temporal_task_queue,
            # A work order number is used once; only a start that failed before recording
            # anything (no work order in cases, so the same number again) may be retried.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )
    except WorkflowAlreadyStartedError:
        raise AlreadyExists(
            f"work order {seq} of case {case_number} was started meanwhile; list the work orders and retry"
        ) from None
    return WorkOrderStarted(
        case_number=case_number,
        work_order_seq=seq,
        workflow_id=started_id,
        council_approval_required=council_gate_applies(body.private_land, body.estimate_cents),
    )


@router.get(
    "/cases/{case_number}/work-orders",
    summary="A case's work orders (from the cases record)",
    response_model=WorkOrderList,
    responses=ERRORS,
)
async def list_work_orders(
    case_number: CASE_NUMBER, clients: ClientsDep, principal: CaseReader
) -> WorkOrderList:
    reply = await rpc(
        "cases",
        clients.cases.ListWorkOrders(
            cases_pb2.ListWorkOrdersRequest(case_number=case_number, actor=principal.to_actor()),
            timeout=READ_TIMEOUT,
        ),
    )
    return WorkOrderList(items=[WorkOrderOut.from_proto(w) for w in reply.work_orders])


@router.get(
    "/cases/{case_number}/work-orders/{seq}",
    summary="One work order: its record (costs, invoice, tax roll) and its workflow's state",
    response_model=WorkOrderOut,
    responses=ERRORS,
)
async def get_work_order(
    case_number: CASE_NUMBER, seq: SEQ, clients: ClientsDep, principal: CaseReader
) -> WorkOrderOut:
    order = await rpc(
        "cases",
        clients.cases.GetWorkOrder(
            cases_pb2.GetWorkOrderRequest(
                case_number=case_number, work_order_seq=seq, actor=principal.to_actor()
            ),
            timeout=READ_TIMEOUT,
        ),
    )
    return WorkOrderOut.from_proto(order, await _progress(clients, case_number, seq))


@router.post(
    "/cases/{case_number}/work-orders/{seq}/council-decision",
    summary="Record Council's decision on remedial work over $5,000 on private land (Clerk; policy 6.5.13)",
    response_model=ProgressOut,
    responses=ERRORS,
)
async def record_council_decision(
    case_number: CASE_NUMBER, seq: SEQ, body: CouncilDecisionIn, clients: ClientsDep, principal: Clerk
) -> ProgressOut:
    request = CouncilDecisionRequest(
        decision=body.decision,
        resolution_number=body.resolution_number,
        meeting_date=body.meeting_date,
        note=body.note,
        actor=principal.subject,
        actor_roles=_roles(principal),
    )
    return await _update(clients, case_number, seq, UPDATE_COUNCIL_DECISION, request)


@router.post(
    "/cases/{case_number}/work-orders/{seq}/emergency-approval",
    summary="Approve the work without Council in an emergency (CAO, CBO or Fire Chief; policy 6.5.14)",
    description=(
        "Only with a recorded risk to life, health, safety or property and a statement that "
        "there is not sufficient time to report to Council; the approval is listed for "
        "Council's next report."
    ),
    response_model=ProgressOut,
    responses=ERRORS,
)
async def approve_emergency(
    case_number: CASE_NUMBER,
    seq: SEQ,
    body: EmergencyApprovalIn,
    clients: ClientsDep,
    principal: EmergencyApprover,
) -> ProgressOut:
    request = EmergencyApprovalRequest(
        risk=body.risk,
        risk_description=body.risk_description,
        no_time_for_council=body.no_time_for_council,
        urgency=body.urgency,
        note=body.note,
        actor=principal.subject,
        actor_roles=_roles(principal),
    )
    return await _update(clients, case_number, seq, UPDATE_EMERGENCY_APPROVAL, request)


@router.post(
    "/cases/{case_number}/work-orders/{seq}/schedule",
    summary="Schedule the approved work (officer or supervisor)",
    response_model=ProgressOut,
    responses=ERRORS,
)
async def schedule_work(
    case_number: CASE_NUMBER, seq: SEQ, body: ScheduleIn, clients: ClientsDep, principal: Officer
) -> ProgressOut:
    request = ScheduleWorkRequest(
        scheduled_on=body.scheduled_on, note=body.note, actor=principal.subject, actor_roles=_roles(principal)
    )
    return await _update(clients, case_number, seq, UPDATE_SCHEDULE_WORK, request)


@router.post(
    "/cases/{case_number}/work-orders/{seq}/costs",
    summary="Record actual costs: contractor invoice lines, staff time, other (officer or supervisor)",
    response_model=ProgressOut,
    responses=ERRORS,
)
async def record_costs(
    case_number: CASE_NUMBER, seq: SEQ, body: CostsIn, clients: ClientsDep, principal: Officer
) -> ProgressOut:
    request = RecordCostsRequest(
        costs=[c.to_item() for c in body.costs], actor=principal.subject, actor_roles=_roles(principal)
    )
    return await _update(clients, case_number, seq, UPDATE_RECORD_COSTS, request)


@router.post(
    "/cases/{case_number}/work-orders/{seq}/completion",
    summary="Record the work completed, with any final costs; the owner is then invoiced (6.7.9)",
    response_model=ProgressOut,
    responses=ERRORS,
)
async def complete_work(
    case_number: CASE_NUMBER, seq: SEQ, body: CompletionIn, clients: ClientsDep, principal: Officer
) -> ProgressOut:
    request = CompleteWorkRequest(
        completed_on=body.completed_on,
        costs=[c.to_item() for c in body.costs],
        note=body.note,
        actor=principal.subject,
        actor_roles=_roles(principal),
    )
    return await _update(clients, case_number, seq, UPDATE_COMPLETE_WORK, request)


@router.post(
    "/cases/{case_number}/work-orders/{seq}/payments",
    summary="Record a payment of the owner's invoice (Treasurer)",
    response_model=ProgressOut,
    responses=ERRORS,
)
async def record_payment(
    case_number: CASE_NUMBER, seq: SEQ, body: PaymentIn, clients: ClientsDep, principal: Treasurer
) -> ProgressOut:
    request = PaymentRequest(
        amount_cents=body.amount_cents,
        received_on=body.received_on,
        method=body.method,
        reference=body.reference,
        actor=principal.subject,
        actor_roles=_roles(principal),
    )
    return await _update(clients, case_number, seq, UPDATE_RECORD_PAYMENT, request)


@router.post(
    "/cases/{case_number}/work-orders/{seq}/cancellation",
    summary="Call off work not yet done and not yet costed (officer or supervisor)",
    response_model=ProgressOut,
    responses=ERRORS,
)
async def cancel_work_order(
    case_number: CASE_NUMBER, seq: SEQ, body: CancelIn, clients: ClientsDep, principal: Officer
) -> ProgressOut:
    request = CancelRequest(reason=body.reason, actor=principal.subject, actor_roles=_roles(principal))
    return await _update(clients, case_number, seq, UPDATE_CANCEL, request)


# --- the Treasurer's load file -------------------------------------------------------------

CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {}},
        "description": (
            "columns roll_number, owner, amount, invoice_number, case_number, bylaw, date; "
            "headers X-Export-Key, X-Items, X-Total-Cents"
        ),
    },
    403: {"description": "requires the role treasurer"},
}


def _csv(export: cases_pb2.TaxRollExport) -> Response:
    return Response(
        content=export.csv,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="tax-roll-{export.export_key}.csv"',
            "X-Export-Key": export.export_key,
            "X-Items": str(len(export.items)),
            "X-Total-Cents": str(export.total_cents),
        },
    )


@router.post(
    "/remediation/tax-roll/exports",
    summary="Export unpaid remediation costs for the tax roll (Treasurer; Municipal Act s.446)",
    description=(
        "A CSV the Treasurer loads into the tax system: the items not exported before (all of "
        "them with re_export=true), which are then marked exported. Send an Idempotency-Key to "
        "make a retried request return the same batch instead of an empty one."
    ),
    response_class=Response,
    responses=CSV_RESPONSE,
)
async def export_tax_roll(
    clients: ClientsDep,
    principal: Treasurer,
    re_export: Annotated[bool, Query(description="include items already exported")] = False,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> Response:
    export = await rpc(
        "cases",
        clients.cases.ExportTaxRoll(
            cases_pb2.ExportTaxRollRequest(
                export_key=(idempotency_key or "").strip() or str(uuid.uuid4()),
                re_export=re_export,
                actor=principal.to_actor(),
            ),
            timeout=WRITE_TIMEOUT,
        ),
    )
    return _csv(export)


@router.get(
    "/remediation/tax-roll/exports/{export_key}",
    summary="Download an earlier tax-roll export again (Treasurer)",
    response_class=Response,
    responses={**CSV_RESPONSE, 404: {"description": "no export with that key"}},
)
async def get_tax_roll_export(
    export_key: Annotated[str, Path(max_length=128)], clients: ClientsDep, principal: Treasurer
) -> Response:
    export = await rpc(
        "cases",
        clients.cases.GetTaxRollExport(
            cases_pb2.GetTaxRollExportRequest(export_key=export_key, actor=principal.to_actor()),
            timeout=READ_TIMEOUT,
        ),
    )
    return _csv(export)


# --- Council's next report -------------------------------------------------------------------


@router.get(
    "/remediation/council-items",
    summary="Items for Council's next report (Clerk)",
    description=(
        "Remedial work on private land over $5,000 awaiting Council (reported before the "
        "action, policy 6.5.13) and emergency approvals reported for information (6.5.14)."
    ),
    response_model=CouncilItems,
    responses={403: {"description": "requires the role clerk"}},
)
async def list_council_items(
    clients: ClientsDep,
    principal: Clerk,
    include_reported: Annotated[bool, Query(description="include items already reported")] = False,
) -> CouncilItems:
    reply = await rpc(
        "cases",
        clients.cases.ListCouncilReportItems(
            cases_pb2.ListCouncilReportItemsRequest(
                include_reported=include_reported, actor=principal.to_actor()
            ),
            timeout=READ_TIMEOUT,
        ),
    )
    return CouncilItems(items=[CouncilItemOut.from_proto(i) for i in reply.items])


@router.post(
    "/remediation/council-items/reported",
    summary="Mark items as reported to Council at a meeting (Clerk)",
    response_model=CouncilItems,
    responses={400: ERRORS[400], 403: {"description": "requires the role clerk"}},
)
async def mark_council_items_reported(
    body: CouncilItemsReportedIn, clients: ClientsDep, principal: Clerk
) -> CouncilItems:
    reply = await rpc(
        "cases",
        clients.cases.MarkCouncilItemsReported(
            cases_pb2.MarkCouncilItemsReportedRequest(
                item_ids=body.item_ids, meeting_on=body.meeting_on, actor=principal.to_actor()
            ),
            timeout=WRITE_TIMEOUT,
        ),
    )
    return CouncilItems(items=[CouncilItemOut.from_proto(i) for i in reply.items])
