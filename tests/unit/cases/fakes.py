"""In-memory repositories and unit of work for unit tests of the cases use cases.

They keep the same contracts as the PostgreSQL adapter (queue order, upsert counts,
open-case lookup) so the service layer's rules can be tested without a database; the
integration tests run the same rules against PostgreSQL.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.cases.domain.cases import OPEN_STATUSES, Assignment, Case, StatusChange, queue_order_key
from services.cases.domain.geo import BoundingBox
from services.cases.domain.properties import ImportCounts, Officer, Property, Zone
from services.cases.service_layer.ports import (
    AbstractUnitOfWork,
    AuditEntry,
    CaseFilter,
    CaseRepository,
    ComplaintLink,
    Conflict,
    OfficerRepository,
    PropertyRepository,
    QueueCursor,
    ReferenceVersions,
    Resolution,
    ZoneRepository,
)
from services.common.events import DomainEvent


@dataclass
class Store:
    """The committed state shared by every fake unit of work."""

    properties: dict[str, Property] = field(default_factory=dict)
    zones: dict[str, Zone] = field(default_factory=dict)
    zone_version: int = 0
    officers: dict[str, Officer] = field(default_factory=dict)
    officer_version: int = 0
    cases: dict[str, Case] = field(default_factory=dict)
    complaints: dict[str, tuple[ComplaintLink, str, datetime]] = field(default_factory=dict)
    history: list[StatusChange] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    counters: dict[int, int] = field(default_factory=dict)
    events: list[DomainEvent] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    locks: list[list[str]] = field(default_factory=list)
    # Officers whose caseloads OpenCase read, one list per read.
    load_reads: list[list[str]] = field(default_factory=list)
    commits: int = 0
    # Raise Conflict on this many upcoming commits (simulates losing a race).
    conflicts_to_raise: int = 0


def _upsert(table: dict[str, object], key: str, value: object) -> str:
    if key not in table:
        table[key] = value
        return "inserted"
    if table[key] == value:
        return "unchanged"
    table[key] = value
    return "updated"


def _count(outcomes: list[str]) -> ImportCounts:
    return ImportCounts(outcomes.count("inserted"), outcomes.count("updated"), outcomes.count("unchanged"))


class FakePropertyRepository(PropertyRepository):
    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(self, roll_number: str) -> Property | None:
        return self.store.properties.get(roll_number)

    async def by_street_line(self, street_line: str) -> list[Property]:
        found = [p for p in self.store.properties.values() if p.street_line == street_line]
        return sorted(found, key=lambda p: p.roll_number)

    async def in_box(self, box: BoundingBox) -> list[Property]:
        return [p for p in self.store.properties.values() if p.point is not None and box.contains(p.point)]

    async def upsert(self, properties: Sequence[Property]) -> ImportCounts:
        table: dict[str, object] = self.store.properties  # type: ignore[assignment]
        return _count([_upsert(table, p.roll_number, p) for p in properties])

    async def count(self) -> int:
        return len(self.store.properties)


class FakeZoneRepository(ZoneRepository):
    def __init__(self, store: Store) -> None:
        self.store = store

    async def all(self) -> list[Zone]:
        return sorted(self.store.zones.values(), key=lambda z: z.zone_code)

    async def upsert(self, zones: Sequence[Zone]) -> ImportCounts:
        table: dict[str, object] = self.store.zones  # type: ignore[assignment]
        counts = _count([_upsert(table, z.zone_code, z) for z in zones])
        if counts.inserted or counts.updated:
            self.store.zone_version += 1
        return counts

    async def count(self) -> int:
        return len(self.store.zones)


class FakeOfficerRepository(OfficerRepository):
    def __init__(self, store: Store) -> None:
        self.store = store

    async def all(self) -> list[Officer]:
        return sorted(self.store.officers.values(), key=lambda o: o.officer_id)

    async def get(self, officer_id: str) -> Officer | None:
        return self.store.officers.get(officer_id)

    async def upsert(self, officers: Sequence[Officer]) -> ImportCounts:
        table: dict[str, object] = self.store.officers  # type: ignore[assignment]
        counts = _count([_upsert(table, o.officer_id, o) for o in officers])
        if counts.inserted or counts.updated:
            self.store.officer_version += 1
        return counts

    async def count_active(self) -> int:
        return sum(1 for o in self.store.officers.values() if o.active)


class FakeCaseRepository(CaseRepository):
    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(self, case_number: str, *, for_update: bool = False) -> Case | None:
        case = self.store.cases.get(case_number)
        return copy.deepcopy(case) if case else None

    def _open_for_key(self, dedupe_key: str, service_code: str) -> Case | None:
        for case in self.store.cases.values():
            if case.dedupe_key == dedupe_key and case.service_code == service_code and case.is_open:
                return copy.deepcopy(case)
        return None

    async def resolve(
        self,
        complaint_id: str,
        service_code: str,
        *,
        dedupe_key: str = "",
        gps_box: BoundingBox | None = None,
    ) -> Resolution:
        recorded = self.store.complaints.get(complaint_id)
        replay = (recorded[0], copy.deepcopy(self.store.cases[recorded[0].case_number])) if recorded else None
        if gps_box is not None:
            nearby = tuple(
                copy.deepcopy(c)
                for c in self.store.cases.values()
                if c.dedupe_key.startswith("gps:")
                and c.service_code == service_code
                and c.point is not None
                and gps_box.contains(c.point)
            )
            return Resolution(replay, nearby=nearby)
        same = [
            c
            for c in self.store.cases.values()
            if c.dedupe_key == dedupe_key and c.service_code == service_code
        ]
        latest = max(same, key=lambda c: (c.received_at, c.case_number), default=None)
        return Resolution(
            replay, self._open_for_key(dedupe_key, service_code), copy.deepcopy(latest) if latest else None
        )

    async def next_sequence(self, year: int) -> int:
        self.store.counters[year] = self.store.counters.get(year, 0) + 1
        return self.store.counters[year]

    async def add(self, case: Case, complaint: ComplaintLink, opened: StatusChange) -> None:
        if case.case_number in self.store.cases:
            raise Conflict("case number taken")
        if case.is_open and self._open_for_key(case.dedupe_key, case.service_code):
            raise Conflict("open case exists for key")  # the partial unique index
        case.id = len(self.store.cases) + 1
        self.store.cases[case.case_number] = copy.deepcopy(case)
        await self.add_complaint(case, complaint, channel=case.channel, received_at=case.received_at)
        await self.add_status_change(case, opened)

    async def save(self, case: Case) -> None:
        self.store.cases[case.case_number] = copy.deepcopy(case)

    async def add_complaint(
        self, case: Case, link: ComplaintLink, *, channel: str, received_at: datetime
    ) -> None:
        if link.complaint_id in self.store.complaints:
            raise Conflict("complaint id taken")
        self.store.complaints[link.complaint_id] = (link, channel, received_at)

    async def status_change(self, case_number: str, step_key: str) -> StatusChange | None:
        for change in self.store.history:
            if change.case_number == case_number and change.step_key == step_key:
                return change
        return None

    async def add_status_change(self, case: Case, change: StatusChange) -> None:
        if await self.status_change(case.case_number, change.step_key):
            raise Conflict("step recorded")
        self.store.history.append(change)

    async def history(self, case_number: str) -> list[StatusChange]:
        return [c for c in self.store.history if c.case_number == case_number]

    async def assignment(self, case_number: str, step_key: str) -> Assignment | None:
        for a in self.store.assignments:
            if a.case_number == case_number and a.step_key == step_key:
                return a
        return None

    async def add_assignment(self, case: Case, assignment: Assignment) -> None:
        self.store.assignments.append(assignment)

    def _matching(self, where: CaseFilter) -> list[Case]:
        out = []
        for c in self.store.cases.values():
            if where.statuses and c.status not in where.statuses:
                continue
            if where.priority is not None and c.priority is not where.priority:
                continue
            if where.zone_code and c.zone_code != where.zone_code:
                continue
            if where.assigned_officer_id and c.assigned_officer_id != where.assigned_officer_id:
                continue
            if where.service_code and c.service_code != where.service_code:
                continue
            if c.restricted and not where.include_restricted:
                continue
            out.append(c)
        return sorted(out, key=queue_order_key)

    async def list(self, where: CaseFilter, after: QueueCursor | None, limit: int) -> list[Case]:
        rows = [c for c in self._matching(where) if after is None or queue_order_key(c) > after]
        return [copy.deepcopy(c) for c in rows[:limit]]

    async def count(self, where: CaseFilter) -> int:
        return len(self._matching(where))

    async def open_load(self, officer_ids: Collection[str]) -> dict[str, int]:
        self.store.load_reads.append(sorted(officer_ids))
        load: dict[str, int] = {}
        for c in self.store.cases.values():
            if c.status in OPEN_STATUSES and c.assigned_officer_id in officer_ids:
                load[c.assigned_officer_id] = load.get(c.assigned_officer_id, 0) + 1
        return load

    async def count_open(self) -> int:
        return sum(1 for c in self.store.cases.values() if c.is_open)


class FakeUnitOfWork(AbstractUnitOfWork):
    """Writes go to a private copy of the store and replace it on commit, so a rolled-back
    unit of work leaves nothing behind (as a database transaction would)."""

    def __init__(self, store: Store) -> None:
        self.shared = store

    async def __aenter__(self) -> FakeUnitOfWork:
        self.work = copy.deepcopy(self.shared)
        self.work.events, self.work.audit = [], []
        self.properties = FakePropertyRepository(self.work)
        self.zones = FakeZoneRepository(self.work)
        self.officers = FakeOfficerRepository(self.work)
        self.cases = FakeCaseRepository(self.work)
        return self

    async def commit(self) -> None:
        if self.shared.conflicts_to_raise:
            self.shared.conflicts_to_raise -= 1
            raise Conflict("simulated lost race")
        events, audit = self.work.events, self.work.audit
        for name in (
            "properties",
            "zones",
            "zone_version",
            "officers",
            "officer_version",
            "cases",
            "complaints",
            "history",
        ):
            setattr(self.shared, name, getattr(self.work, name))
        self.shared.assignments = self.work.assignments
        self.shared.counters = self.work.counters
        self.shared.events.extend(events)
        self.shared.audit.extend(audit)
        self.shared.locks.extend(self.work.locks[len(self.shared.locks) :])
        self.shared.load_reads.extend(self.work.load_reads[len(self.shared.load_reads) :])
        self.shared.commits += 1

    async def rollback(self) -> None:
        # Uncommitted changes live only in self.work, which is simply dropped.
        return None

    async def reference_versions(self) -> ReferenceVersions:
        return ReferenceVersions(self.work.officer_version, self.work.zone_version)

    async def lock(self, names: Sequence[str]) -> None:
        self.work.locks.append(sorted(names))

    async def publish(self, event: DomainEvent) -> None:
        self.work.events.append(event)

    async def audit(self, entry: AuditEntry) -> None:
        self.work.audit.append(entry)
