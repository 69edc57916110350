"""Reporting periods in America/Toronto and the KPI arithmetic helpers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from services.reporting.domain.kpis import average, counts_by_type, per_day, percentage
from services.reporting.domain.periods import (
    day_bounds,
    local_month,
    month_bounds,
    previous_month,
    weekdays_in_month,
)

TORONTO = ZoneInfo("America/Toronto")


def test_month_bounds_are_local_midnights() -> None:
    start, end = month_bounds(2026, 3, TORONTO)
    assert start.astimezone(UTC) == datetime(2026, 3, 1, 5, tzinfo=UTC)  # EST
    assert end.astimezone(UTC) == datetime(2026, 4, 1, 4, tzinfo=UTC)  # EDT after March 8
    december = month_bounds(2026, 12, TORONTO)
    assert december[1].astimezone(UTC) == datetime(2027, 1, 1, 5, tzinfo=UTC)


def test_late_evening_belongs_to_the_local_month() -> None:
    # 23:30 on March 31 in Toronto is already April in UTC; it is a March event here.
    assert local_month(datetime(2026, 4, 1, 3, 30, tzinfo=UTC), TORONTO) == (2026, 3)
    assert previous_month(2026, 1) == (2025, 12)


def test_day_bounds_across_the_dst_change() -> None:
    start, end = day_bounds(date(2026, 3, 8), TORONTO)  # 23-hour day
    assert (end - start).total_seconds() == 23 * 3600


def test_weekdays_in_month() -> None:
    assert weekdays_in_month(2026, 2) == 20
    assert weekdays_in_month(2026, 3) == 22


def test_arithmetic() -> None:
    assert average([10.0, 6.0]) == 8.0
    assert average([]) == 0.0
    assert percentage(2, 3) == 66.7
    assert percentage(0, 0) == 0.0
    assert per_day(4, 20) == 0.2
    assert [c.key for c in counts_by_type({"b": 1, "a": 1, "c": 3, "z": 0}, {})] == ["c", "a", "b"]
