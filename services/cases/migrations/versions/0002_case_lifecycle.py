"""Case lifecycle (issue 4): the department queue and pending compliance deadline on each
case, inspections, enforcement actions, compliance deadline changes, escalation alerts and
closure summaries.

Hand-checked against services/cases/adapters/orm.py and lifecycle_orm.py (a test compares
them). Kind names are spelled out here, not imported: a migration must not change when the
code does.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIONS = (
    "action IN ('amp', 'compliance_notice', 'direct_enforcement', 'education', 'no_action', "
    "'order_to_comply', 'prosecution_referral', 'ticket')"
)
ALERTS = (
    "kind IN ('acknowledgement_overdue', 'inspection_sla_missed', 'order_overdue', 'reinspection_missed')"
)


def _case_fk(table: str) -> sa.Column[Any]:
    return sa.Column(
        "case_id",
        sa.BigInteger(),
        sa.ForeignKey("cases.cases.id", name=op.f(f"fk_{table}_case_id_cases")),
        nullable=False,
    )


def _recorded() -> sa.Column[Any]:
    return sa.Column(
        "recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.add_column(
        "cases", sa.Column("department", sa.String(8), server_default="BE", nullable=False), schema="cases"
    )
    op.add_column("cases", sa.Column("compliance_deadline", sa.DateTime(timezone=True)), schema="cases")
    # Existing cases join the queue of their officer's department, else of the first
    # department their matrix row names (Appendix A "Enforced By").
    op.execute(
        """
        UPDATE cases.cases c SET department = COALESCE(
            NULLIF((SELECT o.department FROM cases.officers o
                    WHERE o.officer_id = c.assigned_officer_id), ''),
            NULLIF(upper(regexp_replace(c.enforced_by[1], '[^A-Za-z]', '', 'g')), ''),
            'BE')
        """
    )
    op.create_index(
        "ix_cases_department_queue",
        "cases",
        ["department", "priority_rank", "received_at", "case_number"],
        schema="cases",
    )

    op.create_table(
        "inspections",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        _case_fk("inspections"),
        sa.Column("step_key", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("scheduled_for", sa.DateTime(timezone=True)),
        sa.Column("due_by", sa.DateTime(timezone=True)),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("officer_id", sa.String(64), server_default="", nullable=False),
        sa.Column("record_step_key", sa.String(200)),
        sa.Column("inspected_at", sa.DateTime(timezone=True)),
        sa.Column("checklist_id", sa.String(64), server_default="", nullable=False),
        sa.Column("checklist_version", sa.String(32), server_default="", nullable=False),
        sa.Column("findings", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("violation_found", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("bylaw_sections", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("notes", sa.Text(), server_default="", nullable=False),
        sa.Column("report_document_id", sa.String(64), server_default="", nullable=False),
        sa.Column("actor_subject", sa.String(200), nullable=False),
        _recorded(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspections")),
        sa.UniqueConstraint("case_id", "step_key", name="uq_inspections_case_step"),
        sa.UniqueConstraint("case_id", "record_step_key", name="uq_inspections_case_record_step"),
        sa.CheckConstraint(
            "kind IN ('initial', 'reinspection')", name=op.f("ck_inspections_inspection_kind_known")
        ),
        sa.CheckConstraint(
            "state IN ('completed', 'scheduled')", name=op.f("ck_inspections_inspection_state_known")
        ),
        sa.CheckConstraint(
            "state <> 'completed' OR (inspected_at IS NOT NULL AND record_step_key IS NOT NULL)",
            name=op.f("ck_inspections_completed_inspection_recorded"),
        ),
        schema="cases",
    )

    op.create_table(
        "enforcement_actions",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        _case_fk("enforcement_actions"),
        sa.Column("step_key", sa.String(200), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("number", sa.String(48), nullable=False),
        sa.Column("bylaw_section", sa.String(64), server_default="", nullable=False),
        sa.Column("comply_by", sa.DateTime(timezone=True)),
        sa.Column("fine_code", sa.String(64), server_default="", nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("total_payable_cents", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("fine_description", sa.Text(), server_default="", nullable=False),
        sa.Column("fine_schedule_version", sa.String(32), server_default="", nullable=False),
        sa.Column("deviation_reason", sa.Text(), server_default="", nullable=False),
        sa.Column("justification", sa.String(64), server_default="", nullable=False),
        sa.Column("details", sa.Text(), server_default="", nullable=False),
        sa.Column("document_id", sa.String(64), server_default="", nullable=False),
        sa.Column("officer_id", sa.String(64), server_default="", nullable=False),
        sa.Column("actor_subject", sa.String(200), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        _recorded(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enforcement_actions")),
        sa.UniqueConstraint("case_id", "step_key", name="uq_enforcement_actions_case_step"),
        sa.UniqueConstraint("case_id", "seq", name="uq_enforcement_actions_case_seq"),
        sa.UniqueConstraint("number", name=op.f("uq_enforcement_actions_number")),
        sa.CheckConstraint(ACTIONS, name=op.f("ck_enforcement_actions_enforcement_action_known")),
        sa.CheckConstraint(
            "amount_cents >= 0 AND total_payable_cents >= amount_cents",
            name=op.f("ck_enforcement_actions_amounts_valid"),
        ),
        schema="cases",
    )

    op.create_table(
        "deadline_changes",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        _case_fk("deadline_changes"),
        sa.Column("step_key", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True)),
        sa.Column("previous_deadline", sa.DateTime(timezone=True)),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("written_request_on", sa.DateTime(timezone=True)),
        sa.Column("contact_attempted_at", sa.DateTime(timezone=True)),
        sa.Column("action_step_key", sa.String(200), server_default="", nullable=False),
        sa.Column("actor_subject", sa.String(200), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        _recorded(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadline_changes")),
        sa.UniqueConstraint("case_id", "step_key", name="uq_deadline_changes_case_step"),
        sa.CheckConstraint(
            "kind IN ('cleared', 'extended', 'set', 'shortened')",
            name=op.f("ck_deadline_changes_deadline_change_kind_known"),
        ),
        sa.CheckConstraint(
            "kind <> 'extended' OR (written_request_on IS NOT NULL AND reason <> '')",
            name=op.f("ck_deadline_changes_extension_requested_in_writing"),
        ),
        sa.CheckConstraint(
            "kind <> 'shortened' OR (contact_attempted_at IS NOT NULL AND reason <> '')",
            name=op.f("ck_deadline_changes_shortening_after_contact_with_reason"),
        ),
        schema="cases",
    )

    op.create_table(
        "alerts",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        _case_fk("alerts"),
        sa.Column("step_key", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True)),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.Text(), server_default="", nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True)),
        sa.Column("cleared_reason", sa.Text(), server_default="", nullable=False),
        sa.Column("actor_subject", sa.String(200), nullable=False),
        _recorded(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("case_id", "step_key", name="uq_alerts_case_step"),
        sa.CheckConstraint(ALERTS, name=op.f("ck_alerts_alert_kind_known")),
        schema="cases",
    )
    op.create_index(
        "ix_alerts_open",
        "alerts",
        ["raised_at"],
        schema="cases",
        postgresql_where=sa.text("cleared_at IS NULL"),
    )
    op.create_index("ix_alerts_case_id", "alerts", ["case_id"], schema="cases")

    op.create_table(
        "case_closures",
        sa.Column(
            "case_id",
            sa.BigInteger(),
            sa.ForeignKey("cases.cases.id", name=op.f("fk_case_closures_case_id_cases")),
            nullable=False,
        ),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_order_at", sa.DateTime(timezone=True)),
        sa.Column("days_since_complaint", sa.Integer(), nullable=False),
        sa.Column("days_since_order", sa.Integer(), nullable=False),
        sa.Column("business_days_open", sa.Integer(), nullable=False),
        sa.Column("enforcement_actions", sa.Integer(), nullable=False),
        sa.Column("inspections", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("closure_document_id", sa.String(64), server_default="", nullable=False),
        sa.Column("actor_subject", sa.String(200), nullable=False),
        _recorded(),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_closures")),
        sa.CheckConstraint(
            "days_since_complaint >= 0 AND business_days_open >= 0",
            name=op.f("ck_case_closures_closure_days_valid"),
        ),
        sa.CheckConstraint("days_since_order >= -1", name=op.f("ck_case_closures_closure_order_days_valid")),
        schema="cases",
    )


def downgrade() -> None:
    op.drop_table("case_closures", schema="cases")
    op.drop_index("ix_alerts_case_id", table_name="alerts", schema="cases")
    op.drop_index(
        "ix_alerts_open", table_name="alerts", schema="cases", postgresql_where=sa.text("cleared_at IS NULL")
    )
    op.drop_table("alerts", schema="cases")
    op.drop_table("deadline_changes", schema="cases")
    op.drop_table("enforcement_actions", schema="cases")
    op.drop_table("inspections", schema="cases")
    op.drop_index("ix_cases_department_queue", table_name="cases", schema="cases")
    op.drop_column("cases", "compliance_deadline", schema="cases")
    op.drop_column("cases", "department", schema="cases")
