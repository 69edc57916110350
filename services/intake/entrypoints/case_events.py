"""Follows the cases service's ``case.status_changed`` events (stream BYLAW_EVENTS) so
each complaint's public status follows its case, and the 311 system hears when a case it
reported closes (DESIGN.md section 3: every later status change goes back on
``bylaw.311.updates``).

A durable pull consumer, acked after the change is committed; the events' ids make a
redelivery harmless. Status changes are few, so they are applied one at a time, in stream
order, which also keeps each case's changes in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import datetime

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from services.common.errors import DomainError
from services.common.events import EVENTS_SUBJECT_PREFIX
from services.common.messaging import STREAM_EVENTS
from services.intake.entrypoints.nats_consumer import TRANSIENT_ERRORS, backoff, delivery_count, settle
from services.intake.service_layer.intake import IntakeService
from services.intake.service_layer.ports import CaseStatusChange

log = logging.getLogger(__name__)

DURABLE = "intake-case-status"
SUBJECT = f"{EVENTS_SUBJECT_PREFIX}.case.status_changed"


def decode_status_change(body: bytes) -> CaseStatusChange:
    """Raises ValueError (or KeyError/TypeError) for an event not in the documented shape."""
    event = json.loads(body)
    status = event["data"]["to"]
    if not isinstance(status, str) or not status:
        raise ValueError("data.to must be a status name")
    occurred_at = datetime.fromisoformat(event["occurred_at"])
    if occurred_at.tzinfo is None:
        raise ValueError("occurred_at must include a time zone")
    return CaseStatusChange(
        event_id=str(event["event_id"]),
        case_number=str(event["case_number"]),
        status=status,
        occurred_at=occurred_at,
    )


class CaseStatusFollower:
    def __init__(self, js: JetStreamContext, service: IntakeService, *, batch: int = 64) -> None:
        self.js = js
        self.service = service
        self.batch = batch

    async def run(self, stop: asyncio.Event) -> None:
        sub = await self.js.pull_subscribe(
            SUBJECT,
            durable=DURABLE,
            stream=STREAM_EVENTS,
            config=ConsumerConfig(
                durable_name=DURABLE,
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                filter_subject=SUBJECT,
                ack_wait=60,
                max_deliver=-1,
            ),
        )
        try:
            while not stop.is_set():
                try:
                    msgs = await sub.fetch(self.batch, timeout=1.0)
                except TimeoutError:
                    continue
                except (OSError, ConnectionError) as exc:
                    log.warning("case events fetch failed, retrying: %s", type(exc).__name__)
                    await asyncio.sleep(1.0)
                    continue
                for msg in msgs:
                    await self.handle(msg)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def handle(self, msg: Msg) -> None:
        try:
            change = decode_status_change(msg.data)
        except (ValueError, KeyError, TypeError) as exc:
            # Not ours to repair: the event stays in BYLAW_EVENTS for whoever owns it.
            log.error("unreadable case.status_changed event skipped: %s", exc)
            await settle(msg.term())
            return
        try:
            await self.service.apply_case_status(change)
        except TRANSIENT_ERRORS as exc:
            log.warning(
                "case status deferred: %s", type(exc).__name__, extra={"case_number": change.case_number}
            )
            await settle(msg.nak(delay=backoff(delivery_count(msg))))
            return
        except DomainError as exc:
            log.error("case status not applied: %s", exc.message, extra={"case_number": change.case_number})
            await settle(msg.term())
            return
        await settle(msg.ack())
