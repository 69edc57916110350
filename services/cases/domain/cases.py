"""Enforcement cases: statuses and the rules for recording them, case numbers, the
duplicate/repeat decision for a new complaint (policy 6.6.3, 6.6.5), restricted access
(policy 6.10), work-queue order (policy 6.5.4) and automatic officer assignment (spec 1.2).

Plain Python. The case workflow is the authority on the lifecycle (it decides *when* a case
moves); this module guards the record itself: known status names, no reopening a finished
case, a closing outcome, reasons where the policy wants one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from services.cases.domain.addresses import NormalisedAddress
from services.cases.domain.geo import Point, neighbourhood_cells
from services.cases.domain.properties import Officer, PropertyMatch
from services.common.errors import FailedPrecondition, FieldViolation, InvalidArgument


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


# A case in one of these no longer absorbs new complaints (policy 6.6.5 applies to open
# matters; after compliance a repeat is handled under 6.6.3 instead).
NOT_OPEN_STATUSES = frozenset(
    {CaseStatus.CLOSED, CaseStatus.REFERRED, CaseStatus.REJECTED, CaseStatus.COMPLIED}
)
OPEN_STATUSES = frozenset(CaseStatus) - NOT_OPEN_STATUSES
# Finished: a later complaint about the same matter opens a new case, and no officer is
# assigned any more. A referred or rejected case still gets closed (with the matching
# outcome); a closed case takes no further status.
TERMINAL_STATUSES = frozenset({CaseStatus.CLOSED, CaseStatus.REFERRED, CaseStatus.REJECTED})
_CLOSE_ONLY = {CaseStatus.REFERRED: "referred", CaseStatus.REJECTED: "rejected"}


class Priority(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """Sort key for the work queue: high first (policy 6.5.4)."""
        return _PRIORITY_RANK[self]


_PRIORITY_RANK = {Priority.HIGH: 1, Priority.MEDIUM: 2, Priority.LOW: 3}


def priority_from_rank(rank: int) -> Priority:
    for priority, value in _PRIORITY_RANK.items():
        if value == rank:
            return priority
    raise ValueError(f"no priority with rank {rank}")


class Outcome(StrEnum):
    """How a closed case ended (product spec, Close: "compliance outcome recorded")."""

    VOLUNTARY_COMPLIANCE = "voluntary_compliance"
    ORDER_COMPLIANCE = "order_compliance"
    REMEDIATION = "remediation"
    PROSECUTION = "prosecution"
    DISMISSED = "dismissed"
    REFERRED = "referred"  # closes a referred case (policy 6.5.9, 6.11.2)
    REJECTED = "rejected"  # closes a rejected complaint (policy 4.4, 4.11, 6.2.1 g)


# Outcomes that confirm the property complied (policy 6.6.3).
COMPLIANCE_OUTCOMES = frozenset({Outcome.VOLUNTARY_COMPLIANCE, Outcome.ORDER_COMPLIANCE})


class Disposition(StrEnum):
    CREATED = "created"
    JOINED = "joined"  # an open case absorbed the complaint (policy 6.6.5)
    REPEAT_AFTER_COMPLIANCE = "repeat_after_compliance"  # policy 6.6.3


# --- case numbers -----------------------------------------------------------------------

CASE_NUMBER_RE = re.compile(r"^BL-(\d{4})-(\d{6,})$")


def format_case_number(year: int, sequence: int) -> str:
    return f"BL-{year:04d}-{sequence:06d}"


def case_year(received_at: datetime, timezone: str) -> int:
    """Case numbers count per calendar year in the Town's own time zone, so a complaint
    received at 8 p.m. on New Year's Eve belongs to the old year."""
    return received_at.astimezone(ZoneInfo(timezone)).year


def check_case_number(value: str, field_name: str = "case_number") -> str:
    value = value.strip()
    if not CASE_NUMBER_RE.match(value):
        raise InvalidArgument(FieldViolation(field_name, "must be a case number like BL-2026-000123"))
    return value


