"""What the intake use cases need from the outside world, as protocols: storage, the cases
service and the workflow engine. Adapters implement them for PostgreSQL, gRPC and
Temporal; unit tests use in-memory fakes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from services.intake.domain.dead_letter import DeadLetter, DeadLetterOriginal
from services.intake.domain.matrix import MatrixVersion
from services.intake.domain.model import (
    CaseDisposition,
    ComplainantIdentity,
    ComplaintRecord,
    Location,
    MarkKind,
    OutcomeKind,
    Priority,
    ReasonCode,
)
from workflows.contracts import AcknowledgementRecorded, CaseLifecycleInput


@dataclass(frozen=True, slots=True)
class NewComplaint:
    """Everything recorded when a complaint arrives. ``identity`` and ``description`` go
    to the encrypted vault only."""

    id: str
    source: str
    channel: str
    external_request_id: str
    client_id: str
    entered_by: str
    service_code: str
    service_name: str
    bylaw_number: str
    priority: Priority
    enforced_by: tuple[str, ...]
    matrix_version: str
    location: Location
    media_url: str
    verbal: bool
    anonymous: bool
    restricted: bool
    written_confirmation_required: bool
    follow_up: tuple[str, ...]
    requested_at: datetime
    acknowledgement_due: datetime | None
    identity: ComplainantIdentity
    description: str
    first_inspection_due: datetime | None = None
    resolution_due: datetime | None = None
    sla_version: str = ""

    def __repr__(self) -> str:
        return f"NewComplaint(id={self.id!r}, service_code={self.service_code!r}, channel={self.channel!r})"


@dataclass(frozen=True, slots=True)
class Finish:
    """The final outcome of a complaint."""

    outcome: OutcomeKind
    reason: str
    reason_code: ReasonCode
    service_notice: str
    case_number: str = ""  # the case the complaint belongs to (new or joined)
    referred_to: str = ""
    link: CaseLink | None = None  # what the cases service answered, when it was asked
    workflow_started: bool = False
    # Set when the outcome itself is the acknowledgement, sent back on the channel at once
    # (policy 6.5.5; portal, 311, email): how it went out.
    acknowledged_via: str = ""


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    subject: str
    payload: dict[str, Any]
    msg_id: str


# Builds the messages announcing a finished complaint; called inside the transaction that
# finishes it, once the stored record (with its public id) is known.
MessageBuilder = Callable[[ComplaintRecord], Sequence[OutboxMessage]]


@dataclass(frozen=True, slots=True)
class CaseStatusChange:
    """A ``case.status_changed`` event of the cases service, as far as intake needs it."""

    event_id: str
    case_number: str
    status: str
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class ComplaintQuery:
    """Open311 GET requests.json filters."""

    service_request_ids: tuple[str, ...] = ()
    service_code: str = ""
    start: datetime | None = None
    end: datetime | None = None
    status: str = ""  # "open" | "closed" | ""
    limit: int = 1000


@dataclass(frozen=True, slots=True)
class VaultRead:
    record: ComplaintRecord
    identity: ComplainantIdentity
    description: str

    def __repr__(self) -> str:
        return f"VaultRead(service_request_id={self.record.service_request_id!r})"


@dataclass(frozen=True, slots=True)
class ClosureDay:
    day: date
    reason: str
    declared_by: str


@dataclass(frozen=True, slots=True)
class Mark:
    """A staff marking as frivolous or vexatious, with what the complaint becomes."""

    kind: MarkKind
    reason: str  # the staff's reason, staff-only
    by: str
    at: datetime
    outcome_reason: str
    service_notice: str


@dataclass(frozen=True, slots=True)
class Reschedule:
    complaint_id: str
    acknowledgement_due: datetime
    first_inspection_due: datetime | None


@dataclass(frozen=True, slots=True)
class NewDeadLetter:
    id: str
    msg_key: str
    stream_sequence: int | None
    external_request_id: str
    subject: str
    reason: str
    violations: tuple[dict[str, str | None], ...]
    deliveries: int
    body: bytes
    headers: dict[str, str]

    def __repr__(self) -> str:
        return f"NewDeadLetter(id={self.id!r}, msg_key={self.msg_key!r})"


class ComplaintRepository(Protocol):
    async def record(
        self, new: NewComplaint, finish: Finish | None, messages: MessageBuilder
    ) -> tuple[ComplaintRecord, bool]:
        """Insert the complaint and its vault row in one transaction, already finished when
        ``finish`` is given (its messages written to the outbox in that transaction).
        When (source, external_request_id) exists, nothing is written and the stored
        complaint is returned with ``False``."""
        ...

    async def link_case(self, complaint_id: str, link: CaseLink) -> ComplaintRecord:
        """received → case_linked (no-op if already past it): keeps the case number when
        the step after it (starting the workflow) cannot be done now."""
        ...

    async def finish(
        self, record: ComplaintRecord, finish: Finish, messages: MessageBuilder
    ) -> ComplaintRecord:
        """→ done with the outcome (and the case link), and its messages on the outbox, in
        one transaction. Only the first call for a complaint writes anything; later calls
        return it."""
        ...

    async def announce(self, record: ComplaintRecord, messages: MessageBuilder) -> None:
        """Write messages about a complaint to the outbox (its own transaction)."""
        ...

    async def apply_case_status(
        self, change: CaseStatusChange, messages: MessageBuilder
    ) -> list[ComplaintRecord]:
        """Record the case's new status on every complaint that belongs to the case, once
        per event and never over a newer status; write ``messages`` for each complaint
        whose public status (open/closed) changed, in the same transaction. Returns those
        complaints."""
        ...

    async def get(self, service_request_id: str) -> ComplaintRecord | None: ...

    async def find_external(self, source: str, external_request_id: str) -> ComplaintRecord | None: ...

    async def search(self, query: ComplaintQuery) -> list[ComplaintRecord]: ...

    async def unfinished(self, received_before: datetime, limit: int) -> list[ComplaintRecord]: ...

    async def read_vault(
        self, service_request_id: str, actor_subject: str, actor_roles: Sequence[str], purpose: str
    ) -> VaultRead | None:
        """Decrypt one complainant's identity and write the audit record, atomically."""
        ...

    # -- acknowledgements (policy 4.2, 6.5.5)

    async def record_acknowledgement(
        self, complaint_id: str, sent_at: datetime, via: str, by: str
    ) -> tuple[ComplaintRecord, bool]:
        """Record that the acknowledgement went out; only the first recording is written
        (``False`` and the stored complaint when one exists)."""
        ...

    async def unsignalled_acknowledgements(self, limit: int) -> list[ComplaintRecord]:
        """Acknowledged complaints on a case whose workflow has not been told yet."""
        ...

    async def mark_signalled(self, complaint_ids: Sequence[str], at: datetime) -> None: ...

    async def raise_overdue_alerts(
        self, now: datetime, limit: int, messages: MessageBuilder
    ) -> list[ComplaintRecord]:
        """Valid complaints past their acknowledgement due time without one and not yet
        alerted: mark them alerted and write ``messages`` for each, in one transaction
        (so each complaint is alerted once)."""
        ...

    async def overdue_acknowledgements(self, now: datetime, limit: int) -> list[ComplaintRecord]: ...

    async def pending_acknowledgements(self, due_from: datetime) -> list[ComplaintRecord]:
        """Complaints still to be acknowledged whose due time is at or after ``due_from``."""
        ...

    async def reschedule(self, changes: Sequence[Reschedule]) -> None: ...

    # -- frivolous / vexatious (policy 4.4, 4.11)

    async def mark(
        self, complaint_id: str, mark: Mark, messages: MessageBuilder
    ) -> tuple[ComplaintRecord, bool]:
        """End a complaint on a case as rejected with the staff's marking, and decide in
        the same transaction whether its case rests on it alone (``case_rejection_pending``).
        Only the first marking is written (``False`` and the stored complaint otherwise)."""
        ...

    async def pending_case_rejections(self, limit: int) -> list[ComplaintRecord]: ...

    async def clear_case_rejection(self, complaint_id: str) -> None: ...


