"""Secure erasure of processed 311 requests from JetStream (policy 6.3, MFIPPA).

A 311 request message carries the complainant's identity, and JetStream keeps messages
on disk for the stream's whole retention (90 days). Only intake's encrypted vault may keep
identity, so once a request's complaint is committed and the message acked, the message
is erased: ``STREAM.MSG.DELETE`` without ``no_erase`` (nats-py never sends it), on which the
server overwrites the stored payload before removing it, not merely marks it deleted.

- ``erase_soon(seq)`` queues a message the consumer has just acked; the run loop erases
  the queue in the background, so erasure never adds latency to the feed. An erasure that
  fails stays queued and is retried on the next pass.
- Every ``interval`` a janitor pass also erases any request message still present at or
  below the consumer's ack floor (acked, so processed), e.g. after a crash between the
  ack and the erasure, or when the queue was lost with the process. It walks the stream
  by subject from a cursor (``next_by_subj``, so erased messages cost nothing) and does at
  most ``max_per_pass`` erasures per pass, so a large backlog is worked off in bounded
  steps instead of one long stall.

Only ``bylaw.311.requests`` is erased. The stream holds nothing else (the updates and dead
letters, which carry no identity and are the audit of the exchange, have their own stream,
``COMPLAINTS_311_REPLIES``), so a block whose requests are all erased is dropped whole
instead of being compacted around messages that stay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from services.common.messaging import STREAM_311, SUBJECT_311_REQUESTS

log = logging.getLogger(__name__)


class StreamEraser:
    def __init__(
        self,
        js: JetStreamContext,
        durable: str,
        *,
        stream: str = STREAM_311,
        subject: str = SUBJECT_311_REQUESTS,
        interval: float = 10.0,
        max_per_pass: int = 1000,
        concurrency: int = 32,
    ) -> None:
        self.js = js
        self.durable = durable
        self.stream = stream
        self.subject = subject
        self.interval = interval
        self.max_per_pass = max_per_pass
        self.concurrency = concurrency
        self._pending: set[int] = set()
        self._wake = asyncio.Event()
        self._cursor = 1  # next stream sequence the janitor looks at
        self.erased = 0

    def erase_soon(self, seq: int) -> None:
        self._pending.add(seq)
        self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def _wake_on(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        next_sweep = loop.time() + self.interval
        # A stop must end the wait at once, not after the sweep interval.
        stop_watch = asyncio.create_task(self._wake_on(stop))
        try:
            await self._loop(stop, loop, next_sweep)
        finally:
            stop_watch.cancel()
        # Whatever was acked before the stop is erased before the process leaves.
        await self.erase_pending()

    async def _loop(self, stop: asyncio.Event, loop: asyncio.AbstractEventLoop, next_sweep: float) -> None:
        while not stop.is_set():
            timeout = max(0.0, next_sweep - loop.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)
            self._wake.clear()
            await self.erase_pending()
            if loop.time() >= next_sweep:
                try:
                    await self.sweep_acked()
                except Exception as exc:  # noqa: BLE001 - retried next pass
                    log.warning("311 stream janitor pass failed: %s", type(exc).__name__)
                next_sweep = loop.time() + self.interval

    async def erase_pending(self) -> int:
        """Erase the queued messages; failures stay queued for the next pass."""
        done = 0
        while self._pending:
            chunk = sorted(self._pending)[: self.concurrency]
            results = await asyncio.gather(*(self._erase(seq) for seq in chunk))
            for seq, ok in zip(chunk, results, strict=True):
                if ok:
                    self._pending.discard(seq)
                    done += 1
            if not all(results):
                break  # NATS is struggling: the rest waits for the next pass
        return done

    async def _erase(self, seq: int) -> bool:
        try:
            await self.js.delete_msg(self.stream, seq)
        except NotFoundError:
            pass  # already gone (erased by an earlier pass, or aged out)
        except Exception as exc:  # noqa: BLE001 - kept for retry
            log.warning(
                "311 message erasure failed, will retry: %s", type(exc).__name__, extra={"stream_seq": seq}
            )
            return False
        self.erased += 1
        return True

    async def sweep_acked(self) -> int:
        """Erase request messages still present at or below the consumer's ack floor."""
        try:
            info = await self.js.consumer_info(self.stream, self.durable)
        except NotFoundError:
            return 0  # the consumer does not exist yet: nothing has been acked
        floor = int(info.ack_floor.stream_seq if info.ack_floor else 0)
        erased = 0
        seq = self._cursor
        while erased < self.max_per_pass and seq <= floor:
            try:
                found = await self.js.get_msg(self.stream, seq=seq, subject=self.subject, next=True)
            except NotFoundError:
                seq = floor + 1  # no request message left at or after seq
                break
            if found.seq is None or found.seq > floor:
                seq = found.seq if found.seq is not None else floor + 1
                break
            if not await self._erase(found.seq):
                break
            self._pending.discard(found.seq)
            erased += 1
            seq = found.seq + 1
        self._cursor = max(self._cursor, seq)
        if erased:
            log.info("311 stream janitor erased acked requests", extra={"erased": erased, "ack_floor": floor})
        return erased
