"""PostgreSQL implementation of the cases repositories and unit of work.

One :class:`SqlUnitOfWork` is one transaction on one connection. Unique-constraint
violations, deadlocks and serialisation failures surface as
:class:`services.cases.service_layer.ports.Conflict`, which the use cases retry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Select,
    and_,
    func,
    literal_column,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.cases.adapters.orm import (
    AssignmentRow,
    AuditLogRow,
    CaseComplaintRow,
    CaseNumberCounterRow,
    CaseRow,
    OfficerRow,
    PropertyRow,
    StatusHistoryRow,
    ZoneRow,
    outbox,
)
from services.cases.domain.addresses import normalise_address
from services.cases.domain.cases import (
    OPEN_STATUSES,
    Assignment,
    Case,
    CaseStatus,
    Disposition,
    StatusChange,
    priority_from_rank,
)
from services.cases.domain.geo import BoundingBox, Point
from services.cases.domain.properties import ImportCounts, Officer, Property, PropertyMatch, Zone
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
    ZoneRepository,
)
from services.common.events import DomainEvent
from services.common.outbox import enqueue_event

# SQLSTATEs that mean "lost a race; run it again".
RETRYABLE_SQLSTATES = frozenset({"23505", "40001", "40P01"})  # unique, serialization, deadlock

_OPEN = [s.value for s in OPEN_STATUSES]
# In RETURNING of an upsert: true for a row that was inserted, false for one updated.
_INSERTED = literal_column("(xmax = 0)", Boolean)


def lock_id(name: str) -> int:
    """A stable signed 64-bit advisory lock id for a name (same in every process)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


def _changed(table: Any, columns: Sequence[str]) -> ColumnElement[bool]:
    """``(t.a, t.b) IS DISTINCT FROM (excluded.a, excluded.b)``: skip no-op upserts."""
    excluded = insert(table).excluded
    return tuple_(*(getattr(table, c) for c in columns)).is_distinct_from(
        tuple_(*(getattr(excluded, c) for c in columns))
    )


def _property(row: PropertyRow) -> Property:
    return Property(
        roll_number=row.roll_number,
        address=row.address,
        point=Point(row.lat, row.lon) if row.lat is not None and row.lon is not None else None,
        owner_name=row.owner_name,
        owner_mailing_address=row.owner_mailing_address,
        zone_code=row.zone_code,
        land_use=row.land_use,
        ward=row.ward,
    )


class SqlPropertyRepository(PropertyRepository):
    _COLUMNS = (
        "address",
        "address_key",
        "street_line",
        "lat",
        "lon",
        "owner_name",
        "owner_mailing_address",
        "zone_code",
        "land_use",
        "ward",
    )

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, roll_number: str) -> Property | None:
        row = await self.session.get(PropertyRow, roll_number)
        return _property(row) if row else None

    async def by_street_line(self, street_line: str) -> list[Property]:
        rows = await self.session.scalars(
            select(PropertyRow)
            .where(PropertyRow.street_line == street_line)
            .order_by(PropertyRow.roll_number)
        )
        return [_property(r) for r in rows]

    async def in_box(self, box: BoundingBox) -> list[Property]:
        rows = await self.session.scalars(
            select(PropertyRow).where(
                PropertyRow.lat.between(box.min_lat, box.max_lat),
                PropertyRow.lon.between(box.min_lon, box.max_lon),
            )
        )
        return [_property(r) for r in rows]

    async def upsert(self, properties: Sequence[Property]) -> ImportCounts:
        if not properties:
            return ImportCounts()
        values = []
        for p in properties:
            normalised = normalise_address(p.address)
            values.append(
                {
                    "roll_number": p.roll_number,
                    "address": p.address,
                    "address_key": normalised.key if normalised else "",
                    "street_line": normalised.street_line if normalised else "",
                    "lat": p.point.lat if p.point else None,
                    "lon": p.point.lon if p.point else None,
                    "owner_name": p.owner_name,
                    "owner_mailing_address": p.owner_mailing_address,
                    "zone_code": p.zone_code,
                    "land_use": p.land_use,
                    "ward": p.ward,
                }
            )
        stmt = insert(PropertyRow).values(values)
        upsert = stmt.on_conflict_do_update(
            index_elements=[PropertyRow.roll_number],
            set_={**{c: getattr(stmt.excluded, c) for c in self._COLUMNS}, "updated_at": func.now()},
            where=_changed(PropertyRow, self._COLUMNS),
        ).returning(_INSERTED)
        inserted_flags = list(await self.session.scalars(upsert))
        inserted = sum(1 for f in inserted_flags if f)
        updated = len(inserted_flags) - inserted
        return ImportCounts(inserted, updated, len(properties) - len(inserted_flags))

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(PropertyRow)) or 0)


