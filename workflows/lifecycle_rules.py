"""Pure lifecycle rules of an enforcement case: which status may follow which, when a
reason must be recorded, which closure outcome fits which status, the acknowledgement due
date, and the one-sentence *current details* a supervisor reads in the Temporal UI.

Plain Python with no Temporal, gRPC or I/O, so the workflow (inside the sandbox), the
gateway (to offer only legal actions) and unit tests share one source of truth. Statuses
are those of DESIGN.md section 3; each edge cites the policy section it comes from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class CaseStatus(StrEnum):
    RECEIVED = "received"
    UNDER_INVESTIGATION = "under_investigation"
    NOTICE_ISSUED = "notice_issued"
    AWAITING_COMPLIANCE = "awaiting_compliance"
    REINSPECTION = "reinspection"
    COMPLIED = "complied"
    ESCALATED = "escalated"
    AWAITING_COUNCIL_APPROVAL = "awaiting_council_approval"
    REMEDIATION = "remediation"
    CLOSED = "closed"
    REFERRED = "referred"
    REJECTED = "rejected"


class Priority(StrEnum):
    """Service Level Matrix priority (policy 4.12-4.14, Appendix A)."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class ClosureOutcome(StrEnum):
    """How a case ended (seed journey, close step)."""

    VOLUNTARY_COMPLIANCE = "voluntary_compliance"
    ORDER_COMPLIANCE = "order_compliance"
    REMEDIATION = "remediation"
    PROSECUTION = "prosecution"
    DISMISSED = "dismissed"
    REFERRED = "referred"
    REJECTED = "rejected"


S = CaseStatus

# Edges of the lifecycle graph (DESIGN.md section 3). `closed` is reached only through
# close_case, which needs an outcome, so no edge here leads to it and none leaves it.
ALLOWED_TRANSITIONS: Mapping[CaseStatus, frozenset[CaseStatus]] = {
    # Intake accepted the complaint: investigate it (6.5.4), refer it out of scope
    # (6.5.9, 6.11.2) or reject it as invalid, frivolous, vexatious or civil (4.4, 4.11, 6.2.1 g).
    S.RECEIVED: frozenset({S.UNDER_INVESTIGATION, S.REFERRED, S.REJECTED}),
    # Cooperation first (6.2.3): education may bring compliance without a notice; a notice
    # is the usual next step (6.2.2 d); a threat to health and safety justifies stronger
    # action at once (6.2.4 c).
    S.UNDER_INVESTIGATION: frozenset({S.NOTICE_ISSUED, S.COMPLIED, S.ESCALATED}),
    # A notice sets a reasonable time to comply (6.7.4).
    S.NOTICE_ISSUED: frozenset({S.AWAITING_COMPLIANCE}),
    # No enforcement before the compliance time expires (6.7.5): only re-inspection follows.
    S.AWAITING_COMPLIANCE: frozenset({S.REINSPECTION}),
    # Compliant, not compliant (escalate), or more time to achieve compliance (6.7.6).
    S.REINSPECTION: frozenset({S.COMPLIED, S.ESCALATED, S.AWAITING_COMPLIANCE}),
    # Progressive enforcement (6.2.3-6.2.4): an order after a notice, a ticket followed by
    # re-inspection, or remediation, which over $5,000 first waits for Council (6.5.13).
    S.ESCALATED: frozenset({S.NOTICE_ISSUED, S.REINSPECTION, S.REMEDIATION, S.AWAITING_COUNCIL_APPROVAL}),
    # Council approves (remediation) or refuses (other enforcement) (6.5.13); the emergency
    # path (6.5.14) is also an approval that leads to remediation.
    S.AWAITING_COUNCIL_APPROVAL: frozenset({S.REMEDIATION, S.ESCALATED}),
    # Remedial work done at the owner's expense: the property complies; work cancelled
    # before it is done sends the case back to escalation (issue 4).
    S.REMEDIATION: frozenset({S.COMPLIED, S.ESCALATED}),
    S.COMPLIED: frozenset(),
    S.REFERRED: frozenset(),
    S.REJECTED: frozenset(),
    S.CLOSED: frozenset(),
}

