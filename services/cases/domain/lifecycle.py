"""What the case workflow records as a case moves from assignment to closure (issue 4):
department queues, inspections, enforcement actions, compliance deadlines, escalation
alerts and the closure summary.

Plain Python. The workflow decides *whether* a step may happen (progressive enforcement,
no enforcement before a deadline expires); this module guards the record itself: known
kinds, the facts each kind needs, reasons where the policy wants one, and numbering.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from services.cases.domain.cases import departments_of
from services.cases.domain.checklists import Finding
from services.common.errors import FieldViolation

MAX_TEXT = 4000
# A recorded visit may be entered a little after the device's clock; never in the future.
CLOCK_SKEW = timedelta(minutes=5)
DEFAULT_DEPARTMENT = "BE"


def case_department(enforced_by: Iterable[str], officer_department: str = "") -> str:
    """The queue a case sits in: the assigned officer's department, else the first
    department the matrix row names (Appendix A "Enforced By"), else By-law Enforcement.
    Rows enforced by the Fire Department, Animal Control or Public Health so land in those
    departments' queues (issue 4 item 1)."""
    if officer_department:
        return officer_department
    departments = departments_of(enforced_by)
    return departments[0] if departments else DEFAULT_DEPARTMENT


class InspectionKind(StrEnum):
    INITIAL = "initial"  # seed spec 2.2
    REINSPECTION = "reinspection"  # at the compliance deadline (seed spec 1.3)


class InspectionState(StrEnum):
    SCHEDULED = "scheduled"
    COMPLETED = "completed"


class ActionKind(StrEnum):
    """The enforcement options of policy 6.2.2 the workflow offers."""

    EDUCATION = "education"  # a) warnings and education
    COMPLIANCE_NOTICE = "compliance_notice"  # d) notice of violation
    ORDER_TO_COMPLY = "order_to_comply"  # d) order to comply (Municipal Act s.444/445, BCA s.15.2)
    TICKET = "ticket"  # c) municipal ticketing (Provincial Offences Act Part I)
    AMP = "amp"  # administrative monetary penalty (Municipal Act s.102.1)
    PROSECUTION_REFERRAL = "prosecution_referral"  # b) prosecution (Provincial Offences Act Part III)
    DIRECT_ENFORCEMENT = "direct_enforcement"  # e) remedial work at the owner's expense (s.446)
    NO_ACTION = "no_action"  # g) no action may be taken


# Letter in the action's number, e.g. BL-2026-000123-O1 for the first order.
NUMBER_PREFIX: dict[ActionKind, str] = {
    ActionKind.EDUCATION: "W",
    ActionKind.COMPLIANCE_NOTICE: "N",
    ActionKind.ORDER_TO_COMPLY: "O",
    ActionKind.TICKET: "T",
    ActionKind.AMP: "P",
    ActionKind.PROSECUTION_REFERRAL: "R",
    ActionKind.DIRECT_ENFORCEMENT: "D",
    ActionKind.NO_ACTION: "X",
}

# Actions whose notice gives a reasonable time to comply (policy 6.7.4 b).
DEADLINE_REQUIRED = frozenset(
    {ActionKind.EDUCATION, ActionKind.COMPLIANCE_NOTICE, ActionKind.ORDER_TO_COMPLY}
)
# A ticket or penalty may also set a date by which the contravention must stop.
DEADLINE_ALLOWED = DEADLINE_REQUIRED | {ActionKind.TICKET, ActionKind.AMP}
FINED = frozenset({ActionKind.TICKET, ActionKind.AMP})


def action_number(case_number: str, kind: ActionKind, ordinal: int) -> str:
    return f"{case_number}-{NUMBER_PREFIX[kind]}{ordinal}"


class DeadlineChangeKind(StrEnum):
    SET = "set"  # a notice set the time to comply (6.7.4 b)
    EXTENDED = "extended"  # on a written request, at the officer's discretion (6.7.6, 6.7.8)
    SHORTENED = "shortened"  # extraordinary circumstances, after attempted contact (6.7.7)
    CLEARED = "cleared"  # no deadline pending any more (complied, escalated, closed)


