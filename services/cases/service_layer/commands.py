"""Inputs and outputs of the cases use cases, independent of gRPC (the servicer converts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.cases.domain.cases import Case, CaseStatus, Disposition, Priority
from services.cases.domain.geo import Point
from services.cases.domain.properties import PropertyMatch

SYSTEM_ACTOR = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    subject: str = ""
    roles: frozenset[str] = frozenset()

    @property
    def audit_subject(self) -> str:
        return self.subject or SYSTEM_ACTOR


@dataclass(frozen=True, slots=True)
class Location:
    address: str = ""
    point: Point | None = None
    address_id: str = ""
    postal_code: str = ""


@dataclass(frozen=True, slots=True)
class OpenCase:
    complaint_id: str
    service_code: str
    priority: Priority | None
    location: Location
    bylaw_number: str = ""
    matrix_version: str = ""
    enforced_by: tuple[str, ...] = ()
    received_at: datetime | None = None
    channel: str = ""
    restricted: bool = False
    summary: str = ""
    actor: Actor = field(default_factory=Actor)


@dataclass(frozen=True, slots=True)
class OpenCaseResult:
    case: Case
    disposition: Disposition
    match: PropertyMatch


@dataclass(frozen=True, slots=True)
class RecordStatus:
    case_number: str
    status: CaseStatus | None
    step_key: str
    reason: str = ""
    outcome: str = ""
    occurred_at: datetime | None = None
    actor: Actor = field(default_factory=Actor)


@dataclass(frozen=True, slots=True)
class AssignCase:
    case_number: str
    officer_id: str
    step_key: str
    reason: str = ""
    occurred_at: datetime | None = None
    actor: Actor = field(default_factory=Actor)


@dataclass(frozen=True, slots=True)
class ListCases:
    statuses: frozenset[CaseStatus] = frozenset()
    priority: Priority | None = None
    zone_code: str = ""
    assigned_officer_id: str = ""
    service_code: str = ""
    page_size: int = 0
    page_token: str = ""
    actor: Actor = field(default_factory=Actor)
    department: str = ""  # a department's queue (issue 4)


@dataclass(frozen=True, slots=True)
class CasePage:
    cases: list[Case]
    next_page_token: str
    total: int


@dataclass(frozen=True, slots=True)
class TownSummary:
    properties: int
    officers: int
    zones: int
    open_cases: int
