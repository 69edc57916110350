"""Dashboard and Council-report figures, and the arithmetic behind them.

Each dashboard figure is shown with last month's value for comparison (the product's
"vs last month"), and with how many observations it rests on, so "0 days average
resolution" from no closed cases is distinguishable from a real zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

# Statuses after which a case is finished (it is not reopened; a new complaint opens a new
# case). "complied" is still open: the case is closed after compliance is confirmed.
TERMINAL_STATUSES = frozenset({"closed", "referred", "rejected"})

# Closing outcomes that mean the owner complied (cases service, Outcome enum).
COMPLIANCE_OUTCOMES = frozenset({"voluntary_compliance", "order_compliance"})

# A referred or rejected case is later closed with that outcome (cases service); it was
# never enforced, so it is not a "resolution" and would only pull the average down.
NOT_RESOLVED_OUTCOMES = frozenset({"referred", "rejected"})


@dataclass(frozen=True, slots=True)
class Kpi:
    name: str
    value: float
    previous: float
    unit: str
    sample_size: int = 0
    previous_sample_size: int = 0
    note: str = ""


@dataclass(frozen=True, slots=True)
class ActivityItem:
    event_type: str
    case_number: str
    summary: str
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class Dashboard:
    open_cases: Kpi
    average_resolution_days: Kpi
    inspections_today: Kpi
    order_compliance: Kpi
    recent_activity: list[ActivityItem]
    as_of: datetime
    events_applied: int
    timezone: str


@dataclass(frozen=True, slots=True)
class CountByType:
    key: str
    label: str
    count: int


@dataclass(frozen=True, slots=True)
class MonthlyReport:
    year: int
    month: int
    complaints_received: list[CountByType]
    complaints_closed: list[CountByType]
    enforcement_methods: list[CountByType]
    emergency_actions: list[str]
    generated_at: datetime
    timezone: str
    events_applied: int = 0


def average(values: Iterable[float]) -> float:
    """Mean rounded to one decimal; 0.0 when there is nothing to average."""
    items = list(values)
    return round(sum(items) / len(items), 1) if items else 0.0


def percentage(part: int, whole: int) -> float:
    """``part`` of ``whole`` in percent, one decimal; 0.0 when ``whole`` is 0."""
    return round(100.0 * part / whole, 1) if whole else 0.0


def per_day(total: int, days: int) -> float:
    return round(total / days, 1) if days else 0.0


def duration_days(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 86_400


def counts_by_type(counts: dict[str, int], labels: dict[str, str]) -> list[CountByType]:
    """Largest first, then by key, so Council sees the same order for the same figures."""
    return [
        CountByType(key=key, label=labels.get(key, key), count=count)
        for key, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        if count
    ]
