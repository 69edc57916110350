"""Reference data every complaint is classified against, cached in memory: the Service
Level Matrix versions (policy 6.8.4) and the business-day calendar with the Town's closure
days (policy 4.2). Refreshed from the database every ``ttl`` so a version loaded or a day
declared through another replica takes effect within that time; a change made through this
replica takes effect at once."""

from __future__ import annotations

import asyncio
import time

from services.intake.domain.calendar import BusinessCalendar
from services.intake.domain.matrix import MatrixCatalog
from services.intake.service_layer.ports import MatrixRepository


class ReferenceData:
    def __init__(self, repo: MatrixRepository, timezone: str, *, ttl: float = 30.0) -> None:
        self.repo = repo
        self.timezone = timezone
        self.ttl = ttl
        self._catalog = MatrixCatalog(())
        self._calendar = BusinessCalendar(timezone)
        self._loaded_at: float | None = None
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._loaded_at = None

    async def refresh(self) -> None:
        versions = await self.repo.load_versions()
        days = await self.repo.closure_days()
        self._catalog = MatrixCatalog(versions)
        self._calendar = BusinessCalendar(self.timezone, [d.day for d in days])
        self._loaded_at = time.monotonic()

    async def _ensure_fresh(self) -> None:
        if self._loaded_at is not None and time.monotonic() - self._loaded_at < self.ttl:
            return
        async with self._lock:
            # Another caller may have refreshed while this one waited.
            if self._loaded_at is None or time.monotonic() - self._loaded_at >= self.ttl:
                await self.refresh()

    async def catalog(self) -> MatrixCatalog:
        await self._ensure_fresh()
        return self._catalog

    async def calendar(self) -> BusinessCalendar:
        await self._ensure_fresh()
        return self._calendar
