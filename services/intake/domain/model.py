"""Intake's vocabulary: channels, priorities, outcomes, the complaint as submitted, and the
complaint as recorded (without identity). Plain Python: no database, gRPC or Temporal."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Priority(StrEnum):
    """Enforcement priority from the Service Level Matrix (policy 4.12-4.14, Appendix A)."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class OutcomeKind(StrEnum):
    """Every complaint ends as exactly one of these, with a stored reason (issue 3)."""

    NEW_CASE = "new_case"
    JOINED_CASE = "joined_case"
    REFERRED = "referred"
    REJECTED = "rejected"


class ReasonCode(StrEnum):
    """Why a complaint ended as it did, in a form reports and public notes can use."""

    NEW_CASE = "new_case"
    JOINED_OPEN_CASE = "joined_open_case"  # policy 6.6.5
    OUT_OF_SCOPE = "out_of_scope"  # policy 6.5.9, 6.11.2
    VERBAL = "verbal"  # policy 6.5.1, 6.5.2
    ANONYMOUS = "anonymous"  # policy 4.1
    REPEAT_AFTER_COMPLIANCE = "repeat_after_compliance"  # policy 6.6.3
    CIVIL_MATTER = "civil_matter"  # policy 6.2.1 g
    FRIVOLOUS = "frivolous"  # policy 4.4, marked by staff
    VEXATIOUS = "vexatious"  # policy 4.11, marked by staff


class MarkKind(StrEnum):
    """Staff judgements that end a complaint without action (policy 4.4, 4.11, 6.6.4)."""

    FRIVOLOUS = "frivolous"
    VEXATIOUS = "vexatious"

    @property
    def reason_code(self) -> ReasonCode:
        return ReasonCode(self.value)

    @property
    def policy(self) -> str:
        return "4.4" if self is MarkKind.FRIVOLOUS else "4.11"


class ProcessingState(StrEnum):
    """How far processing got, so a crash mid-way resumes on redelivery instead of
    repeating (or skipping) a step.

    received     complaint and vault row committed; the case is not known yet
    case_linked  the cases service answered (case number and disposition stored) but the
                 workflow could not be started yet (Temporal unavailable)
    done         final: the workflow (for a new case) was started, and the outcome, the
                 case link and the outcome's messages were written in one statement

    On the usual path a complaint goes received → done: the steps in between (OpenCase,
    starting ``case-<n>`` with USE_EXISTING) are idempotent, so a resume simply repeats
    them, and persisting each would cost a database round trip per complaint at 311
    volume. ``case_linked_at`` and ``workflow_started_at`` record when each happened.
    """

    RECEIVED = "received"
    CASE_LINKED = "case_linked"
    DONE = "done"


# Case statuses that end the case (cases service, DESIGN.md section 3): a complaint on such
# a case is closed to the public.
CLOSED_CASE_STATUSES = frozenset({"closed", "referred", "rejected"})


class CaseDisposition(StrEnum):
    """What the cases service did with the complaint (cases.proto OpenCaseDisposition)."""

    CREATED = "created"
    JOINED = "joined"  # an open case at the same property absorbed it (policy 6.6.5)
    REPEAT_AFTER_COMPLIANCE = "repeat_after_compliance"  # policy 6.6.3


# Channels (seed 1.1: 311, online portal, staff-entered phone/email/walk-in, council referral).
CHANNELS_311 = frozenset({"311-phone", "311-online", "311-mobile", "311-other"})
PORTAL_CHANNEL = "portal"
STAFF_CHANNELS = frozenset({"phone", "email", "walk-in", "letter", "council-referral"})
ALL_CHANNELS = CHANNELS_311 | STAFF_CHANNELS | {PORTAL_CHANNEL}
# Channels on which a complaint can be taken without anything in writing (policy 6.5.1-6.5.2).
VERBAL_CAPABLE_CHANNELS = frozenset({"phone", "walk-in"})
# The acknowledgement (policy 6.5.5-6.5.8) goes back on the channel itself the moment the
# outcome is known on these; on the others staff send it (a call back, a letter, a reply
# to the referral) and record when they did.
IMMEDIATE_ACK_CHANNELS = CHANNELS_311 | {PORTAL_CHANNEL, "email"}
ACK_METHODS = ("phone", "email", "mail", "in-person")


def immediate_ack_method(channel: str) -> str:
    """How the acknowledgement went out on a channel that answers at once."""
    return "311" if channel in CHANNELS_311 else channel


PREFERRED_CONTACT_METHODS = ("email", "phone", "mail")


def request_source(channel: str, client_id: str = "") -> str:
    """The namespace an ``external_request_id`` is unique in: every 311 channel shares the
    311 system's ids; any other client's ids are unique only for that client."""
    if channel in CHANNELS_311:
        return "311"
    return f"{channel}:{client_id}" if client_id else channel


@dataclass(frozen=True, slots=True)
class Location:
    """Where the alleged contravention is (policy 4.10 'describes the location')."""

    address: str = ""
    lat: float | None = None
    lon: float | None = None
    address_id: str = ""  # Open311 address_id: assessment roll number when known
    postal_code: str = ""


