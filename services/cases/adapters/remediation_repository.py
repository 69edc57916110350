"""PostgreSQL implementation of the remediation repository, and the cases unit of work
extended with it (same transaction, same audit log and outbox)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.adapters.orm import CaseRow, PropertyRow
from services.cases.adapters.remediation_orm import (
    CouncilReportItemRow,
    RemediationCostRow,
    RemediationInvoiceRow,
    RemediationPaymentRow,
    TaxRollExportItemRow,
    TaxRollExportRow,
    TaxRollItemRow,
    WorkOrderRow,
)
from services.cases.adapters.repository import SqlUnitOfWork
from services.cases.domain.cases import Case
from services.cases.domain.remediation import (
    Approval,
    ApprovalKind,
    CostEntry,
    CostKind,
    CouncilItemKind,
    CouncilReportItem,
    Decision,
    EmergencyRisk,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    TaxRollExport,
    TaxRollItem,
    WorkOrder,
    WorkOrderStatus,
)
from services.cases.service_layer.remediation_ports import RemediationRepository, RemediationUnitOfWork


def _approval(row: WorkOrderRow) -> Approval | None:
    if not row.approval_kind:
        return None
    return Approval(
        kind=ApprovalKind(row.approval_kind),
        decision=Decision(row.decision) if row.decision else None,
        council_resolution=row.council_resolution,
        council_meeting_on=row.council_meeting_on,
        emergency_risk=EmergencyRisk(row.emergency_risk) if row.emergency_risk else None,
        emergency_description=row.emergency_description,
        emergency_urgency=row.emergency_urgency,
        decided_by=row.decided_by,
        decided_by_role=row.decided_by_role,
        decided_at=row.decided_at,
        note=row.decision_note,
        step_key=row.decision_step_key,
    )


def _cost(row: RemediationCostRow) -> CostEntry:
    return CostEntry(
        step_key=row.step_key,
        kind=CostKind(row.kind),
        description=row.description,
        amount_cents=row.amount_cents,
        hours=row.hours,
        reference=row.reference,
        incurred_on=row.incurred_on,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
    )


def _payment(row: RemediationPaymentRow) -> Payment:
    return Payment(
        step_key=row.step_key,
        amount_cents=row.amount_cents,
        received_on=row.received_on,
        method=PaymentMethod(row.method),
        reference=row.reference,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
    )


def _invoice(row: RemediationInvoiceRow, payments: list[Payment]) -> Invoice:
    return Invoice(
        id=row.id,
        invoice_number=row.invoice_number,
        step_key=row.step_key,
        amount_cents=row.amount_cents,
        issued_at=row.issued_at,
        issued_on=row.issued_on,
        due_on=row.due_on,
        due_at=row.due_at,
        payment_period_days=row.payment_period_days,
        owner_name=row.owner_name,
        owner_mailing_address=row.owner_mailing_address,
        roll_number=row.roll_number,
        status=InvoiceStatus(row.status),
        paid_cents=row.paid_cents,
        payments=payments,
    )


def _tax_item(row: TaxRollItemRow) -> TaxRollItem:
    return TaxRollItem(
        id=row.id,
        step_key=row.step_key,
        roll_number=row.roll_number,
        owner_name=row.owner_name,
        amount_cents=row.amount_cents,
        invoice_number=row.invoice_number,
        case_number=row.case_number,
        bylaw_number=row.bylaw_number,
        added_on=row.added_on,
        added_at=row.added_at,
        first_exported_at=row.first_exported_at,
    )


class SqlRemediationRepository(RemediationRepository):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _select(self) -> Select[WorkOrderRow, CaseRow, PropertyRow]:
        return (
            select(WorkOrderRow, CaseRow, PropertyRow)
            .join(CaseRow, CaseRow.id == WorkOrderRow.case_id)
            .outerjoin(PropertyRow, PropertyRow.roll_number == WorkOrderRow.property_roll_number)
        )

    async def _load(self, stmt: Select[WorkOrderRow, CaseRow, PropertyRow]) -> list[WorkOrder]:
        rows = (await self.session.execute(stmt)).all()
        if not rows:
            return []
        ids = [r[0].id for r in rows]
        costs: dict[int, list[CostEntry]] = {i: [] for i in ids}
        for cost in await self.session.scalars(
            select(RemediationCostRow)
            .where(RemediationCostRow.work_order_id.in_(ids))
            .order_by(RemediationCostRow.id)
        ):
            costs[cost.work_order_id].append(_cost(cost))
        invoices = {
            inv.work_order_id: inv
            for inv in await self.session.scalars(
                select(RemediationInvoiceRow).where(RemediationInvoiceRow.work_order_id.in_(ids))
            )
        }
        payments: dict[int, list[Payment]] = {inv.id: [] for inv in invoices.values()}
        taxed: dict[int, TaxRollItem] = {}
        if invoices:
            invoice_ids = [inv.id for inv in invoices.values()]
            for pay in await self.session.scalars(
                select(RemediationPaymentRow)
                .where(RemediationPaymentRow.invoice_id.in_(invoice_ids))
                .order_by(RemediationPaymentRow.id)
            ):
                payments[pay.invoice_id].append(_payment(pay))
            for item in await self.session.scalars(
                select(TaxRollItemRow).where(TaxRollItemRow.invoice_id.in_(invoice_ids))
            ):
                taxed[item.invoice_id] = _tax_item(item)
        out: list[WorkOrder] = []
        for row, case, prop in rows:
            invoice_row = invoices.get(row.id)
            out.append(
                WorkOrder(
                    id=row.id,
                    case_number=case.case_number,
                    work_order_seq=row.work_order_seq,
                    work_order_number=row.work_order_number,
                    step_key=row.step_key,
                    property_roll_number=row.property_roll_number,
                    description=row.description,
                    contractor=row.contractor,
                    estimate_cents=row.estimate_cents,
                    private_land=row.private_land,
                    council_approval_required=row.council_approval_required,
                    payment_period_days=row.payment_period_days,
                    status=WorkOrderStatus(row.status),
                    requested_by=row.requested_by,
                    created_at=row.created_at,
                    updated_at=row.updated_at,
                    approval=_approval(row),
                    scheduled_on=row.scheduled_on,
                    completed_on=row.completed_on,
                    completion_note=row.completion_note,
                    cancelled_reason=row.cancelled_reason,
                    costs=costs[row.id],
                    invoice=_invoice(invoice_row, payments[invoice_row.id]) if invoice_row else None,
                    tax_roll_item=taxed.get(invoice_row.id) if invoice_row else None,
                    property_address=prop.address if prop else "",
                    owner_name=prop.owner_name if prop else "",
                    owner_mailing_address=prop.owner_mailing_address if prop else "",
                    bylaw_number=case.bylaw_number,
                    service_code=case.service_code,
                    restricted=case.restricted,
                )
            )
        return out

    async def get(self, case_number: str, seq: int, *, for_update: bool = False) -> WorkOrder | None:
        stmt = self._select().where(CaseRow.case_number == case_number, WorkOrderRow.work_order_seq == seq)
        if for_update:
            # Serialises every write to one work order (its costs, invoice, payments).
            stmt = stmt.with_for_update(of=WorkOrderRow)
        found = await self._load(stmt)
        return found[0] if found else None

    async def by_step(self, case_number: str, step_key: str) -> WorkOrder | None:
        found = await self._load(
            self._select().where(CaseRow.case_number == case_number, WorkOrderRow.step_key == step_key)
        )
        return found[0] if found else None

    async def for_case(self, case_number: str) -> list[WorkOrder]:
        return await self._load(
            self._select().where(CaseRow.case_number == case_number).order_by(WorkOrderRow.work_order_seq)
        )

    @staticmethod
    def _mutable(order: WorkOrder) -> dict[str, Any]:
        approval = order.approval
        return {
            "status": order.status.value,
            "approval_kind": approval.kind.value if approval else "",
            "decision": approval.decision.value if approval and approval.decision else "",
            "council_resolution": approval.council_resolution if approval else "",
            "council_meeting_on": approval.council_meeting_on if approval else None,
            "emergency_risk": approval.emergency_risk.value if approval and approval.emergency_risk else "",
            "emergency_description": approval.emergency_description if approval else "",
            "emergency_urgency": approval.emergency_urgency if approval else "",
            "decided_by": approval.decided_by if approval else "",
            "decided_by_role": approval.decided_by_role if approval else "",
            "decided_at": approval.decided_at if approval else None,
            "decision_note": approval.note if approval else "",
            "decision_step_key": approval.step_key if approval else "",
            "scheduled_on": order.scheduled_on,
            "completed_on": order.completed_on,
            "completion_note": order.completion_note,
            "cancelled_reason": order.cancelled_reason,
            "updated_at": order.updated_at,
        }

    async def add(self, case: Case, order: WorkOrder) -> None:
        values = {
            **self._mutable(order),
            "case_id": case.id,
            "work_order_seq": order.work_order_seq,
            "work_order_number": order.work_order_number,
            "step_key": order.step_key,
            "property_roll_number": order.property_roll_number,
            "description": order.description,
            "contractor": order.contractor,
            "estimate_cents": order.estimate_cents,
            "private_land": order.private_land,
            "council_approval_required": order.council_approval_required,
            "payment_period_days": order.payment_period_days,
            "requested_by": order.requested_by,
            "created_at": order.created_at,
        }
        order.id = int(
            await self.session.scalar(insert(WorkOrderRow).values(values).returning(WorkOrderRow.id)) or 0
        )

    async def save(self, order: WorkOrder) -> None:
        await self.session.execute(
            update(WorkOrderRow).where(WorkOrderRow.id == order.id).values(self._mutable(order))
        )

    async def add_costs(self, order: WorkOrder, costs: Sequence[CostEntry]) -> None:
        if not costs:
            return
        await self.session.execute(
            insert(RemediationCostRow).values(
                [
                    {
                        "work_order_id": order.id,
                        "step_key": c.step_key,
                        "kind": c.kind.value,
                        "description": c.description,
                        "amount_cents": c.amount_cents,
                        "hours": c.hours,
                        "reference": c.reference,
                        "incurred_on": c.incurred_on,
                        "recorded_by": c.recorded_by,
                        "recorded_at": c.recorded_at,
                    }
                    for c in costs
                ]
            )
        )

    async def add_invoice(self, order: WorkOrder, invoice: Invoice) -> None:
        invoice.id = int(
            await self.session.scalar(
                insert(RemediationInvoiceRow)
                .values(
                    work_order_id=order.id,
                    invoice_number=invoice.invoice_number,
                    step_key=invoice.step_key,
                    amount_cents=invoice.amount_cents,
                    paid_cents=invoice.paid_cents,
                    status=invoice.status.value,
                    issued_at=invoice.issued_at,
                    issued_on=invoice.issued_on,
                    due_on=invoice.due_on,
                    due_at=invoice.due_at,
                    payment_period_days=invoice.payment_period_days,
                    owner_name=invoice.owner_name,
                    owner_mailing_address=invoice.owner_mailing_address,
                    roll_number=invoice.roll_number,
                )
                .returning(RemediationInvoiceRow.id)
            )
            or 0
        )

    async def add_payment(self, invoice: Invoice, payment: Payment) -> None:
        await self.session.execute(
            insert(RemediationPaymentRow).values(
                invoice_id=invoice.id,
                step_key=payment.step_key,
                amount_cents=payment.amount_cents,
                received_on=payment.received_on,
                method=payment.method.value,
                reference=payment.reference,
                recorded_by=payment.recorded_by,
                recorded_at=payment.recorded_at,
            )
        )
        await self.session.execute(
            update(RemediationInvoiceRow)
            .where(RemediationInvoiceRow.id == invoice.id)
            .values(paid_cents=invoice.paid_cents, status=invoice.status.value)
        )

    async def add_tax_roll_item(self, invoice: Invoice, item: TaxRollItem) -> None:
        item.id = int(
            await self.session.scalar(
                insert(TaxRollItemRow)
                .values(
                    invoice_id=invoice.id,
                    step_key=item.step_key,
                    roll_number=item.roll_number,
                    owner_name=item.owner_name,
                    amount_cents=item.amount_cents,
                    invoice_number=item.invoice_number,
                    case_number=item.case_number,
                    bylaw_number=item.bylaw_number,
                    added_on=item.added_on,
                    added_at=item.added_at,
                )
                .returning(TaxRollItemRow.id)
            )
            or 0
        )
        await self.session.execute(
            update(RemediationInvoiceRow)
            .where(RemediationInvoiceRow.id == invoice.id)
            .values(status=InvoiceStatus.ON_TAX_ROLL.value)
        )

    async def tax_roll_items(self, *, unexported_only: bool) -> list[TaxRollItem]:
        stmt = select(TaxRollItemRow).order_by(TaxRollItemRow.id)
        if unexported_only:
            stmt = stmt.where(TaxRollItemRow.first_exported_at.is_(None))
        return [_tax_item(r) for r in await self.session.scalars(stmt)]

    async def export(self, export_key: str) -> TaxRollExport | None:
        row = await self.session.scalar(
            select(TaxRollExportRow).where(TaxRollExportRow.export_key == export_key)
        )
        if row is None:
            return None
        items = await self.session.scalars(
            select(TaxRollItemRow)
            .join(TaxRollExportItemRow, TaxRollExportItemRow.item_id == TaxRollItemRow.id)
            .where(TaxRollExportItemRow.export_id == row.id)
            .order_by(TaxRollItemRow.id)
        )
        return TaxRollExport(
            export_key=row.export_key,
            exported_at=row.exported_at,
            exported_by=row.exported_by,
            re_export=row.re_export,
            items=tuple(_tax_item(i) for i in items),
        )

    async def add_export(self, export: TaxRollExport) -> None:
        export_id = await self.session.scalar(
            insert(TaxRollExportRow)
            .values(
                export_key=export.export_key,
                exported_at=export.exported_at,
                exported_by=export.exported_by,
                re_export=export.re_export,
            )
            .returning(TaxRollExportRow.id)
        )
        ids = [i.id for i in export.items if i.id is not None]
        if not ids:
            return
        await self.session.execute(
            insert(TaxRollExportItemRow).values([{"export_id": export_id, "item_id": i} for i in ids])
        )
        # Idempotent marking: an item keeps the time it was first exported.
        await self.session.execute(
            update(TaxRollItemRow)
            .where(TaxRollItemRow.id.in_(ids), TaxRollItemRow.first_exported_at.is_(None))
            .values(first_exported_at=export.exported_at)
        )

    async def add_council_item(self, order: WorkOrder, item: CouncilReportItem) -> None:
        item.id = int(
            await self.session.scalar(
                insert(CouncilReportItemRow)
                .values(
                    work_order_id=order.id,
                    kind=item.kind.value,
                    summary=item.summary,
                    occurred_at=item.occurred_at,
                )
                .returning(CouncilReportItemRow.id)
            )
            or 0
        )

    async def close_council_items(
        self,
        order: WorkOrder,
        kind: CouncilItemKind,
        reason: str,
        reported_meeting_on: date | None,
        at: datetime,
    ) -> None:
        values: dict[str, Any] = {"closed_reason": reason}
        if reported_meeting_on is not None:
            values.update(reported_at=at, reported_meeting_on=reported_meeting_on)
        await self.session.execute(
            update(CouncilReportItemRow)
            .where(
                CouncilReportItemRow.work_order_id == order.id,
                CouncilReportItemRow.kind == kind.value,
                CouncilReportItemRow.closed_reason == "",
            )
            .values(values)
        )

    async def council_items(self, *, include_reported: bool) -> list[CouncilReportItem]:
        stmt = (
            select(CouncilReportItemRow, WorkOrderRow, CaseRow, PropertyRow)
            .join(WorkOrderRow, WorkOrderRow.id == CouncilReportItemRow.work_order_id)
            .join(CaseRow, CaseRow.id == WorkOrderRow.case_id)
            .outerjoin(PropertyRow, PropertyRow.roll_number == WorkOrderRow.property_roll_number)
            .order_by(CouncilReportItemRow.occurred_at, CouncilReportItemRow.id)
        )
        if not include_reported:
            stmt = stmt.where(
                CouncilReportItemRow.reported_at.is_(None), CouncilReportItemRow.closed_reason == ""
            )
        out: list[CouncilReportItem] = []
        for item, order, case, prop in (await self.session.execute(stmt)).all():
            out.append(
                CouncilReportItem(
                    id=item.id,
                    case_number=case.case_number,
                    work_order_seq=order.work_order_seq,
                    work_order_number=order.work_order_number,
                    kind=CouncilItemKind(item.kind),
                    summary=item.summary,
                    estimate_cents=order.estimate_cents,
                    occurred_at=item.occurred_at,
                    # A complaint about staff or Council is not located in a Council report (6.10).
                    property_address="" if case.restricted or prop is None else prop.address,
                    reported_at=item.reported_at,
                    reported_meeting_on=item.reported_meeting_on,
                )
            )
        return out

    async def mark_council_items_reported(
        self, item_ids: Sequence[int], meeting_on: date, at: datetime
    ) -> list[int]:
        existing = list(
            await self.session.scalars(
                select(CouncilReportItemRow.id).where(CouncilReportItemRow.id.in_(item_ids))
            )
        )
        await self.session.execute(
            update(CouncilReportItemRow)
            .where(CouncilReportItemRow.id.in_(existing), CouncilReportItemRow.reported_at.is_(None))
            .values(reported_at=at, reported_meeting_on=meeting_on)
        )
        return existing


class SqlRemediationUnitOfWork(SqlUnitOfWork, RemediationUnitOfWork):
    """The cases unit of work with the remediation repository on the same session."""

    async def __aenter__(self) -> SqlRemediationUnitOfWork:
        await super().__aenter__()
        self.remediation = SqlRemediationRepository(self.session)
        return self
