"""Activities of the remediation child workflow: thin gRPC calls to the cases service (the
work order, approvals, costs, invoice, payments, tax roll) and the notices service (the
owner's notice, the contractor's work order, the invoice, the tax-roll notice and the
Council report items).

One ``RemediationActivities`` object holds the stubs for the worker's lifetime (the
samples-python pattern). Every call carries the step key the workflow chose, so a retry
(after a timeout, a worker restart) records or renders its step once. Owner names and
addresses are read and used inside the activities and never returned: they stay out of
workflow histories. A business refusal from a service is a non-retryable
``ApplicationError`` naming field, rule and policy; anything else is retried.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import grpc
from bylaw.v1 import cases_pb2, common_pb2, notices_pb2
from google.protobuf import struct_pb2
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio import activity
from temporalio.exceptions import ApplicationError

from workflows.activities import application_error

if TYPE_CHECKING:  # the async stub types exist only in the generated .pyi
    from bylaw.v1.cases_pb2_grpc import CasesServiceAsyncStub
    from bylaw.v1.notices_pb2_grpc import NoticesServiceAsyncStub

CREATE_WORK_ORDER = "remediation_create_work_order"
RECORD_APPROVAL = "remediation_record_approval"
SCHEDULE_WORK = "remediation_schedule_work"
RECORD_COSTS = "remediation_record_costs"
COMPLETE_WORK = "remediation_complete_work"
CANCEL_WORK_ORDER = "remediation_cancel_work_order"
ISSUE_INVOICE = "remediation_issue_invoice"
RECORD_PAYMENT = "remediation_record_payment"
ADD_TO_TAX_ROLL = "remediation_add_to_tax_roll"
RENDER_DOCUMENT = "remediation_render_document"

SYSTEM_ACTOR = "system:remediation"
RPC_TIMEOUT_SECONDS = 15.0
# Rendering a PDF and storing it as evidence takes longer than a record write.
RENDER_TIMEOUT_SECONDS = 45.0

# The documents of a remediation and the notices template each one uses.
OWNER_NOTICE = "owner_notice"  # policy 6.7.10: the steps the Town will take
COUNCIL_REQUEST = "council_request"  # policy 6.5.13: reported before the action
CONTRACTOR_WORK_ORDER = "contractor_work_order"
COUNCIL_INFORMATION = "council_information"  # policy 6.5.14: reported afterwards
INVOICE = "invoice"
TAX_ROLL_NOTICE = "tax_roll_notice"
TEMPLATES = {
    OWNER_NOTICE: "remediation_notice",
    COUNCIL_REQUEST: "council_report_item",
    CONTRACTOR_WORK_ORDER: "contractor_work_order",
    COUNCIL_INFORMATION: "council_report_item",
    INVOICE: "remediation_invoice",
    TAX_ROLL_NOTICE: "tax_roll_notice",
}

_ROLE_TITLES = {
    "cao": "Chief Administrative Officer",
    "cbo": "Chief Building Official",
    "fire_chief": "Fire Chief",
    "clerk": "Clerk",
}
_COST_KINDS = {"contractor_invoice": "contractor invoice", "staff_time": "staff time", "other": "other"}
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


# --- payloads (one dataclass per activity input/output) ------------------------------------


@dataclass
class WorkOrderSnapshot:
    """The parts of the work order the workflow uses: numbers and amounts, no owner."""

    case_number: str
    work_order_seq: int
    work_order_number: str
    status: str
    council_approval_required: bool
    estimate_cents: int
    actual_cost_cents: int = 0
    approval_kind: str = ""
    approval_decision: str = ""
    payment_period_days: int = 0
    cost_step_keys: list[str] = field(default_factory=list)
    invoice_number: str = ""
    invoice_amount_cents: int = 0
    balance_cents: int = 0
    due_on: str = ""
    due_at: datetime | None = None
    tax_roll_amount_cents: int = 0


@dataclass
class CreateWorkOrderInput:
    case_number: str
    work_order_seq: int
    step_key: str
    description: str
    contractor: str
    estimate_cents: int
    private_land: bool
    requested_by: str
    occurred_at: datetime
    property_roll_number: str = ""
    payment_period_days: int = 0


@dataclass
class RecordApprovalInput:
    case_number: str
    work_order_seq: int
    step_key: str
    kind: str  # "council" | "emergency"
    decision: str
    decided_by: str
    decided_by_role: str
    occurred_at: datetime
    council_resolution: str = ""
    council_meeting_on: str = ""
    emergency_risk: str = ""
    emergency_description: str = ""
    emergency_urgency: str = ""
    no_time_for_council: bool = False
    note: str = ""


@dataclass
class ScheduleWorkInput:
    case_number: str
    work_order_seq: int
    step_key: str
    scheduled_on: str
    actor: str
    occurred_at: datetime
    note: str = ""


@dataclass
class CostLine:
    step_key: str
    kind: str
    description: str
    amount_cents: int
    hours: float = 0.0
    reference: str = ""
    incurred_on: str = ""


@dataclass
class RecordCostsInput:
    case_number: str
    work_order_seq: int
    costs: list[CostLine]
    actor: str
    occurred_at: datetime


@dataclass
class CompleteWorkInput:
    case_number: str
    work_order_seq: int
    step_key: str
    completed_on: str
    actor: str
    occurred_at: datetime
    note: str = ""


@dataclass
class CancelWorkOrderInput:
    case_number: str
    work_order_seq: int
    step_key: str
    reason: str
    actor: str
    occurred_at: datetime


@dataclass
class IssueInvoiceInput:
    case_number: str
    work_order_seq: int
    step_key: str
    occurred_at: datetime


@dataclass
class RecordPaymentInput:
    case_number: str
    work_order_seq: int
    step_key: str
    amount_cents: int
    received_on: str
    method: str
    actor: str
    occurred_at: datetime
    reference: str = ""


@dataclass
class AddToTaxRollInput:
    case_number: str
    work_order_seq: int
    step_key: str
    occurred_at: datetime


@dataclass
class RenderDocumentInput:
    case_number: str
    work_order_seq: int
    document: str  # one of TEMPLATES' keys
    step_key: str
    occurred_at: datetime


@dataclass
class RenderedDocument:
    document_id: str
    template: str
    title: str


# --- helpers -----------------------------------------------------------------------------


def town_zone(name: str) -> ZoneInfo:
    """The Town's time zone. Built here, outside the workflow sandbox, whose restricted
    ``zoneinfo`` cannot be handed to ``datetime.astimezone``; raises ValueError if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(f"unknown time zone {name!r}") from err


