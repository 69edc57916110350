"""Reporting periods in the municipality's time zone.

"Today" and "this month" are the Town's days and months (America/Toronto): a case closed
at 23:30 on March 31 local time is a March closure even though it is April in UTC. The
bounds are half-open ``[start, end)`` and returned in UTC: Python compares and subtracts
two datetimes sharing one tzinfo by wall clock, which is wrong across a daylight-saving
change. Daylight-saving changes happen at 02:00, never at midnight, so local midnights
always exist.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def month_bounds(year: int, month: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1, tzinfo=zone)
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    return start.astimezone(UTC), datetime(next_year, next_month, 1, tzinfo=zone).astimezone(UTC)


def previous_month(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def local_month(moment: datetime, zone: ZoneInfo) -> tuple[int, int]:
    local = moment.astimezone(zone)
    return local.year, local.month


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def weekdays_in_month(year: int, month: int) -> int:
    """Monday-Friday days in the month: the days inspections are normally done."""
    day = date(year, month, 1)
    count = 0
    while day.month == month:
        count += day.weekday() < 5
        day += timedelta(days=1)
    return count