# --- the case record ----------------------------------------------------------------------


@dataclass
class Case:
    case_number: str
    status: CaseStatus
    priority: Priority
    service_code: str
    bylaw_number: str
    matrix_version: str
    received_at: datetime
    updated_at: datetime
    dedupe_key: str
    location_address: str = ""
    location_address_id: str = ""
    location_postal_code: str = ""
    point: Point | None = None
    match: PropertyMatch = field(default_factory=PropertyMatch)
    zone_code: str = ""
    assigned_officer_id: str = ""
    enforced_by: tuple[str, ...] = ()
    complaint_count: int = 1
    restricted: bool = False
    status_reason: str = ""
    outcome: str = ""
    summary: str = ""
    channel: str = ""
    closed_at: datetime | None = None
    compliance_confirmed_at: datetime | None = None
    # The queue the case sits in (services.cases.domain.lifecycle.case_department) and its
    # pending compliance deadline (policy 6.7.4-6.7.5), both kept by the lifecycle steps.
    department: str = ""
    compliance_deadline: datetime | None = None
    id: int | None = None  # storage identity; None until saved

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def property_roll_number(self) -> str:
        return self.match.parcel.roll_number if self.match.parcel else ""


@dataclass(frozen=True, slots=True)
class StatusChange:
    case_number: str
    step_key: str
    from_status: str  # "" for the initial "received"
    to_status: CaseStatus
    reason: str
    actor_subject: str
    occurred_at: datetime
    outcome: str = ""


@dataclass(frozen=True, slots=True)
class Assignment:
    case_number: str
    step_key: str
    officer_id: str
    previous_officer_id: str
    reason: str
    actor_subject: str
    occurred_at: datetime


# --- recording a status -------------------------------------------------------------------


def closing_outcome(outcome: str, reason: str) -> str:
    """The closing outcome given, or, when the field is empty, one stated as the reason's
    prefix ("voluntary_compliance: owner cut the grass"), the form the case workflow uses
    in its reasons."""
    if outcome.strip():
        return outcome.strip()
    head, sep, _ = reason.partition(":")
    return head.strip() if sep and head.strip() in {o.value for o in Outcome} else ""


def check_transition(case: Case, to_status: CaseStatus, outcome: str, reason: str) -> Outcome | None:
    """Validates recording ``to_status`` on ``case``; returns the closing outcome."""
    if case.status is CaseStatus.CLOSED:
        raise FailedPrecondition(
            f"case {case.case_number} is closed; a closed case is not reopened "
            "(a new complaint opens a new case, policy 6.6.1)"
        )
    if case.status in _CLOSE_ONLY and to_status is not CaseStatus.CLOSED:
        raise FailedPrecondition(
            f"case {case.case_number} is {case.status.value}; it can only be closed "
            f"(outcome {_CLOSE_ONLY[case.status]})"
        )
    violations: list[FieldViolation] = []
    if to_status is CaseStatus.RECEIVED:
        violations.append(FieldViolation("status", "received is only the initial status of a case"))
    parsed: Outcome | None = None
    if to_status is CaseStatus.CLOSED:
        given = closing_outcome(outcome, reason)
        try:
            parsed = Outcome(given)
        except ValueError:
            allowed = ", ".join(o.value for o in Outcome)
            violations.append(
                FieldViolation("outcome", f"closing a case requires an outcome: one of {allowed}")
            )
        else:
            # A referral or rejection closes as such, and only such a case closes that way.
            expected = _CLOSE_ONLY.get(case.status)
            if (expected or parsed.value in _CLOSE_ONLY.values()) and parsed.value != expected:
                violations.append(
                    FieldViolation(
                        "outcome",
                        f"a {case.status.value} case cannot close as {parsed.value}"
                        + (f"; it closes as {expected}" if expected else ""),
                    )
                )
    elif outcome.strip():
        violations.append(FieldViolation("outcome", "is only recorded when the status is closed"))
    if to_status is CaseStatus.REJECTED and not reason.strip():
        violations.append(
            FieldViolation("reason", "a rejected complaint needs its reason recorded", "4.4, 4.11, 6.2.1 g")
        )
    if to_status is CaseStatus.REFERRED and not reason.strip():
        violations.append(
            FieldViolation("reason", "a referral records where the complainant was directed", "6.5.9")
        )
    if violations:
        raise InvalidArgument(violations)
    return parsed


