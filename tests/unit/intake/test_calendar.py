"""Business days and the 2-business-day acknowledgement (policy 4.2, 6.5.5)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from services.intake.domain.calendar import BusinessCalendar

TORONTO = ZoneInfo("America/Toronto")


def at(day: date, hh: int = 10, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=TORONTO)


def test_weekends_are_not_business_days() -> None:
    cal = BusinessCalendar()
    assert cal.is_business_day(date(2026, 3, 6))  # Friday
    assert not cal.is_business_day(date(2026, 3, 7))  # Saturday
    assert not cal.is_business_day(date(2026, 3, 8))  # Sunday


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2026, 2, 16), "Family Day"),  # Ontario-only statutory holiday
        (date(2026, 4, 3), "Good Friday"),
        (date(2026, 5, 18), "Victoria Day"),
        (date(2026, 10, 12), "Thanksgiving"),
        (date(2026, 12, 28), "Boxing Day"),  # observed on Monday when the 26th is a Saturday
    ],
)
def test_ontario_public_holidays_are_not_business_days(day: date, name: str) -> None:
    cal = BusinessCalendar()
    assert not cal.is_business_day(day)
    assert name in (cal.holiday_name(day) or "")


def test_acknowledgement_due_two_business_days_after_receipt() -> None:
    cal = BusinessCalendar()
    # Monday morning → Wednesday close of business (4:30 p.m., policy 4.2).
    assert cal.acknowledgement_due(at(date(2026, 3, 2))) == at(date(2026, 3, 4), 16, 30)
    # Friday → Tuesday; a weekend receipt counts from Monday.
    assert cal.acknowledgement_due(at(date(2026, 3, 6))) == at(date(2026, 3, 10), 16, 30)
    assert cal.acknowledgement_due(at(date(2026, 3, 7))) == at(date(2026, 3, 10), 16, 30)


def test_family_day_pushes_the_acknowledgement() -> None:
    cal = BusinessCalendar()
    # Friday 13 Feb 2026; Monday 16 is Family Day → Tue 17 (1), Wed 18 (2).
    assert cal.acknowledgement_due(at(date(2026, 2, 13))) == at(date(2026, 2, 18), 16, 30)


def test_declared_closure_day_pushes_the_acknowledgement() -> None:
    # policy 4.2: the Town office closed for inclement weather is not a business day.
    snow_day = date(2026, 2, 17)
    cal = BusinessCalendar(closure_days=[snow_day])
    assert not cal.is_business_day(snow_day)
    assert cal.acknowledgement_due(at(date(2026, 2, 13))) == at(date(2026, 2, 19), 16, 30)


def test_receipt_time_is_read_in_the_town_time_zone() -> None:
    cal = BusinessCalendar()
    # 02:00 UTC Tuesday is 21:00 Monday in Toronto: received Monday → due Wednesday.
    received = datetime(2026, 3, 3, 2, 0, tzinfo=ZoneInfo("UTC"))
    assert cal.acknowledgement_due(received) == at(date(2026, 3, 4), 16, 30)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        BusinessCalendar().acknowledgement_due(datetime(2026, 3, 2, 10, 0))
