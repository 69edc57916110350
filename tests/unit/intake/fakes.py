"""In-memory fakes of intake's ports for service-layer unit tests (Architecture Patterns
with Python, ch. 3). They keep the contracts the real adapters keep: the unique
(source, external_request_id), state guards on link/finish, messages written only by the
call that finishes a complaint."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from services.common.errors import Unavailable
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
    OutcomeKind,
    ProcessingState,
)
from services.intake.domain.public import open311_status
from services.intake.service_layer.ports import (
    CaseLink,
    CaseStatusChange,
    ClosureDay,
    ComplaintQuery,
    Finish,
    MessageBuilder,
    NewComplaint,
    OpenCaseCommand,
    OutboxMessage,
    VaultRead,
)
from workflows.contracts import CaseLifecycleInput

MATRIX_CSV = Path(__file__).resolve().parents[3] / "config" / "service_level_matrix.csv"


def seed_matrix() -> MatrixVersion:
    return build_version(
        SEED_VERSION_LABEL,
        SEED_EFFECTIVE_DATE,
        SEED_COUNCIL_RESOLUTION,
        parse_matrix_csv(MATRIX_CSV.read_text()),
    )


class FakeComplaintRepository:
    def __init__(self) -> None:
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
        now = datetime.now(UTC)
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

    async def start_case_workflow(self, payload: CaseLifecycleInput) -> None:
        self.calls += 1
        if self.down:
            raise Unavailable("temporal: UNAVAILABLE")
        self.started.setdefault(payload.case_number, payload)
