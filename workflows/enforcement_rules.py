"""Pure rules of enforcement, compliance deadlines and closure (issue 4), shared by the
case workflow's update validators (inside the Temporal sandbox), the gateway and the tests.

- Enforcement options (policy 6.2.2) and progressive enforcement as the default path:
  education → compliance notice → order to comply → ticket / AMP / direct enforcement →
  prosecution (6.2.3-6.2.4), unless health and safety justify stronger action (6.2.4 c);
  parking is ticketed directly (6.2.5); any departure from the usual path carries a reason
  given to the person (6.4.7).
- Compliance deadlines: a reasonable date (6.7.4 b), no enforcement before it expires
  (6.7.5), extensions on a written request with a reason (6.7.6, 6.7.8), shortening only for
  a recorded extraordinary reason after attempted contact (6.7.7).
- Business-day targets on the Town's calendar (4.2) and the closure figures (seed journey,
  close step: total timeline, days since complaint and since order).

No Temporal, gRPC or I/O; every refusal is a :class:`workflows.lifecycle_rules.RuleViolation`
naming the field, the rule and the policy section.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum

from workflows.lifecycle_rules import (
    CaseStatus,
    ClosureOutcome,
    RuleViolation,
    add_business_days,
    ontario_holidays,
)

S = CaseStatus

# Close of business on a business day (policy 4.2: 8:30 a.m. to 4:30 p.m.).
CLOSE_OF_BUSINESS = time(16, 30)
MAX_DEADLINE_DAYS = 366  # a compliance date more than a year out is not a "reasonable time"
MIN_TEXT = 10  # an explanation shorter than this explains nothing
MAX_TEXT = 2000


class Action(StrEnum):
    """The enforcement options of policy 6.2.2 (civil proceedings, f, are the Town
    solicitor's and not an officer's action here)."""

    EDUCATION = "education"  # a) warnings and education
    COMPLIANCE_NOTICE = "compliance_notice"  # d) notice of violation
    ORDER_TO_COMPLY = "order_to_comply"  # d) order to comply
    TICKET = "ticket"  # c) municipal ticketing, Provincial Offences Act Part I
    AMP = "amp"  # administrative monetary penalty, Municipal Act s.102.1
    DIRECT_ENFORCEMENT = "direct_enforcement"  # e) remedial work at the owner's expense
    PROSECUTION_REFERRAL = "prosecution_referral"  # b) prosecution, Part III
    NO_ACTION = "no_action"  # g) no action may be taken


class Justification(StrEnum):
    """Why an officer departs from the usual path (policy 6.4.7 examples, 6.2.4 b-c)."""

    HEALTH_AND_SAFETY = "health_and_safety"  # 6.2.4 c
    HISTORY_OF_NON_COMPLIANCE = "history_of_non_compliance"  # 6.2.4 b, 6.4.7
    SEVERITY = "severity"  # 6.4.7: more severe than other cases
    CIRCUMSTANCES = "circumstances"  # 6.4.7: the usual way would be unjust


# Rungs of the progressive enforcement ladder (6.2.3-6.2.4). Direct enforcement follows an
# order that was not complied with (Municipal Act s.446; notice of it first, 6.7.10).
LADDER: dict[Action, int] = {
    Action.EDUCATION: 1,
    Action.COMPLIANCE_NOTICE: 2,
    Action.ORDER_TO_COMPLY: 3,
    Action.TICKET: 4,
    Action.AMP: 4,
    Action.DIRECT_ENFORCEMENT: 4,
    Action.PROSECUTION_REFERRAL: 5,
}
USUAL_AT_RUNG: dict[int, Action] = {
    1: Action.EDUCATION,
    2: Action.COMPLIANCE_NOTICE,
    3: Action.ORDER_TO_COMPLY,
    4: Action.TICKET,
    5: Action.PROSECUTION_REFERRAL,
}
PUNITIVE_RUNG = 4

# The document each action is issued with (services/notices/templates/manifest.yaml).
TEMPLATE: dict[Action, str] = {
    Action.EDUCATION: "education_letter",
    Action.COMPLIANCE_NOTICE: "compliance_notice",
    Action.ORDER_TO_COMPLY: "order_to_comply",
    Action.TICKET: "offence_notice",
    Action.AMP: "amp_notice",
    Action.PROSECUTION_REFERRAL: "prosecution_referral",
}
DEADLINE_REQUIRED = frozenset({Action.EDUCATION, Action.COMPLIANCE_NOTICE, Action.ORDER_TO_COMPLY})
DEADLINE_ALLOWED = DEADLINE_REQUIRED | {Action.TICKET, Action.AMP}
FINED = frozenset({Action.TICKET, Action.AMP})
# An explanation of what must be done (policy 6.7.4) goes with every notice that asks for work.
WORK_REQUIRED = DEADLINE_REQUIRED
# Enforcement is taken against a case under investigation (after the inspection) or escalated
# (after a failed re-inspection, a ticket, or Council's refusal of remediation).
ACTION_STATUSES = frozenset({S.UNDER_INVESTIGATION, S.ESCALATED})

PARKING_PREFIX = "parking-"  # Appendix A "Parking" rows (service codes parking-*)


def is_parking(service_code: str) -> bool:
    """Parking infractions do not fall under progressive enforcement (policy 6.2.5)."""
    return service_code.startswith(PARKING_PREFIX)


def parse_action(value: str) -> Action:
    try:
        return Action(value)
    except ValueError:
        options = ", ".join(a.value for a in Action)
        raise RuleViolation(
            "action", f"unknown enforcement action {value!r}; one of {options}", "6.2.2"
        ) from None


def parse_local_date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise RuleViolation(field, f"must be a date YYYY-MM-DD; got {value!r}") from None


def usual_next(taken: Iterable[str]) -> Action:
    """The next step of progressive enforcement after the actions taken so far."""
    rungs = [LADDER[Action(a)] for a in taken if a in LADDER]
    return USUAL_AT_RUNG[min(max(rungs, default=0) + 1, max(USUAL_AT_RUNG))]


@dataclass(frozen=True)
class ActionFacts:
    """What the workflow knows when an action is requested (no complainant identity)."""

    status: CaseStatus
    priority: str
    service_code: str
    violation_identified: bool
    recorded_risk: str
    taken: tuple[str, ...]  # actions already taken, in order
    deadline_on: date | None  # the pending compliance date, while awaiting compliance
    remediation_running: bool
    today: date  # in the Town's time zone


@dataclass(frozen=True)
class ActionChoice:
    action: str
    details: str = ""  # how the by-law is contravened (6.7.4 a) or, for no action, why
    required_action: str = ""  # what must be done (6.7.4)
    comply_by: str = ""  # YYYY-MM-DD
    fine_code: str = ""
    deviation_reason: str = ""
    justification: str = ""
    has_work_order: bool = False  # direct enforcement: the remediation work order


@dataclass(frozen=True)
class ActionDecision:
    action: Action
    comply_by: date | None
    deviation: bool  # the usual path is departed from (6.4.7)
    usual: Action  # what the usual next step was


def check_action(facts: ActionFacts, choice: ActionChoice) -> ActionDecision:
    """Whether ``choice`` may be taken now; raises RuleViolation naming what is wrong."""
    action = parse_action(choice.action)
    if facts.status is S.CLOSED:
        raise RuleViolation("status", "the case is closed")
    if facts.remediation_running or facts.status in (S.AWAITING_COUNCIL_APPROVAL, S.REMEDIATION):
        raise RuleViolation("status", "municipal remediation is under way; wait for its outcome", "6.5.13")
    if action is not Action.NO_ACTION:
        if facts.status is S.AWAITING_COMPLIANCE and facts.deadline_on is not None:
            raise RuleViolation(
                "action",
                f"no enforcement action before the compliance deadline {facts.deadline_on.isoformat()} "
                "expires; "
                "shorten it only in extraordinary circumstances (6.7.7)",
                "6.7.5",
            )
        if facts.status is S.REINSPECTION:
            raise RuleViolation(
                "action", "the compliance deadline has passed: re-inspect before the next step", "6.2.1 f"
            )
        if facts.status not in ACTION_STATUSES:
            raise RuleViolation(
                "status",
                f"an enforcement action follows an investigation; the case is {facts.status.value}",
                "6.2.1 f",
            )
        if not facts.violation_identified:
            raise RuleViolation(
                "action",
                "an inspection must identify the violation and its by-law section first",
                "6.2.1 f",
            )
    _check_text(
        "details",
        choice.details,
        required=True,
        policy="6.2.2 g" if action is Action.NO_ACTION else "6.7.4 a",
    )
    if action in WORK_REQUIRED:
        _check_text("required_action", choice.required_action, required=True, policy="6.7.4")
    comply_by = _check_comply_by(action, choice.comply_by, facts.today)
    if action in FINED and not choice.fine_code.strip():
        raise RuleViolation(
            "fine_code", f"a {action.value} needs the code of an approved set fine or penalty"
        )
    if action not in FINED and choice.fine_code.strip():
        raise RuleViolation("fine_code", f"a {action.value} carries no fine")
    if action is Action.DIRECT_ENFORCEMENT and not choice.has_work_order:
        raise RuleViolation(
            "work_order", "direct enforcement needs the work order (work, estimate, contractor)", "6.5.13"
        )
    if action is not Action.DIRECT_ENFORCEMENT and choice.has_work_order:
        raise RuleViolation("work_order", "only direct enforcement carries a work order")
    usual = usual_next(facts.taken)
    deviation = _is_deviation(action, usual, facts)
    if choice.justification.strip():
        try:
            justification: Justification | None = Justification(choice.justification.strip())
        except ValueError:
            options = ", ".join(j.value for j in Justification)
            raise RuleViolation("justification", f"one of {options}", "6.4.7") from None
    else:
        justification = None
    if deviation:
        _check_text("deviation_reason", choice.deviation_reason, required=True, policy="6.4.7")
        if justification is None:
            raise RuleViolation(
                "justification",
                f"the usual next step is {usual.value}; say why {action.value} is taken instead",
                "6.4.7",
            )
        skipped_notice = not any(LADDER.get(Action(a), 0) in (2, 3) for a in facts.taken)
        if (
            LADDER[action] >= PUNITIVE_RUNG
            and skipped_notice
            and justification is not Justification.HEALTH_AND_SAFETY
        ):
            raise RuleViolation(
                "justification",
                "punitive action without a notice or order first is only for a threat to health and safety",
                "6.2.4 c",
            )
        if justification is Justification.HEALTH_AND_SAFETY and not (
            facts.priority == "high" or facts.recorded_risk.strip()
        ):
            raise RuleViolation(
                "justification",
                "health and safety justifies stronger action only for a high-priority matter "
                "or a recorded risk",
                "6.2.4 c",
            )
    elif choice.deviation_reason.strip():
        _check_text("deviation_reason", choice.deviation_reason, required=False, policy="6.4.7")
    return ActionDecision(action=action, comply_by=comply_by, deviation=deviation, usual=usual)


def _is_deviation(action: Action, usual: Action, facts: ActionFacts) -> bool:
    if action is Action.NO_ACTION:
        return False
    if is_parking(facts.service_code) and action in FINED:
        return False  # policy 6.2.5
    return LADDER[action] > LADDER[usual]


def _check_text(field: str, value: str, *, required: bool, policy: str | None = None) -> None:
    stripped = value.strip()
    if len(value) > MAX_TEXT:
        raise RuleViolation(field, f"at most {MAX_TEXT} characters")
    if required and len(stripped) < MIN_TEXT:
        raise RuleViolation(field, f"is required: at least {MIN_TEXT} characters of explanation", policy)


def _check_comply_by(action: Action, value: str, today: date) -> date | None:
    if not value.strip():
        if action in DEADLINE_REQUIRED:
            raise RuleViolation("comply_by", f"a {action.value} gives a reasonable time to comply", "6.7.4 b")
        return None
    if action not in DEADLINE_ALLOWED:
        raise RuleViolation("comply_by", f"a {action.value} sets no compliance deadline")
    comply_by = parse_local_date(value, "comply_by")
    check_new_deadline(comply_by, today, "comply_by")
    return comply_by


def check_new_deadline(day: date, today: date, field: str) -> None:
    if day <= today:
        raise RuleViolation(field, "a compliance date lies after today", "6.7.4 b")
    if day > today + timedelta(days=MAX_DEADLINE_DAYS):
        raise RuleViolation(field, f"at most {MAX_DEADLINE_DAYS} days ahead", "6.7.4 b")


# --- extending and shortening the compliance deadline --------------------------------------


def check_extension(
    *,
    status: CaseStatus,
    current: date | None,
    new: date,
    today: date,
    written_request_on: str,
    issued_on: date | None,
    reason: str,
) -> date:
    """An extension (policy 6.7.6, 6.7.8); returns the date the written request was made."""
    if status not in (S.AWAITING_COMPLIANCE, S.REINSPECTION) or current is None:
        raise RuleViolation("status", "there is no compliance deadline to extend", "6.7.6")
    if new <= current:
        raise RuleViolation(
            "new_date", f"an extension moves the deadline past {current.isoformat()}", "6.7.6"
        )
    check_new_deadline(new, today, "new_date")
    _check_text("reason", reason, required=True, policy="6.7.8")
    if not written_request_on.strip():
        raise RuleViolation("written_request_on", "extension requests are made in writing", "6.7.8")
    requested = parse_local_date(written_request_on, "written_request_on")
    if requested > today:
        raise RuleViolation("written_request_on", "cannot be in the future", "6.7.8")
    if issued_on is not None and requested < issued_on:
        raise RuleViolation(
            "written_request_on", f"predates the notice of {issued_on.isoformat()} it asks to extend", "6.7.8"
        )
    return requested


def check_shortening(
    *,
    status: CaseStatus,
    current: date | None,
    new: date,
    today: date,
    contact_attempted_at: datetime | None,
    set_at: datetime | None,
    now: datetime,
    reason: str,
) -> None:
    """Shortening a time limit (policy 6.7.7): extraordinary circumstances, recorded, and
    not before attempting to communicate with the resident."""
    if status is not S.AWAITING_COMPLIANCE or current is None:
        raise RuleViolation("status", "there is no pending compliance deadline to shorten", "6.7.7")
    if new >= current:
        raise RuleViolation(
            "new_date", f"shortening moves the deadline before {current.isoformat()}", "6.7.7"
        )
    if new <= today:
        raise RuleViolation("new_date", "a shortened deadline still lies after today", "6.7.7")
    _check_text("reason", reason, required=True, policy="6.7.7")
    if contact_attempted_at is None:
        raise RuleViolation(
            "contact_attempted_at",
            "a time limit is not shortened before attempting to communicate with the resident",
            "6.7.7",
        )
    if contact_attempted_at > now:
        raise RuleViolation("contact_attempted_at", "cannot be in the future", "6.7.7")
    if set_at is not None and contact_attempted_at < set_at:
        raise RuleViolation(
            "contact_attempted_at", "the attempt must follow the notice that set the deadline", "6.7.7"
        )


# --- dates on the Town's calendar ----------------------------------------------------------


def end_of_day(day: date, zone: tzinfo) -> datetime:
    """A compliance date runs to the end of that day in the Town (the owner has all of it)."""
    return datetime.combine(day + timedelta(days=1), time(0, 0), zone) - timedelta(microseconds=1)


def close_of_business_after(
    start: date, business_days: int, zone: tzinfo, closures: Iterable[date] = ()
) -> datetime:
    """Close of business on the ``business_days``-th business day after ``start`` (4.2)."""
    due = add_business_days(start, business_days, closures)
    return datetime.combine(due, CLOSE_OF_BUSINESS, zone)


def business_days_between(start: date, end: date, closures: Iterable[date] = ()) -> int:
    """Business days after ``start`` up to and including ``end`` (policy 4.2)."""
    if end <= start:
        return 0
    closed = set(closures) | ontario_holidays(range(start.year, end.year + 1))
    count = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in closed:
            count += 1
    return count


# --- closure --------------------------------------------------------------------------------


def outcome_after_compliance(taken: Sequence[str]) -> ClosureOutcome:
    """Compliance confirmed at re-inspection closes as order compliance when an order was
    issued, else as voluntary compliance (seed journey, close step)."""
    if Action.ORDER_TO_COMPLY.value in taken:
        return ClosureOutcome.ORDER_COMPLIANCE
    return ClosureOutcome.VOLUNTARY_COMPLIANCE


def check_closure_basis(outcome: ClosureOutcome, taken: Sequence[str], remediation_completed: bool) -> None:
    """What each outcome needs to have happened, beyond the status (lifecycle_rules)."""
    if outcome is ClosureOutcome.PROSECUTION and not {
        Action.TICKET.value,
        Action.AMP.value,
        Action.PROSECUTION_REFERRAL.value,
    } & set(taken):
        raise RuleViolation(
            "outcome", "closing as prosecution needs a ticket, penalty or prosecution referral"
        )
    if outcome is ClosureOutcome.REMEDIATION and not remediation_completed:
        raise RuleViolation(
            "outcome", "closing as remediation needs the remediation work completed", "6.5.13"
        )
    if outcome is ClosureOutcome.ORDER_COMPLIANCE and Action.ORDER_TO_COMPLY.value not in taken:
        raise RuleViolation("outcome", "no order to comply was issued; close as voluntary compliance")
    if outcome is ClosureOutcome.VOLUNTARY_COMPLIANCE and Action.ORDER_TO_COMPLY.value in taken:
        raise RuleViolation("outcome", "an order to comply was issued; close as order compliance")


@dataclass(frozen=True)
class ClosureFigures:
    days_since_complaint: int
    days_since_order: int  # -1 when no order was issued
    business_days_open: int


def closure_figures(
    received_on: date, closed_on: date, first_order_on: date | None, closures: Iterable[date] = ()
) -> ClosureFigures:
    """Total timeline (seed journey, close step), in the Town's local dates."""
    return ClosureFigures(
        days_since_complaint=max(0, (closed_on - received_on).days),
        days_since_order=max(0, (closed_on - first_order_on).days) if first_order_on else -1,
        business_days_open=business_days_between(received_on, closed_on, closures),
    )