def apply_status(case: Case, change: StatusChange, outcome: Outcome | None) -> None:
    """Moves ``case`` to the recorded status (already checked by :func:`check_transition`)."""
    case.status = change.to_status
    case.status_reason = change.reason
    case.updated_at = change.occurred_at
    if change.to_status is CaseStatus.COMPLIED:
        case.compliance_confirmed_at = change.occurred_at
    elif change.to_status is CaseStatus.CLOSED:
        case.closed_at = change.occurred_at
        case.outcome = outcome.value if outcome else ""
        if outcome in COMPLIANCE_OUTCOMES and case.compliance_confirmed_at is None:
            case.compliance_confirmed_at = change.occurred_at
    else:
        # Any other status means compliance is not (or no longer) confirmed, e.g. a
        # complied case that failed re-inspection. Referred and rejected cases get their
        # closed_at from the closing step that follows.
        case.compliance_confirmed_at = None


def compliance_confirmed_at(case: Case) -> datetime | None:
    """When this case confirmed compliance, if it did (policy 6.6.3)."""
    if case.status is CaseStatus.COMPLIED or (
        case.status is CaseStatus.CLOSED and case.outcome in COMPLIANCE_OUTCOMES
    ):
        return case.compliance_confirmed_at
    return None


# --- duplicates and repeats ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DedupeKey:
    """What makes two complaints "the same property" (policy 6.6.5): the roll number when
    the location matched a parcel, else the normalised address, else the GPS point (and
    then "the same" means within the configured radius)."""

    kind: str  # "roll" | "address" | "gps"
    value: str
    point: Point | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.value}"

    def lock_names(self, service_code: str, radius_m: float) -> list[str]:
        """Advisory lock names that serialise every complaint that could be a duplicate
        of this one (same service code and same key, or GPS points within the radius)."""
        if self.kind == "gps" and self.point is not None:
            return [
                f"cases-dedupe:{service_code}:gps:{row}:{col}"
                for row, col in neighbourhood_cells(self.point, radius_m)
            ]
        return [f"cases-dedupe:{service_code}:{self.key}"]


def dedupe_key_for(
    match: PropertyMatch, address: NormalisedAddress | None, point: Point | None
) -> DedupeKey | None:
    if match.parcel is not None:
        return DedupeKey("roll", match.parcel.roll_number)
    if address is not None:
        return DedupeKey("address", address.key)
    if point is not None:
        return DedupeKey("gps", f"{point.lat:.6f},{point.lon:.6f}", point)
    return None


@dataclass(frozen=True, slots=True)
class Decision:
    disposition: Disposition
    case: Case | None  # None when a new case must be created


def decide(
    open_case: Case | None, most_recent: Case | None, received_at: datetime, repeat_lookback: timedelta
) -> Decision:
    """What to do with a new complaint, given the open case for its key and service code
    (if any) and the most recent case for them otherwise."""
    if open_case is not None:
        return Decision(Disposition.JOINED, open_case)  # policy 6.6.5
    if most_recent is not None:
        confirmed = compliance_confirmed_at(most_recent)
        if confirmed is not None and received_at - confirmed <= repeat_lookback:
            # Compliance was confirmed recently: not acted on without new information,
            # which staff judge on the returned case (policy 6.6.3).
            return Decision(Disposition.REPEAT_AFTER_COMPLIANCE, most_recent)
    return Decision(Disposition.CREATED, None)


