"""Intake use cases: submit a complaint from any channel, read the public view, serve the
Service Level Matrix, load a new matrix version, declare closure days and read a
complainant's identity under audit.

``submit`` is the one path every channel takes (the gRPC servicer for the portal and staff
channels, the NATS consumer for 311). Two short writes, and idempotent steps between them,
so that a crash at any point resumes on redelivery without repeating a side effect:

    validate → classify → record complaint + vault        [write 1; final if referred/rejected]
             → cases.OpenCase                             (idempotent on our public id)
             → start CaseLifecycleWorkflow for a new case (idempotent on case-<n>)
             → done + case link + outbox messages         [write 2]

When the workflow cannot be started (Temporal down) the case link is written on its own
(state case_linked) so staff see the case number and the retry does not ask cases again.

At 311 volume the adapters batch what concurrent complaints do at the same step (the two
writes, and the cases call as ``OpenCases``); each complaint still takes this path on its
own and gets its own answer or error.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.common.errors import (
    AlreadyExists,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unavailable,
)
from services.common.events import DomainEvent
from services.common.messaging import SUBJECT_311_UPDATES
from services.intake.domain.classification import Decision, Route, classify
from services.intake.domain.communication import REASON_REPEAT_AFTER_COMPLIANCE, service_notice
from services.intake.domain.matrix import (
    MatrixEntry,
    MatrixVersion,
    build_version,
    parse_matrix_csv,
    responsible_departments,
)
from services.intake.domain.model import (
    CHANNELS_311,
    IMMEDIATE_ACK_CHANNELS,
    STAFF_CHANNELS,
    CaseDisposition,
    ComplaintRecord,
    Outcome,
    OutcomeKind,
    ProcessingState,
    ReasonCode,
    Submission,
    immediate_ack_method,
    request_source,
)
from services.intake.domain.public import PublicComplaint, public_view, to_open311
from services.intake.domain.referral import ReferralService
from services.intake.domain.service_definition import ATTRIBUTES, AttributeSpec
from services.intake.domain.sla import SlaDue, SlaTargets
from services.intake.domain.validation import ValidComplaint, validate_submission
from services.intake.service_layer.ports import (
    CaseLink,
    CasesPort,
    CaseStatusChange,
    ClosureDay,
    ComplaintQuery,
    ComplaintRepository,
    Finish,
    MatrixRepository,
    NewComplaint,
    OpenCaseCommand,
    OutboxMessage,
    Reschedule,
    VaultRead,
    WorkflowPort,
)
from services.intake.service_layer.reference import ReferenceData
from workflows.contracts import CaseLifecycleInput
from workflows.lifecycle_config import CALENDAR_YEARS_AHEAD, LifecycleConfig, targets_for
from workflows.lifecycle_config import load_config as load_lifecycle_config

log = logging.getLogger(__name__)

# Stable ids for the messages a complaint produces, so a message is the same message
# however often the code path that builds it runs.
MESSAGE_NAMESPACE = uuid.UUID("5b0c7c4e-4f0f-4b8e-9d5c-1a3e2f6b7c80")

MATRIX_LOADER_ROLES = frozenset({"clerk"})  # issue 3: the Clerk loads a new matrix version
CLOSURE_DAY_ROLES = frozenset({"clerk", "supervisor"})
VAULT_READER_ROLES = frozenset({"officer", "supervisor", "clerk"})  # need to know (6.3.4)
RESTRICTED_VAULT_ROLES = frozenset({"supervisor"})  # complaints about staff/Council (6.10)
MAX_LIST = 1000  # Open311 convention


@dataclass(frozen=True, slots=True)
class Caller:
    """The staff member behind a call (from the verified token at the gateway); empty for
    public channels."""

    subject: str = ""
    roles: tuple[str, ...] = ()

    def require(self, allowed: frozenset[str], what: str) -> None:
        if not self.subject or not allowed.intersection(self.roles):
            raise PermissionDenied(f"{what} requires one of the roles: {', '.join(sorted(allowed))}")


@dataclass(frozen=True, slots=True)
class ServiceDefinition:
    entry: MatrixEntry
    matrix_version: str
    attributes: tuple[AttributeSpec, ...]


def _parse_day(value: str, field: str, policy: str | None = None) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidArgument(FieldViolation(field, "must be a date YYYY-MM-DD", policy)) from None


class IntakeService:
    def __init__(
        self,
        complaints: ComplaintRepository,
        matrices: MatrixRepository,
        reference: ReferenceData,
        cases: CasesPort,
        workflows: WorkflowPort,
        *,
        sla: SlaTargets,
        lifecycle: LifecycleConfig | None = None,
        referrals: Mapping[str, ReferralService] | None = None,
        timezone: str = "America/Toronto",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sla = sla
        # The case lifecycle's targets, handed to each new case's workflow at start.
        self.lifecycle = lifecycle or load_lifecycle_config()
        self.referrals: Mapping[str, ReferralService] = referrals or {}
        self.complaints = complaints
        self.matrices = matrices
        self.reference = reference
        self.cases = cases
        self.workflows = workflows
        self.tz = ZoneInfo(timezone)
        self.clock = clock

    # ------------------------------------------------------------------ submit

    async def submit(self, sub: Submission, caller: Caller = Caller()) -> Outcome:
        """Record, classify and route one complaint; idempotent on (source, external id)."""
        channel = sub.channel.strip()
        if channel in STAFF_CHANNELS and not caller.subject:
            raise PermissionDenied(f"channel {channel} is for complaints entered by staff")
        if sub.verbal and not caller.subject:
            raise PermissionDenied("only staff record a verbal complaint (policy 6.5.2)")
        source = request_source(channel, sub.client_id.strip())
        external_id = sub.external_request_id.strip()

        now = self.clock()
        catalog = await self.reference.catalog()
        matrix = catalog.in_force(now.astimezone(self.tz).date())
        try:
            valid = validate_submission(sub, matrix, now, self.referrals)
        except InvalidArgument:
            # A resend of a complaint accepted earlier is answered from the record even if
            # it would not pass today (e.g. a newer matrix dropped its service code).
            existing = await self.complaints.find_external(source, external_id) if external_id else None
            if existing is None:
                raise
            return await self._resume(existing, replayed=True)
        decision = classify(valid)
        calendar = await self.reference.calendar()
        # Only a complaint the Town acts on is acknowledged (policy 6.5.5) and gets service
        # targets (6.8.5); a referral or rejection is answered at once with its reason.
        sla_due = (
            self.sla.due(valid.entry.priority, now, calendar) if decision.route is Route.PROCEED else None
        )
        new = self._new_complaint(valid, decision, source, caller, sla_due)
        finish = self._immediate_finish(valid, decision)
        # Idempotency is the insert itself (unique source + external id), not a look-up
        # first: one round trip less per complaint, and no race between look and insert.
        record, created = await self.complaints.record(new, finish, self._messages)
        if not created:  # sent before (a retry or a redelivery): the stored complaint answers
            return await self._resume(record, replayed=True)
        log.info(
            "complaint recorded",
            extra={
                "service_request_id": record.service_request_id,
                "service_code": record.service_code,
                "channel": record.channel,
                "route": decision.route.value,
            },
        )
        return await self._resume(record, replayed=False)

    def _new_complaint(
        self,
        valid: ValidComplaint,
        decision: Decision,
        source: str,
        caller: Caller,
        sla_due: SlaDue | None,
    ) -> NewComplaint:
        sub, entry = valid.submission, valid.entry
        return NewComplaint(
            id=str(uuid.uuid4()),
            source=source,
            channel=sub.channel,
            external_request_id=sub.external_request_id,
            client_id=sub.client_id.strip(),
            entered_by=caller.subject,
            service_code=entry.service_code,
            service_name=entry.service_name,
            bylaw_number=entry.bylaw_number,
            priority=entry.priority,
            enforced_by=entry.enforced_by,
            matrix_version=valid.matrix_version,
            location=sub.location,
            media_url=sub.media_url,
            verbal=sub.verbal,
            anonymous=decision.anonymous or decision.reason_code is ReasonCode.ANONYMOUS,
            restricted=valid.restricted,
            written_confirmation_required=decision.written_confirmation_required,
            follow_up=decision.follow_up,
            requested_at=valid.requested_at,
            acknowledgement_due=sla_due.acknowledge if sla_due else None,
            identity=valid.identity,
            description=sub.description,
            first_inspection_due=sla_due.first_inspection if sla_due else None,
            resolution_due=sla_due.resolution if sla_due else None,
            sla_version=sla_due.version if sla_due else "",
        )

    def _immediate_finish(self, valid: ValidComplaint, decision: Decision) -> Finish | None:
        if decision.route is Route.PROCEED:
            return None
        assert decision.reason_code is not None
        kind = OutcomeKind.REFERRED if decision.route is Route.REFERRED else OutcomeKind.REJECTED
        entry = valid.entry
        return Finish(
            outcome=kind,
            reason=decision.reason,
            reason_code=decision.reason_code,
            referred_to=decision.referred_to,
            service_notice=service_notice(
                kind,
                service_name=entry.service_name,
                priority=entry.priority,
                departments=entry.responsible_departments,
                reason=decision.reason,
                reason_code=decision.reason_code,
                tz=self.tz,
            ),
        )

    async def _resume(self, record: ComplaintRecord, *, replayed: bool) -> Outcome:
        was_done = record.state is ProcessingState.DONE
        record = await self.advance(record)
        if replayed and was_done and record.channel in CHANNELS_311:
            # The 311 system sent it again, so it may have missed our answer: the stored
            # outcome goes back on the updates subject again (nothing else is repeated).
            await self.complaints.announce(record, self._replay_messages)
        return record.to_outcome(replayed=replayed)

    async def advance(self, record: ComplaintRecord) -> ComplaintRecord:
        """Take a recorded complaint from wherever it stopped to done. Every step is
        idempotent, so running this twice (a redelivery racing the first delivery, or the
        sweeper) does no harm.

        On the usual path the case link and the outcome are written in one transaction
        after the workflow started; the link is written on its own (state case_linked)
        only when the workflow cannot be started, so staff see the case number while
        Temporal is down and the resumed attempt does not ask the cases service again.
        """
        if record.state is ProcessingState.DONE:
            return record
        if record.state is ProcessingState.CASE_LINKED:
            assert record.disposition is not None
            link = CaseLink(
                record.disposition, record.related_case_number, record.zone, record.property_roll_number
            )
        else:
            link = await self.cases.open_case(self._open_case_command(record))
        if link.disposition is CaseDisposition.CREATED:
            try:
                await self.workflows.start_case_workflow(await self.workflow_input(record, link))
            except Unavailable:
                if record.state is ProcessingState.RECEIVED:
                    await self.complaints.link_case(record.id, link)
                raise
        return await self.complaints.finish(record, self._conclusion(record, link), self._messages)

    def _open_case_command(self, record: ComplaintRecord) -> OpenCaseCommand:
        notes = [f"{record.service_name}; received by {record.channel}; priority {record.priority.value}"]
        notes.extend(record.follow_up)  # flags only, never identity
        return OpenCaseCommand(
            complaint_id=record.service_request_id,
            service_code=record.service_code,
            bylaw_number=record.bylaw_number,
            priority=record.priority,
            matrix_version=record.matrix_version,
            enforced_by=record.enforced_by,
            location=record.location,
            received_at=record.received_at,
            channel=record.channel,
            restricted=record.restricted,
            summary="; ".join(notes),
            actor_subject=record.entered_by,
        )

    def _notice(
        self,
        record: ComplaintRecord,
        kind: OutcomeKind,
        *,
        case_number: str = "",
        reason: str = "",
        reason_code: ReasonCode | None = None,
    ) -> str:
        return service_notice(
            kind,
            service_name=record.service_name,
            priority=record.priority,
            departments=responsible_departments(record.enforced_by),
            case_number=case_number,
            reason=reason,
            reason_code=reason_code,
            acknowledgement_due=record.acknowledgement_due,
            first_inspection_due=record.first_inspection_due,
            resolution_due=record.resolution_due,
            tz=self.tz,
        )

    @staticmethod
    def _ack_via(record: ComplaintRecord) -> str:
        # On these channels the outcome is the acknowledgement and goes back at once (6.5.5).
        return immediate_ack_method(record.channel) if record.channel in IMMEDIATE_ACK_CHANNELS else ""

    def _conclusion(self, record: ComplaintRecord, link: CaseLink) -> Finish:
        """The outcome once the cases service placed the complaint (policy 6.6.3, 6.6.5)."""
        case = link.case_number
        if link.disposition is CaseDisposition.CREATED:
            return Finish(
                outcome=OutcomeKind.NEW_CASE,
                reason=f"New case {case} opened.",
                reason_code=ReasonCode.NEW_CASE,
                case_number=case,
                link=link,
                workflow_started=True,
                service_notice=self._notice(record, OutcomeKind.NEW_CASE, case_number=case),
                acknowledged_via=self._ack_via(record),
            )
        if link.disposition is CaseDisposition.JOINED:
            return Finish(
                outcome=OutcomeKind.JOINED_CASE,
                reason=(
                    f"Joined open case {case}: an open case for the same matter at the same property "
                    f"absorbs further complaints, each of which still gets a response (policy 6.6.5)."
                ),
                reason_code=ReasonCode.JOINED_OPEN_CASE,
                case_number=case,
                link=link,
                service_notice=self._notice(record, OutcomeKind.JOINED_CASE, case_number=case),
                acknowledged_via=self._ack_via(record),
            )
        assert link.disposition is CaseDisposition.REPEAT_AFTER_COMPLIANCE, link.disposition
        reason = REASON_REPEAT_AFTER_COMPLIANCE.format(case=case)
        return Finish(
            outcome=OutcomeKind.REJECTED,
            reason=reason,
            reason_code=ReasonCode.REPEAT_AFTER_COMPLIANCE,
            link=link,
            service_notice=self._notice(
                record, OutcomeKind.REJECTED, reason=reason, reason_code=ReasonCode.REPEAT_AFTER_COMPLIANCE
            ),
        )

    async def workflow_input(self, record: ComplaintRecord, link: CaseLink) -> CaseLifecycleInput:
        """The workflow's input: case data only, never complainant identity (policy 6.3.4;
        the history is visible to every supervisor in the Temporal UI).

        It carries what intake already knows — the record cases just created (zone,
        officer, department), the lifecycle targets with the Town's closure days, and the
        acknowledgement when the outcome itself is one — so the case starts in a single
        workflow task with no activity and no acknowledgement signal (issue 3's volume)."""
        calendar = await self.reference.calendar()
        received_on = record.received_at.astimezone(self.tz).date()
        horizon = received_on + timedelta(days=366 * CALENDAR_YEARS_AHEAD)
        closure_days = [d.isoformat() for d in calendar.closure_days if received_on <= d <= horizon]
        acknowledged = bool(self._ack_via(record))
        return CaseLifecycleInput(
            case_number=link.case_number,
            service_code=record.service_code,
            bylaw_number=record.bylaw_number,
            priority=record.priority.value,
            matrix_version=record.matrix_version,
            received_at=record.received_at,
            enforced_by=list(record.enforced_by),
            zone=link.zone,
            property_roll_number=link.property_roll_number,
            acknowledgement_due=record.acknowledgement_due,
            restricted=record.restricted,
            anonymous=record.anonymous,
            case_record_known=True,
            assigned_officer=link.assigned_officer,
            department=link.department,
            targets=targets_for(self.lifecycle, record.priority.value, closure_days),
            acknowledged_at=self.clock() if acknowledged else None,
        )

    def _messages(self, record: ComplaintRecord) -> Sequence[OutboxMessage]:
        """What a finished complaint announces, written with its final state (outbox)."""
        event = DomainEvent(
            event_type="complaint.received",
            case_number=record.case_number or None,
            event_id=str(uuid.uuid5(MESSAGE_NAMESPACE, f"{record.id}:received")),
            occurred_at=record.updated_at,
            # Counts for the monthly Council report (policy 6.5.11): type, channel, outcome.
            data={
                "service_request_id": record.service_request_id,
                "service_code": record.service_code,
                "bylaw_number": record.bylaw_number,
                "priority": record.priority.value,
                "channel": record.channel,
                "outcome": record.outcome.value if record.outcome else None,
                "reason_code": record.reason_code.value if record.reason_code else None,
                "referred_to": record.referred_to or None,
                "related_case_number": record.related_case_number or None,
                "matrix_version": record.matrix_version,
                "received_at": record.received_at.isoformat(),
                "restricted": record.restricted,
                "acknowledgement_due": _iso_or_none(record.acknowledgement_due),
                "acknowledged_at": _iso_or_none(record.acknowledged_at),
                "first_inspection_due": _iso_or_none(record.first_inspection_due),
                "resolution_due": _iso_or_none(record.resolution_due),
                "sla_version": record.sla_version or None,
            },
        )
        messages = [OutboxMessage(event.subject, event.to_json(), event.event_id)]
        if record.channel in CHANNELS_311:
            # The outcome goes back to the 311 system as the public request object
            # (DESIGN.md section 3).
            messages.append(
                OutboxMessage(
                    SUBJECT_311_UPDATES,
                    to_open311(public_view(record)),
                    str(uuid.uuid5(MESSAGE_NAMESPACE, f"{record.id}:311-outcome")),
                )
            )
        return messages

    def _replay_messages(self, record: ComplaintRecord) -> Sequence[OutboxMessage]:
        # A fresh message id: this is a new answer to a new request, which JetStream's
        # dedupe window must not swallow.
        return [OutboxMessage(SUBJECT_311_UPDATES, to_open311(public_view(record)), str(uuid.uuid4()))]

    async def apply_case_status(self, change: CaseStatusChange) -> int:
        """The cases service reported a case's new status: the complaints on that case
        follow it, and 311 complaints whose public status changed (open → closed, or
        reopened) are told on the updates subject (DESIGN.md section 3). Returns how many
        complaints changed public status."""
        changed = await self.complaints.apply_case_status(change, self._status_messages)
        if changed:
            log.info(
                "complaints follow their case",
                extra={"case_number": change.case_number, "status": change.status, "changed": len(changed)},
            )
        return len(changed)

    def _status_messages(self, record: ComplaintRecord) -> Sequence[OutboxMessage]:
        if record.channel not in CHANNELS_311:
            return []
        body = to_open311(public_view(record))
        key = f"{record.id}:311-status:{record.case_status}:{record.updated_at.isoformat()}"
        return [OutboxMessage(SUBJECT_311_UPDATES, body, str(uuid.uuid5(MESSAGE_NAMESPACE, key)))]

    async def resume_unfinished(self, older_than_seconds: float = 120.0, limit: int = 100) -> int:
        """Finish complaints whose processing stopped part-way (a crash on a channel with no
        redelivery, e.g. the portal); returns how many reached done."""
        cutoff = datetime.fromtimestamp(self.clock().timestamp() - older_than_seconds, UTC)
        finished = 0
        for record in await self.complaints.unfinished(cutoff, limit):
            try:
                if (await self.advance(record)).state is ProcessingState.DONE:
                    finished += 1
            except Unavailable as exc:
                log.warning(
                    "resume deferred: %s", exc, extra={"service_request_id": record.service_request_id}
                )
                break  # the dependency is down; the next sweep retries
        return finished

    # ------------------------------------------------------------------ public reads

    async def get_public(self, service_request_id: str) -> PublicComplaint:
        record = await self.complaints.get(service_request_id.strip())
        if record is None:
            raise NotFound(f"service request {service_request_id} not found")
        return public_view(record)

    async def list_public(self, query: ComplaintQuery) -> list[PublicComplaint]:
        violations = []
        if query.status not in ("", "open", "closed"):
            violations.append(FieldViolation("status", "must be open or closed (Open311)"))
        if query.limit < 0:
            violations.append(FieldViolation("limit", "must not be negative"))
        if query.start and query.end and query.start > query.end:
            violations.append(FieldViolation("end_date", "must not be before start_date (Open311)"))
        if violations:
            raise InvalidArgument(violations)
        limit = min(query.limit or MAX_LIST, MAX_LIST)
        records = await self.complaints.search(
            ComplaintQuery(
                service_request_ids=tuple(i.strip() for i in query.service_request_ids if i.strip()),
                service_code=query.service_code.strip(),
                start=query.start,
                end=query.end,
                status=query.status,
                limit=limit,
            )
        )
        return [public_view(r) for r in records]

    async def matrix_in_force(self, as_of: date | None = None) -> MatrixVersion:
        catalog = await self.reference.catalog()
        return catalog.in_force(as_of or self.clock().astimezone(self.tz).date())

    async def service_definition(self, service_code: str) -> ServiceDefinition:
        matrix = await self.matrix_in_force()
        code = service_code.strip()
        referral = self.referrals.get(code) if matrix.get(code) is None else None
        if referral is not None:  # policy 6.5.9: offered so it can be referred
            return ServiceDefinition(
                entry=referral.as_entry(), matrix_version=matrix.label, attributes=ATTRIBUTES
            )
        entry = matrix.require(code)
        return ServiceDefinition(entry=entry, matrix_version=matrix.label, attributes=ATTRIBUTES)

    # ------------------------------------------------------------------ staff actions

    async def ensure_seed_matrix(self, csv_text: str, label: str, effective: date, resolution: str) -> bool:
        """Load the matrix shipped with the system when the database has none yet."""
        if await self.matrices.load_versions():
            return False
        version = build_version(label, effective, resolution, parse_matrix_csv(csv_text))
        created, _ = await self.matrices.add_version(version, _sha256(csv_text), "system:seed")
        self.reference.invalidate()
        return created

    async def load_matrix(
        self, csv_text: str, label: str, effective_date: str, resolution: str, caller: Caller
    ) -> tuple[MatrixVersion, bool]:
        """A new Council-approved matrix version (policy 6.8.4); the Clerk loads it."""
        caller.require(MATRIX_LOADER_ROLES, "loading the Service Level Matrix")
        effective = _parse_day(effective_date, "effective_date", "6.8.4")
        version = build_version(label, effective, resolution, parse_matrix_csv(csv_text))
        sha = _sha256(csv_text)
        created, stored_sha = await self.matrices.add_version(version, sha, caller.subject)
        if not created and stored_sha != sha:
            raise AlreadyExists(
                f"matrix version {version.label!r} is already loaded from a different file; "
                "give the new version its own label"
            )
        self.reference.invalidate()
        log.info(
            "matrix version loaded",
            extra={
                "matrix_version": version.label,
                "version_created": created,
                "services": len(version.entries),
            },
        )
        return version, created

    async def declare_closure_day(self, day: str, reason: str, caller: Caller) -> ClosureDay:
        """A day the Town office is closed is not a business day (policy 4.2)."""
        caller.require(CLOSURE_DAY_ROLES, "declaring a closure day")
        parsed = _parse_day(day, "date", "4.2")
        reason = " ".join(reason.split())
        if not reason or len(reason) > 200:
            raise InvalidArgument(FieldViolation("reason", "is required, at most 200 characters", "4.2"))
        stored = await self.matrices.declare_closure_day(ClosureDay(parsed, reason, caller.subject))
        self.reference.invalidate()
        moved = await self.reschedule_acknowledgements(stored.day)
        log.info("closure day declared", extra={"day": stored.day.isoformat(), "rescheduled": moved})
        return stored

    async def reschedule_acknowledgements(self, day: date) -> int:
        """A closure day is not a business day (policy 4.2), so every acknowledgement still
        pending whose due date is on or after it moves out by that day, as does its first
        inspection target; returns how many moved."""
        calendar = await self.reference.calendar()
        start = datetime.combine(day, time.min, tzinfo=self.tz)
        changes: list[Reschedule] = []
        for record in await self.complaints.pending_acknowledgements(start):
            due = self.sla.due(record.priority, record.received_at, calendar)
            if due.acknowledge != record.acknowledgement_due:
                changes.append(Reschedule(record.id, due.acknowledge, due.first_inspection))
        if changes:
            await self.complaints.reschedule(changes)
        return len(changes)

    async def closure_days(self, start: str = "", end: str = "") -> list[ClosureDay]:
        return await self.matrices.closure_days(
            _parse_day(start, "from_date") if start.strip() else None,
            _parse_day(end, "to_date") if end.strip() else None,
        )

    async def reveal_complainant(self, service_request_id: str, purpose: str, caller: Caller) -> VaultRead:
        """The identity behind a complaint, for staff who need to know it (policy 6.3.4);
        every read is audited with the purpose given."""
        caller.require(VAULT_READER_ROLES, "reading a complainant's identity")
        purpose = " ".join(purpose.split())
        if len(purpose) < 5 or len(purpose) > 500:
            raise InvalidArgument(
                FieldViolation("purpose", "state why you need to know, 5 to 500 characters", "6.3.4")
            )
        record = await self.complaints.get(service_request_id.strip())
        if record is None:
            raise NotFound(f"service request {service_request_id} not found")
        if record.restricted:
            caller.require(RESTRICTED_VAULT_ROLES, "a complaint about staff or Council (policy 6.10)")
        read = await self.complaints.read_vault(
            record.service_request_id, caller.subject, caller.roles, purpose
        )
        if read is None:
            raise NotFound(f"service request {service_request_id} not found")
        log.info(
            "complainant identity read",
            extra={"service_request_id": record.service_request_id, "actor": caller.subject},
        )
        return read


def _iso_or_none(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
