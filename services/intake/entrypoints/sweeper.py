"""Background sweeps of intake.

- ``UnfinishedSweeper`` finishes complaints whose processing stopped part-way. The 311
  feed resumes by redelivery, but a portal or staff submission that was recorded when the
  process crashed (or while cases/Temporal were down) has no redelivery: the complaint is
  safely stored (never lost) and this sweep takes it to its outcome.
- ``AcknowledgementSweeper`` raises the overdue-acknowledgement alert (policy 6.5.5), tells
  case workflows about acknowledgements they have not heard of, and retries case closures
  after a frivolous/vexatious marking that could not reach Temporal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from services.intake.service_layer.acknowledgements import Acknowledgements
from services.intake.service_layer.intake import IntakeService
from services.intake.service_layer.marking import Marking

log = logging.getLogger(__name__)


async def _every(
    interval: float, stop: asyncio.Event, work: Callable[[], Awaitable[None]], what: str
) -> None:
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
        if stop.is_set():
            return
        try:
            await work()
        except Exception:
            log.exception("%s failed; will retry", what)


class UnfinishedSweeper:
    def __init__(self, service: IntakeService, *, interval: float = 30.0, older_than: float = 120.0) -> None:
        self.service = service
        self.interval = interval
        # Long enough that a complaint still being processed normally is left alone.
        self.older_than = older_than

    async def run(self, stop: asyncio.Event) -> None:
        await _every(self.interval, stop, self.sweep, "sweep of unfinished complaints")

    async def sweep(self) -> None:
        finished = await self.service.resume_unfinished(self.older_than)
        if finished:
            log.info("resumed unfinished complaints", extra={"finished": finished})


class AcknowledgementSweeper:
    def __init__(
        self, acknowledgements: Acknowledgements, marking: Marking, *, interval: float = 10.0
    ) -> None:
        self.acknowledgements = acknowledgements
        self.marking = marking
        self.interval = interval

    async def run(self, stop: asyncio.Event) -> None:
        await _every(self.interval, stop, self.sweep, "acknowledgement sweep")

    async def sweep(self) -> None:
        alerted = await self.acknowledgements.alert_overdue()
        signalled = await self.acknowledgements.signal_pending()
        closed = await self.marking.retry_pending()
        if alerted or signalled or closed:
            log.info(
                "acknowledgement sweep",
                extra={"overdue_alerts": alerted, "signals": signalled, "case_closures": closed},
            )