# --- restricted access (policy 6.10) ------------------------------------------------------

# "system" is the identity internal services use when acting on their own authority (the
# case workflow reading the case it runs); the gateway never grants it to a person.
RESTRICTED_ROLES = frozenset({"supervisor", "restricted_cases", "system"})


def may_see_restricted(roles: Iterable[str]) -> bool:
    """Complaints against Town staff or Council members stay confidential (policy 6.10):
    only supervisors and staff given the ``restricted_cases`` role see them (and the
    system's own services, which need them to run the case)."""
    return not RESTRICTED_ROLES.isdisjoint(roles)


def visible_to(case: Case, roles: Iterable[str]) -> bool:
    return not case.restricted or may_see_restricted(roles)


# --- work queue ---------------------------------------------------------------------------


def queue_order_key(case: Case) -> tuple[int, datetime, str]:
    """Priority high→low, then oldest first (policy 6.5.4)."""
    return (case.priority.rank, case.received_at, case.case_number)


# --- automatic assignment (spec 1.2) ------------------------------------------------------


def departments_of(enforced_by: Iterable[str]) -> list[str]:
    """Matrix "Enforced By" entries as department codes ("*DS" → "DS", footnote marks dropped)."""
    out: list[str] = []
    for entry in enforced_by:
        code = re.sub(r"[^A-Z]", "", entry.upper())
        if code and code not in out:
            out.append(code)
    return out


def _routing_preference(
    officer: Officer, *, service_code: str, bylaw_number: str, departments: Sequence[str], zone_code: str
) -> tuple[bool, int, bool]:
    """How well an officer fits a new case before caseload counts (lower is better)."""
    specialist = service_code in officer.specialties or (
        bool(bylaw_number) and bylaw_number in officer.specialties
    )
    dept_index = departments.index(officer.department) if officer.department in departments else 0
    in_zone = bool(zone_code) and zone_code in officer.zone_codes
    return (not specialist, dept_index, not in_zone)


def routing_shortlist(
    officers: Sequence[Officer],
    *,
    service_code: str,
    bylaw_number: str,
    enforced_by: Iterable[str],
    zone_code: str,
) -> list[Officer]:
    """The active officers of an enforcing department who fit a new case best on
    specialty, department order and zone, all equally: :func:`choose_officer` picks among
    them by open caseload, so only their caseloads need to be known (none when there is
    only one). Empty when no active officer belongs to a department that enforces it."""
    departments = departments_of(enforced_by)
    candidates = [o for o in officers if o.active and (not departments or o.department in departments)]
    if not candidates:
        return []
    ranked = [
        (
            _routing_preference(
                o,
                service_code=service_code,
                bylaw_number=bylaw_number,
                departments=departments,
                zone_code=zone_code,
            ),
            o,
        )
        for o in candidates
    ]
    best = min(rank for rank, _ in ranked)
    return [o for rank, o in ranked if rank == best]


def choose_officer(
    officers: Sequence[Officer],
    *,
    service_code: str,
    bylaw_number: str,
    enforced_by: Iterable[str],
    zone_code: str,
    open_load: Mapping[str, int],
) -> Officer | None:
    """The officer a new case is routed to, or None when no active officer belongs to a
    department that enforces it (a supervisor then assigns by hand).

    Preference: specialty in the service code or by-law, then the matrix's first-listed
    department, then coverage of the case's zone, then the lighter open caseload.
    """
    departments = departments_of(enforced_by)
    candidates = [o for o in officers if o.active and (not departments or o.department in departments)]
    if not candidates:
        return None

    def score(officer: Officer) -> tuple[bool, int, bool, int, str]:
        return (
            *_routing_preference(
                officer,
                service_code=service_code,
                bylaw_number=bylaw_number,
                departments=departments,
                zone_code=zone_code,
            ),
            open_load.get(officer.officer_id, 0),
            officer.officer_id,
        )

    return min(candidates, key=score)
