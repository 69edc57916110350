"""What the use cases need from storage: repositories and a unit of work (one
transaction). The PostgreSQL adapter implements these; unit tests use in-memory fakes."""

from __future__ import annotations

import abc
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any

from services.cases.domain.cases import Assignment, Case, CaseStatus, Disposition, Priority, StatusChange
from services.cases.domain.geo import BoundingBox
from services.cases.domain.properties import ImportCounts, Officer, Property, PropertyMatch, Zone
from services.common.events import DomainEvent


class Conflict(Exception):
    """A unique constraint refused a write that raced another transaction. The use case
    runs again in a fresh transaction and then sees the winner's row."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the append-only audit trail: who did what, to which case, when.
    ``details`` never holds complainant identity."""

    actor_subject: str
    action: str  # e.g. "case.created", "case.status_recorded", "properties.imported"
    occurred_at: datetime
    case_number: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ComplaintLink:
    """What one complaint did (the idempotency record of OpenCase), with how its own
    location matched the roll, so a retry answers exactly as the first call did."""

    complaint_id: str
    case_number: str
    disposition: Disposition
    match: PropertyMatch = field(default_factory=PropertyMatch)


@dataclass(frozen=True, slots=True)
class Resolution:
    """What the record holds for a new complaint, read in one go once the dedupe lock is
    held: the complaint itself if it was already recorded (a retry), and the cases it could
    belong to (policy 6.6.3, 6.6.5)."""

    # The complaint's own record and the case it went to, for a retry.
    replay: tuple[ComplaintLink, Case] | None = None
    # Roll or address keys: the open case with the key and code, and the most recently
    # received case with them whatever its status.
    open_case: Case | None = None
    latest: Case | None = None
    # GPS keys: every GPS-keyed case with the code inside the search box, any status.
    nearby: tuple[Case, ...] = ()


@dataclass(frozen=True, slots=True)
class ReferenceVersions:
    """Versions of the reference tables; each moves whenever its table changes."""

    officers: int
    zones: int


@dataclass(frozen=True, slots=True)
class CaseFilter:
    statuses: frozenset[CaseStatus] = frozenset()
    priority: Priority | None = None
    zone_code: str = ""
    assigned_officer_id: str = ""
    service_code: str = ""
    include_restricted: bool = False
    department: str = ""  # a department's queue (issue 4)


# Position in the work queue: (priority rank, received_at, case_number).
QueueCursor = tuple[int, datetime, str]


class PropertyRepository(abc.ABC):
    @abc.abstractmethod
    async def get(self, roll_number: str) -> Property | None: ...

    @abc.abstractmethod
    async def by_street_line(self, street_line: str) -> list[Property]:
        """Parcels whose normalised address has this street line (any unit)."""

    async def prefetch_street_lines(self, street_lines: Collection[str]) -> None:  # noqa: B027
        """A hint that ``by_street_line`` will be asked for these in this transaction (an
        OpenCases batch): an implementation may read them all at once. Optional."""

    @abc.abstractmethod
    async def in_box(self, box: BoundingBox) -> list[Property]: ...

    @abc.abstractmethod
    async def upsert(self, properties: Sequence[Property]) -> ImportCounts: ...

    @abc.abstractmethod
    async def count(self) -> int: ...


class ZoneRepository(abc.ABC):
    @abc.abstractmethod
    async def all(self) -> list[Zone]: ...

    @abc.abstractmethod
    async def upsert(self, zones: Sequence[Zone]) -> ImportCounts: ...

    @abc.abstractmethod
    async def count(self) -> int: ...


class OfficerRepository(abc.ABC):
    @abc.abstractmethod
    async def all(self) -> list[Officer]: ...

    @abc.abstractmethod
    async def get(self, officer_id: str) -> Officer | None: ...

    @abc.abstractmethod
    async def upsert(self, officers: Sequence[Officer]) -> ImportCounts: ...

    @abc.abstractmethod
    async def count_active(self) -> int: ...


class CaseRepository(abc.ABC):
    @abc.abstractmethod
    async def get(self, case_number: str, *, for_update: bool = False) -> Case | None: ...

    @abc.abstractmethod
    async def resolve(
        self,
        complaint_id: str,
        service_code: str,
        *,
        dedupe_key: str = "",
        gps_box: BoundingBox | None = None,
    ) -> Resolution:
        """The complaint's own record, if any, and either the cases with ``dedupe_key``
        (open one, latest one) or, given ``gps_box``, the GPS-keyed cases inside it."""

    @abc.abstractmethod
    async def next_sequence(self, year: int) -> int:
        """The next case number sequence of ``year``. Numbers are never reused; one taken
        by a transaction that rolls back is skipped (a gap)."""

    async def next_sequence_and_load(
        self, year: int, officer_ids: Collection[str]
    ) -> tuple[int, dict[str, int]]:
        """``next_sequence(year)`` and ``open_load(officer_ids)`` together: what a new case
        needs once it is known to be new (its number, and the caseloads its routing weighs).
        An adapter that can send both at once overrides this."""
        return await self.next_sequence(year), await self.open_load(officer_ids)

    @abc.abstractmethod
    async def add(self, case: Case, complaint: ComplaintLink, opened: StatusChange) -> None:
        """Store a new case with its first complaint and its initial status. ``id`` may
        stay unset until something needs it (the SQL adapter sends the rows with the
        transaction's next statement and reads the id back only when asked)."""

    @abc.abstractmethod
    async def save(self, case: Case) -> None: ...

    @abc.abstractmethod
    async def add_complaint(
        self, case: Case, link: ComplaintLink, *, channel: str, received_at: datetime
    ) -> None: ...

    @abc.abstractmethod
    async def status_change(self, case_number: str, step_key: str) -> StatusChange | None: ...

    @abc.abstractmethod
    async def add_status_change(self, case: Case, change: StatusChange) -> None: ...

    @abc.abstractmethod
    async def history(self, case_number: str) -> list[StatusChange]: ...

    @abc.abstractmethod
    async def assignment(self, case_number: str, step_key: str) -> Assignment | None: ...

    @abc.abstractmethod
    async def add_assignment(self, case: Case, assignment: Assignment) -> None: ...

    @abc.abstractmethod
    async def list(self, where: CaseFilter, after: QueueCursor | None, limit: int) -> list[Case]:
        """Cases in work-queue order (policy 6.5.4), strictly after ``after``."""

    @abc.abstractmethod
    async def count(self, where: CaseFilter) -> int: ...

    @abc.abstractmethod
    async def open_load(self, officer_ids: Collection[str]) -> dict[str, int]:
        """Open cases assigned to each of these officers (absent: none)."""

    @abc.abstractmethod
    async def count_open(self) -> int: ...


class AbstractUnitOfWork(abc.ABC):
    properties: PropertyRepository
    zones: ZoneRepository
    officers: OfficerRepository
    cases: CaseRepository

    async def __aenter__(self) -> AbstractUnitOfWork:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Anything not committed explicitly is rolled back.
        await self.rollback()

    @abc.abstractmethod
    async def commit(self) -> None: ...

    @abc.abstractmethod
    async def rollback(self) -> None: ...

    @abc.abstractmethod
    async def reference_versions(self) -> ReferenceVersions: ...

    @abc.abstractmethod
    async def lock(self, names: Sequence[str]) -> None:
        """Transaction-scoped exclusive locks on names, taken in sorted order."""

    @abc.abstractmethod
    async def publish(self, event: DomainEvent) -> None:
        """Queue an event for publication when (and only if) this transaction commits."""

    @abc.abstractmethod
    async def audit(self, entry: AuditEntry) -> None: ...
