"""An in-memory read model with the semantics the PostgreSQL one implements."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType

from services.reporting.adapters.repository import CLOSED_ON_ARRIVAL
from services.reporting.domain.facts import (
    CaseFacts,
    Complaint,
    EmergencyAction,
    EnforcementAction,
    Inspection,
    ProcessedEvent,
    StatusChange,
    merge_case_facts,
)
from services.reporting.domain.kpis import (
    COMPLIANCE_OUTCOMES,
    NOT_RESOLVED_OUTCOMES,
    TERMINAL_STATUSES,
    ActivityItem,
    duration_days,
)


class MemoryReadModel:
    def __init__(self) -> None:
        self.processed: dict[str, ProcessedEvent] = {}
        self.cases: dict[str, CaseFacts] = {}
        self.complaints: dict[str, Complaint] = {}
        self.changes: dict[str, StatusChange] = {}
        self.inspections: dict[str, Inspection] = {}
        self.enforcement: dict[str, EnforcementAction] = {}
        self.emergencies: dict[str, EmergencyAction] = {}

    async def claim(self, events: Sequence[ProcessedEvent]) -> set[str]:
        new = set()
        for event in events:
            if event.event_id not in self.processed:
                self.processed[event.event_id] = event
                new.add(event.event_id)
        return new

    async def upsert_cases(self, facts: Sequence[CaseFacts]) -> None:
        for fact in facts:
            old = self.cases.get(fact.case_number)
            self.cases[fact.case_number] = merge_case_facts([old, fact] if old else [fact])[0]

    async def add_complaints(self, complaints: Sequence[Complaint]) -> None:
        for complaint in complaints:
            self.complaints.setdefault(complaint.event_id, complaint)

    async def add_status_changes(self, changes: Sequence[StatusChange]) -> None:
        for change in changes:
            self.changes.setdefault(change.event_id, change)

    async def add_inspections(self, inspections: Sequence[Inspection]) -> None:
        for inspection in inspections:
            self.inspections.setdefault(inspection.event_id, inspection)

    async def add_enforcement_actions(self, actions: Sequence[EnforcementAction]) -> None:
        for action in actions:
            self.enforcement.setdefault(action.event_id, action)

    async def add_emergency_actions(self, actions: Sequence[EmergencyAction]) -> None:
        for action in actions:
            self.emergencies.setdefault(action.event_id, action)

    async def open_cases_at(self, moment: datetime) -> int:
        count = 0
        for case in self.cases.values():
            if case.received_at is None or case.received_at > moment:
                continue
            history = sorted(
                (
                    c
                    for c in self.changes.values()
                    if c.case_number == case.case_number and c.occurred_at <= moment
                ),
                key=lambda c: (c.occurred_at, c.event_id),
            )
            latest = history[-1].to_status if history else "received"
            count += latest not in TERMINAL_STATUSES
        return count

    async def resolution_days(self, start: datetime, end: datetime) -> list[float]:
        days = []
        for change in self.changes.values():
            if change.to_status != "closed" or not start <= change.occurred_at < end:
                continue
            if change.outcome in NOT_RESOLVED_OUTCOMES:
                continue
            case = self.cases.get(change.case_number)
            received = change.case_received_at or (case.received_at if case else None)
            if received is not None:
                days.append(duration_days(received, change.occurred_at))
        return days

    async def inspections_between(self, start: datetime, end: datetime) -> int:
        return sum(start <= i.inspected_at < end for i in self.inspections.values())

    async def compliance_outcomes(self, start: datetime, end: datetime) -> tuple[int, int]:
        complied = not_complied = 0
        for change in self.changes.values():
            if not start <= change.occurred_at < end:
                continue
            noticed = any(
                c.case_number == change.case_number
                and c.to_status == "notice_issued"
                and c.occurred_at <= change.occurred_at
                for c in self.changes.values()
            )
            if not noticed:
                continue
            if change.to_status == "complied" or (
                change.to_status == "closed"
                and change.outcome in COMPLIANCE_OUTCOMES
                and change.from_status != "complied"
            ):
                complied += 1
            elif change.to_status == "escalated":
                not_complied += 1
        return complied, not_complied

    async def recent_activity(self, as_of: datetime, limit: int) -> list[ActivityItem]:
        items = [(row.occurred_at, event_id, row) for event_id, row in self.processed.items()]
        chosen = sorted(
            (i for i in items if i[2].handled and i[2].summary and i[0] <= as_of),
            key=lambda i: (i[0], i[1]),
            reverse=True,
        )
        return [
            ActivityItem(r.event_type, r.case_number, r.summary, r.occurred_at) for _, _, r in chosen[:limit]
        ]

    async def events_applied(self) -> int:
        return len(self.processed)

    def _code(self, complaint: Complaint) -> str:
        case = self.cases.get(complaint.case_number)
        return complaint.service_code or (case.service_code if case else "")

    async def complaints_received(self, start: datetime, end: datetime) -> dict[str, int]:
        return dict(Counter(self._code(c) for c in self.complaints.values() if start <= c.received_at < end))

    async def complaints_closed(self, start: datetime, end: datetime) -> dict[str, int]:
        first_finish: dict[str, datetime] = {}
        for c in self.changes.values():
            if c.to_status in TERMINAL_STATUSES:
                earlier = first_finish.get(c.case_number)
                first_finish[c.case_number] = min(earlier, c.occurred_at) if earlier else c.occurred_at
        finished = {case for case, when in first_finish.items() if start <= when < end}
        totals: Counter[str] = Counter()
        for complaint in self.complaints.values():
            if complaint.kind in CLOSED_ON_ARRIVAL:
                if start <= complaint.received_at < end:
                    totals[self._code(complaint)] += 1
            elif complaint.case_number in finished:
                totals[self._code(complaint)] += 1
        return dict(totals)

    async def enforcement_methods(self, start: datetime, end: datetime) -> dict[str, int]:
        return dict(Counter(a.method for a in self.enforcement.values() if start <= a.occurred_at < end))

    async def emergency_actions(self, start: datetime, end: datetime) -> list[tuple[datetime, str]]:
        return sorted(
            (a.occurred_at, a.description) for a in self.emergencies.values() if start <= a.occurred_at < end
        )


class MemoryUnitOfWork:
    """Writes go straight to the store (the fake has no rollback)."""

    def __init__(self, store: MemoryReadModel) -> None:
        self.store = store
        self.read_model = store
        self.committed = False

    async def __aenter__(self) -> MemoryUnitOfWork:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    async def commit(self) -> None:
        self.committed = True