def money(cents: int) -> str:
    whole, part = divmod(abs(cents), 100)
    return f"{'-' if cents < 0 else ''}${whole:,}.{part:02d}"


def long_date(iso: str) -> str:
    year, month, day = (int(p) for p in iso.split("-"))
    return f"{_MONTHS[month - 1]} {day}, {year}"


def _timestamp(at: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(at.astimezone(UTC))
    return ts


def _system(subject: str = "") -> common_pb2.Actor:
    # The workflow validated the staff member's roles before calling (policy 6.5.13-6.5.14
    # checks happen in its update validators); the services record who asked.
    return common_pb2.Actor(
        subject=subject or SYSTEM_ACTOR, roles=["system"], display_name="remediation workflow"
    )


def snapshot(order: cases_pb2.WorkOrder) -> WorkOrderSnapshot:
    invoice = order.invoice if order.HasField("invoice") else None
    return WorkOrderSnapshot(
        case_number=order.case_number,
        work_order_seq=order.work_order_seq,
        work_order_number=order.work_order_number,
        status=order.status,
        council_approval_required=order.council_approval_required,
        estimate_cents=order.estimate_cents,
        actual_cost_cents=order.actual_cost_cents,
        approval_kind=order.approval.kind,
        approval_decision=order.approval.decision,
        payment_period_days=order.payment_period_days,
        cost_step_keys=[c.step_key for c in order.costs],
        invoice_number=invoice.invoice_number if invoice else "",
        invoice_amount_cents=invoice.amount_cents if invoice else 0,
        balance_cents=invoice.balance_cents if invoice else 0,
        due_on=invoice.due_on if invoice else "",
        due_at=invoice.due_at.ToDatetime(tzinfo=UTC) if invoice and invoice.HasField("due_at") else None,
        tax_roll_amount_cents=order.tax_roll_item.amount_cents if order.HasField("tax_roll_item") else 0,
    )


def _recipient(order: cases_pb2.WorkOrder, name: str = "", address: str = "") -> dict[str, str]:
    # The registered owner from the assessment roll; a roll without a mailing address is
    # served at the property itself.
    return {
        "recipient_name": name or order.owner_name or "The Registered Owner",
        "recipient_address": address or order.owner_mailing_address or order.property_address,
    }


def _authority(order: cases_pb2.WorkOrder, zone: ZoneInfo) -> str:
    approval = order.approval
    if approval.kind == "council":
        return (
            f"Approved by Council, resolution {approval.council_resolution} of "
            f"{long_date(approval.council_meeting_on)} (By-law Enforcement Policy 6.5.13)."
        )
    if approval.kind == "emergency":
        approved_on = approval.decided_at.ToDatetime(tzinfo=UTC).astimezone(zone).date().isoformat()
        title = _ROLE_TITLES.get(approval.decided_by_role, approval.decided_by_role)
        return (
            f"Emergency approval by the {title} on {long_date(approved_on)}: risk to "
            f"{approval.emergency_risk} if action is not taken promptly (By-law Enforcement Policy "
            "6.5.14). The work is reported to Council for information."
        )
    reason = (
        "the work is not on private land"
        if not order.private_land
        else f"the estimate of {money(order.estimate_cents)} does not exceed $5,000"
    )
    return f"No Council approval is required: {reason} (By-law Enforcement Policy 6.5.13)."


def _cost_line(cost: cases_pb2.RemediationCost) -> str:
    detail = _COST_KINDS.get(cost.kind, cost.kind)
    if cost.kind == "staff_time" and cost.hours:
        detail += f", {cost.hours:.2f} h"
    if cost.reference:
        detail += f", ref. {cost.reference}"
    return f"{cost.description} ({detail}): {money(cost.amount_cents)}"


def document_context(
    document: str, order: cases_pb2.WorkOrder, case: cases_pb2.Case, issued_on: str, zone: ZoneInfo
) -> dict[str, Any]:
    """The template variables of ``document`` for this work order (no complainant identity:
    cases holds none; the owner is the registered owner on the assessment roll)."""
    base = {"work_order_number": order.work_order_number}
    if document == OWNER_NOTICE:
        return {
            **base,
            **_recipient(order),
            "property_address": order.property_address,
            "roll_number": order.property_roll_number,
            "issued_on": issued_on,
            "bylaw_number": order.bylaw_number,
            "work_description": order.description,
            "contractor": order.contractor,
            "estimate": money(order.estimate_cents),
            "council_approval_required": order.council_approval_required,
            "payment_period_days": order.payment_period_days,
        }
    if document == CONTRACTOR_WORK_ORDER:
        return {
            **base,
            "issued_on": issued_on,
            "contractor": order.contractor,
            "property_address": order.property_address,
            "roll_number": order.property_roll_number,
            "bylaw_number": order.bylaw_number,
            "work_description": order.description,
            "estimate": money(order.estimate_cents),
            "authority": _authority(order, zone),
        }
    if document in (COUNCIL_REQUEST, COUNCIL_INFORMATION):
        # A complaint about staff or Council (policy 6.10) is reported without locating it.
        withheld = "withheld: confidential matter (policy 6.10)"
        context: dict[str, Any] = {
            **base,
            "for_information": document == COUNCIL_INFORMATION,
            "report_date": issued_on,
            "property_address": withheld if case.restricted else order.property_address,
            "work_description": withheld if case.restricted else order.description,
            "estimate": money(order.estimate_cents),
            "bylaw_number": order.bylaw_number,
        }
        if document == COUNCIL_INFORMATION:
            approval = order.approval
            if approval.kind != "emergency":
                raise ApplicationError(
                    f"work order {order.work_order_number} has no emergency approval to report "
                    "(policy 6.5.14)",
                    type="FailedPrecondition",
                    non_retryable=True,
                )
            context.update(
                emergency_risk=approval.emergency_risk,
                emergency_description=withheld if case.restricted else approval.emergency_description,
                emergency_urgency=approval.emergency_urgency,
                approved_by=_ROLE_TITLES.get(approval.decided_by_role, approval.decided_by_role),
                approved_on=approval.decided_at.ToDatetime(tzinfo=UTC).astimezone(zone).date().isoformat(),
            )
        return context
    if document == INVOICE:
        invoice = order.invoice
        if not order.HasField("invoice"):
            raise ApplicationError(
                f"work order {order.work_order_number} has no invoice to render",
                type="FailedPrecondition",
                non_retryable=True,
            )
        return {
            **base,
            **_recipient(order, invoice.owner_name, invoice.owner_mailing_address),
            "invoice_number": invoice.invoice_number,
            "property_address": order.property_address,
            "roll_number": invoice.roll_number,
            "issued_on": invoice.issued_on,
            "due_on": invoice.due_on,
            "bylaw_number": order.bylaw_number,
            "cost_lines": [_cost_line(c) for c in order.costs],
            "total": money(invoice.amount_cents),
            "completed_on": order.completed_on,
        }
    if document == TAX_ROLL_NOTICE:
        if not order.HasField("tax_roll_item"):
            raise ApplicationError(
                f"work order {order.work_order_number} is not on the tax roll",
                type="FailedPrecondition",
                non_retryable=True,
            )
        invoice, item = order.invoice, order.tax_roll_item
        return {
            **_recipient(order, invoice.owner_name, invoice.owner_mailing_address),
            "property_address": order.property_address,
            "roll_number": item.roll_number,
            "invoice_number": item.invoice_number,
            "due_on": invoice.due_on,
            "added_on": item.added_on,
            "amount": money(item.amount_cents),
        }
    raise ApplicationError(
        f"document: unknown remediation document {document!r}; one of {', '.join(TEMPLATES)}",
        type="InvalidArgument",
        non_retryable=True,
    )


# --- activities --------------------------------------------------------------------------


class RemediationActivities:
    def __init__(
        self,
        cases: CasesServiceAsyncStub,
        notices: NoticesServiceAsyncStub,
        timezone: str = "America/Toronto",
    ) -> None:
        self._cases = cases
        self._notices = notices
        self._zone = ZoneInfo(timezone)

    def methods(self) -> list[Any]:
        """Every activity, for the worker to register."""
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

    async def _call(self, method: Any, request: Any, deadline: float = RPC_TIMEOUT_SECONDS) -> Any:
        try:
            return await method(request, timeout=deadline)
        except grpc.RpcError as err:
            raise application_error(err) from None

    @activity.defn(name=CREATE_WORK_ORDER)
    async def create_work_order(self, request: CreateWorkOrderInput) -> WorkOrderSnapshot:
        order = await self._call(
            self._cases.CreateWorkOrder,
            cases_pb2.CreateWorkOrderRequest(
                case_number=request.case_number,
                work_order_seq=request.work_order_seq,
                step_key=request.step_key,
                description=request.description,
                contractor=request.contractor,
                estimate_cents=request.estimate_cents,
                private_land=request.private_land,
                property_roll_number=request.property_roll_number,
                requested_by=request.requested_by,
                payment_period_days=request.payment_period_days,
                actor=_system(request.requested_by),
                occurred_at=_timestamp(request.occurred_at),
            ),
        )
        return snapshot(order)

    @activity.defn(name=RECORD_APPROVAL)
    async def record_approval(self, request: RecordApprovalInput) -> WorkOrderSnapshot:
        order = await self._call(
            self._cases.RecordRemediationApproval,
            cases_pb2.RecordRemediationApprovalRequest(
                case_number=request.case_number,
                work_order_seq=request.work_order_seq,
                step_key=request.step_key,
                kind=request.kind,
                decision=request.decision,
                council_resolution=request.council_resolution,
                council_meeting_on=request.council_meeting_on,
                emergency_risk=request.emergency_risk,
                emergency_description=request.emergency_description,
                emergency_urgency=request.emergency_urgency,
                no_time_for_council=request.no_time_for_council,
                decided_by=request.decided_by,
                decided_by_role=request.decided_by_role,
                note=request.note,
                actor=_system(request.decided_by),
                occurred_at=_timestamp(request.occurred_at),
            ),
        )
        return snapshot(order)

    @activity.defn(name=SCHEDULE_WORK)
    async def schedule_work(self, request: ScheduleWorkInput) -> WorkOrderSnapshot:
        order = await self._call(
            self._cases.ScheduleRemediationWork,
            cases_pb2.ScheduleRemediationWorkRequest(
                case_number=request.case_number,
                work_order_seq=request.work_order_seq,
                step_key=request.step_key,
                scheduled_on=request.scheduled_on,
                note=request.note,
                actor=_system(request.actor),
                occurred_at=_timestamp(request.occurred_at),
            ),
        )
        return snapshot(order)

    @activity.defn(name=RECORD_COSTS)
    async def record_costs(self, request: RecordCostsInput) -> WorkOrderSnapshot:
        order = await self._call(
            self._cases.RecordRemediationCosts,
            cases_pb2.RecordRemediationCostsRequest(
                case_number=request.case_number,
                work_order_seq=request.work_order_seq,
                costs=[
                    cases_pb2.RemediationCost(
                        step_key=c.step_key,
                        kind=c.kind,
                        description=c.description,
                        amount_cents=c.amount_cents,
                        hours=c.hours,
                        reference=c.reference,
                        incurred_on=c.incurred_on,
                    )
                    for c in request.costs
                ],
                actor=_system(request.actor),
                occurred_at=_timestamp(request.occurred_at),
            ),
        )
        return snapshot(order)

    @activity.defn(name=COMPLETE_WORK)
    async def complete_work(self, request: CompleteWorkInput) -> WorkOrderSnapshot:
        order = await self._call(
            self._cases.CompleteRemediationWork,
            cases_pb2.CompleteRemediationWorkRequest(
                case_number=request.case_number,
                work_order_seq=request.work_order_seq,
                step_key=request.step_key,
                completed_on=request.completed_on,
                note=request.note,
                actor=_system(request.actor),
                occurred_at=_timestamp(request.occurred_at),
            ),
        )
        return snapshot(order)

    @activity.defn(name=CANCEL_WORK_ORDER)
    async def cancel_work_order(self, request: CancelWorkOrderInput) -> WorkOrderSnapshot:
        order = await self._call(
            self._cases.CancelWorkOrder,
            cases_pb2.CancelWorkOrderRequest(
                case_number=request.case_number,
                work_order_seq=request.work_order_seq,
                step_key=request.step_key,
                reason=request.reason,
                actor=_system(request.actor),
                occurred_at=_timestamp(request.occurred_at),
            ),
        )
        return snapshot(order)

    @activity.defn(name=ISSUE_INVOICE)
    async def issue_invoice(self, request: IssueInvoiceInput) -> WorkOrderSnapshot:
        order = await self._call(
            self._cases.IssueRemediationInvoice,
            cases_pb2.IssueRemediationInvoiceRequest(
                case_number=request.case_number,
                work_order_seq=request.work_order_seq,
                step_key=request.step_key,
                actor=_system(),
                occurred_at=_timestamp(request.occurred_at),
            ),
        )
        return snapshot(order)

    @activity.defn(name=RECORD_PAYMENT)
    async def record_payment(self, request: RecordPaymentInput) -> WorkOrderSnapshot:
        order = await self._call(
            self._cases.RecordRemediationPayment,
            cases_pb2.RecordRemediationPaymentRequest(
                case_number=request.case_number,
                work_order_seq=request.work_order_seq,
                step_key=request.step_key,
                amount_cents=request.amount_cents,
                received_on=request.received_on,
                method=request.method,
                reference=request.reference,
                actor=_system(request.actor),
                occurred_at=_timestamp(request.occurred_at),
            ),
        )
        return snapshot(order)

    @activity.defn(name=ADD_TO_TAX_ROLL)
    async def add_to_tax_roll(self, request: AddToTaxRollInput) -> WorkOrderSnapshot:
        order = await self._call(
            self._cases.AddRemediationToTaxRoll,
            cases_pb2.AddRemediationToTaxRollRequest(
                case_number=request.case_number,
                work_order_seq=request.work_order_seq,
                step_key=request.step_key,
                actor=_system(),
                occurred_at=_timestamp(request.occurred_at),
            ),
        )
        return snapshot(order)

    @activity.defn(name=RENDER_DOCUMENT)
    async def render_document(self, request: RenderDocumentInput) -> RenderedDocument:
        template = TEMPLATES.get(request.document)
        if template is None:
            raise ApplicationError(
                f"document: unknown remediation document {request.document!r}",
                type="InvalidArgument",
                non_retryable=True,
            )
        order = await self._call(
            self._cases.GetWorkOrder,
            cases_pb2.GetWorkOrderRequest(
                case_number=request.case_number, work_order_seq=request.work_order_seq, actor=_system()
            ),
        )
        case = await self._call(
            self._cases.GetCase, cases_pb2.GetCaseRequest(case_number=request.case_number, actor=_system())
        )
        issued_on = request.occurred_at.astimezone(self._zone).date().isoformat()
        context = struct_pb2.Struct()
        context.update(document_context(request.document, order, case, issued_on, self._zone))
        document = await self._call(
            self._notices.RenderDocument,
            notices_pb2.RenderDocumentRequest(
                case_number=request.case_number,
                template=template,
                step_key=request.step_key,
                context=context,
                actor=_system(),
            ),
            deadline=RENDER_TIMEOUT_SECONDS,
        )
        return RenderedDocument(
            document_id=document.document_id, template=document.template, title=document.title
        )
