"""What the case lifecycle use cases need from storage: a repository of inspections,
enforcement actions, deadline changes, alerts and closures, inside the cases unit of work
(one transaction with the case row, the audit trail and the outbox)."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime

from services.cases.domain.cases import Case
from services.cases.domain.lifecycle import (
    Alert,
    Closure,
    DeadlineChange,
    EnforcementAction,
    Inspection,
    PriorCase,
)
from services.cases.service_layer.ports import AbstractUnitOfWork


@dataclass(frozen=True, slots=True)
class AlertFilter:
    case_number: str = ""
    kind: str = ""
    open_only: bool = False
    department: str = ""
    assigned_officer_id: str = ""
    include_restricted: bool = False


# Position in the alert list: (raised_at, case_number, step_key), newest first.
AlertCursor = tuple[datetime, str, str]


class LifecycleRepository(abc.ABC):
    # --- inspections
    @abc.abstractmethod
    async def inspection(self, case_number: str, step_key: str) -> Inspection | None:
        """The inspection created by ``step_key`` or whose findings ``step_key`` recorded."""

    @abc.abstractmethod
    async def inspections(self, case_number: str) -> list[Inspection]: ...

    @abc.abstractmethod
    async def add_inspection(self, case: Case, inspection: Inspection) -> None: ...

    @abc.abstractmethod
    async def save_inspection(self, case: Case, inspection: Inspection) -> None: ...

    # --- enforcement actions
    @abc.abstractmethod
    async def action(self, case_number: str, step_key: str) -> EnforcementAction | None: ...

    @abc.abstractmethod
    async def actions(self, case_number: str) -> list[EnforcementAction]: ...

    @abc.abstractmethod
    async def add_action(self, case: Case, action: EnforcementAction) -> None: ...

    @abc.abstractmethod
    async def set_action_document(self, case: Case, step_key: str, document_id: str) -> None: ...

    # --- deadlines
    @abc.abstractmethod
    async def deadline_change(self, case_number: str, step_key: str) -> DeadlineChange | None: ...

    @abc.abstractmethod
    async def deadline_changes(self, case_number: str) -> list[DeadlineChange]: ...

    @abc.abstractmethod
    async def add_deadline_change(self, case: Case, change: DeadlineChange) -> None: ...

    # --- alerts
    @abc.abstractmethod
    async def alert(self, case_number: str, step_key: str) -> Alert | None: ...

    @abc.abstractmethod
    async def add_alert(self, case: Case, alert: Alert) -> None: ...

    @abc.abstractmethod
    async def clear_alert(self, case: Case, alert: Alert) -> None: ...

    @abc.abstractmethod
    async def alerts(self, where: AlertFilter, after: AlertCursor | None, limit: int) -> list[Alert]:
        """Newest first, strictly after ``after``."""

    # --- closure
    @abc.abstractmethod
    async def closure(self, case_number: str) -> Closure | None: ...

    @abc.abstractmethod
    async def add_closure(self, case: Case, closure: Closure) -> None: ...

    # --- the property's other cases (pre-inspection packet, seed spec 2.1)
    @abc.abstractmethod
    async def prior_cases(self, case: Case, limit: int, *, include_restricted: bool) -> list[PriorCase]:
        """Other cases at the same property (roll number, else the same address key),
        newest first, with the enforcement actions each took; restricted ones (policy
        6.10) only when ``include_restricted``."""


class LifecycleUnitOfWork(AbstractUnitOfWork):
    lifecycle: LifecycleRepository

    async def __aenter__(self) -> LifecycleUnitOfWork:
        await super().__aenter__()
        return self
