"""One log line a minute about the 311 feed, when it did something: how many complaints it
settled, dead-lettered and deferred, and how well the batching worked (complaints per
group-committed statement and per ``OpenCases`` call, and batches that had to be retried
one by one). Operators read the feed's health here without a metrics stack.

Counts only: nothing about a complaint or a complainant (policy 6.3).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from services.common.coalesce import CoalescerStats
from services.intake.entrypoints.nats_consumer import ConsumerStats

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Totals:
    processed: int
    dead_lettered: int
    retried: int
    batches: dict[str, tuple[int, int, int]]  # name → (batches, items, fallbacks)


class FeedActivityLog:
    def __init__(
        self, consumer: ConsumerStats, batching: Mapping[str, CoalescerStats], *, interval: float = 60.0
    ) -> None:
        self.consumer = consumer
        self.batching = batching
        self.interval = interval
        self._last = self._totals()

    def _totals(self) -> _Totals:
        return _Totals(
            processed=self.consumer.processed,
            dead_lettered=self.consumer.dead_lettered,
            retried=self.consumer.retried,
            batches={name: (s.batches, s.items, s.fallbacks) for name, s in self.batching.items()},
        )

    def report(self) -> dict[str, float] | None:
        """What happened since the last report, as log fields; None when nothing did."""
        now, last = self._totals(), self._last
        self._last = now
        settled = now.processed - last.processed
        dead = now.dead_lettered - last.dead_lettered
        retried = now.retried - last.retried
        fields: dict[str, float] = {}
        for name, (batches, items, fallbacks) in now.batches.items():
            before = last.batches.get(name, (0, 0, 0))
            sent, carried = batches - before[0], items - before[1]
            if sent:
                key = name.replace(" ", "_")
                fields[f"{key}_per_batch"] = round(carried / sent, 1)
                fields[f"{key}_fallbacks"] = fallbacks - before[2]
        if not (settled or dead or retried or fields):
            return None
        return {"processed": settled, "dead_lettered": dead, "deferred": retried, **fields}

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval)
            fields = self.report()
            if fields is not None:
                log.info("311 feed activity", extra=fields)
