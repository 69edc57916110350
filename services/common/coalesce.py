"""Group commit for the hot path: calls made at about the same moment go to the database
(or another service) as one batch, and each caller still gets its own answer.

At 311 volume intake runs dozens of complaints concurrently, each doing the same few
single-row statements. Sent one by one, each statement pays a round trip, a connection
checkout and, for a write, its own commit; sent together, those costs are paid once per
batch. Callers keep the one-item interface: ``await coalescer(item)``.

- A batch is sent ``linger`` seconds after its first item arrives (0: at the next turn of
  the event loop, which already gathers the items of tasks woken together), or at once
  when ``max_batch`` items are waiting.
- ``run_batch`` must answer every item, in order. If it raises, each item is run again on
  its own with ``run_one``, so one bad item fails only its own caller, never its
  neighbours (and a batch that deadlocked with another simply goes through one by one).
  ``run_batch`` must therefore be all-or-nothing (one transaction) and ``run_one``
  idempotent with it. A failure ``fails_all`` recognises (the other side is down) goes to
  every caller at once instead: each item alone would only fail the same way, slower.
- A caller that is cancelled while its batch runs does not cancel the batch: the others
  still get their answers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class CoalescerStats:
    batches: int = 0
    items: int = 0
    fallbacks: int = 0  # batches that failed and went through one by one

    @property
    def mean_batch(self) -> float:
        return self.items / self.batches if self.batches else 0.0


class Coalescer(Generic[T, R]):
    def __init__(
        self,
        name: str,
        run_batch: Callable[[Sequence[T]], Awaitable[Sequence[R]]],
        run_one: Callable[[T], Awaitable[R]],
        *,
        max_batch: int = 64,
        linger: float = 0.0,
        fails_all: Callable[[Exception], bool] = lambda exc: False,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.name = name
        self.run_batch = run_batch
        self.run_one = run_one
        self.max_batch = max_batch
        self.linger = linger
        self.fails_all = fails_all
        self.stats = CoalescerStats()
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._timer: asyncio.TimerHandle | asyncio.Handle | None = None
        self._running: set[asyncio.Task[None]] = set()

    async def __call__(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._waiting.append((item, future))
        if len(self._waiting) >= self.max_batch:
            self._send()
        elif self._timer is None:
            self._timer = (
                loop.call_later(self.linger, self._send) if self.linger > 0 else loop.call_soon(self._send)
            )
        # Shielded: cancelling one caller must not cancel the batch the others wait on.
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            future.add_done_callback(_retrieve)  # nobody reads this answer now
            raise

    def _send(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._waiting:
            batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch :]
            task = asyncio.get_running_loop().create_task(self._run(batch))
            self._running.add(task)  # held until done: the loop keeps only weak references
            task.add_done_callback(self._running.discard)

    async def _run(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        self.stats.batches += 1
        self.stats.items += len(batch)
        if len(batch) == 1:
            await self._run_alone(*batch[0])
            return
        try:
            results = await self.run_batch([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"{self.name}: {len(results)} answers for {len(batch)} items")
        except Exception as exc:  # noqa: BLE001 - each item is retried on its own below
            if self.fails_all(exc):
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                return
            self.stats.fallbacks += 1
            # The type only: a driver's message can quote the values of the row it refused.
            log.warning(
                "%s: batch of %d failed (%s); running each on its own",
                self.name,
                len(batch),
                type(exc).__name__,
            )
            await asyncio.gather(*(self._run_alone(item, future) for item, future in batch))
            return
        except BaseException:
            # Cancelled (the process is stopping): no caller may wait for ever.
            for _, future in batch:
                future.cancel()
            raise
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def _run_alone(self, item: T, future: asyncio.Future[R]) -> None:
        try:
            result = await self.run_one(item)
        except BaseException as exc:  # handed to the caller, whose error it is
            if not future.done():
                future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        if not future.done():
            future.set_result(result)


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark an abandoned answer's error as seen (asyncio would log it as never retrieved)."""
    if not future.cancelled():
        future.exception()