# Which closure outcome may end a case in which status.
CLOSURE_FROM: Mapping[ClosureOutcome, frozenset[CaseStatus]] = {
    ClosureOutcome.VOLUNTARY_COMPLIANCE: frozenset({S.COMPLIED}),
    ClosureOutcome.ORDER_COMPLIANCE: frozenset({S.COMPLIED}),
    ClosureOutcome.REMEDIATION: frozenset({S.REMEDIATION, S.COMPLIED}),
    ClosureOutcome.PROSECUTION: frozenset({S.ESCALATED}),
    # "No action may be taken" (6.2.2 g) at any open stage before compliance is confirmed.
    ClosureOutcome.DISMISSED: frozenset(
        {
            S.RECEIVED,
            S.UNDER_INVESTIGATION,
            S.NOTICE_ISSUED,
            S.AWAITING_COMPLIANCE,
            S.REINSPECTION,
            S.ESCALATED,
            S.AWAITING_COUNCIL_APPROVAL,
        }
    ),
    ClosureOutcome.REFERRED: frozenset({S.REFERRED}),
    ClosureOutcome.REJECTED: frozenset({S.REJECTED}),
}

MAX_REASON_LENGTH = 1000
ACKNOWLEDGEMENT_BUSINESS_DAYS = 2  # policy 6.5.5


class RuleViolation(ValueError):
    """A lifecycle request the rules refuse; ``policy`` names the section when one applies."""

    def __init__(self, field: str, rule: str, policy: str | None = None) -> None:
        cite = f" (policy {policy})" if policy else ""
        super().__init__(f"{field}: {rule}{cite}")
        self.field = field
        self.rule = rule
        self.policy = policy


def parse_status(value: str) -> CaseStatus:
    try:
        return CaseStatus(value)
    except ValueError:
        raise RuleViolation("status", f"unknown status {value!r}; one of {_names(CaseStatus)}") from None


def parse_priority(value: str) -> Priority:
    try:
        return Priority(value)
    except ValueError:
        raise RuleViolation(
            "priority", f"unknown priority {value!r}; one of {_names(Priority)}", "Appendix A"
        ) from None


def parse_outcome(value: str) -> ClosureOutcome:
    try:
        return ClosureOutcome(value)
    except ValueError:
        raise RuleViolation(
            "outcome", f"unknown outcome {value!r}; one of {_names(ClosureOutcome)}"
        ) from None


def check_transition(current: CaseStatus, target: CaseStatus, reason: str) -> None:
    """Raise RuleViolation unless ``current -> target`` is a lifecycle edge with the
    reason the policy asks for."""
    if current is S.CLOSED:
        raise RuleViolation("status", "the case is closed; a closed case does not change")
    if target is S.CLOSED:
        raise RuleViolation("status", "close a case with close_case, which records its outcome")
    if target is current:
        raise RuleViolation("status", f"the case is already {current.value}")
    allowed = ALLOWED_TRANSITIONS[current]
    if target not in allowed:
        options = ", ".join(sorted(s.value for s in allowed)) or "none (close the case)"
        raise RuleViolation(
            "status",
            f"cannot move from {current.value} to {target.value}; allowed next: {options}",
            _policy_for(target),
        )
    _check_reason_length(reason)
    if not reason.strip():
        if target is S.REFERRED:
            raise RuleViolation("reason", "a referral records where the matter was referred and why", "6.5.9")
        if target is S.REJECTED:
            raise RuleViolation("reason", "a rejected complaint gets a recorded reason", "4.4")
        if target is S.ESCALATED and current is S.UNDER_INVESTIGATION:
            # Skipping the notice departs from progressive enforcement (6.2.4 c); the
            # person affected is told why (6.4.7).
            raise RuleViolation(
                "reason", "escalating without a notice first needs a recorded reason", "6.4.7"
            )


def check_closure(current: CaseStatus, outcome: ClosureOutcome, reason: str) -> None:
    if current is S.CLOSED:
        raise RuleViolation("status", "the case is already closed")
    allowed = CLOSURE_FROM[outcome]
    if current not in allowed:
        options = ", ".join(sorted(s.value for s in allowed))
        raise RuleViolation(
            "outcome", f"a case cannot close as {outcome.value} from {current.value}; only from {options}"
        )
    _check_reason_length(reason)
    if not reason.strip():
        raise RuleViolation("reason", "closing a case records the reason for its outcome", "6.5.10 f")


