"""The remediation RPCs of ``bylaw.v1.CasesService`` (work orders, approvals, costs,
invoice, payments, tax roll, Council report items): a thin translation between protobuf
and :class:`services.cases.service_layer.remediation.RemediationService`.

:class:`CasesServicerWithRemediation` is the servicer the cases process serves: the case
RPCs of :class:`CasesServicer` plus these.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, TypeAlias

import grpc
from bylaw.v1 import cases_pb2, cases_pb2_grpc, common_pb2

from services.cases.domain.remediation import (
    Approval,
    CostEntry,
    CouncilReportItem,
    Invoice,
    NewCost,
    NewPayment,
    Payment,
    TaxRollExport,
    TaxRollItem,
    WorkOrder,
    tax_roll_csv,
)
from services.cases.entrypoints import convert
from services.cases.entrypoints.grpc_servicer import CasesServicer
from services.cases.service_layer.commands import Actor
from services.cases.service_layer.remediation import RemediationService
from services.cases.service_layer.remediation_commands import (
    AddToTaxRoll,
    CancelWorkOrder,
    CompleteWork,
    CreateWorkOrder,
    ExportTaxRoll,
    IssueInvoice,
    MarkCouncilItemsReported,
    RecordApproval,
    RecordCosts,
    RecordPayment,
    ScheduleWork,
    WorkOrderRef,
)
from services.cases.service_layer.services import CasesService

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def _hours(value: Decimal | None) -> float:
    return float(value) if value is not None else 0.0


def _actor(actor: common_pb2.Actor) -> Actor:
    return convert.actor_from_proto(actor)


def _when(request: Any) -> Any:
    return convert.timestamp_or_none(request.occurred_at, request.HasField("occurred_at"))


def approval_to_proto(approval: Approval) -> cases_pb2.RemediationApproval:
    return cases_pb2.RemediationApproval(
        kind=approval.kind.value,
        decision=approval.decision.value if approval.decision else "",
        council_resolution=approval.council_resolution,
        council_meeting_on=_day(approval.council_meeting_on),
        emergency_risk=approval.emergency_risk.value if approval.emergency_risk else "",
        emergency_description=approval.emergency_description,
        emergency_urgency=approval.emergency_urgency,
        decided_by=approval.decided_by,
        decided_by_role=approval.decided_by_role,
        decided_at=convert.to_timestamp(approval.decided_at),
        note=approval.note,
        step_key=approval.step_key,
    )


def cost_to_proto(cost: CostEntry) -> cases_pb2.RemediationCost:
    return cases_pb2.RemediationCost(
        step_key=cost.step_key,
        kind=cost.kind.value,
        description=cost.description,
        amount_cents=cost.amount_cents,
        hours=_hours(cost.hours),
        reference=cost.reference,
        incurred_on=_day(cost.incurred_on),
        recorded_by=cost.recorded_by,
        recorded_at=convert.to_timestamp(cost.recorded_at),
    )


def payment_to_proto(payment: Payment) -> cases_pb2.RemediationPayment:
    return cases_pb2.RemediationPayment(
        step_key=payment.step_key,
        amount_cents=payment.amount_cents,
        received_on=payment.received_on.isoformat(),
        method=payment.method.value,
        reference=payment.reference,
        recorded_by=payment.recorded_by,
        recorded_at=convert.to_timestamp(payment.recorded_at),
    )


def invoice_to_proto(invoice: Invoice) -> cases_pb2.RemediationInvoice:
    return cases_pb2.RemediationInvoice(
        invoice_number=invoice.invoice_number,
        step_key=invoice.step_key,
        amount_cents=invoice.amount_cents,
        paid_cents=invoice.paid_cents,
        balance_cents=invoice.balance_cents,
        status=invoice.status.value,
        issued_on=invoice.issued_on.isoformat(),
        due_on=invoice.due_on.isoformat(),
        due_at=convert.to_timestamp(invoice.due_at),
        owner_name=invoice.owner_name,
        owner_mailing_address=invoice.owner_mailing_address,
        roll_number=invoice.roll_number,
        payments=[payment_to_proto(p) for p in invoice.payments],
        payment_period_days=invoice.payment_period_days,
    )


def tax_item_to_proto(item: TaxRollItem) -> cases_pb2.TaxRollItem:
    return cases_pb2.TaxRollItem(
        item_id=item.id or 0,
        roll_number=item.roll_number,
        owner_name=item.owner_name,
        amount_cents=item.amount_cents,
        invoice_number=item.invoice_number,
        case_number=item.case_number,
        bylaw_number=item.bylaw_number,
        added_on=item.added_on.isoformat(),
        first_exported_at=convert.to_timestamp(item.first_exported_at),
        step_key=item.step_key,
    )


def work_order_to_proto(order: WorkOrder) -> cases_pb2.WorkOrder:
    msg = cases_pb2.WorkOrder(
        case_number=order.case_number,
        work_order_seq=order.work_order_seq,
        work_order_number=order.work_order_number,
        status=order.status.value,
        description=order.description,
        contractor=order.contractor,
        estimate_cents=order.estimate_cents,
        private_land=order.private_land,
        council_approval_required=order.council_approval_required,
        property_roll_number=order.property_roll_number,
        property_address=order.property_address,
        owner_name=order.owner_name,
        owner_mailing_address=order.owner_mailing_address,
        bylaw_number=order.bylaw_number,
        scheduled_on=_day(order.scheduled_on),
        completed_on=_day(order.completed_on),
        completion_note=order.completion_note,
        cancelled_reason=order.cancelled_reason,
        costs=[cost_to_proto(c) for c in order.costs],
        actual_cost_cents=order.actual_cost_cents,
        requested_by=order.requested_by,
        created_at=convert.to_timestamp(order.created_at),
        updated_at=convert.to_timestamp(order.updated_at),
        restricted=order.restricted,
        step_key=order.step_key,
        payment_period_days=order.payment_period_days,
    )
    if order.approval is not None:
        msg.approval.CopyFrom(approval_to_proto(order.approval))
    if order.invoice is not None:
        msg.invoice.CopyFrom(invoice_to_proto(order.invoice))
    if order.tax_roll_item is not None:
        msg.tax_roll_item.CopyFrom(tax_item_to_proto(order.tax_roll_item))
    return msg


def export_to_proto(export: TaxRollExport) -> cases_pb2.TaxRollExport:
    return cases_pb2.TaxRollExport(
        export_key=export.export_key,
        exported_at=convert.to_timestamp(export.exported_at),
        exported_by=export.exported_by,
        re_export=export.re_export,
        items=[tax_item_to_proto(i) for i in export.items],
        total_cents=export.total_cents,
        csv=tax_roll_csv(export.items),
    )


def council_item_to_proto(item: CouncilReportItem) -> cases_pb2.CouncilReportItem:
    return cases_pb2.CouncilReportItem(
        item_id=item.id or 0,
        case_number=item.case_number,
        work_order_seq=item.work_order_seq,
        work_order_number=item.work_order_number,
        kind=item.kind.value,
        summary=item.summary,
        estimate_cents=item.estimate_cents,
        occurred_at=convert.to_timestamp(item.occurred_at),
        reported_at=convert.to_timestamp(item.reported_at),
        reported_meeting_on=_day(item.reported_meeting_on),
        property_address=item.property_address,
    )


def _ref(request: Any) -> WorkOrderRef:
    return WorkOrderRef(request.case_number, request.work_order_seq)


class RemediationRpcs(cases_pb2_grpc.CasesServiceServicer):
    """The remediation half of the CasesService servicer."""

    remediation: RemediationService

    async def CreateWorkOrder(  # noqa: N802 - gRPC method names
        self, request: cases_pb2.CreateWorkOrderRequest, context: Context
    ) -> cases_pb2.WorkOrder:
        order = await self.remediation.create_work_order(
            CreateWorkOrder(
                ref=_ref(request),
                step_key=request.step_key.strip(),
                description=request.description,
                contractor=request.contractor,
                estimate_cents=request.estimate_cents,
                private_land=request.private_land,
                requested_by=request.requested_by,
                property_roll_number=request.property_roll_number,
                payment_period_days=request.payment_period_days,
                occurred_at=_when(request),
                actor=_actor(request.actor),
            )
        )
        return work_order_to_proto(order)

    async def GetWorkOrder(  # noqa: N802 - gRPC method names
        self, request: cases_pb2.GetWorkOrderRequest, context: Context
    ) -> cases_pb2.WorkOrder:
        order = await self.remediation.get_work_order(_ref(request), _actor(request.actor))
        return work_order_to_proto(order)

    async def ListWorkOrders(  # noqa: N802 - gRPC method names
        self, request: cases_pb2.ListWorkOrdersRequest, context: Context
    ) -> cases_pb2.ListWorkOrdersResponse:
        orders = await self.remediation.list_work_orders(request.case_number, _actor(request.actor))
        return cases_pb2.ListWorkOrdersResponse(work_orders=[work_order_to_proto(o) for o in orders])

    async def RecordRemediationApproval(  # noqa: N802 - gRPC method names
        self, request: cases_pb2.RecordRemediationApprovalRequest, context: Context
    ) -> cases_pb2.WorkOrder:
        order = await self.remediation.record_approval(
            RecordApproval(
                ref=_ref(request),
                step_key=request.step_key.strip(),
                kind=request.kind.strip(),
                decision=request.decision.strip(),
                council_resolution=request.council_resolution,
                council_meeting_on=request.council_meeting_on,
                emergency_risk=request.emergency_risk.strip(),
                emergency_description=request.emergency_description,
                emergency_urgency=request.emergency_urgency,
                no_time_for_council=request.no_time_for_council,
                decided_by=request.decided_by,
                decided_by_role=request.decided_by_role.strip(),
                note=request.note,
                occurred_at=_when(request),
                actor=_actor(request.actor),
            )
        )
        return work_order_to_proto(order)

    async def ScheduleRemediationWork(  # noqa: N802 - gRPC method names
        self, request: cases_pb2.ScheduleRemediationWorkRequest, context: Context
    ) -> cases_pb2.WorkOrder:
        order = await self.remediation.schedule_work(
            ScheduleWork(
                ref=_ref(request),
                step_key=request.step_key.strip(),
                scheduled_on=request.scheduled_on,
                note=request.note,
                occurred_at=_when(request),
                actor=_actor(request.actor),
            )
        )
        return work_order_to_proto(order)

    async def RecordRemediationCosts(  # noqa: N802 - gRPC method names
        self, request: cases_pb2.RecordRemediationCostsRequest, context: Context
    ) -> cases_pb2.WorkOrder:
        order = await self.remediation.record_costs(
            RecordCosts(
                ref=_ref(request),
                costs=tuple(
                    NewCost(
                        step_key=c.step_key.strip(),
                        kind=c.kind.strip(),
                        description=c.description,
                        amount_cents=c.amount_cents,
                        hours=c.hours,
                        reference=c.reference,
                        incurred_on=c.incurred_on,
                    )
                    for c in request.costs
                ),
                occurred_at=_when(request),
                actor=_actor(request.actor),
            )
        )
        return work_order_to_proto(order)

    async def CompleteRemediationWork(  # noqa: N802 - gRPC method names
        self, request: cases_pb2.CompleteRemediationWorkRequest, context: Context
    ) -> cases_pb2.WorkOrder:
        order = await self.remediation.complete_work(
            CompleteWork(
                ref=_ref(request),
                step_key=request.step_key.strip(),
                completed_on=request.completed_on,
                note=request.note,
                occurred_at=_when(request),
                actor=_actor(request.actor),
            )
        )
        return work_order_to_proto(order)

    async def CancelWorkOrder(  # noqa: N802 - gRPC method names
        self, request: cases_pb2.CancelWorkOrderRequest, context: Context
    ) -> cases_pb2.WorkOrder:
        order = await self.remediation.cancel_work_order(
            CancelWorkOrder(
                ref=_ref(request),
                step_key=request.step_key.strip(),
                reason=request.reason,
                occurred_at=_when(request),
                actor=_actor(request.actor),
            )
        )
        return work_order_to_proto(order)

    async def IssueRemediationInvoice(  # noqa: N802 - gRPC method names
        self, request: cases_pb2.IssueRemediationInvoiceRequest, context: Context
    ) -> cases_pb2.WorkOrder:
        order = await self.remediation.issue_invoice(
            IssueInvoice(
                ref=_ref(request),
                step_key=request.step_key.strip(),
                payment_period_days=request.payment_period_days,
                occurred_at=_when(request),
                actor=_actor(request.actor),
            )
        )
        return work_order_to_proto(order)

    async def RecordRemediationPayment(  # noqa: N802 - gRPC method names
        self, request: cases_pb2.RecordRemediationPaymentRequest, context: Context
    ) -> cases_pb2.WorkOrder:
        order = await self.remediation.record_payment(
            RecordPayment(
                ref=_ref(request),
                step_key=request.step_key.strip(),
                payment=NewPayment(
                    amount_cents=request.amount_cents,
                    received_on=request.received_on,
                    method=request.method.strip(),
                    reference=request.reference,
                ),
                occurred_at=_when(request),
                actor=_actor(request.actor),
            )
        )
        return work_order_to_proto(order)

    async def AddRemediationToTaxRoll(  # noqa: N802 - gRPC method names
        self, request: cases_pb2.AddRemediationToTaxRollRequest, context: Context
    ) -> cases_pb2.WorkOrder:
        order = await self.remediation.add_to_tax_roll(
            AddToTaxRoll(
                ref=_ref(request),
                step_key=request.step_key.strip(),
                occurred_at=_when(request),
                actor=_actor(request.actor),
            )
        )
        return work_order_to_proto(order)

    async def ExportTaxRoll(  # noqa: N802 - gRPC method names
        self, request: cases_pb2.ExportTaxRollRequest, context: Context
    ) -> cases_pb2.TaxRollExport:
        export = await self.remediation.export_tax_roll(
            ExportTaxRoll(
                export_key=request.export_key, re_export=request.re_export, actor=_actor(request.actor)
            )
        )
        return export_to_proto(export)

    async def GetTaxRollExport(  # noqa: N802 - gRPC method names
        self, request: cases_pb2.GetTaxRollExportRequest, context: Context
    ) -> cases_pb2.TaxRollExport:
        export = await self.remediation.get_tax_roll_export(request.export_key, _actor(request.actor))
        return export_to_proto(export)

    async def ListCouncilReportItems(  # noqa: N802 - gRPC method names
        self, request: cases_pb2.ListCouncilReportItemsRequest, context: Context
    ) -> cases_pb2.ListCouncilReportItemsResponse:
        items = await self.remediation.council_items(request.include_reported)
        return cases_pb2.ListCouncilReportItemsResponse(items=[council_item_to_proto(i) for i in items])

    async def MarkCouncilItemsReported(  # noqa: N802 - gRPC method names
        self, request: cases_pb2.MarkCouncilItemsReportedRequest, context: Context
    ) -> cases_pb2.ListCouncilReportItemsResponse:
        items = await self.remediation.mark_council_items_reported(
            MarkCouncilItemsReported(
                item_ids=tuple(request.item_ids), meeting_on=request.meeting_on, actor=_actor(request.actor)
            )
        )
        return cases_pb2.ListCouncilReportItemsResponse(items=[council_item_to_proto(i) for i in items])


class CasesServicerWithRemediation(RemediationRpcs, CasesServicer):
    """Every CasesService RPC: the case lifecycle's and municipal remediation's."""

    def __init__(self, service: CasesService, remediation: RemediationService) -> None:
        super().__init__(service)
        self.remediation = remediation