class SqlZoneRepository(ZoneRepository):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self) -> list[Zone]:
        rows = await self.session.scalars(select(ZoneRow).order_by(ZoneRow.zone_code))
        return [Zone(r.zone_code, r.name, r.geojson) for r in rows]

    async def version(self) -> str:
        row = (await self.session.execute(select(func.count(), func.max(ZoneRow.updated_at)))).one()
        return f"{row[0]}:{row[1].isoformat() if row[1] else ''}"

    async def upsert(self, zones: Sequence[Zone]) -> ImportCounts:
        if not zones:
            return ImportCounts()
        stmt = insert(ZoneRow).values(
            [{"zone_code": z.zone_code, "name": z.name.strip(), "geojson": z.geojson} for z in zones]
        )
        upsert = stmt.on_conflict_do_update(
            index_elements=[ZoneRow.zone_code],
            # clock_timestamp(), not now(): the cache version must move even when a zone is
            # changed twice within one transaction's timestamp.
            set_={
                "name": stmt.excluded.name,
                "geojson": stmt.excluded.geojson,
                "updated_at": func.clock_timestamp(),
            },
            where=_changed(ZoneRow, ("name", "geojson")),
        ).returning(_INSERTED)
        flags = list(await self.session.scalars(upsert))
        inserted = sum(1 for f in flags if f)
        return ImportCounts(inserted, len(flags) - inserted, len(zones) - len(flags))

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(ZoneRow)) or 0)


def _officer(row: OfficerRow) -> Officer:
    return Officer(
        officer_id=row.officer_id,
        display_name=row.display_name,
        badge_number=row.badge_number,
        department=row.department,
        specialties=tuple(row.specialties),
        zone_codes=tuple(row.zone_codes),
        active=row.active,
    )


class SqlOfficerRepository(OfficerRepository):
    _COLUMNS = ("display_name", "badge_number", "department", "specialties", "zone_codes", "active")

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self) -> list[Officer]:
        rows = await self.session.scalars(select(OfficerRow).order_by(OfficerRow.officer_id))
        return [_officer(r) for r in rows]

    async def get(self, officer_id: str) -> Officer | None:
        row = await self.session.get(OfficerRow, officer_id)
        return _officer(row) if row else None

    async def upsert(self, officers: Sequence[Officer]) -> ImportCounts:
        if not officers:
            return ImportCounts()
        stmt = insert(OfficerRow).values(
            [
                {
                    "officer_id": o.officer_id,
                    "display_name": o.display_name.strip(),
                    "badge_number": o.badge_number.strip(),
                    "department": o.department,
                    "specialties": list(o.specialties),
                    "zone_codes": list(o.zone_codes),
                    "active": o.active,
                }
                for o in officers
            ]
        )
        upsert = stmt.on_conflict_do_update(
            index_elements=[OfficerRow.officer_id],
            set_={**{c: getattr(stmt.excluded, c) for c in self._COLUMNS}, "updated_at": func.now()},
            where=_changed(OfficerRow, self._COLUMNS),
        ).returning(_INSERTED)
        flags = list(await self.session.scalars(upsert))
        inserted = sum(1 for f in flags if f)
        return ImportCounts(inserted, len(flags) - inserted, len(officers) - len(flags))

    async def count_active(self) -> int:
        return int(
            await self.session.scalar(select(func.count()).select_from(OfficerRow).where(OfficerRow.active))
            or 0
        )


