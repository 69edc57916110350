"""Domain events of municipal remediation, published through the cases outbox on
``bylaw.events.remediation.<event>`` with the envelope of :mod:`services.cases.domain.events`.

Every event carries ``work_order_seq``, ``work_order_number``, ``service_code`` and
``restricted``; for restricted cases (policy 6.10) the roll number and free text are left
out. No event carries the owner's name or mailing address, nor complainant identity.
Only ``remediation.emergency_approved`` mentions an emergency: reporting lists every event
flagged or named "emergency" in Council's monthly report (policy 6.5.14), so no other
event sets a boolean ``emergency`` key.

``remediation.work_order_created`` — estimate_cents, private_land, council_approval_required,
    status, property_roll_number, contractor.
``remediation.council_decision_recorded`` — decision, council_resolution, council_meeting_on
    (policy 6.5.13).
``remediation.emergency_approved`` — approved_by_role, risk, description, occurred_at,
    estimate_cents: listed for Council's next report (policy 6.5.14).
``remediation.work_scheduled`` — scheduled_on.
``remediation.costs_recorded`` — entries [{kind, amount_cents}], actual_cost_cents.
``remediation.work_completed`` — completed_on, actual_cost_cents, estimate_cents.
``remediation.work_order_cancelled`` — reason.
``remediation.invoice_issued`` — invoice_number, amount_cents, issued_on, due_on.
``remediation.payment_recorded`` — invoice_number, amount_cents, balance_cents, method.
``remediation.added_to_tax_roll`` — invoice_number, amount_cents, property_roll_number, added_on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.cases.domain.events import event_id
from services.cases.domain.remediation import (
    Approval,
    CostEntry,
    Invoice,
    Payment,
    TaxRollItem,
    WorkOrder,
    money,
)
from services.common.events import DomainEvent

WORK_ORDER_CREATED = "remediation.work_order_created"
COUNCIL_DECISION_RECORDED = "remediation.council_decision_recorded"
EMERGENCY_APPROVED = "remediation.emergency_approved"
WORK_SCHEDULED = "remediation.work_scheduled"
COSTS_RECORDED = "remediation.costs_recorded"
WORK_COMPLETED = "remediation.work_completed"
WORK_ORDER_CANCELLED = "remediation.work_order_cancelled"
INVOICE_ISSUED = "remediation.invoice_issued"
PAYMENT_RECORDED = "remediation.payment_recorded"
ADDED_TO_TAX_ROLL = "remediation.added_to_tax_roll"


def _event(
    order: WorkOrder, event_type: str, step_key: str, at: datetime, data: dict[str, Any]
) -> DomainEvent:
    return DomainEvent(
        event_type=event_type,
        case_number=order.case_number,
        event_id=event_id(order.case_number, f"remediation/{order.work_order_seq}/{event_type}/{step_key}"),
        occurred_at=at,
        data={
            "work_order_seq": order.work_order_seq,
            "work_order_number": order.work_order_number,
            "service_code": order.service_code,
            "restricted": order.restricted,
            **data,
        },
    )


def _text(order: WorkOrder, value: str) -> str:
    return "" if order.restricted else value


def work_order_created(order: WorkOrder) -> DomainEvent:
    return _event(
        order,
        WORK_ORDER_CREATED,
        order.step_key,
        order.created_at,
        {
            "estimate_cents": order.estimate_cents,
            "private_land": order.private_land,
            "council_approval_required": order.council_approval_required,
            "status": order.status.value,
            "property_roll_number": _text(order, order.property_roll_number),
            "contractor": _text(order, order.contractor),
        },
    )


def approval_recorded(order: WorkOrder, approval: Approval, at: datetime) -> DomainEvent:
    if approval.kind.value == "emergency":
        risk = approval.emergency_risk.value if approval.emergency_risk else ""
        return _event(
            order,
            EMERGENCY_APPROVED,
            approval.step_key,
            at,
            {
                "approved_by_role": approval.decided_by_role,
                "risk": risk,
                "description": (
                    f"work order {order.work_order_number}: remedial work approved without Council "
                    f"(risk to {risk}), estimate {money(order.estimate_cents)}"
                    + ("" if order.restricted else f"; {approval.emergency_description}")
                ),
                "occurred_at": at.isoformat(),
                "estimate_cents": order.estimate_cents,
            },
        )
    return _event(
        order,
        COUNCIL_DECISION_RECORDED,
        approval.step_key,
        at,
        {
            "decision": approval.decision.value if approval.decision else "",
            "council_resolution": approval.council_resolution,
            "council_meeting_on": approval.council_meeting_on.isoformat()
            if approval.council_meeting_on
            else None,
            "estimate_cents": order.estimate_cents,
        },
    )


def work_scheduled(order: WorkOrder, step_key: str, at: datetime) -> DomainEvent:
    return _event(
        order,
        WORK_SCHEDULED,
        step_key,
        at,
        {"scheduled_on": order.scheduled_on.isoformat() if order.scheduled_on else None},
    )


def costs_recorded(order: WorkOrder, entries: list[CostEntry], at: datetime) -> DomainEvent:
    return _event(
        order,
        COSTS_RECORDED,
        ",".join(sorted(e.step_key for e in entries)),
        at,
        {
            "entries": [{"kind": e.kind.value, "amount_cents": e.amount_cents} for e in entries],
            "actual_cost_cents": order.actual_cost_cents,
        },
    )


def work_completed(order: WorkOrder, step_key: str, at: datetime) -> DomainEvent:
    return _event(
        order,
        WORK_COMPLETED,
        step_key,
        at,
        {
            "completed_on": order.completed_on.isoformat() if order.completed_on else None,
            "actual_cost_cents": order.actual_cost_cents,
            "estimate_cents": order.estimate_cents,
            "approval": order.approval.kind.value if order.approval else "",
        },
    )


def work_order_cancelled(order: WorkOrder, step_key: str, at: datetime) -> DomainEvent:
    return _event(order, WORK_ORDER_CANCELLED, step_key, at, {"reason": _text(order, order.cancelled_reason)})


def invoice_issued(order: WorkOrder, invoice: Invoice) -> DomainEvent:
    return _event(
        order,
        INVOICE_ISSUED,
        invoice.step_key,
        invoice.issued_at,
        {
            "invoice_number": invoice.invoice_number,
            "amount_cents": invoice.amount_cents,
            "issued_on": invoice.issued_on.isoformat(),
            "due_on": invoice.due_on.isoformat(),
        },
    )


def payment_recorded(order: WorkOrder, invoice: Invoice, payment: Payment, at: datetime) -> DomainEvent:
    return _event(
        order,
        PAYMENT_RECORDED,
        payment.step_key,
        at,
        {
            "invoice_number": invoice.invoice_number,
            "amount_cents": payment.amount_cents,
            "balance_cents": invoice.balance_cents,
            "method": payment.method.value,
        },
    )


def added_to_tax_roll(order: WorkOrder, item: TaxRollItem) -> DomainEvent:
    return _event(
        order,
        ADDED_TO_TAX_ROLL,
        item.step_key,
        item.added_at,
        {
            "invoice_number": item.invoice_number,
            "amount_cents": item.amount_cents,
            "property_roll_number": _text(order, item.roll_number),
            "added_on": item.added_on.isoformat(),
        },
    )
