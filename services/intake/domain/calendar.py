"""Business days (policy 4.2) and the 2-business-day acknowledgement deadline (4.2, 6.5.5).

A business day is Monday to Friday, 8:30 a.m. to 4:30 p.m., excluding Ontario public
holidays (from the ``holidays`` package) and days the Town Administration Office is
closed, which staff declare (e.g. for inclement weather).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

OPEN_TIME = time(8, 30)  # policy 4.2
CLOSE_TIME = time(16, 30)  # policy 4.2
ACKNOWLEDGEMENT_BUSINESS_DAYS = 2  # policy 4.2, 6.5.5


class BusinessCalendar:
    def __init__(
        self,
        timezone: str = "America/Toronto",
        closure_days: Iterable[date] = (),
        *,
        province: str = "ON",
    ) -> None:
        self.tz = ZoneInfo(timezone)
        self.closure_days = frozenset(closure_days)
        # Statutory (public) holidays only: days like the Civic Holiday are Town decisions
        # and, where the office closes, are declared as closure days.
        self._holidays = holidays.country_holidays("CA", subdiv=province)

    def holiday_name(self, day: date) -> str | None:
        name = self._holidays.get(day)
        return str(name) if name else None

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._holidays and day not in self.closure_days

    def next_business_day(self, day: date) -> date:
        """The first business day strictly after ``day``."""
        candidate = day + timedelta(days=1)
        while not self.is_business_day(candidate):
            candidate += timedelta(days=1)
        return candidate

    def business_days_after(self, day: date, count: int) -> date:
        """The ``count``-th business day after ``day`` (``day`` itself never counts)."""
        if count < 1:
            raise ValueError("count must be at least 1")
        current = day
        for _ in range(count):
            current = self.next_business_day(current)
        return current

    def close_of_business_after(self, received_at: datetime, business_days: int) -> datetime:
        """Close of business on the ``business_days``-th business day after the local day
        of ``received_at`` (that day itself never counts)."""
        if received_at.tzinfo is None:
            raise ValueError("received_at must be timezone-aware")
        local_day = received_at.astimezone(self.tz).date()
        return datetime.combine(
            self.business_days_after(local_day, business_days), CLOSE_TIME, tzinfo=self.tz
        )

    def acknowledgement_due(self, received_at: datetime) -> datetime:
        """Close of business on the 2nd business day after the day a complaint arrived.

        The day of receipt never counts, however early it arrived: a complaint received on
        Monday at 9:00 is due by Wednesday 4:30 p.m., one received on Friday or over the
        weekend by Tuesday 4:30 p.m. (if no holiday or closure intervenes), so every
        complainant gets two full business days of staff time (policy 6.5.5).
        """
        return self.close_of_business_after(received_at, ACKNOWLEDGEMENT_BUSINESS_DAYS)