class AlertKind(StrEnum):
    ACKNOWLEDGEMENT_OVERDUE = "acknowledgement_overdue"  # policy 6.5.5
    INSPECTION_SLA_MISSED = "inspection_sla_missed"  # policy 6.5.4, 6.8.6
    REINSPECTION_MISSED = "reinspection_missed"  # seed spec 1.3
    ORDER_OVERDUE = "order_overdue"  # an order's deadline passed with no follow-up


@dataclass
class Inspection:
    case_number: str
    step_key: str
    kind: InspectionKind
    state: InspectionState
    scheduled_for: datetime | None = None
    due_by: datetime | None = None
    reason: str = ""
    officer_id: str = ""
    record_step_key: str = ""
    inspected_at: datetime | None = None
    checklist_id: str = ""
    checklist_version: str = ""
    findings: tuple[Finding, ...] = ()
    violation_found: bool = False
    bylaw_sections: tuple[str, ...] = ()
    notes: str = ""
    report_document_id: str = ""
    actor_subject: str = ""


@dataclass
class EnforcementAction:
    case_number: str
    step_key: str
    seq: int
    action: ActionKind
    number: str
    occurred_at: datetime
    actor_subject: str
    bylaw_section: str = ""
    comply_by: datetime | None = None
    fine_code: str = ""
    amount_cents: int = 0
    total_payable_cents: int = 0
    fine_description: str = ""
    fine_schedule_version: str = ""
    deviation_reason: str = ""
    justification: str = ""
    details: str = ""
    document_id: str = ""
    officer_id: str = ""


@dataclass
class DeadlineChange:
    case_number: str
    step_key: str
    kind: DeadlineChangeKind
    occurred_at: datetime
    actor_subject: str
    deadline: datetime | None = None
    previous_deadline: datetime | None = None
    reason: str = ""
    written_request_on: datetime | None = None
    contact_attempted_at: datetime | None = None
    action_step_key: str = ""


@dataclass
class Alert:
    case_number: str
    step_key: str
    kind: AlertKind
    raised_at: datetime
    due_at: datetime | None = None
    detail: str = ""
    cleared_at: datetime | None = None
    cleared_reason: str = ""
    # Copied from the case when read, for the supervisor's list.
    assigned_officer_id: str = ""
    department: str = ""
    priority: str = ""


@dataclass
class Closure:
    case_number: str
    outcome: str
    received_at: datetime
    closed_at: datetime
    days_since_complaint: int
    days_since_order: int  # -1 when no order was issued
    business_days_open: int
    enforcement_actions: int
    inspections: int
    actor_subject: str
    first_order_at: datetime | None = None
    reason: str = ""
    closure_document_id: str = ""


@dataclass(frozen=True, slots=True)
class PriorCase:
    case_number: str
    service_code: str
    status: str
    outcome: str
    received_at: datetime
    closed_at: datetime | None
    actions: tuple[str, ...] = field(default_factory=tuple)


# --- validation of what a step records -----------------------------------------------------


def text_violations(fields: Iterable[tuple[str, str]]) -> list[FieldViolation]:
    return [
        FieldViolation(name, f"must be at most {MAX_TEXT} characters; got {len(value)}")
        for name, value in fields
        if len(value) > MAX_TEXT
    ]


def schedule_violations(
    kind: str, scheduled_for: datetime | None, due_by: datetime | None, reason: str
) -> list[FieldViolation]:
    out: list[FieldViolation] = []
    if kind not in {k.value for k in InspectionKind}:
        out.append(FieldViolation("kind", f"unknown inspection kind {kind!r}; one of initial, reinspection"))
    if scheduled_for is None:
        out.append(FieldViolation("scheduled_for", "is required"))
    elif due_by is not None and scheduled_for > due_by and not reason.strip():
        # The priority's target is a commitment to the public (policy 6.5.4, 6.8.6): a later
        # visit is allowed only with the reason on record.
        out.append(
            FieldViolation(
                "reason",
                f"scheduling after the target {due_by.isoformat()} needs a recorded reason",
                "6.5.4",
            )
        )
    return out


