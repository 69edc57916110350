"""The read model the reporting use cases write and query, as a protocol (an in-memory
fake in unit tests, PostgreSQL in production). Time windows are half-open ``[start, end)``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol

from services.reporting.domain.facts import (
    CaseFacts,
    Complaint,
    EmergencyAction,
    EnforcementAction,
    Inspection,
    ProcessedEvent,
    StatusChange,
)
from services.reporting.domain.kpis import ActivityItem


class ReadModel(Protocol):
    # --- writing (inside one unit of work per batch of events) -------------------------
    async def claim(self, events: Sequence[ProcessedEvent]) -> set[str]:
        """Record the events as processed; returns the ids that were not already (the
        others are redeliveries and contribute nothing)."""
        ...

    async def upsert_cases(self, facts: Sequence[CaseFacts]) -> None:
        """Fill in what is known about each case (one entry per case); known values are
        never blanked."""
        ...

    async def add_complaints(self, complaints: Sequence[Complaint]) -> None: ...

    async def add_status_changes(self, changes: Sequence[StatusChange]) -> None: ...

    async def add_inspections(self, inspections: Sequence[Inspection]) -> None: ...

    async def add_enforcement_actions(self, actions: Sequence[EnforcementAction]) -> None: ...

    async def add_emergency_actions(self, actions: Sequence[EmergencyAction]) -> None: ...

    # --- queries --------------------------------------------------------------------------
    async def open_cases_at(self, moment: datetime) -> int:
        """Cases received by ``moment`` whose latest status by then is not terminal."""
        ...

    async def resolution_days(self, start: datetime, end: datetime) -> list[float]:
        """For each case closed in the window (not as a referral or rejection): days from
        received to closed."""
        ...

    async def inspections_between(self, start: datetime, end: datetime) -> int: ...

    async def compliance_outcomes(self, start: datetime, end: datetime) -> tuple[int, int]:
        """(complied, not complied) outcomes in the window of cases that had a notice
        issued before the outcome: compliance confirmed vs escalated."""
        ...

    async def recent_activity(self, as_of: datetime, limit: int) -> list[ActivityItem]: ...

    async def events_applied(self) -> int: ...

    async def complaints_received(self, start: datetime, end: datetime) -> dict[str, int]: ...

    async def complaints_closed(self, start: datetime, end: datetime) -> dict[str, int]:
        """Complaints whose case first reached closed/referred/rejected in the window, plus
        repeat complaints (6.6.3) received in it, which close without a case."""
        ...

    async def enforcement_methods(self, start: datetime, end: datetime) -> dict[str, int]: ...

    async def emergency_actions(self, start: datetime, end: datetime) -> list[tuple[datetime, str]]: ...


class UnitOfWork(Protocol):
    @property
    def read_model(self) -> ReadModel: ...

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, snapshot: bool = False) -> UnitOfWork:
        """``snapshot``: a read-only transaction in which every query sees the same
        moment, so the figures of one dashboard are consistent with each other."""
        ...
