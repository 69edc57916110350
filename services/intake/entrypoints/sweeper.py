"""Background task that finishes complaints whose processing stopped part-way.

The 311 feed resumes by redelivery, but a portal or staff submission that was recorded
when the process crashed (or while cases/Temporal were down) has no redelivery: the
complaint is safely stored (never lost) and this sweep takes it to its outcome."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from services.intake.service_layer.intake import IntakeService

log = logging.getLogger(__name__)


class UnfinishedSweeper:
    def __init__(self, service: IntakeService, *, interval: float = 30.0, older_than: float = 120.0) -> None:
        self.service = service
        self.interval = interval
        # Long enough that a complaint still being processed normally is left alone.
        self.older_than = older_than

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval)
            if stop.is_set():
                return
            try:
                finished = await self.service.resume_unfinished(self.older_than)
            except Exception:
                log.exception("sweep of unfinished complaints failed; will retry")
                continue
            if finished:
                log.info("resumed unfinished complaints", extra={"finished": finished})
