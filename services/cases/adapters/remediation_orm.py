"""Tables of municipal remediation in the ``cases`` schema: work orders, their costs, the
invoice and payments, tax-roll items and exports, and items for Council's next report.

Registered on the cases metadata (``services.cases.adapters.orm`` imports this module), so
the Alembic migration and the model comparison test see them. Idempotency is enforced by
unique constraints: one work order per (case, seq) and per (case, step_key), one cost per
(work order, step_key), one invoice per work order, one payment per (invoice, step_key),
one tax-roll item per invoice, one export per export_key.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.cases.adapters.orm import Base
from services.cases.domain.remediation import (
    ApprovalKind,
    CostKind,
    CouncilItemKind,
    Decision,
    EmergencyRisk,
    InvoiceStatus,
    PaymentMethod,
    WorkOrderStatus,
)


def _in(column: str, values: list[str], *, blank: bool = False) -> str:
    allowed = sorted(values) + ([""] if blank else [])
    return f"{column} IN ({', '.join(repr(v) for v in allowed)})"


def _created() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class WorkOrderRow(Base):
    __tablename__ = "work_orders"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.cases.id"), nullable=False)
    work_order_seq: Mapped[int] = mapped_column(Integer, nullable=False)
    work_order_number: Mapped[str] = mapped_column(String(48), nullable=False, unique=True)
    step_key: Mapped[str] = mapped_column(String(200), nullable=False)
    property_roll_number: Mapped[str] = mapped_column(
        String(19), ForeignKey("cases.properties.roll_number"), nullable=False
    )
    description: Mapped[str] = mapped_column(Text, nullable=False)
    contractor: Mapped[str] = mapped_column(String(200), nullable=False)
    estimate_cents: Mapped[int] = mapped_column(BigInteger, nullable=False)
    private_land: Mapped[bool] = mapped_column(Boolean, nullable=False)
    council_approval_required: Mapped[bool] = mapped_column(Boolean, nullable=False)
    payment_period_days: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(32), nullable=False)
    approval_kind: Mapped[str] = mapped_column(String(16), nullable=False, server_default="")
    decision: Mapped[str] = mapped_column(String(16), nullable=False, server_default="")
    council_resolution: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    council_meeting_on: Mapped[date | None] = mapped_column(Date)
    emergency_risk: Mapped[str] = mapped_column(String(16), nullable=False, server_default="")
    emergency_description: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    emergency_urgency: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    decided_by: Mapped[str] = mapped_column(String(200), nullable=False, server_default="")
    decided_by_role: Mapped[str] = mapped_column(String(32), nullable=False, server_default="")
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    decision_step_key: Mapped[str] = mapped_column(String(200), nullable=False, server_default="")
    scheduled_on: Mapped[date | None] = mapped_column(Date)
    completed_on: Mapped[date | None] = mapped_column(Date)
    completion_note: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    cancelled_reason: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    requested_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        UniqueConstraint("case_id", "work_order_seq", name="uq_work_orders_case_seq"),
        UniqueConstraint("case_id", "step_key", name="uq_work_orders_case_step"),
        CheckConstraint("work_order_seq >= 1", name="seq_positive"),
        CheckConstraint("estimate_cents > 0", name="estimate_positive"),
        CheckConstraint("payment_period_days BETWEEN 1 AND 365", name="payment_period_valid"),
        CheckConstraint(_in("status", [s.value for s in WorkOrderStatus]), name="status_known"),
        CheckConstraint(
            _in("approval_kind", [k.value for k in ApprovalKind], blank=True), name="approval_kind_known"
        ),
        CheckConstraint(_in("decision", [d.value for d in Decision], blank=True), name="decision_known"),
        CheckConstraint(
            _in("emergency_risk", [r.value for r in EmergencyRisk], blank=True), name="risk_known"
        ),
        # Policy 6.5.13-6.5.14: gated work is approved by Council or under the emergency
        # exception, never "not required"; ungated work never waits for Council.
        CheckConstraint(
            "(council_approval_required AND approval_kind IN ('', 'council', 'emergency'))"
            " OR (NOT council_approval_required AND approval_kind = 'not_required')",
            name="approval_matches_gate",
        ),
        # An emergency approval records which risk it answers (policy 6.5.14).
        CheckConstraint(
            "approval_kind <> 'emergency' OR (emergency_risk <> '' AND emergency_description <> ''"
            " AND emergency_urgency <> '' AND decided_by_role IN ('cao', 'cbo', 'fire_chief'))",
            name="emergency_recorded",
        ),
        Index("ix_work_orders_status", "status"),
    )


class RemediationCostRow(Base):
    __tablename__ = "remediation_costs"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    work_order_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.work_orders.id"), nullable=False)
    step_key: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    amount_cents: Mapped[int] = mapped_column(BigInteger, nullable=False)
    hours: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    reference: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    incurred_on: Mapped[date | None] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(200), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        UniqueConstraint("work_order_id", "step_key", name="uq_remediation_costs_work_order_step"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint(_in("kind", [k.value for k in CostKind]), name="kind_known"),
        CheckConstraint("kind <> 'staff_time' OR hours > 0", name="staff_time_hours"),
    )


class RemediationInvoiceRow(Base):
    __tablename__ = "remediation_invoices"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    work_order_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("cases.work_orders.id"), nullable=False, unique=True
    )
    invoice_number: Mapped[str] = mapped_column(String(48), nullable=False, unique=True)
    step_key: Mapped[str] = mapped_column(String(200), nullable=False)
    amount_cents: Mapped[int] = mapped_column(BigInteger, nullable=False)
    paid_cents: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    issued_on: Mapped[date] = mapped_column(Date, nullable=False)
    due_on: Mapped[date] = mapped_column(Date, nullable=False)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    payment_period_days: Mapped[int] = mapped_column(Integer, nullable=False)
    owner_name: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    owner_mailing_address: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    roll_number: Mapped[str] = mapped_column(String(19), nullable=False)
    created_at: Mapped[datetime] = _created()

    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("paid_cents >= 0 AND paid_cents <= amount_cents", name="paid_within_amount"),
        CheckConstraint(_in("status", [s.value for s in InvoiceStatus]), name="status_known"),
        CheckConstraint("due_on > issued_on", name="due_after_issue"),
    )


class RemediationPaymentRow(Base):
    __tablename__ = "remediation_payments"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    invoice_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("cases.remediation_invoices.id"), nullable=False
    )
    step_key: Mapped[str] = mapped_column(String(200), nullable=False)
    amount_cents: Mapped[int] = mapped_column(BigInteger, nullable=False)
    received_on: Mapped[date] = mapped_column(Date, nullable=False)
    method: Mapped[str] = mapped_column(String(32), nullable=False)
    reference: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    recorded_by: Mapped[str] = mapped_column(String(200), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        UniqueConstraint("invoice_id", "step_key", name="uq_remediation_payments_invoice_step"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint(_in("method", [m.value for m in PaymentMethod]), name="method_known"),
    )


class TaxRollItemRow(Base):
    """Unpaid remediation costs added to the tax roll (Municipal Act, 2001, s.446)."""

    __tablename__ = "tax_roll_items"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    invoice_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("cases.remediation_invoices.id"), nullable=False, unique=True
    )
    step_key: Mapped[str] = mapped_column(String(200), nullable=False)
    roll_number: Mapped[str] = mapped_column(String(19), nullable=False)
    owner_name: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    amount_cents: Mapped[int] = mapped_column(BigInteger, nullable=False)
    invoice_number: Mapped[str] = mapped_column(String(48), nullable=False)
    case_number: Mapped[str] = mapped_column(String(32), nullable=False)
    bylaw_number: Mapped[str] = mapped_column(String(32), nullable=False, server_default="")
    added_on: Mapped[date] = mapped_column(Date, nullable=False)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    first_exported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        Index("ix_tax_roll_items_unexported", "id", postgresql_where=text("first_exported_at IS NULL")),
    )


class TaxRollExportRow(Base):
    __tablename__ = "tax_roll_exports"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    export_key: Mapped[str] = mapped_column(String(128), nullable=False, unique=True)
    exported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    exported_by: Mapped[str] = mapped_column(String(200), nullable=False)
    re_export: Mapped[bool] = mapped_column(Boolean, nullable=False)


class TaxRollExportItemRow(Base):
    __tablename__ = "tax_roll_export_items"

    export_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("cases.tax_roll_exports.id"), primary_key=True
    )
    item_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.tax_roll_items.id"), primary_key=True)


class CouncilReportItemRow(Base):
    """What goes to Council: a gated work order before the work (policy 6.5.13), an
    emergency approval afterwards for information (policy 6.5.14)."""

    __tablename__ = "council_report_items"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    work_order_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.work_orders.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reported_meeting_on: Mapped[date | None] = mapped_column(Date)
    # Set when the item no longer needs reporting (Council decided it, an emergency
    # approval superseded it, or the work order was cancelled).
    closed_reason: Mapped[str] = mapped_column(String(32), nullable=False, server_default="")

    __table_args__ = (
        UniqueConstraint("work_order_id", "kind", name="uq_council_report_items_work_order_kind"),
        CheckConstraint(_in("kind", [k.value for k in CouncilItemKind]), name="kind_known"),
        Index(
            "ix_council_report_items_pending",
            "occurred_at",
            postgresql_where=text("reported_at IS NULL AND closed_reason = ''"),
        ),
    )
