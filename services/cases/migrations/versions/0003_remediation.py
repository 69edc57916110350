"""Municipal remediation (issue 4 item 6; policy 6.5.13-6.5.14, 6.7.9-6.7.10): contractor
work orders with their estimate and approval, actual costs, the invoice to the owner and
its payments, tax-roll items and the Treasurer's exports, and items for Council's next
report.

Hand-checked against services/cases/adapters/remediation_orm.py (a test compares them).
Status and kind names are spelled out here, not imported: a migration must not change when
the code does.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "cases"


def _fk(table: str, column: str, target: str, target_column: str = "id") -> sa.ForeignKey:
    return sa.ForeignKey(f"cases.{target}.{target_column}", name=op.f(f"fk_{table}_{column}_{target}"))


def _ck(table: str, name: str, sql: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(sql, name=op.f(f"ck_{table}_{name}"))


def upgrade() -> None:
    op.create_table(
        "work_orders",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), _fk("work_orders", "case_id", "cases"), nullable=False),
        sa.Column("work_order_seq", sa.Integer(), nullable=False),
        sa.Column("work_order_number", sa.String(48), nullable=False),
        sa.Column("step_key", sa.String(200), nullable=False),
        sa.Column(
            "property_roll_number",
            sa.String(19),
            _fk("work_orders", "property_roll_number", "properties", "roll_number"),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("contractor", sa.String(200), nullable=False),
        sa.Column("estimate_cents", sa.BigInteger(), nullable=False),
        sa.Column("private_land", sa.Boolean(), nullable=False),
        sa.Column("council_approval_required", sa.Boolean(), nullable=False),
        sa.Column("payment_period_days", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("approval_kind", sa.String(16), server_default="", nullable=False),
        sa.Column("decision", sa.String(16), server_default="", nullable=False),
        sa.Column("council_resolution", sa.String(64), server_default="", nullable=False),
        sa.Column("council_meeting_on", sa.Date()),
        sa.Column("emergency_risk", sa.String(16), server_default="", nullable=False),
        sa.Column("emergency_description", sa.Text(), server_default="", nullable=False),
        sa.Column("emergency_urgency", sa.Text(), server_default="", nullable=False),
        sa.Column("decided_by", sa.String(200), server_default="", nullable=False),
        sa.Column("decided_by_role", sa.String(32), server_default="", nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decision_note", sa.Text(), server_default="", nullable=False),
        sa.Column("decision_step_key", sa.String(200), server_default="", nullable=False),
        sa.Column("scheduled_on", sa.Date()),
        sa.Column("completed_on", sa.Date()),
        sa.Column("completion_note", sa.Text(), server_default="", nullable=False),
        sa.Column("cancelled_reason", sa.Text(), server_default="", nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_orders")),
        sa.UniqueConstraint("work_order_number", name=op.f("uq_work_orders_work_order_number")),
        sa.UniqueConstraint("case_id", "work_order_seq", name=op.f("uq_work_orders_case_seq")),
        sa.UniqueConstraint("case_id", "step_key", name=op.f("uq_work_orders_case_step")),
        _ck("work_orders", "seq_positive", "work_order_seq >= 1"),
        _ck("work_orders", "estimate_positive", "estimate_cents > 0"),
        _ck("work_orders", "payment_period_valid", "payment_period_days BETWEEN 1 AND 365"),
        _ck(
            "work_orders",
            "status_known",
            "status IN ('approved', 'awaiting_council', 'cancelled', 'completed', 'invoiced', "
            "'on_tax_roll', 'paid', 'refused', 'scheduled')",
        ),
        _ck(
            "work_orders",
            "approval_kind_known",
            "approval_kind IN ('council', 'emergency', 'not_required', '')",
        ),
        _ck("work_orders", "decision_known", "decision IN ('approved', 'refused', '')"),
        _ck("work_orders", "risk_known", "emergency_risk IN ('health', 'life', 'property', 'safety', '')"),
        # Policy 6.5.13-6.5.14: gated work is approved by Council or under the emergency
        # exception, never "not required"; ungated work never waits for Council.
        _ck(
            "work_orders",
            "approval_matches_gate",
            "(council_approval_required AND approval_kind IN ('', 'council', 'emergency'))"
            " OR (NOT council_approval_required AND approval_kind = 'not_required')",
        ),
        _ck(
            "work_orders",
            "emergency_recorded",
            "approval_kind <> 'emergency' OR (emergency_risk <> '' AND emergency_description <> ''"
            " AND emergency_urgency <> '' AND decided_by_role IN ('cao', 'cbo', 'fire_chief'))",
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_work_orders_status", "work_orders", ["status"], schema=SCHEMA)

    op.create_table(
        "remediation_costs",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column(
            "work_order_id",
            sa.BigInteger(),
            _fk("remediation_costs", "work_order_id", "work_orders"),
            nullable=False,
        ),
        sa.Column("step_key", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("hours", sa.Numeric(8, 2)),
        sa.Column("reference", sa.String(64), server_default="", nullable=False),
        sa.Column("incurred_on", sa.Date()),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remediation_costs")),
        sa.UniqueConstraint("work_order_id", "step_key", name=op.f("uq_remediation_costs_work_order_step")),
        _ck("remediation_costs", "amount_positive", "amount_cents > 0"),
        _ck("remediation_costs", "kind_known", "kind IN ('contractor_invoice', 'other', 'staff_time')"),
        _ck("remediation_costs", "staff_time_hours", "kind <> 'staff_time' OR hours > 0"),
        schema=SCHEMA,
    )

    op.create_table(
        "remediation_invoices",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column(
            "work_order_id",
            sa.BigInteger(),
            _fk("remediation_invoices", "work_order_id", "work_orders"),
            nullable=False,
        ),
        sa.Column("invoice_number", sa.String(48), nullable=False),
        sa.Column("step_key", sa.String(200), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("paid_cents", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payment_period_days", sa.Integer(), nullable=False),
        sa.Column("owner_name", sa.Text(), server_default="", nullable=False),
        sa.Column("owner_mailing_address", sa.Text(), server_default="", nullable=False),
        sa.Column("roll_number", sa.String(19), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remediation_invoices")),
        sa.UniqueConstraint("work_order_id", name=op.f("uq_remediation_invoices_work_order_id")),
        sa.UniqueConstraint("invoice_number", name=op.f("uq_remediation_invoices_invoice_number")),
        _ck("remediation_invoices", "amount_positive", "amount_cents > 0"),
        _ck("remediation_invoices", "paid_within_amount", "paid_cents >= 0 AND paid_cents <= amount_cents"),
        _ck("remediation_invoices", "status_known", "status IN ('issued', 'on_tax_roll', 'paid')"),
        _ck("remediation_invoices", "due_after_issue", "due_on > issued_on"),
        schema=SCHEMA,
    )

    op.create_table(
        "remediation_payments",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column(
            "invoice_id",
            sa.BigInteger(),
            _fk("remediation_payments", "invoice_id", "remediation_invoices"),
            nullable=False,
        ),
        sa.Column("step_key", sa.String(200), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("reference", sa.String(64), server_default="", nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remediation_payments")),
        sa.UniqueConstraint("invoice_id", "step_key", name=op.f("uq_remediation_payments_invoice_step")),
        _ck("remediation_payments", "amount_positive", "amount_cents > 0"),
        _ck(
            "remediation_payments",
            "method_known",
            "method IN ('cash', 'cheque', 'credit_card', 'debit', 'eft', 'online')",
        ),
        schema=SCHEMA,
    )

    op.create_table(
        "tax_roll_items",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column(
            "invoice_id",
            sa.BigInteger(),
            _fk("tax_roll_items", "invoice_id", "remediation_invoices"),
            nullable=False,
        ),
        sa.Column("step_key", sa.String(200), nullable=False),
        sa.Column("roll_number", sa.String(19), nullable=False),
        sa.Column("owner_name", sa.Text(), server_default="", nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("invoice_number", sa.String(48), nullable=False),
        sa.Column("case_number", sa.String(32), nullable=False),
        sa.Column("bylaw_number", sa.String(32), server_default="", nullable=False),
        sa.Column("added_on", sa.Date(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_exported_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_roll_items")),
        sa.UniqueConstraint("invoice_id", name=op.f("uq_tax_roll_items_invoice_id")),
        _ck("tax_roll_items", "amount_positive", "amount_cents > 0"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_tax_roll_items_unexported",
        "tax_roll_items",
        ["id"],
        schema=SCHEMA,
        postgresql_where=sa.text("first_exported_at IS NULL"),
    )

    op.create_table(
        "tax_roll_exports",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("export_key", sa.String(128), nullable=False),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("exported_by", sa.String(200), nullable=False),
        sa.Column("re_export", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_roll_exports")),
        sa.UniqueConstraint("export_key", name=op.f("uq_tax_roll_exports_export_key")),
        schema=SCHEMA,
    )

    op.create_table(
        "tax_roll_export_items",
        sa.Column(
            "export_id",
            sa.BigInteger(),
            _fk("tax_roll_export_items", "export_id", "tax_roll_exports"),
            nullable=False,
        ),
        sa.Column(
            "item_id",
            sa.BigInteger(),
            _fk("tax_roll_export_items", "item_id", "tax_roll_items"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("export_id", "item_id", name=op.f("pk_tax_roll_export_items")),
        schema=SCHEMA,
    )

    op.create_table(
        "council_report_items",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column(
            "work_order_id",
            sa.BigInteger(),
            _fk("council_report_items", "work_order_id", "work_orders"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True)),
        sa.Column("reported_meeting_on", sa.Date()),
        sa.Column("closed_reason", sa.String(32), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_council_report_items")),
        sa.UniqueConstraint("work_order_id", "kind", name=op.f("uq_council_report_items_work_order_kind")),
        _ck(
            "council_report_items",
            "kind_known",
            "kind IN ('approval_request', 'emergency_approval')",
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_council_report_items_pending",
        "council_report_items",
        ["occurred_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("reported_at IS NULL AND closed_reason = ''"),
    )


def downgrade() -> None:
    op.drop_table("council_report_items", schema=SCHEMA)
    op.drop_table("tax_roll_export_items", schema=SCHEMA)
    op.drop_table("tax_roll_exports", schema=SCHEMA)
    op.drop_table("tax_roll_items", schema=SCHEMA)
    op.drop_table("remediation_payments", schema=SCHEMA)
    op.drop_table("remediation_invoices", schema=SCHEMA)
    op.drop_table("remediation_costs", schema=SCHEMA)
    op.drop_table("work_orders", schema=SCHEMA)
