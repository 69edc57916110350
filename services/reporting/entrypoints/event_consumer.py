"""Durable JetStream pull consumer ``reporting`` on ``bylaw.events.>`` (stream BYLAW_EVENTS).

Each fetched batch is applied in one transaction and acknowledged only after it commits,
so a crash before the commit redelivers the batch and a crash after it redelivers events
the ``processed_events`` ledger already holds (skipped by id). When a batch fails, its
messages are retried one by one so one bad event cannot hold up the others; an event that
keeps failing is recorded as unprocessable (with the error) and acknowledged after
``max_error_deliveries`` attempts: the ledger keeps it visible, nothing is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from services.common.events import EVENTS_SUBJECT_PREFIX, DomainEvent
from services.common.messaging import STREAM_EVENTS
from services.reporting.service_layer.services import ReportingService

log = logging.getLogger(__name__)

DURABLE = "reporting"
SUBJECT = f"{EVENTS_SUBJECT_PREFIX}.>"


def backoff(deliveries: int) -> float:
    return float(min(30, 2 ** max(0, deliveries - 1)))


def _deliveries(msg: Msg) -> int:
    try:
        return int(msg.metadata.num_delivered)
    except (AttributeError, ValueError, TypeError):
        return 1


def _stream_seq(msg: Msg) -> int | None:
    try:
        return int(msg.metadata.sequence.stream)
    except (AttributeError, ValueError, TypeError):
        return None


async def _settle(action: Awaitable[None]) -> None:
    # An ack/nak that fails (connection lost) is settled by redelivery after ack_wait.
    with contextlib.suppress(nats.errors.Error, OSError):
        await action


def decode(msg: Msg) -> DomainEvent | str:
    """The event, or why the message is not one."""
    try:
        payload = json.loads(msg.data)
        if not isinstance(payload, dict):
            return "payload is not a JSON object"
        event = DomainEvent.from_json(payload)
    except (ValueError, KeyError, TypeError) as exc:
        return f"not a domain event: {type(exc).__name__}: {str(exc)[:200]}"
    if event.occurred_at.tzinfo is None:
        event = DomainEvent(
            event.event_type,
            event.case_number,
            event.data,
            event.event_id,
            event.occurred_at.replace(tzinfo=UTC),
        )
    return event


class EventConsumer:
    def __init__(
        self,
        js: JetStreamContext,
        service: ReportingService,
        *,
        batch: int = 200,
        fetch_timeout: float = 1.0,
        ack_wait: float = 30.0,
        max_error_deliveries: int = 5,
        durable: str = DURABLE,
        linger: float = 0.25,
    ) -> None:
        self.js = js
        self.durable = durable
        self.service = service
        self.batch = batch
        self.fetch_timeout = fetch_timeout
        self.ack_wait = ack_wait
        self.max_error_deliveries = max_error_deliveries
        # After a short batch, wait this long before the next fetch so events gather: at
        # 311 volume a fetch otherwise returns one or two events and every one pays a whole
        # transaction (the read model is a quarter second later, at most).
        self.linger = linger
        self.applied = 0

    def consumer_config(self) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,  # a new read model replays the whole stream
            filter_subject=SUBJECT,
            ack_wait=self.ack_wait,
            max_deliver=-1,
            max_ack_pending=max(1000, self.batch * 4),
        )

    async def subscribe(self) -> JetStreamContext.PullSubscription:
        return await self.js.pull_subscribe(
            SUBJECT, durable=self.durable, stream=STREAM_EVENTS, config=self.consumer_config()
        )

    async def run(self, stop: asyncio.Event) -> None:
        sub = await self.subscribe()
        log.info("reporting consumer started", extra={"durable": self.durable, "subject": SUBJECT})
        try:
            while not stop.is_set():
                try:
                    msgs = await sub.fetch(self.batch, timeout=self.fetch_timeout)
                except (nats.errors.TimeoutError, TimeoutError):
                    # Nothing to fetch (nats-py raises either, depending on where the wait
                    # ended; the builtin one is an OSError, so it must be caught first).
                    continue
                except (nats.errors.ConnectionClosedError, nats.errors.NoServersError, OSError) as exc:
                    log.warning("event fetch failed, retrying: %s", type(exc).__name__)
                    await asyncio.sleep(1.0)
                    continue
                await self.process_batch(msgs)
                if len(msgs) < self.batch and self.linger:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=self.linger)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def process_batch(self, msgs: list[Msg]) -> None:
        decoded = [(msg, decode(msg)) for msg in msgs]
        events = [item for _, item in decoded if isinstance(item, DomainEvent)]
        try:
            for msg, item in decoded:
                if isinstance(item, str):
                    await self._record_unreadable(msg, item)
            self.applied += await self.service.apply(events)
        except Exception:
            log.exception("event batch failed; retrying its messages one by one", extra={"size": len(msgs)})
            for msg, item in decoded:
                await self._one(msg, item)
            return
        for msg, _ in decoded:
            await _settle(msg.ack())

    async def _one(self, msg: Msg, item: DomainEvent | str) -> None:
        deliveries = _deliveries(msg)
        try:
            if isinstance(item, str):
                await self._record_unreadable(msg, item)
            else:
                self.applied += await self.service.apply([item])
        except Exception as exc:  # noqa: BLE001 - retried with backoff, then parked with the error
            if deliveries < self.max_error_deliveries:
                log.warning(
                    "event deferred: %s",
                    type(exc).__name__,
                    extra={"stream_seq": _stream_seq(msg), "deliveries": deliveries},
                )
                await _settle(msg.nak(delay=backoff(deliveries)))
                return
            if not await self._park(msg, item, exc, deliveries):
                await _settle(msg.nak(delay=backoff(deliveries)))
                return
        await _settle(msg.ack())

    async def _record_unreadable(self, msg: Msg, reason: str) -> None:
        seq = _stream_seq(msg)
        await self.service.record_unprocessable(
            event_id=f"nats-{STREAM_EVENTS}-{seq}",
            event_type=msg.subject.removeprefix(f"{EVENTS_SUBJECT_PREFIX}."),
            case_number="",
            occurred_at=datetime.now(UTC),
            note=reason,
        )

    async def _park(self, msg: Msg, item: DomainEvent | str, exc: Exception, deliveries: int) -> bool:
        """Record an event that failed ``deliveries`` times so it stops blocking; True when
        recorded (then it may be acknowledged)."""
        note = f"failed {deliveries} times: {type(exc).__name__}: {str(exc)[:300]}"
        log.error("event parked as unprocessable", extra={"stream_seq": _stream_seq(msg), "note": note})
        try:
            if isinstance(item, DomainEvent):
                await self.service.record_unprocessable(
                    event_id=item.event_id,
                    event_type=item.event_type,
                    case_number=item.case_number or "",
                    occurred_at=item.occurred_at,
                    note=note,
                )
            else:
                await self._record_unreadable(msg, f"{item}; {note}")
        except Exception:
            log.exception("could not park event")
            return False
        return True
