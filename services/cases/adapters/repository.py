"""PostgreSQL implementation of the cases repositories and unit of work.

One :class:`SqlUnitOfWork` is one transaction on one connection. Unique-constraint
violations, deadlocks and serialisation failures surface as
:class:`services.cases.service_layer.ports.Conflict`, which the use cases retry.

OpenCase runs at 311 volume (issue 3), so its statements are written once, at import, as
plain SQL executed on the transaction's connection (no ORM unit of work, no statement
built per call) and each does as much as it can in one round trip: the replay check and
the duplicate candidates in one query, the case with its first complaint and status in
one INSERT, the events and audit entries of the transaction in one statement at commit.
The rest of the service uses the ORM models.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

import psycopg
from sqlalchemy import (
    Boolean,
    ColumnElement,
    Select,
    and_,
    event,
    func,
    literal_column,
    or_,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.util import await_only

from services.cases.adapters.orm import (
    OPEN_STATUSES_SQL,
    SCHEMA,
    AssignmentRow,
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
    ReferenceVersions,
    Resolution,
    ZoneRepository,
)
from services.common.events import DomainEvent
from services.common.outbox import notify_channel

# SQLSTATEs that mean "lost a race; run it again".
RETRYABLE_SQLSTATES = frozenset({"23505", "40001", "40P01"})  # unique, serialization, deadlock

_OPEN = [s.value for s in OPEN_STATUSES]
# In RETURNING of an upsert: true for a row that was inserted, false for one updated.
_INSERTED = literal_column("(xmax = 0)", Boolean)


def _sqlstate(exc: DBAPIError | psycopg.Error) -> str:
    """The SQLSTATE of an error from SQLAlchemy or straight from psycopg (OpenCase's
    statements run on the driver, see _Connection)."""
    error = exc.orig if isinstance(exc, DBAPIError) else exc
    return str(getattr(error, "sqlstate", "") or "")


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


# --- OpenCase's statements ---------------------------------------------------------------

_T = f"{SCHEMA}."  # every table below lives in the service's own schema
_PROPERTY_FIELDS = (
    "roll_number",
    "address",
    "lat",
    "lon",
    "owner_name",
    "owner_mailing_address",
    "zone_code",
    "land_use",
    "ward",
)
_CASE_FIELDS = (
    "id",
    "case_number",
    "status",
    "priority_rank",
    "service_code",
    "bylaw_number",
    "matrix_version",
    "received_at",
    "updated_at",
    "dedupe_key",
    "location_address",
    "location_address_id",
    "location_postal_code",
    "lat",
    "lon",
    "match_method",
    "match_distance_m",
    "zone_code",
    "assigned_officer_id",
    "enforced_by",
    "complaint_count",
    "restricted",
    "status_reason",
    "outcome",
    "summary",
    "channel",
    "closed_at",
    "compliance_confirmed_at",
    "department",
    "compliance_deadline",
)
_NP, _NC = len(_PROPERTY_FIELDS), len(_CASE_FIELDS)


def _columns(alias: str, fields: Sequence[str]) -> str:
    return ", ".join(f"{alias}.{f}" for f in fields)


def _nulls(n: int) -> str:
    return ", ".join(["NULL"] * n)


def _pg(sql: str) -> str:
    """Written with ``:name`` parameters (as SQLAlchemy's text()); run by psycopg, which
    wants ``%(name)s``."""
    assert "%" not in sql and "::" not in sql
    return re.sub(r":(\w+)", r"%(\1)s", sql)


_SELECT_PROPERTY = f"SELECT {_columns('p', _PROPERTY_FIELDS)} FROM {_T}properties p"
_GET_PROPERTY = _pg(f"{_SELECT_PROPERTY} WHERE p.roll_number = :roll_number")
_PROPERTIES_ON_STREETS = _pg(
    f"SELECT p.street_line, {_columns('p', _PROPERTY_FIELDS)} FROM {_T}properties p "
    "WHERE p.street_line = ANY(:street_lines) ORDER BY p.street_line, p.roll_number"
)
_PROPERTIES_IN_BOX = _pg(
    f"{_SELECT_PROPERTY} WHERE p.lat BETWEEN :min_lat AND :max_lat AND p.lon BETWEEN :min_lon AND :max_lon"
)

# Rows of the resolution query: part, the case, its parcel, then (replay part only) the
# complaint's disposition, its own match method and distance, and its own matched parcel.
_PART_REPLAY, _PART_OPEN, _PART_LATEST, _PART_NEARBY = 0, 1, 2, 3
_CASE_AND_PARCEL = f"{_columns('c', _CASE_FIELDS)}, {_columns('p', _PROPERTY_FIELDS)}"
_CASES_WITH_PARCEL = f"{_T}cases c LEFT JOIN {_T}properties p ON p.roll_number = c.property_roll_number"
_NO_LINK = f"NULL, NULL, NULL, {_nulls(_NP)}"
_REPLAY = (
    f"SELECT {_PART_REPLAY} AS part, {_CASE_AND_PARCEL}, l.disposition, l.match_method, "
    f"l.match_distance_m, {_columns('lp', _PROPERTY_FIELDS)} "
    f"FROM {_T}case_complaints l JOIN {_T}cases c ON c.id = l.case_id "
    f"LEFT JOIN {_T}properties p ON p.roll_number = c.property_roll_number "
    f"LEFT JOIN {_T}properties lp ON lp.roll_number = l.match_roll_number "
    "WHERE l.complaint_id = :complaint_id"
)
_RESOLVE_BY_KEY = _pg(
    f"({_REPLAY}) UNION ALL "
    f"(SELECT {_PART_OPEN}, {_CASE_AND_PARCEL}, {_NO_LINK} FROM {_CASES_WITH_PARCEL} "
    f"WHERE c.dedupe_key = :dedupe_key AND c.service_code = :service_code "
    f"AND c.status IN ({OPEN_STATUSES_SQL}) LIMIT 1) UNION ALL "
    f"(SELECT {_PART_LATEST}, {_CASE_AND_PARCEL}, {_NO_LINK} FROM {_CASES_WITH_PARCEL} "
    "WHERE c.dedupe_key = :dedupe_key AND c.service_code = :service_code "
    "ORDER BY c.received_at DESC, c.case_number DESC LIMIT 1)"
)
_RESOLVE_BY_BOX = _pg(
    f"({_REPLAY}) UNION ALL "
    f"(SELECT {_PART_NEARBY}, {_CASE_AND_PARCEL}, {_NO_LINK} FROM {_CASES_WITH_PARCEL} "
    "WHERE c.dedupe_kind = 'gps' AND c.service_code = :service_code "
    "AND c.lat BETWEEN :min_lat AND :max_lat AND c.lon BETWEEN :min_lon AND :max_lon)"
)

# The year's case number sequence, created with the year's first case (migration 0004's
# function); a number taken by a transaction that rolls back is not reused, so a year's
# numbers may have gaps. That is the price of not queueing every new case on one row.
_NEXT_SEQUENCE = _pg(f"SELECT {_T}next_case_sequence(:year)")
_REFERENCE_VERSIONS = _pg(
    "SELECT coalesce(max(version) FILTER (WHERE name = 'officers'), 0), "
    "coalesce(max(version) FILTER (WHERE name = 'zones'), 0) "
    f"FROM {_T}reference_versions"
)
_OPEN_LOAD = _pg(
    f"SELECT officer_id, sum(open_cases) FROM {_T}officer_open_load "
    "WHERE officer_id = ANY(:officer_ids) GROUP BY officer_id"
)
# Sorted ids, locked in that order, so two transactions wanting overlapping sets cannot
# deadlock; all in one round trip.
_LOCK = _pg(
    "SELECT pg_advisory_xact_lock(id) FROM "
    "(SELECT DISTINCT unnest(CAST(:ids AS bigint[])) AS id ORDER BY 1) AS wanted"
)

_MUTABLE_FIELDS = (
    "status",
    "priority_rank",
    "zone_code",
    "assigned_officer_id",
    "complaint_count",
    "restricted",
    "status_reason",
    "outcome",
    "updated_at",
    "closed_at",
    "compliance_confirmed_at",
    "department",
    "compliance_deadline",
)
_NEW_CASE_FIELDS = (
    *_MUTABLE_FIELDS,
    "case_number",
    "service_code",
    "bylaw_number",
    "matrix_version",
    "enforced_by",
    "location_address",
    "location_address_id",
    "location_postal_code",
    "lat",
    "lon",
    "property_roll_number",
    "match_method",
    "match_distance_m",
    "dedupe_kind",
    "dedupe_key",
    "summary",
    "channel",
    "received_at",
)
_COMPLAINT_VALUES = (
    "CAST(:complaint_id AS varchar), {case_id}, CAST(:disposition AS varchar), CAST(:channel AS varchar), "
    "CAST(:link_method AS varchar), CAST(:link_roll_number AS varchar), "
    "CAST(:link_distance_m AS double precision), CAST(:link_received_at AS timestamptz)"
)
_COMPLAINT_COLUMNS = (
    "complaint_id, case_id, disposition, channel, match_method, match_roll_number, match_distance_m, "
    "received_at"
)
# The case, its first complaint and its initial status in one statement.
_ADD_CASE = _pg(
    f"WITH c AS (INSERT INTO {_T}cases ({', '.join(_NEW_CASE_FIELDS)}) "
    f"VALUES ({', '.join(':' + f for f in _NEW_CASE_FIELDS)}) RETURNING id), "
    f"l AS (INSERT INTO {_T}case_complaints ({_COMPLAINT_COLUMNS}) "
    f"SELECT {_COMPLAINT_VALUES.format(case_id='c.id')} FROM c), "
    f"h AS (INSERT INTO {_T}status_history "
    "(case_id, step_key, from_status, to_status, reason, outcome, actor_subject, occurred_at) "
    "SELECT c.id, CAST(:step_key AS varchar), CAST(:from_status AS varchar), CAST(:to_status AS varchar), "
    "CAST(:reason AS text), CAST(:change_outcome AS varchar), CAST(:actor_subject AS varchar), "
    "CAST(:occurred_at AS timestamptz) FROM c) "
    "SELECT id FROM c"
)
_ADD_COMPLAINT = _pg(
    f"INSERT INTO {_T}case_complaints ({_COMPLAINT_COLUMNS}) "
    f"SELECT {_COMPLAINT_VALUES.format(case_id='c.id')} FROM {_T}cases c WHERE c.case_number = :case_number"
)
_SAVE_CASE = _pg(
    f"UPDATE {_T}cases SET {', '.join(f'{f} = :{f}' for f in _MUTABLE_FIELDS)} "
    "WHERE case_number = :case_number"
)
# The transaction's events (outbox) and audit entries, written together at commit; the
# notification wakes the outbox relay once the transaction commits.
_FLUSH = _pg(
    f"WITH o AS (INSERT INTO {_T}outbox (msg_id, subject, payload) "
    "SELECT * FROM unnest(CAST(:msg_ids AS uuid[]), CAST(:subjects AS varchar[]), "
    "CAST(:payloads AS jsonb[]))), "
    f"a AS (INSERT INTO {_T}audit_log (occurred_at, actor_subject, action, case_number, details) "
    "SELECT * FROM unnest(CAST(:occurred AS timestamptz[]), CAST(:actors AS varchar[]), "
    "CAST(:actions AS varchar[]), CAST(:case_numbers AS varchar[]), CAST(:details AS jsonb[]))) "
    "SELECT pg_notify(:channel, '') WHERE cardinality(CAST(:msg_ids AS uuid[])) > 0"
)


def _parcel(row: Sequence[Any], at: int) -> Property | None:
    if row[at] is None:
        return None
    lat, lon = row[at + 2], row[at + 3]
    return Property(
        roll_number=row[at],
        address=row[at + 1],
        point=Point(lat, lon) if lat is not None and lon is not None else None,
        owner_name=row[at + 4],
        owner_mailing_address=row[at + 5],
        zone_code=row[at + 6],
        land_use=row[at + 7],
        ward=row[at + 8],
    )


def _case_at(row: Sequence[Any], at: int) -> Case:
    """The case in ``row[at:]`` (``_CASE_FIELDS``) and its parcel right after it."""
    (
        ident,
        case_number,
        status,
        priority_rank,
        service_code,
        bylaw_number,
        matrix_version,
        received_at,
        updated_at,
        dedupe_key,
        location_address,
        location_address_id,
        location_postal_code,
        lat,
        lon,
        match_method,
        match_distance_m,
        zone_code,
        assigned_officer_id,
        enforced_by,
        complaint_count,
        restricted,
        status_reason,
        outcome,
        summary,
        channel,
        closed_at,
        compliance_confirmed_at,
        department,
        compliance_deadline,
    ) = row[at : at + _NC]
    return Case(
        id=ident,
        case_number=case_number,
        status=CaseStatus(status),
        priority=priority_from_rank(priority_rank),
        service_code=service_code,
        bylaw_number=bylaw_number,
        matrix_version=matrix_version,
        received_at=received_at,
        updated_at=updated_at,
        dedupe_key=dedupe_key,
        location_address=location_address,
        location_address_id=location_address_id,
        location_postal_code=location_postal_code,
        point=Point(lat, lon) if lat is not None and lon is not None else None,
        match=PropertyMatch(match_method, _parcel(row, at + _NC), match_distance_m),
        zone_code=zone_code,
        assigned_officer_id=assigned_officer_id,
        enforced_by=tuple(enforced_by),
        complaint_count=complaint_count,
        restricted=restricted,
        status_reason=status_reason,
        outcome=outcome,
        summary=summary,
        channel=channel,
        closed_at=closed_at,
        compliance_confirmed_at=compliance_confirmed_at,
        department=department,
        compliance_deadline=compliance_deadline,
    )


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


def _complaint_params(link: ComplaintLink, channel: str, received_at: datetime) -> dict[str, Any]:
    return {
        "complaint_id": link.complaint_id,
        "disposition": link.disposition.value,
        "channel": channel,
        "link_method": link.match.method,
        "link_roll_number": link.match.parcel.roll_number if link.match.parcel else None,
        "link_distance_m": link.match.distance_m,
        "link_received_at": received_at,
    }


def _box(box: BoundingBox) -> dict[str, float]:
    return {"min_lat": box.min_lat, "max_lat": box.max_lat, "min_lon": box.min_lon, "max_lon": box.max_lon}


Rows = list[tuple[Any, ...]]


class _Connection:
    """The unit of work's connection, taken from its session once. OpenCase's statements
    run on the driver's connection (psycopg) directly, inside the session's transaction:
    SQLAlchemy's execution layer costs more per statement than these statements do.

    A statement whose result nobody reads (the dedupe lock, a new case's rows, a case's
    changed fields) waits and goes out with the next one, or with the commit, in a single
    round trip (psycopg's pipeline mode); an error it raises surfaces there. The server
    still runs them one after the other, in order, each with its own snapshot, exactly as
    if sent apart.
    The next statement may also come through the session (the ORM): the session's
    ``do_orm_execute`` hook sends what waits first, so nothing ever overtakes it."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._driver: Any = None  # psycopg.AsyncConnection under SQLAlchemy's adapter
        self._deferred: list[tuple[str, Mapping[str, Any]]] = []
        event.listen(session.sync_session, "do_orm_execute", self._before_orm_statement)

    def _before_orm_statement(self, state: ORMExecuteState) -> None:
        # Runs inside the session's greenlet, where await_only may wait on the event loop.
        if self._deferred:
            if self._driver is None:
                self._driver = state.session.connection().connection.driver_connection
            await_only(self.drain())

    async def _connection(self) -> Any:
        if self._driver is None:
            pooled = await (await self.session.connection()).get_raw_connection()
            self._driver = pooled.driver_connection
        return self._driver

    def defer(self, sql: str, params: Mapping[str, Any]) -> None:
        self._deferred.append((sql, params))

    async def fetch(self, sql: str, params: Mapping[str, Any] | None = None) -> Rows:
        if self._deferred:
            return (await self.fetch_together([(sql, params)]))[0]
        cursor = await (await self._connection()).execute(sql, params)
        return list(await cursor.fetchall()) if cursor.description else []

    async def fetch_together(self, statements: Sequence[tuple[str, Mapping[str, Any] | None]]) -> list[Rows]:
        """Several statements whose results are all wanted, sent in one round trip
        (pipeline mode) behind whatever was deferred; each runs as if sent alone."""
        conn = await self._connection()
        deferred, self._deferred = self._deferred, []
        cursors = []
        async with conn.pipeline():
            for before, before_params in deferred:
                await conn.execute(before, before_params)
            for sql, params in statements:
                cursors.append(await conn.execute(sql, params))
        return [list(await c.fetchall()) if c.description else [] for c in cursors]

    async def drain(self) -> None:
        """Send what is still deferred (before a commit)."""
        if self._deferred:
            sql, params = self._deferred.pop()
            await self.fetch(sql, params)


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

    def __init__(self, session: AsyncSession, connection: _Connection | None = None) -> None:
        self.session = session
        self.connection = connection or _Connection(session)
        # Parcels by street line, read once per transaction (several at once: prefetch).
        self._streets: dict[str, list[Property]] = {}

    async def _parcels(self, sql: str, params: Mapping[str, Any]) -> list[Property]:
        rows = await self.connection.fetch(sql, params)
        return [p for row in rows if (p := _parcel(row, 0)) is not None]

    async def get(self, roll_number: str) -> Property | None:
        found = await self._parcels(_GET_PROPERTY, {"roll_number": roll_number})
        return found[0] if found else None

    async def by_street_line(self, street_line: str) -> list[Property]:
        await self.prefetch_street_lines((street_line,))
        return list(self._streets[street_line])

    async def prefetch_street_lines(self, street_lines: Collection[str]) -> None:
        wanted = sorted(set(street_lines) - self._streets.keys())
        if not wanted:
            return
        found: dict[str, list[Property]] = {line: [] for line in wanted}
        for row in await self.connection.fetch(_PROPERTIES_ON_STREETS, {"street_lines": wanted}):
            if (parcel := _parcel(row, 1)) is not None:
                found[row[0]].append(parcel)
        self._streets.update(found)

    async def in_box(self, box: BoundingBox) -> list[Property]:
        return await self._parcels(_PROPERTIES_IN_BOX, _box(box))

    async def upsert(self, properties: Sequence[Property]) -> ImportCounts:
        self._streets.clear()  # what was read ahead may change now
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

    async def upsert(self, zones: Sequence[Zone]) -> ImportCounts:
        if not zones:
            return ImportCounts()
        stmt = insert(ZoneRow).values(
            [{"zone_code": z.zone_code, "name": z.name.strip(), "geojson": z.geojson} for z in zones]
        )
        upsert = stmt.on_conflict_do_update(
            index_elements=[ZoneRow.zone_code],
            # clock_timestamp(): when the zone changed, not when its transaction began.
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
    def __init__(self, session: AsyncSession, connection: _Connection | None = None) -> None:
        self.session = session
        self.connection = connection or _Connection(session)

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

    async def resolve(
        self,
        complaint_id: str,
        service_code: str,
        *,
        dedupe_key: str = "",
        gps_box: BoundingBox | None = None,
    ) -> Resolution:
        params: dict[str, Any] = {"complaint_id": complaint_id, "service_code": service_code}
        if gps_box is not None:
            sql, params = _RESOLVE_BY_BOX, params | _box(gps_box)
        else:
            sql, params = _RESOLVE_BY_KEY, params | {"dedupe_key": dedupe_key}
        replay: tuple[ComplaintLink, Case] | None = None
        open_case = latest = None
        nearby: list[Case] = []
        for row in await self.connection.fetch(sql, params):
            part, case = row[0], _case_at(row, 1)
            if part == _PART_REPLAY:
                at = 1 + _NC + _NP
                link = ComplaintLink(
                    complaint_id,
                    case.case_number,
                    Disposition(row[at]),
                    PropertyMatch(row[at + 1], _parcel(row, at + 3), row[at + 2]),
                )
                replay = (link, case)
            elif part == _PART_OPEN:
                open_case = case
            elif part == _PART_LATEST:
                latest = case
            else:
                nearby.append(case)
        return Resolution(replay, open_case, latest, tuple(nearby))

    async def next_sequence(self, year: int) -> int:
        return int((await self.connection.fetch(_NEXT_SEQUENCE, {"year": year}))[0][0])

    async def next_sequence_and_load(
        self, year: int, officer_ids: Collection[str]
    ) -> tuple[int, dict[str, int]]:
        if not officer_ids:
            return await self.next_sequence(year), {}
        sequence, load = await self.connection.fetch_together(
            [(_NEXT_SEQUENCE, {"year": year}), (_OPEN_LOAD, {"officer_ids": list(officer_ids)})]
        )
        return int(sequence[0][0]), {officer: int(n) for officer, n in load}

    async def add(self, case: Case, complaint: ComplaintLink, opened: StatusChange) -> None:
        params = {
            **_mutable(case),
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
            **_complaint_params(complaint, case.channel, case.received_at),
            "step_key": opened.step_key,
            "from_status": opened.from_status,
            "to_status": opened.to_status.value,
            "reason": opened.reason,
            "change_outcome": opened.outcome,
            "actor_subject": opened.actor_subject,
            "occurred_at": opened.occurred_at,
        }
        # Written, not read: the insert goes out with the next statement or the commit (its
        # error, e.g. a lost race on the open-case index, surfaces there). ``id`` is read
        # back only if something asks for it (``_case_id``).
        self.connection.defer(_ADD_CASE, params)

    async def save(self, case: Case) -> None:
        self.connection.defer(_SAVE_CASE, {**_mutable(case), "case_number": case.case_number})

    async def _case_id(self, case: Case) -> int:
        if case.id is None:
            case.id = int(
                await self.session.scalar(select(CaseRow.id).where(CaseRow.case_number == case.case_number))
                or 0
            )
        return case.id

    async def add_complaint(
        self, case: Case, link: ComplaintLink, *, channel: str, received_at: datetime
    ) -> None:
        self.connection.defer(
            _ADD_COMPLAINT, {**_complaint_params(link, channel, received_at), "case_number": case.case_number}
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

    async def open_load(self, officer_ids: Collection[str]) -> dict[str, int]:
        if not officer_ids:
            return {}
        rows = await self.connection.fetch(_OPEN_LOAD, {"officer_ids": list(officer_ids)})
        return {officer: int(n) for officer, n in rows}

    async def count_open(self) -> int:
        stmt = select(func.count()).select_from(CaseRow).where(CaseRow.status.in_(_OPEN))
        return int(await self.session.scalar(stmt) or 0)


class SqlUnitOfWork(AbstractUnitOfWork):
    """One transaction. Events and audit entries are kept until commit and then written in
    one statement just before it: they commit or vanish with the rest either way."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._session: AsyncSession | None = None
        self._events: list[DomainEvent] = []
        self._audit: list[AuditEntry] = []
        self._versions: ReferenceVersions | None = None

    @property
    def session(self) -> AsyncSession:
        assert self._session is not None, "unit of work used outside 'async with'"
        return self._session

    async def __aenter__(self) -> SqlUnitOfWork:
        self._session = self._sessions()
        await self._session.begin()
        self._events, self._audit = [], []
        self._versions = None
        self.connection = _Connection(self._session)
        self.properties = SqlPropertyRepository(self._session, self.connection)
        self.zones = SqlZoneRepository(self._session)
        self.officers = SqlOfficerRepository(self._session)
        self.cases = SqlCaseRepository(self._session, self.connection)
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
        if isinstance(exc, DBAPIError | psycopg.Error) and (state := _sqlstate(exc)) in RETRYABLE_SQLSTATES:
            raise Conflict(state) from exc

    async def commit(self) -> None:
        try:
            await self._flush()
            await self.connection.drain()
            await self.session.commit()
        except (DBAPIError, psycopg.Error) as exc:
            if (state := _sqlstate(exc)) in RETRYABLE_SQLSTATES:
                raise Conflict(state) from exc
            raise

    async def _flush(self) -> None:
        events, entries = self._events, self._audit
        if not events and not entries:
            return
        self._events, self._audit = [], []
        await self.connection.fetch(
            _FLUSH,
            {
                "msg_ids": [e.event_id for e in events],
                "subjects": [e.subject for e in events],
                "payloads": [json.dumps(e.to_json()) for e in events],
                "occurred": [a.occurred_at for a in entries],
                "actors": [a.actor_subject for a in entries],
                "actions": [a.action for a in entries],
                "case_numbers": [a.case_number for a in entries],
                "details": [json.dumps(a.details) for a in entries],
                "channel": notify_channel(outbox),
            },
        )

    async def rollback(self) -> None:
        self._events, self._audit = [], []
        await self.session.rollback()

    async def reference_versions(self) -> ReferenceVersions:
        # Read once per transaction: an OpenCases batch creates many cases in one.
        if self._versions is None:
            ((officers, zones),) = await self.connection.fetch(_REFERENCE_VERSIONS)
            self._versions = ReferenceVersions(int(officers), int(zones))
        return self._versions

    async def lock(self, names: Sequence[str]) -> None:
        # Nothing reads its result: it goes out with the next statement (see _Connection).
        self.connection.defer(_LOCK, {"ids": sorted({lock_id(n) for n in names})})

    async def publish(self, event: DomainEvent) -> None:
        self._events.append(event)

    async def audit(self, entry: AuditEntry) -> None:
        self._audit.append(entry)