def _check_reason_length(reason: str) -> None:
    if len(reason) > MAX_REASON_LENGTH:
        raise RuleViolation("reason", f"at most {MAX_REASON_LENGTH} characters")


def _policy_for(target: CaseStatus) -> str | None:
    return {
        S.REFERRED: "6.5.9",
        S.REJECTED: "4.4",
        S.ESCALATED: "6.2.3",
        S.REINSPECTION: "6.7.5",
        S.AWAITING_COUNCIL_APPROVAL: "6.5.13",
        S.REMEDIATION: "6.5.13",
    }.get(target)


def _names(enum: Iterable[StrEnum]) -> str:
    return ", ".join(member.value for member in enum)


# ---------------------------------------------------------------- business days


def town_zone(name: str) -> ZoneInfo:
    """The Town's time zone by IANA name (e.g. "America/Toronto")."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RuleViolation("town_timezone", f"unknown time zone {name!r}") from None


def ontario_holidays(years: Iterable[int]) -> frozenset[date]:
    """Ontario public holidays (Employment Standards Act), with the weekday a weekend
    holiday is observed on (policy 4.2). Computed here rather than with a holiday library
    so the workflow sandbox can run it: no locale, no lazy imports, no I/O."""
    days: set[date] = set()
    for year in years:
        days |= _ontario_year(year)
    return frozenset(days)


def _ontario_year(year: int) -> set[date]:
    # Observed dates follow the `holidays` package's Ontario calendar (the unit tests
    # compare the two over decades); Canada Day on a weekend has no fixed substitute.
    new_year, christmas, boxing = date(year, 1, 1), date(year, 12, 25), date(year, 12, 26)
    days = {
        new_year,
        _easter(year) - timedelta(days=2),  # Good Friday
        _monday_before(date(year, 5, 25)),  # Victoria Day
        date(year, 7, 1),  # Canada Day
        _nth_weekday(year, 9, 0, 1),  # Labour Day: first Monday of September
        _nth_weekday(year, 10, 0, 2),  # Thanksgiving: second Monday of October
        christmas,
        boxing,
    }
    if year >= 2008:
        days.add(_nth_weekday(year, 2, 0, 3))  # Family Day: third Monday of February
    if new_year.weekday() >= 5:  # Saturday or Sunday: observed the following Monday
        days.add(new_year + timedelta(days=7 - new_year.weekday()))
    if christmas.weekday() == 5:  # Saturday: Christmas Monday 27th, Boxing Day Tuesday 28th
        days |= {date(year, 12, 27), date(year, 12, 28)}
    elif christmas.weekday() == 4:  # Friday: Boxing Day (Saturday) observed Monday 28th
        days.add(date(year, 12, 28))
    return days


def _easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _monday_before(day: date) -> date:
    return day - timedelta(days=(day.weekday() - 0) % 7 or 7)


def add_business_days(start: date, days: int, closures: Iterable[date] = ()) -> date:
    """The date ``days`` business days after ``start`` (policy 4.2: Monday to Friday,
    excluding Ontario public holidays and declared Town closure days)."""
    closed = set(closures) | ontario_holidays(range(start.year, start.year + 2))
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in closed:
            remaining -= 1
    return current


def acknowledgement_due(received_at: datetime, zone: tzinfo, closures: Iterable[date] = ()) -> datetime:
    """End of the second business day after receipt, in the Town's time zone (6.5.5)."""
    local_day = received_at.astimezone(zone).date()
    due_day = add_business_days(local_day, ACKNOWLEDGEMENT_BUSINESS_DAYS, closures)
    return datetime.combine(due_day, time(23, 59, 59), zone)


# ---------------------------------------------------------------- current details


