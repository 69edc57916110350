"""The read model in PostgreSQL: idempotent writes keyed by event id, and the KPI and
report queries (aggregation in SQL, arithmetic in ``domain.kpis``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from types import TracebackType

from sqlalchemy import Table, and_, exists, func, or_, select
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from services.reporting.adapters.orm import (
    Base,
    CaseRow,
    ComplaintRow,
    EmergencyActionRow,
    EnforcementActionRow,
    InspectionRow,
    ProcessedEventRow,
    StatusChangeRow,
)
from services.reporting.domain.facts import (
    CLOSED_AT_INTAKE,
    CaseFacts,
    Complaint,
    EmergencyAction,
    EnforcementAction,
    Inspection,
    ProcessedEvent,
    StatusChange,
)
from services.reporting.domain.kpis import (
    COMPLIANCE_OUTCOMES,
    NOT_RESOLVED_OUTCOMES,
    TERMINAL_STATUSES,
    ActivityItem,
    duration_days,
)

REPEAT = "repeat_after_compliance"
CLOSED_ON_ARRIVAL = (REPEAT, *sorted(CLOSED_AT_INTAKE))

Fact = Complaint | StatusChange | Inspection | EnforcementAction | EmergencyAction


def _table(row: type[Base]) -> Table:
    table = row.__table__
    assert isinstance(table, Table)
    return table


# The batch writes below are Core statements executed with a list of parameter sets
# (SQLAlchemy's "insertmanyvalues": one multi-row INSERT per batch) rather than
# ``.values(rows)``: a statement with the rows inlined is compiled afresh for every batch
# size, which was half of the consumer's CPU at 311 volume; these compile once.
_PROCESSED = _table(ProcessedEventRow)
_CLAIM = (
    insert(_PROCESSED)
    .on_conflict_do_nothing(index_elements=[_PROCESSED.c.event_id])
    .returning(_PROCESSED.c.event_id)
)
_CASES = _table(CaseRow)
_NEW_CASE = insert(_CASES)
# Events may arrive in any order and some carry less than others: keep what is known, fill
# in what is not.
_KNOWN, _INCOMING = _CASES.c, _NEW_CASE.excluded
_UPSERT_CASE = _NEW_CASE.on_conflict_do_update(
    index_elements=[_KNOWN.case_number],
    set_={
        "service_code": func.coalesce(func.nullif(_KNOWN.service_code, ""), _INCOMING.service_code),
        "priority": func.coalesce(func.nullif(_KNOWN.priority, ""), _INCOMING.priority),
        "zone_code": func.coalesce(func.nullif(_KNOWN.zone_code, ""), _INCOMING.zone_code),
        "received_at": func.coalesce(_KNOWN.received_at, _INCOMING.received_at),
        "restricted": _KNOWN.restricted | _INCOMING.restricted,
    },
)
# Keyed by event id: a fact already present (impossible after a fresh claim, but cheap to
# guard) is left as it is.
_ADD_FACT: dict[type[Base], Insert] = {
    row: insert(_table(row)).on_conflict_do_nothing()
    for row in (ComplaintRow, StatusChangeRow, InspectionRow, EnforcementActionRow, EmergencyActionRow)
}


class SqlReadModel:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- writing --------------------------------------------------------------------------

    async def claim(self, events: Sequence[ProcessedEvent]) -> set[str]:
        if not events:
            return set()
        rows = [
            {
                "event_id": e.event_id[:100],
                "event_type": e.event_type[:100],
                "case_number": e.case_number[:64],
                "occurred_at": e.occurred_at,
                "handled": e.handled,
                "summary": e.summary[:500],
                "note": e.note,
            }
            for e in events
        ]
        inserted = await self.session.execute(_CLAIM, rows)
        return {event_id for (event_id,) in inserted}

    async def upsert_cases(self, facts: Sequence[CaseFacts]) -> None:
        if facts:
            await self.session.execute(_UPSERT_CASE, [asdict(f) for f in facts])

    async def _insert(self, row: type[Base], facts: Sequence[Fact]) -> None:
        if facts:
            await self.session.execute(_ADD_FACT[row], [asdict(f) for f in facts])

    async def add_complaints(self, complaints: Sequence[Complaint]) -> None:
        await self._insert(ComplaintRow, complaints)

    async def add_status_changes(self, changes: Sequence[StatusChange]) -> None:
        await self._insert(StatusChangeRow, changes)

    async def add_inspections(self, inspections: Sequence[Inspection]) -> None:
        await self._insert(InspectionRow, inspections)

    async def add_enforcement_actions(self, actions: Sequence[EnforcementAction]) -> None:
        await self._insert(EnforcementActionRow, actions)

    async def add_emergency_actions(self, actions: Sequence[EmergencyAction]) -> None:
        await self._insert(EmergencyActionRow, actions)

    # --- queries --------------------------------------------------------------------------

    async def open_cases_at(self, moment: datetime) -> int:
        latest_status = (
            select(StatusChangeRow.to_status)
            .where(StatusChangeRow.case_number == CaseRow.case_number, StatusChangeRow.occurred_at <= moment)
            .order_by(StatusChangeRow.occurred_at.desc(), StatusChangeRow.event_id.desc())
            .limit(1)
            .scalar_subquery()
        )
        count = await self.session.scalar(
            select(func.count())
            .select_from(CaseRow)
            .where(
                CaseRow.received_at <= moment,
                func.coalesce(latest_status, "received").not_in(TERMINAL_STATUSES),
            )
        )
        return int(count or 0)

    async def resolution_days(self, start: datetime, end: datetime) -> list[float]:
        received = func.coalesce(StatusChangeRow.case_received_at, CaseRow.received_at)
        rows = await self.session.execute(
            select(received, StatusChangeRow.occurred_at)
            .select_from(StatusChangeRow)
            .outerjoin(CaseRow, CaseRow.case_number == StatusChangeRow.case_number)
            .where(
                StatusChangeRow.to_status == "closed",
                StatusChangeRow.outcome.not_in(NOT_RESOLVED_OUTCOMES),
                StatusChangeRow.occurred_at >= start,
                StatusChangeRow.occurred_at < end,
                received.is_not(None),
            )
        )
        return [duration_days(opened, closed) for opened, closed in rows.all()]

    async def inspections_between(self, start: datetime, end: datetime) -> int:
        count = await self.session.scalar(
            select(func.count()).where(InspectionRow.inspected_at >= start, InspectionRow.inspected_at < end)
        )
        return int(count or 0)

    async def compliance_outcomes(self, start: datetime, end: datetime) -> tuple[int, int]:
        outcome = StatusChangeRow
        notice = aliased(StatusChangeRow)
        noticed_before = exists().where(
            notice.case_number == outcome.case_number,
            notice.to_status == "notice_issued",
            notice.occurred_at <= outcome.occurred_at,
        )
        complied = or_(
            outcome.to_status == "complied",
            and_(
                outcome.to_status == "closed",
                outcome.outcome.in_(COMPLIANCE_OUTCOMES),
                outcome.from_status != "complied",
            ),
        )
        row = (
            await self.session.execute(
                select(
                    func.count().filter(complied),
                    func.count().filter(outcome.to_status == "escalated"),
                ).where(outcome.occurred_at >= start, outcome.occurred_at < end, noticed_before)
            )
        ).one()
        return int(row[0]), int(row[1])

    async def recent_activity(self, as_of: datetime, limit: int) -> list[ActivityItem]:
        rows = await self.session.execute(
            select(
                ProcessedEventRow.event_type,
                ProcessedEventRow.case_number,
                ProcessedEventRow.summary,
                ProcessedEventRow.occurred_at,
            )
            # An empty summary: handled, with nothing of its own to show (see facts).
            .where(
                ProcessedEventRow.handled.is_(True),
                ProcessedEventRow.summary != "",
                ProcessedEventRow.occurred_at <= as_of,
            )
            .order_by(ProcessedEventRow.occurred_at.desc(), ProcessedEventRow.event_id.desc())
            .limit(limit)
        )
        return [ActivityItem(*row) for row in rows.all()]

    async def events_applied(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(ProcessedEventRow)) or 0)

    async def complaints_received(self, start: datetime, end: datetime) -> dict[str, int]:
        code = func.coalesce(func.nullif(ComplaintRow.service_code, ""), CaseRow.service_code, "")
        rows = await self.session.execute(
            select(code, func.count())
            .select_from(ComplaintRow)
            .outerjoin(CaseRow, CaseRow.case_number == ComplaintRow.case_number)
            .where(ComplaintRow.received_at >= start, ComplaintRow.received_at < end)
            .group_by(code)
        )
        return {str(key): int(count) for key, count in rows.all()}

    async def complaints_closed(self, start: datetime, end: datetime) -> dict[str, int]:
        code = func.coalesce(func.nullif(ComplaintRow.service_code, ""), CaseRow.service_code, "")
        # A complaint closes when its case first finishes: a referred or rejected case is
        # closed again later (with that outcome), which must not count it a second time.
        first_finish = (
            select(StatusChangeRow.case_number, func.min(StatusChangeRow.occurred_at).label("finished_at"))
            .where(StatusChangeRow.to_status.in_(TERMINAL_STATUSES))
            .group_by(StatusChangeRow.case_number)
            .subquery()
        )
        finished = (
            select(first_finish.c.case_number)
            .where(first_finish.c.finished_at >= start, first_finish.c.finished_at < end)
            .subquery()
        )
        with_case = await self.session.execute(
            select(code, func.count())
            .select_from(ComplaintRow)
            .join(finished, finished.c.case_number == ComplaintRow.case_number)
            .outerjoin(CaseRow, CaseRow.case_number == ComplaintRow.case_number)
            .where(ComplaintRow.kind.not_in(CLOSED_ON_ARRIVAL))
            .group_by(code)
        )
        # Closed as they arrived: a repeat after compliance (no action, policy 6.6.3) and a
        # complaint referred or not acted on at intake, which has no case.
        closed_on_arrival = await self.session.execute(
            select(code, func.count())
            .select_from(ComplaintRow)
            .outerjoin(CaseRow, CaseRow.case_number == ComplaintRow.case_number)
            .where(
                ComplaintRow.kind.in_(CLOSED_ON_ARRIVAL),
                ComplaintRow.received_at >= start,
                ComplaintRow.received_at < end,
            )
            .group_by(code)
        )
        totals: Counter[str] = Counter()
        for key, count in [*with_case.all(), *closed_on_arrival.all()]:
            totals[str(key)] += int(count)
        return dict(totals)

    async def enforcement_methods(self, start: datetime, end: datetime) -> dict[str, int]:
        rows = await self.session.execute(
            select(EnforcementActionRow.method, func.count())
            .where(EnforcementActionRow.occurred_at >= start, EnforcementActionRow.occurred_at < end)
            .group_by(EnforcementActionRow.method)
        )
        return {str(method): int(count) for method, count in rows.all()}

    async def emergency_actions(self, start: datetime, end: datetime) -> list[tuple[datetime, str]]:
        rows = await self.session.execute(
            select(EmergencyActionRow.occurred_at, EmergencyActionRow.description)
            .where(EmergencyActionRow.occurred_at >= start, EmergencyActionRow.occurred_at < end)
            .order_by(EmergencyActionRow.occurred_at, EmergencyActionRow.event_id)
        )
        return [(when, description) for when, description in rows.all()]


class SqlUnitOfWork:
    """One transaction; rolled back unless ``commit`` was called.

    ``snapshot`` makes it a read-only REPEATABLE READ transaction: a dashboard runs several
    queries while the consumer commits batches, and under READ COMMITTED each query would
    see a different moment (events counted as applied whose facts an earlier query missed).
    """

    read_model: SqlReadModel

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, snapshot: bool = False) -> None:
        self._sessions = sessions
        self._snapshot = snapshot
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> SqlUnitOfWork:
        self._session = self._sessions()
        if self._snapshot:
            await self._session.connection(
                execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
            )
        else:
            await self._session.begin()
        self.read_model = SqlReadModel(self._session)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._session is not None
        try:
            if self._session.in_transaction():
                await self._session.rollback()
        finally:
            await self._session.close()
            self._session = None

    async def commit(self) -> None:
        assert self._session is not None
        await self._session.commit()