class SqlCaseRepository(CaseRepository):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _select(self) -> Select[CaseRow, PropertyRow]:
        return select(CaseRow, PropertyRow).outerjoin(
            PropertyRow, PropertyRow.roll_number == CaseRow.property_roll_number
        )

    @staticmethod
    def _case(row: CaseRow, prop: PropertyRow | None) -> Case:
        return Case(
            id=row.id,
            case_number=row.case_number,
            status=CaseStatus(row.status),
            priority=priority_from_rank(row.priority_rank),
            service_code=row.service_code,
            bylaw_number=row.bylaw_number,
            matrix_version=row.matrix_version,
            received_at=row.received_at,
            updated_at=row.updated_at,
            dedupe_key=row.dedupe_key,
            location_address=row.location_address,
            location_address_id=row.location_address_id,
            location_postal_code=row.location_postal_code,
            point=Point(row.lat, row.lon) if row.lat is not None and row.lon is not None else None,
            match=PropertyMatch(row.match_method, _property(prop) if prop else None, row.match_distance_m),
            zone_code=row.zone_code,
            assigned_officer_id=row.assigned_officer_id,
            enforced_by=tuple(row.enforced_by),
            complaint_count=row.complaint_count,
            restricted=row.restricted,
            status_reason=row.status_reason,
            outcome=row.outcome,
            summary=row.summary,
            channel=row.channel,
            closed_at=row.closed_at,
            compliance_confirmed_at=row.compliance_confirmed_at,
            department=row.department,
            compliance_deadline=row.compliance_deadline,
        )

    async def _one(self, stmt: Select[CaseRow, PropertyRow]) -> Case | None:
        row = (await self.session.execute(stmt)).first()
        return self._case(row[0], row[1]) if row else None

    async def _many(self, stmt: Select[CaseRow, PropertyRow]) -> list[Case]:
        return [self._case(r[0], r[1]) for r in (await self.session.execute(stmt)).all()]

    async def get(self, case_number: str, *, for_update: bool = False) -> Case | None:
        stmt = self._select().where(CaseRow.case_number == case_number)
        if for_update:
            stmt = stmt.with_for_update(of=CaseRow)
        return await self._one(stmt)

    async def open_for_key(self, dedupe_key: str, service_code: str) -> Case | None:
        return await self._one(
            self._select().where(
                CaseRow.dedupe_key == dedupe_key,
                CaseRow.service_code == service_code,
                CaseRow.status.in_(_OPEN),
            )
        )

    async def latest_for_key(self, dedupe_key: str, service_code: str) -> Case | None:
        return await self._one(
            self._select()
            .where(CaseRow.dedupe_key == dedupe_key, CaseRow.service_code == service_code)
            .order_by(CaseRow.received_at.desc(), CaseRow.case_number.desc())
            .limit(1)
        )

    async def gps_cases_in_box(self, box: BoundingBox, service_code: str, *, open_only: bool) -> list[Case]:
        stmt = self._select().where(
            CaseRow.dedupe_kind == "gps",
            CaseRow.service_code == service_code,
            CaseRow.lat.between(box.min_lat, box.max_lat),
            CaseRow.lon.between(box.min_lon, box.max_lon),
        )
        if open_only:
            stmt = stmt.where(CaseRow.status.in_(_OPEN))
        return await self._many(stmt)

    async def next_sequence(self, year: int) -> int:
        stmt = (
            insert(CaseNumberCounterRow)
            .values(year=year, last_value=1)
            .on_conflict_do_update(
                index_elements=[CaseNumberCounterRow.year],
                set_={"last_value": CaseNumberCounterRow.last_value + 1},
            )
            .returning(CaseNumberCounterRow.last_value)
        )
        return int(await self.session.scalar(stmt) or 0)

    @staticmethod
    def _mutable(case: Case) -> dict[str, Any]:
        return {
            "status": case.status.value,
            "priority_rank": case.priority.rank,
            "zone_code": case.zone_code,
            "assigned_officer_id": case.assigned_officer_id,
            "complaint_count": case.complaint_count,
            "restricted": case.restricted,
            "status_reason": case.status_reason,
            "outcome": case.outcome,
            "updated_at": case.updated_at,
            "closed_at": case.closed_at,
            "compliance_confirmed_at": case.compliance_confirmed_at,
            "department": case.department or "BE",
            "compliance_deadline": case.compliance_deadline,
        }

    async def add(self, case: Case) -> None:
        values = {
            **self._mutable(case),
            "case_number": case.case_number,
            "service_code": case.service_code,
            "bylaw_number": case.bylaw_number,
            "matrix_version": case.matrix_version,
            "enforced_by": list(case.enforced_by),
            "location_address": case.location_address,
            "location_address_id": case.location_address_id,
            "location_postal_code": case.location_postal_code,
            "lat": case.point.lat if case.point else None,
            "lon": case.point.lon if case.point else None,
            "property_roll_number": case.property_roll_number or None,
            "match_method": case.match.method,
            "match_distance_m": case.match.distance_m,
            "dedupe_kind": case.dedupe_key.split(":", 1)[0],
            "dedupe_key": case.dedupe_key,
            "summary": case.summary,
            "channel": case.channel,
            "received_at": case.received_at,
        }
        case.id = int(await self.session.scalar(insert(CaseRow).values(values).returning(CaseRow.id)) or 0)

    async def save(self, case: Case) -> None:
        await self.session.execute(
            update(CaseRow).where(CaseRow.case_number == case.case_number).values(self._mutable(case))
        )

    async def _case_id(self, case: Case) -> int:
        if case.id is None:
            case.id = int(
                await self.session.scalar(select(CaseRow.id).where(CaseRow.case_number == case.case_number))
                or 0
            )
        return case.id

    async def complaint(self, complaint_id: str) -> ComplaintLink | None:
        row = (
            await self.session.execute(
                select(CaseComplaintRow, CaseRow.case_number, PropertyRow)
                .join(CaseRow, CaseRow.id == CaseComplaintRow.case_id)
                .outerjoin(PropertyRow, PropertyRow.roll_number == CaseComplaintRow.match_roll_number)
                .where(CaseComplaintRow.complaint_id == complaint_id)
            )
        ).first()
        if row is None:
            return None
        link, case_number, prop = row
        match = PropertyMatch(link.match_method, _property(prop) if prop else None, link.match_distance_m)
        return ComplaintLink(complaint_id, case_number, Disposition(link.disposition), match)

    async def add_complaint(self, link: ComplaintLink, *, channel: str, received_at: datetime) -> None:
        case_id = await self.session.scalar(select(CaseRow.id).where(CaseRow.case_number == link.case_number))
        await self.session.execute(
            insert(CaseComplaintRow).values(
                complaint_id=link.complaint_id,
                case_id=case_id,
                disposition=link.disposition.value,
                channel=channel,
                match_method=link.match.method,
                match_roll_number=link.match.parcel.roll_number if link.match.parcel else None,
                match_distance_m=link.match.distance_m,
                received_at=received_at,
            )
        )

    @staticmethod
    def _change(case_number: str, row: StatusHistoryRow) -> StatusChange:
        return StatusChange(
            case_number=case_number,
            step_key=row.step_key,
            from_status=row.from_status,
            to_status=CaseStatus(row.to_status),
            reason=row.reason,
            actor_subject=row.actor_subject,
            occurred_at=row.occurred_at,
            outcome=row.outcome,
        )

    async def status_change(self, case_number: str, step_key: str) -> StatusChange | None:
        row = await self.session.scalar(
            select(StatusHistoryRow)
            .join(CaseRow, CaseRow.id == StatusHistoryRow.case_id)
            .where(CaseRow.case_number == case_number, StatusHistoryRow.step_key == step_key)
        )
        return self._change(case_number, row) if row else None

    async def add_status_change(self, case: Case, change: StatusChange) -> None:
        await self.session.execute(
            insert(StatusHistoryRow).values(
                case_id=await self._case_id(case),
                step_key=change.step_key,
                from_status=change.from_status,
                to_status=change.to_status.value,
                reason=change.reason,
                outcome=change.outcome,
                actor_subject=change.actor_subject,
                occurred_at=change.occurred_at,
            )
        )

    async def history(self, case_number: str) -> list[StatusChange]:
        rows = await self.session.scalars(
            select(StatusHistoryRow)
            .join(CaseRow, CaseRow.id == StatusHistoryRow.case_id)
            .where(CaseRow.case_number == case_number)
            # Recording order: the from→to chain, even if a step reports an earlier time.
            .order_by(StatusHistoryRow.id)
        )
        return [self._change(case_number, r) for r in rows]

    async def assignment(self, case_number: str, step_key: str) -> Assignment | None:
        row = await self.session.scalar(
            select(AssignmentRow)
            .join(CaseRow, CaseRow.id == AssignmentRow.case_id)
            .where(CaseRow.case_number == case_number, AssignmentRow.step_key == step_key)
        )
        if row is None:
            return None
        return Assignment(
            case_number=case_number,
            step_key=row.step_key,
            officer_id=row.officer_id,
            previous_officer_id=row.previous_officer_id,
            reason=row.reason,
            actor_subject=row.actor_subject,
            occurred_at=row.occurred_at,
        )

    async def add_assignment(self, case: Case, assignment: Assignment) -> None:
        await self.session.execute(
            insert(AssignmentRow).values(
                case_id=await self._case_id(case),
                step_key=assignment.step_key,
                officer_id=assignment.officer_id,
                previous_officer_id=assignment.previous_officer_id,
                reason=assignment.reason,
                actor_subject=assignment.actor_subject,
                occurred_at=assignment.occurred_at,
            )
        )

    @staticmethod
    def _filters(where: CaseFilter) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if where.statuses:
            out.append(CaseRow.status.in_(sorted(s.value for s in where.statuses)))
        if where.priority is not None:
            out.append(CaseRow.priority_rank == where.priority.rank)
        if where.zone_code:
            out.append(CaseRow.zone_code == where.zone_code)
        if where.assigned_officer_id:
            out.append(CaseRow.assigned_officer_id == where.assigned_officer_id)
        if where.service_code:
            out.append(CaseRow.service_code == where.service_code)
        if where.department:
            out.append(CaseRow.department == where.department)
        if not where.include_restricted:
            out.append(CaseRow.restricted.is_(False))
        return out

    async def list(self, where: CaseFilter, after: QueueCursor | None, limit: int) -> list[Case]:
        stmt = self._select().where(*self._filters(where))
        if after is not None:
            rank, received_at, number = after
            stmt = stmt.where(
                or_(
                    CaseRow.priority_rank > rank,
                    and_(CaseRow.priority_rank == rank, CaseRow.received_at > received_at),
                    and_(
                        CaseRow.priority_rank == rank,
                        CaseRow.received_at == received_at,
                        CaseRow.case_number > number,
                    ),
                )
            )
        stmt = stmt.order_by(CaseRow.priority_rank, CaseRow.received_at, CaseRow.case_number).limit(limit)
        return await self._many(stmt)

    async def count(self, where: CaseFilter) -> int:
        stmt = select(func.count()).select_from(CaseRow).where(*self._filters(where))
        return int(await self.session.scalar(stmt) or 0)

    async def open_load(self) -> dict[str, int]:
        rows = await self.session.execute(
            select(CaseRow.assigned_officer_id, func.count())
            .where(CaseRow.status.in_(_OPEN), CaseRow.assigned_officer_id != "")
            .group_by(CaseRow.assigned_officer_id)
        )
        return {officer: int(n) for officer, n in rows.all()}

    async def count_open(self) -> int:
        stmt = select(func.count()).select_from(CaseRow).where(CaseRow.status.in_(_OPEN))
        return int(await self.session.scalar(stmt) or 0)