@dataclass(frozen=True)
class DetailsFacts:
    """What the one-sentence summary is made of (no complainant identity)."""

    status: CaseStatus
    priority: str
    service_code: str
    bylaw_number: str
    received_on: date
    acknowledgement_due_on: date | None
    assigned_officer: str = ""
    outcome: str = ""
    closed_on: date | None = None
    # Issue 4: what a supervisor needs next to the status (all empty for older runs, whose
    # sentence stays as it was).
    acknowledged: bool = False
    inspection_due_on: date | None = None
    inspection_scheduled_on: date | None = None
    compliance_due_on: date | None = None
    deadline_document: str = ""  # e.g. "Order BL-2026-000123-O1"
    reinspection_due_on: date | None = None
    next_step: str = ""  # the usual next enforcement step, when escalated
    remediation_detail: str = ""  # the remediation child's sentence
    alerts: tuple[str, ...] = ()  # open escalation alerts, e.g. "inspection SLA missed"


_STATUS_PHRASE: Mapping[CaseStatus, str] = {
    S.UNDER_INVESTIGATION: "under investigation",
    S.NOTICE_ISSUED: "notice issued",
    S.AWAITING_COMPLIANCE: "awaiting compliance",
    S.REINSPECTION: "re-inspection due",
    S.COMPLIED: "complied; ready to close",
    S.ESCALATED: "escalated",
    S.AWAITING_COUNCIL_APPROVAL: "waiting for a Council decision on remediation over $5,000",
    S.REMEDIATION: "remediation under way",
    S.REFERRED: "referred out of scope",
    S.REJECTED: "complaint rejected",
}


def current_details(facts: DetailsFacts) -> str:
    """One human sentence for the Temporal UI, e.g. "Received 2026-11-22; awaiting
    assignment (priority high, pool-fence, by-law 2010-0049)"."""
    bylaw = f"by-law {facts.bylaw_number}" if facts.bylaw_number not in ("", "N/A") else "provincial statute"
    what = f"(priority {facts.priority}, {facts.service_code}, {bylaw})"
    received = f"Received {facts.received_on.isoformat()}"
    if facts.status is S.CLOSED:
        closed = facts.closed_on.isoformat() if facts.closed_on else "?"
        return f"{received}; closed {closed} as {facts.outcome.replace('_', ' ')} {what}"
    alerts = "".join(f"; ALERT: {alert}" for alert in facts.alerts)
    if facts.status is S.RECEIVED:
        if facts.acknowledged:
            ack = "acknowledged; "
        elif facts.acknowledgement_due_on:
            ack = f"acknowledgement due {facts.acknowledgement_due_on.isoformat()}; "
        else:
            ack = ""
        waiting = (
            f"assigned to {facts.assigned_officer}, awaiting investigation"
            if facts.assigned_officer
            else "awaiting assignment"
        )
        return f"{received}; {ack}{waiting}{_inspection_clause(facts)}{alerts} {what}"
    phrase = _STATUS_PHRASE[facts.status]
    if facts.status is S.UNDER_INVESTIGATION:
        phrase += _inspection_clause(facts)
    elif facts.status is S.AWAITING_COMPLIANCE and facts.compliance_due_on:
        document = f", {facts.deadline_document}" if facts.deadline_document else ""
        phrase = f"waiting for compliance deadline {facts.compliance_due_on.isoformat()}{document}"
    elif facts.status is S.REINSPECTION and facts.reinspection_due_on:
        passed = (
            f" (compliance deadline {facts.compliance_due_on.isoformat()} passed)"
            if facts.compliance_due_on
            else ""
        )
        phrase = f"re-inspection due by {facts.reinspection_due_on.isoformat()}{passed}"
    elif facts.status is S.ESCALATED and facts.next_step:
        phrase = f"escalated; next usual step: {facts.next_step.replace('_', ' ')}"
    elif facts.status in (S.AWAITING_COUNCIL_APPROVAL, S.REMEDIATION) and facts.remediation_detail:
        phrase = facts.remediation_detail.rstrip(".")
    officer = f"; officer {facts.assigned_officer}" if facts.assigned_officer else ""
    return f"{received}; {phrase}{officer}{alerts} {what}"


def _inspection_clause(facts: DetailsFacts) -> str:
    if facts.inspection_scheduled_on:
        return f"; inspection scheduled {facts.inspection_scheduled_on.isoformat()}"
    if facts.inspection_due_on:
        return f"; inspection due by {facts.inspection_due_on.isoformat()}"
    return ""