@dataclass(frozen=True, slots=True)
class ComplainantIdentity:
    """Who complained (policy 6.5.3). Lives only in the encrypted vault; ``repr`` is
    redacted so an accidental log line or traceback cannot leak it (policy 6.3.2)."""

    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    address: str = ""  # the complainant's own address (policy 4.10)
    preferred_contact: str = ""

    def __repr__(self) -> str:
        return "ComplainantIdentity(<redacted>)"

    __str__ = __repr__

    @property
    def has_name(self) -> bool:
        return bool(self.first_name.strip() or self.last_name.strip())

    @property
    def has_contact(self) -> bool:
        return bool(self.email.strip() or self.phone.strip())

    @property
    def has_address(self) -> bool:
        return bool(self.address.strip())


@dataclass(frozen=True, slots=True)
class Submission:
    """One complaint as it arrived on any channel, before validation."""

    service_code: str
    location: Location
    description: str
    complainant: ComplainantIdentity
    channel: str
    external_request_id: str = ""
    requested_at: datetime | None = None
    verbal: bool = False
    attributes: Mapping[str, str] = field(default_factory=dict)
    media_url: str = ""
    client_id: str = ""
    about_staff_or_council: bool = False  # policy 6.10

    def __repr__(self) -> str:
        # The description is the written complaint (policy 6.3.4) and may name people.
        return (
            f"Submission(service_code={self.service_code!r}, channel={self.channel!r}, "
            f"external_request_id={self.external_request_id!r})"
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """The answer returned to the channel the complaint came from."""

    service_request_id: str
    kind: OutcomeKind
    reason: str
    priority: Priority
    matrix_version: str
    case_number: str = ""
    referred_to: str = ""
    service_notice: str = ""
    acknowledgement_due: datetime | None = None
    external_request_id: str = ""
    written_confirmation_required: bool = False
    follow_up: tuple[str, ...] = ()
    anonymous: bool = False
    replayed: bool = False
    first_inspection_due: datetime | None = None
    resolution_due: datetime | None = None
    sla_version: str = ""
    acknowledged_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ComplaintRecord:
    """A complaint as stored, without complainant identity or the written complaint."""

    id: str  # internal UUID (vault key, encryption context)
    service_request_id: str  # public id, SR-YYYY-NNNNNNN
    source: str
    channel: str
    external_request_id: str
    service_code: str
    service_name: str
    bylaw_number: str
    priority: Priority
    enforced_by: tuple[str, ...]
    matrix_version: str
    location: Location
    media_url: str
    requested_at: datetime
    received_at: datetime
    updated_at: datetime
    state: ProcessingState
    acknowledgement_due: datetime | None
    verbal: bool = False
    anonymous: bool = False
    restricted: bool = False
    written_confirmation_required: bool = False
    follow_up: tuple[str, ...] = ()
    outcome: OutcomeKind | None = None
    reason: str = ""
    reason_code: ReasonCode | None = None
    case_number: str = ""
    related_case_number: str = ""
    referred_to: str = ""
    service_notice: str = ""
    disposition: CaseDisposition | None = None
    zone: str = ""
    property_roll_number: str = ""
    entered_by: str = ""
    # The case's lifecycle status as the cases service last reported it (case events).
    case_status: str = ""
    # Service-level targets (policy 6.5.4, 6.8.5).
    first_inspection_due: datetime | None = None
    resolution_due: datetime | None = None
    sla_version: str = ""
    # The acknowledgement (policy 6.5.5).
    acknowledged_at: datetime | None = None
    acknowledged_via: str = ""
    acknowledged_by: str = ""
    ack_signalled_at: datetime | None = None
    ack_overdue_alerted_at: datetime | None = None
    # Marked frivolous/vexatious by staff (policy 4.4, 4.11); the reason is staff-only.
    marked_kind: MarkKind | None = None
    marked_reason: str = field(default="", repr=False)  # free text: may name people
    marked_by: str = ""
    marked_at: datetime | None = None
    case_rejection_pending: bool = False

    @property
    def on_case(self) -> bool:
        """A valid complaint that a case acts on (new or joined), the ones acknowledged."""
        return self.outcome in (OutcomeKind.NEW_CASE, OutcomeKind.JOINED_CASE)

    def to_outcome(self, *, replayed: bool) -> Outcome:
        assert self.outcome is not None, "only a finished complaint has an outcome"
        return Outcome(
            service_request_id=self.service_request_id,
            kind=self.outcome,
            reason=self.reason,
            priority=self.priority,
            matrix_version=self.matrix_version,
            case_number=self.case_number,
            referred_to=self.referred_to,
            service_notice=self.service_notice,
            acknowledgement_due=self.acknowledgement_due,
            external_request_id=self.external_request_id,
            written_confirmation_required=self.written_confirmation_required,
            follow_up=self.follow_up,
            anonymous=self.anonymous,
            replayed=replayed,
            first_inspection_due=self.first_inspection_due if self.on_case else None,
            resolution_due=self.resolution_due if self.on_case else None,
            sla_version=self.sla_version if self.on_case else "",
            acknowledged_at=self.acknowledged_at,
        )