class DeadLetterRepository(Protocol):
    async def add(self, new: NewDeadLetter) -> tuple[DeadLetter, bool]:
        """Store the original (encrypted); idempotent on ``msg_key``: a second call returns
        the stored dead letter with ``False``."""
        ...

    async def list(self, status: str, limit: int) -> list[DeadLetter]: ...

    async def read(
        self, dead_letter_id: str, actor_subject: str, actor_roles: Sequence[str], purpose: str, action: str
    ) -> DeadLetterOriginal | None:
        """Decrypt one original and write the audit record, atomically."""
        ...

    async def mark_resubmitted(self, dead_letter_id: str, service_request_id: str, by: str) -> DeadLetter: ...


class MatrixRepository(Protocol):
    async def load_versions(self) -> list[MatrixVersion]: ...

    async def add_version(
        self, version: MatrixVersion, source_sha256: str, loaded_by: str
    ) -> tuple[bool, str]:
        """(created, stored sha256). When the label already exists nothing is written and
        the sha256 of the file stored under it is returned."""
        ...

    async def closure_days(self, start: date | None = None, end: date | None = None) -> list[ClosureDay]: ...

    async def declare_closure_day(self, day: ClosureDay) -> ClosureDay:
        """Idempotent on the date: the first declaration stands."""
        ...


@dataclass(frozen=True, slots=True)
class OpenCaseCommand:
    complaint_id: str  # our public id (idempotency key at the cases service)
    service_code: str
    bylaw_number: str
    priority: Priority
    matrix_version: str
    enforced_by: tuple[str, ...]
    location: Location
    received_at: datetime
    channel: str
    restricted: bool
    summary: str
    actor_subject: str


@dataclass(frozen=True, slots=True)
class CaseLink:
    disposition: CaseDisposition
    case_number: str
    zone: str = ""
    property_roll_number: str = ""
    # As cases assigned them on creation; passed to the workflow so it need not read them back.
    assigned_officer: str = ""
    department: str = ""


class CasesPort(Protocol):
    async def open_case(self, command: OpenCaseCommand) -> CaseLink:
        """Raises ``Unavailable`` when the cases service cannot be reached (retry later)."""
        ...


class WorkflowPort(Protocol):
    async def start_case_workflow(self, payload: CaseLifecycleInput) -> None:
        """Idempotent: a workflow already running (or finished) for the case is fine.
        Raises ``Unavailable`` when Temporal cannot be reached."""
        ...

    async def signal_acknowledgement(self, case_number: str, signal: AcknowledgementRecorded) -> bool:
        """Tell the case workflow the acknowledgement went out. ``False`` when there is no
        running workflow to tell (closed); raises ``Unavailable`` to retry later."""
        ...

    async def reject_case(self, case_number: str, kind: MarkKind, complaint_id: str, actor: str) -> str:
        """Close the case through its workflow because its only complaint was found
        frivolous/vexatious: rejected while still received, else dismissed. Returns
        "closed", "already_closed", "no_workflow" or "refused: <why>"; raises
        ``Unavailable`` to retry later."""
        ...