class SqlUnitOfWork(AbstractUnitOfWork):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        assert self._session is not None, "unit of work used outside 'async with'"
        return self._session

    async def __aenter__(self) -> SqlUnitOfWork:
        self._session = self._sessions()
        await self._session.begin()
        self.properties = SqlPropertyRepository(self._session)
        self.zones = SqlZoneRepository(self._session)
        self.officers = SqlOfficerRepository(self._session)
        self.cases = SqlCaseRepository(self._session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await super().__aexit__(exc_type, exc, tb)
        finally:
            await self.session.close()
            self._session = None
        if isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
            raise Conflict(str(getattr(exc.orig, "sqlstate", ""))) from exc

    async def commit(self) -> None:
        try:
            await self.session.commit()
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
                raise Conflict(str(getattr(exc.orig, "sqlstate", ""))) from exc
            raise

    async def rollback(self) -> None:
        await self.session.rollback()

    async def lock(self, names: Sequence[str]) -> None:
        # Sorted by id, so two transactions wanting overlapping sets cannot deadlock.
        for ident in sorted({lock_id(n) for n in names}):
            await self.session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": ident})

    async def publish(self, event: DomainEvent) -> None:
        await enqueue_event(self.session, outbox, event)

    async def audit(self, entry: AuditEntry) -> None:
        await self.session.execute(
            insert(AuditLogRow).values(
                occurred_at=entry.occurred_at,
                actor_subject=entry.actor_subject,
                action=entry.action,
                case_number=entry.case_number,
                details=entry.details,
            )
        )