def action_violations(
    action: str,
    comply_by: datetime | None,
    occurred_at: datetime,
    details: str,
    deviation_reason: str,
    justification: str,
) -> list[FieldViolation]:
    out: list[FieldViolation] = []
    try:
        kind = ActionKind(action)
    except ValueError:
        options = ", ".join(k.value for k in ActionKind)
        return [FieldViolation("action", f"unknown enforcement action {action!r}; one of {options}", "6.2.2")]
    if kind in DEADLINE_REQUIRED and comply_by is None:
        out.append(
            FieldViolation("comply_by", f"a {kind.value} gives a reasonable time to comply", "6.7.4 b")
        )
    if comply_by is not None and kind not in DEADLINE_ALLOWED:
        out.append(FieldViolation("comply_by", f"a {kind.value} does not set a compliance deadline"))
    if comply_by is not None and comply_by <= occurred_at:
        out.append(FieldViolation("comply_by", "must be after the date of the action", "6.7.4 b"))
    if kind is ActionKind.NO_ACTION and not details.strip():
        out.append(FieldViolation("details", "deciding to take no action records why", "6.2.2 g"))
    if justification.strip() and not deviation_reason.strip():
        out.append(
            FieldViolation(
                "deviation_reason", "a departure from the usual path is explained to the person", "6.4.7"
            )
        )
    return out


def deadline_change_violations(
    kind: str,
    deadline: datetime | None,
    previous: datetime | None,
    reason: str,
    written_request_on: datetime | None,
    contact_attempted_at: datetime | None,
    occurred_at: datetime,
) -> list[FieldViolation]:
    try:
        parsed = DeadlineChangeKind(kind)
    except ValueError:
        options = ", ".join(k.value for k in DeadlineChangeKind)
        return [FieldViolation("kind", f"unknown deadline change {kind!r}; one of {options}")]
    out: list[FieldViolation] = []
    if parsed is DeadlineChangeKind.CLEARED:
        return out
    if deadline is None:
        return [FieldViolation("deadline", f"is required for a {parsed.value} deadline")]
    if parsed is not DeadlineChangeKind.SET and previous is None:
        out.append(FieldViolation("kind", f"there is no compliance deadline to be {parsed.value}"))
    if parsed is DeadlineChangeKind.EXTENDED:
        if previous is not None and deadline <= previous:
            out.append(FieldViolation("deadline", "an extension moves the deadline later", "6.7.6"))
        if not reason.strip():
            out.append(FieldViolation("reason", "an extension records why more time is given", "6.7.8"))
        if written_request_on is None:
            out.append(FieldViolation("written_request_on", "extensions are requested in writing", "6.7.8"))
        elif written_request_on > occurred_at + CLOCK_SKEW:
            out.append(FieldViolation("written_request_on", "cannot be in the future", "6.7.8"))
    if parsed is DeadlineChangeKind.SHORTENED:
        if previous is not None and deadline >= previous:
            out.append(FieldViolation("deadline", "shortening moves the deadline earlier", "6.7.7"))
        if deadline <= occurred_at:
            out.append(FieldViolation("deadline", "a shortened deadline still lies ahead", "6.7.7"))
        if not reason.strip():
            out.append(
                FieldViolation(
                    "reason", "a time limit is shortened only for a recorded extraordinary reason", "6.7.7"
                )
            )
        if contact_attempted_at is None:
            out.append(
                FieldViolation(
                    "contact_attempted_at",
                    "a time limit is not shortened before attempting to communicate with the resident",
                    "6.7.7",
                )
            )
        elif contact_attempted_at > occurred_at + CLOCK_SKEW:
            out.append(FieldViolation("contact_attempted_at", "cannot be in the future", "6.7.7"))
    return out
