"""In-memory fakes of intake's ports for service-layer unit tests (Architecture Patterns
with Python, ch. 3). They keep the contracts the real adapters keep: the unique
(source, external_request_id), state guards on link/finish, messages written only by the
call that finishes a complaint."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from services.common.errors import Unavailable
from services.intake.domain.dead_letter import DeadLetter, DeadLetterOriginal
from services.intake.domain.matrix import (
    SEED_COUNCIL_RESOLUTION,
    SEED_EFFECTIVE_DATE,
    SEED_VERSION_LABEL,
    MatrixVersion,
    build_version,
    parse_matrix_csv,
)
from services.intake.domain.model import (
    CaseDisposition,
    ComplainantIdentity,
    ComplaintRecord,
    MarkKind,
    OutcomeKind,
    ProcessingState,
)
from services.intake.domain.public import open311_status
from services.intake.domain.referral import ReferralService, parse_referral_services
from services.intake.domain.sla import SlaTargets, parse_sla_targets
from services.intake.service_layer.ports import (
    CaseLink,
    CaseStatusChange,
    ClosureDay,
    ComplaintQuery,
    Finish,
    Mark,
    MessageBuilder,
    NewComplaint,
    NewDeadLetter,
    OpenCaseCommand,
    OutboxMessage,
    Reschedule,
    VaultRead,
)
from workflows.contracts import AcknowledgementRecorded, CaseLifecycleInput

MATRIX_CSV = Path(__file__).resolve().parents[3] / "config" / "service_level_matrix.csv"
SLA_YAML = MATRIX_CSV.parent / "sla_targets.yaml"
REFERRALS_YAML = MATRIX_CSV.parent / "referral_services.yaml"


def shipped_sla() -> SlaTargets:
    return parse_sla_targets(SLA_YAML.read_text())


def shipped_referrals() -> dict[str, ReferralService]:
    return parse_referral_services(REFERRALS_YAML.read_text(), seed_matrix().entries)


def seed_matrix() -> MatrixVersion:
    return build_version(
        SEED_VERSION_LABEL,
        SEED_EFFECTIVE_DATE,
        SEED_COUNCIL_RESOLUTION,
        parse_matrix_csv(MATRIX_CSV.read_text()),
    )


class FakeComplaintRepository:
    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.clock = clock
        self.records: dict[str, ComplaintRecord] = {}
        self.vault: dict[str, tuple[ComplainantIdentity, str]] = {}
        self.outbox: list[OutboxMessage] = []
        self.vault_reads: list[tuple[str, str, tuple[str, ...], str]] = []
        self.applied_events: set[str] = set()
        self.case_status_at: dict[str, datetime] = {}
        self._seq = 0

    async def record(
        self, new: NewComplaint, finish: Finish | None, messages: MessageBuilder
    ) -> tuple[ComplaintRecord, bool]:
        if new.external_request_id:
            existing = await self.find_external(new.source, new.external_request_id)
            if existing is not None:
                return existing, False
        self._seq += 1
        now = self.clock()
        record = ComplaintRecord(
            id=new.id,
            service_request_id=f"SR-{now.year}-{self._seq:07d}",
            source=new.source,
            channel=new.channel,
            external_request_id=new.external_request_id,
            service_code=new.service_code,
            service_name=new.service_name,
            bylaw_number=new.bylaw_number,
            priority=new.priority,
            enforced_by=new.enforced_by,
            matrix_version=new.matrix_version,
            location=new.location,
            media_url=new.media_url,
            requested_at=new.requested_at,
            received_at=now,
            updated_at=now,
            state=ProcessingState.RECEIVED,
            acknowledgement_due=new.acknowledgement_due,
            verbal=new.verbal,
            anonymous=new.anonymous,
            restricted=new.restricted,
            written_confirmation_required=new.written_confirmation_required,
            follow_up=new.follow_up,
            entered_by=new.entered_by,
            first_inspection_due=new.first_inspection_due,
            resolution_due=new.resolution_due,
            sla_version=new.sla_version,
        )
        if finish is not None:
            record = self._finished(record, finish)
            self.outbox.extend(messages(record))
        self.records[record.id] = record
        self.vault[record.id] = (new.identity, new.description)
        return record, True

    @staticmethod
    def _finished(record: ComplaintRecord, finish: Finish) -> ComplaintRecord:
        if finish.link is not None:
            record = dataclasses.replace(
                record,
                disposition=finish.link.disposition,
                related_case_number=finish.link.case_number,
                zone=finish.link.zone,
                property_roll_number=finish.link.property_roll_number,
            )
        return dataclasses.replace(
            record,
            state=ProcessingState.DONE,
            outcome=finish.outcome,
            reason=finish.reason,
            reason_code=finish.reason_code,
            service_notice=finish.service_notice,
            case_number=finish.case_number,
            referred_to=finish.referred_to,
            updated_at=datetime.now(UTC),
            acknowledged_at=record.acknowledged_at
            or (datetime.now(UTC) if finish.acknowledged_via else None),
            acknowledged_via=record.acknowledged_via or finish.acknowledged_via,
            # As the SQL repository: acknowledged at once means nothing left to signal.
            ack_signalled_at=record.ack_signalled_at
            or (datetime.now(UTC) if finish.acknowledged_via and record.acknowledged_at is None else None),
        )

    async def link_case(self, complaint_id: str, link: CaseLink) -> ComplaintRecord:
        record = self.records[complaint_id]
        if record.state is ProcessingState.RECEIVED:
            repeat = link.disposition is CaseDisposition.REPEAT_AFTER_COMPLIANCE
            record = dataclasses.replace(
                record,
                state=ProcessingState.CASE_LINKED,
                disposition=link.disposition,
                case_number="" if repeat else link.case_number,
                related_case_number=link.case_number,
                zone=link.zone,
                property_roll_number=link.property_roll_number,
            )
            self.records[complaint_id] = record
        return record

    async def finish(
        self, current: ComplaintRecord, finish: Finish, messages: MessageBuilder
    ) -> ComplaintRecord:
        complaint_id = current.id
        record = self.records[complaint_id]
        if record.state is ProcessingState.DONE:
            return record
        record = self._finished(record, finish)
        self.records[complaint_id] = record
        self.outbox.extend(messages(record))
        return record

    async def apply_case_status(
        self, change: CaseStatusChange, messages: MessageBuilder
    ) -> list[ComplaintRecord]:
        if change.event_id in self.applied_events:
            return []
        self.applied_events.add(change.event_id)
        changed = []
        for record in list(self.records.values()):
            if record.case_number != change.case_number:
                continue
            at = self.case_status_at.get(record.id)
            if at is not None and at > change.occurred_at:
                continue
            self.case_status_at[record.id] = change.occurred_at
            after = dataclasses.replace(record, case_status=change.status, updated_at=change.occurred_at)
            self.records[record.id] = after
            if open311_status(record.outcome, record.case_status) != open311_status(
                after.outcome, after.case_status
            ):
                changed.append(after)
                self.outbox.extend(messages(after))
        return changed

    async def announce(self, record: ComplaintRecord, messages: MessageBuilder) -> None:
        self.outbox.extend(messages(record))

    async def get(self, service_request_id: str) -> ComplaintRecord | None:
        return next((r for r in self.records.values() if r.service_request_id == service_request_id), None)

    async def find_external(self, source: str, external_request_id: str) -> ComplaintRecord | None:
        return next(
            (
                r
                for r in self.records.values()
                if r.source == source and r.external_request_id == external_request_id
            ),
            None,
        )

    async def search(self, query: ComplaintQuery) -> list[ComplaintRecord]:
        found = []
        for r in self.records.values():
            closed = r.outcome in (OutcomeKind.REFERRED, OutcomeKind.REJECTED)
            if query.service_request_ids and r.service_request_id not in query.service_request_ids:
                continue
            if query.service_code and r.service_code != query.service_code:
                continue
            if query.start and r.requested_at < query.start:
                continue
            if query.end and r.requested_at > query.end:
                continue
            if (query.status == "closed" and not closed) or (query.status == "open" and closed):
                continue
            found.append(r)
        found.sort(key=lambda r: r.requested_at, reverse=True)
        return found[: query.limit]

    async def unfinished(self, received_before: datetime, limit: int) -> list[ComplaintRecord]:
        return [
            r
            for r in self.records.values()
            if r.state is not ProcessingState.DONE and r.received_at < received_before
        ][:limit]

    async def read_vault(
        self, service_request_id: str, actor_subject: str, actor_roles: Sequence[str], purpose: str
    ) -> VaultRead | None:
        record = await self.get(service_request_id)
        if record is None:
            return None
        identity, description = self.vault[record.id]
        self.vault_reads.append((service_request_id, actor_subject, tuple(actor_roles), purpose))
        return VaultRead(record, identity, description)

    # -- acknowledgements

    async def record_acknowledgement(
        self, complaint_id: str, sent_at: datetime, via: str, by: str
    ) -> tuple[ComplaintRecord, bool]:
        record = self.records[complaint_id]
        if record.acknowledged_at is not None:
            return record, False
        record = dataclasses.replace(
            record, acknowledged_at=sent_at, acknowledged_via=via, acknowledged_by=by
        )
        self.records[complaint_id] = record
        return record, True

    async def unsignalled_acknowledgements(self, limit: int) -> list[ComplaintRecord]:
        return [
            r
            for r in self.records.values()
            if r.acknowledged_at is not None
            and r.ack_signalled_at is None
            and r.state is ProcessingState.DONE
            and r.case_number
            and r.disposition is CaseDisposition.CREATED
        ][:limit]

    async def mark_signalled(self, complaint_ids: Sequence[str], at: datetime) -> None:
        for i in complaint_ids:
            self.records[i] = dataclasses.replace(self.records[i], ack_signalled_at=at)

    @staticmethod
    def _is_overdue(r: ComplaintRecord, now: datetime) -> bool:
        return (
            r.acknowledged_at is None
            and r.acknowledgement_due is not None
            and r.acknowledgement_due < now
            and (r.outcome is None or r.on_case)
        )

    async def raise_overdue_alerts(
        self, now: datetime, limit: int, messages: MessageBuilder
    ) -> list[ComplaintRecord]:
        alerted: list[ComplaintRecord] = []
        for r in sorted(self.records.values(), key=lambda r: r.acknowledgement_due or now):
            if len(alerted) >= limit:
                break
            if self._is_overdue(r, now) and r.ack_overdue_alerted_at is None:
                r = dataclasses.replace(r, ack_overdue_alerted_at=now)
                self.records[r.id] = r
                self.outbox.extend(messages(r))
                alerted.append(r)
        return alerted

    async def overdue_acknowledgements(self, now: datetime, limit: int) -> list[ComplaintRecord]:
        found = [r for r in self.records.values() if self._is_overdue(r, now)]
        found.sort(key=lambda r: (r.acknowledgement_due or now, r.service_request_id))
        return found[:limit]

    async def pending_acknowledgements(self, due_from: datetime) -> list[ComplaintRecord]:
        return [
            r
            for r in self.records.values()
            if r.acknowledged_at is None
            and r.acknowledgement_due is not None
            and r.acknowledgement_due >= due_from
        ]

    async def reschedule(self, changes: Sequence[Reschedule]) -> None:
        for change in changes:
            record = self.records[change.complaint_id]
            if record.acknowledged_at is None:
                self.records[record.id] = dataclasses.replace(
                    record,
                    acknowledgement_due=change.acknowledgement_due,
                    first_inspection_due=change.first_inspection_due or record.first_inspection_due,
                )

    # -- frivolous / vexatious

    async def mark(
        self, complaint_id: str, mark: Mark, messages: MessageBuilder
    ) -> tuple[ComplaintRecord, bool]:
        record = self.records[complaint_id]
        if record.marked_kind is not None or not record.on_case:
            return record, False
        others_live = any(
            r.id != record.id and r.case_number == record.case_number and r.on_case
            for r in self.records.values()
        )
        record = dataclasses.replace(
            record,
            outcome=OutcomeKind.REJECTED,
            reason=mark.outcome_reason,
            reason_code=mark.kind.reason_code,
            service_notice=mark.service_notice,
            marked_kind=mark.kind,
            marked_reason=mark.reason,
            marked_by=mark.by,
            marked_at=mark.at,
            case_rejection_pending=bool(record.case_number) and not others_live,
            updated_at=mark.at,
        )
        self.records[record.id] = record
        self.outbox.extend(messages(record))
        return record, True

    async def pending_case_rejections(self, limit: int) -> list[ComplaintRecord]:
        return [r for r in self.records.values() if r.case_rejection_pending][:limit]

    async def clear_case_rejection(self, complaint_id: str) -> None:
        self.records[complaint_id] = dataclasses.replace(
            self.records[complaint_id], case_rejection_pending=False
        )


class FakeDeadLetters:
    def __init__(self) -> None:
        self.letters: dict[str, tuple[DeadLetter, bytes, dict[str, str]]] = {}
        self.by_key: dict[str, str] = {}
        self.reads: list[tuple[str, str, str, str]] = []

    async def add(self, new: NewDeadLetter) -> tuple[DeadLetter, bool]:
        if new.msg_key in self.by_key:
            return self.letters[self.by_key[new.msg_key]][0], False
        letter = DeadLetter(
            id=new.id,
            external_request_id=new.external_request_id,
            reason=new.reason,
            violations=new.violations,
            stream_sequence=new.stream_sequence,
            deliveries=new.deliveries,
            failed_at=datetime.now(UTC),
            status="open",
            size_bytes=len(new.body),
            sha256=hashlib.sha256(new.body).hexdigest(),
        )
        self.letters[new.id] = (letter, new.body, dict(new.headers))
        self.by_key[new.msg_key] = new.id
        return letter, True

    async def list(self, status: str, limit: int) -> list[DeadLetter]:
        return [d for d, _, _ in self.letters.values() if not status or d.status == status][:limit]

    async def read(
        self, dead_letter_id: str, actor_subject: str, actor_roles: Sequence[str], purpose: str, action: str
    ) -> DeadLetterOriginal | None:
        if dead_letter_id not in self.letters:
            return None
        letter, body, headers = self.letters[dead_letter_id]
        self.reads.append((dead_letter_id, actor_subject, purpose, action))
        return DeadLetterOriginal(letter, body, headers)

    async def mark_resubmitted(self, dead_letter_id: str, service_request_id: str, by: str) -> DeadLetter:
        letter, body, headers = self.letters[dead_letter_id]
        letter = dataclasses.replace(
            letter, status="resubmitted", resubmitted_as=service_request_id, resubmitted_by=by
        )
        self.letters[dead_letter_id] = (letter, body, headers)
        return letter


class FakeMatrixRepository:
    def __init__(self, versions: Sequence[MatrixVersion] = ()) -> None:
        self.versions = list(versions)
        self.shas: dict[str, str] = {v.label: "seed" for v in versions}
        self.days: dict[date, ClosureDay] = {}

    async def load_versions(self) -> list[MatrixVersion]:
        return list(self.versions)

    async def add_version(
        self, version: MatrixVersion, source_sha256: str, loaded_by: str
    ) -> tuple[bool, str]:
        if version.label in self.shas:
            return False, self.shas[version.label]
        self.versions.append(version)
        self.shas[version.label] = source_sha256
        return True, source_sha256

    async def closure_days(self, start: date | None = None, end: date | None = None) -> list[ClosureDay]:
        return [
            d
            for day, d in sorted(self.days.items())
            if (start is None or day >= start) and (end is None or day <= end)
        ]

    async def declare_closure_day(self, day: ClosureDay) -> ClosureDay:
        return self.days.setdefault(day.day, day)


class FakeCases:
    """Creates a case per (service code, address); a later complaint there joins it, or
    is a repeat after compliance once ``complied`` holds that key (policy 6.6.3)."""

    def __init__(self) -> None:
        self.calls: list[OpenCaseCommand] = []
        self.by_complaint: dict[str, CaseLink] = {}
        self.by_place: dict[tuple[str, str], str] = {}
        self.complied: set[tuple[str, str]] = set()
        self.down = False
        self._n = 0

    async def open_case(self, command: OpenCaseCommand) -> CaseLink:
        self.calls.append(command)
        if self.down:
            raise Unavailable("cases service: UNAVAILABLE")
        if command.complaint_id in self.by_complaint:  # idempotent on complaint id
            return self.by_complaint[command.complaint_id]
        key = (command.service_code, command.location.address.lower())
        if key in self.complied:
            link = CaseLink(CaseDisposition.REPEAT_AFTER_COMPLIANCE, self.by_place[key])
        elif key in self.by_place:
            link = CaseLink(CaseDisposition.JOINED, self.by_place[key])
        else:
            self._n += 1
            number = f"BL-2026-{self._n:06d}"
            self.by_place[key] = number
            link = CaseLink(
                CaseDisposition.CREATED, number, zone="Z1", property_roll_number="1121000000000000001"
            )
        self.by_complaint[command.complaint_id] = link
        return link


class FakeWorkflows:
    def __init__(self) -> None:
        self.started: dict[str, CaseLifecycleInput] = {}
        self.calls = 0
        self.down = False
        self.signals: list[tuple[str, AcknowledgementRecorded]] = []
        self.closed: dict[str, tuple[MarkKind, str, str]] = {}

    async def start_case_workflow(self, payload: CaseLifecycleInput) -> None:
        self.calls += 1
        if self.down:
            raise Unavailable("temporal: UNAVAILABLE")
        self.started.setdefault(payload.case_number, payload)

    async def signal_acknowledgement(self, case_number: str, signal: AcknowledgementRecorded) -> bool:
        if self.down:
            raise Unavailable("temporal: UNAVAILABLE")
        if case_number not in self.started or case_number in self.closed:
            return False
        self.signals.append((case_number, signal))
        return True

    async def reject_case(self, case_number: str, kind: MarkKind, complaint_id: str, actor: str) -> str:
        if self.down:
            raise Unavailable("temporal: UNAVAILABLE")
        if case_number not in self.started:
            return "no_workflow"
        if case_number in self.closed:
            return "already_closed"
        self.closed[case_number] = (kind, complaint_id, actor)
        return "closed"
