"""The 311 feed: a JetStream durable pull consumer on ``bylaw.311.requests`` (DESIGN.md §3).

- Batches of up to ``batch`` messages are fetched whenever fewer than ``max_in_flight``
  are being processed, and processed concurrently, at most ``concurrency`` at a time,
  except that messages about the same place run in arrival order (the first opens the
  case, the next joins it, policy 6.6.5).
- A message is acked only after the complaint's transaction committed. Idempotency is the
  database's unique (source, external_request_id) constraint, so a redelivery after a
  crash, or a 311 retry long after the broker's dedupe window, returns the stored outcome.
- A message that cannot be processed (not JSON, fails validation, or keeps failing with an
  unexpected error) is kept in intake's encrypted dead-letter vault and goes to
  ``bylaw.311.dlq`` with the reason and a *redacted* original (no identity, no written
  complaint: policy 6.3; ``domain.dead_letter``), and is then acked: nothing is dropped,
  nothing blocks the feed, and staff read or resubmit the original through intake.
- Once acked, the request message itself is securely erased from the stream (it carries
  the complainant's identity, which only intake's vault may keep): see ``stream_eraser``.
- A dependency that is down (cases, Temporal, the database) naks with a growing delay:
  the message is good and will succeed later, so it is never dead-lettered for that.

Outcomes go back on ``bylaw.311.updates`` through intake's outbox, not from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy.exc import InterfaceError, OperationalError

from services.common.errors import DomainError, FieldViolation, InvalidArgument, Unavailable
from services.common.messaging import STREAM_311, SUBJECT_311_DLQ, SUBJECT_311_REQUESTS
from services.intake.domain.dead_letter import DeadLetter, redacted_original
from services.intake.domain.model import Submission
from services.intake.entrypoints.open311_message import MSG_ID_HEADER, decode_311, ordering_key
from services.intake.service_layer.intake import IntakeService

log = logging.getLogger(__name__)

DURABLE = "intake-311"
DLQ_REASON_HEADER = "Bylaw-Dlq-Reason"
# Failures that say "try again later", never "this message is bad".
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    Unavailable,
    OperationalError,
    InterfaceError,
    TimeoutError,
    ConnectionError,
    OSError,
)


class DeadLetterSink(Protocol):
    async def record(
        self,
        *,
        stream: str,
        stream_sequence: int | None,
        external_request_id: str,
        subject: str,
        reason: str,
        violations: Sequence[FieldViolation],
        deliveries: int,
        body: bytes,
        headers: Mapping[str, str],
    ) -> DeadLetter: ...


class Eraser(Protocol):
    def erase_soon(self, seq: int) -> None: ...


@dataclass
class ConsumerStats:
    processed: int = 0
    dead_lettered: int = 0
    retried: int = 0


def backoff(deliveries: int) -> float:
    """Seconds before a nak'd message comes back: 1, 2, 4 ... capped at 60."""
    return float(min(60, 2 ** max(0, deliveries - 1)))


class Complaints311Consumer:
    def __init__(
        self,
        js: JetStreamContext,
        service: IntakeService,
        dead_letters: DeadLetterSink,
        *,
        eraser: Eraser | None = None,
        batch: int = 128,
        concurrency: int = 32,
        fetch_timeout: float = 1.0,
        ack_wait: float = 60.0,
        max_error_deliveries: int = 10,
        max_in_flight: int = 0,
    ) -> None:
        self.js = js
        self.service = service
        self.dead_letters = dead_letters
        self.eraser = eraser
        self.batch = batch
        self.concurrency = concurrency
        self.fetch_timeout = fetch_timeout
        self.ack_wait = ack_wait
        self.max_error_deliveries = max_error_deliveries
        # Fetched and not yet settled; enough beyond the active slots that the next
        # messages are at hand when a slot frees up.
        self.max_in_flight = max_in_flight or batch + 2 * concurrency
        self.stats = ConsumerStats()
        self._slots = asyncio.Semaphore(concurrency)
        # Per place: the turn of the latest message, which the next one waits for.
        self._tails: dict[str, asyncio.Future[None]] = {}

    def consumer_config(self) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=DURABLE,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            filter_subject=SUBJECT_311_REQUESTS,
            ack_wait=self.ack_wait,
            max_deliver=-1,  # transient failures retry until they succeed
            # Enough in flight for a few batches; bounds redelivery storms after a crash.
            max_ack_pending=max(1000, self.batch * 8),
        )

    async def subscribe(self) -> JetStreamContext.PullSubscription:
        return await self.js.pull_subscribe(
            SUBJECT_311_REQUESTS, durable=DURABLE, stream=STREAM_311, config=self.consumer_config()
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Fetch while there is room: up to ``max_in_flight`` messages are being processed
        at any time (``concurrency`` of them actively), so the slots never wait for the
        slowest message of a batch before the next batch is fetched."""
        sub = await self.subscribe()
        log.info("311 consumer started", extra={"durable": DURABLE, "batch": self.batch})
        in_flight: set[asyncio.Task[None]] = set()
        try:
            while not stop.is_set():
                room = self.max_in_flight - len(in_flight)
                if room <= 0:
                    # Each task removes itself from in_flight when done (callback below).
                    await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                    continue
                try:
                    msgs = await sub.fetch(min(self.batch, room), self.fetch_timeout)
                except TimeoutError:
                    # Nothing to fetch (nats' own TimeoutError is one too). Caught before
                    # OSError below, of which TimeoutError is a subclass.
                    continue
                except (nats.errors.ConnectionClosedError, nats.errors.NoServersError, OSError) as exc:
                    log.warning("311 fetch failed, retrying: %s", type(exc).__name__)
                    await asyncio.sleep(1.0)
                    continue
                tasks = self.dispatch(msgs)
                in_flight.update(tasks)
                for task in tasks:
                    task.add_done_callback(in_flight.discard)
        finally:
            # Let what was fetched finish (each is acked or nak'd), then leave.
            if in_flight:
                await asyncio.wait(in_flight)
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def process_batch(self, msgs: list[Msg]) -> None:
        await asyncio.gather(*self.dispatch(msgs))

    def dispatch(self, msgs: list[Msg]) -> list[asyncio.Task[None]]:
        """One task per message. Messages about the same place run one after another in
        arrival order, also across batches: each waits for the previous one's turn."""
        tasks = []
        for msg in msgs:
            decoded: Submission | InvalidArgument
            try:
                submission = decode_311(msg.data, msg.headers)
            except InvalidArgument as exc:
                decoded, key = exc, ""
            else:
                decoded, key = submission, ordering_key(submission)
            previous = self._tails.get(key) if key else None
            turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if key:
                self._tails[key] = turn
            tasks.append(asyncio.create_task(self._in_turn(msg, decoded, key, previous, turn)))
        return tasks

    async def _in_turn(
        self,
        msg: Msg,
        decoded: Submission | InvalidArgument,
        key: str,
        previous: asyncio.Future[None] | None,
        turn: asyncio.Future[None],
    ) -> None:
        try:
            if previous is not None:
                await previous
            async with self._slots:
                await self.handle(msg, decoded)
        finally:
            turn.set_result(None)
            if key and self._tails.get(key) is turn:
                del self._tails[key]

    async def handle(self, msg: Msg, decoded: Submission | InvalidArgument) -> None:
        deliveries = delivery_count(msg)
        try:
            if isinstance(decoded, InvalidArgument):
                raise decoded
            await self.service.submit(decoded)
        except InvalidArgument as exc:
            await self._dead_letter(msg, exc.violations, deliveries)
            return
        except TRANSIENT_ERRORS as exc:
            self.stats.retried += 1
            log.warning(
                "311 message deferred: %s",
                type(exc).__name__,
                extra={"stream_seq": _stream_seq(msg), "deliveries": deliveries},
            )
            await settle(msg.nak(delay=backoff(deliveries)))
            return
        except DomainError as exc:
            # Well-formed but refused for a reason retrying will not change.
            await self._dead_letter(msg, [FieldViolation("request", exc.message)], deliveries)
            return
        except Exception as exc:
            log.exception(
                "311 message failed", extra={"stream_seq": _stream_seq(msg), "deliveries": deliveries}
            )
            if deliveries < self.max_error_deliveries:
                self.stats.retried += 1
                await settle(msg.nak(delay=backoff(deliveries)))
                return
            rule = f"processing failed {deliveries} times ({type(exc).__name__}); needs investigation"
            await self._dead_letter(msg, [FieldViolation("message", rule)], deliveries)
            return
        self.stats.processed += 1
        await settle(msg.ack())
        self._erase(msg)

    def _erase(self, msg: Msg) -> None:
        seq = _stream_seq(msg)
        if self.eraser is not None and seq is not None:
            self.eraser.erase_soon(seq)

    async def _dead_letter(self, msg: Msg, violations: list[FieldViolation], deliveries: int) -> None:
        """Keep the original in the dead-letter vault, publish the redacted copy with the
        reason to the DLQ, then ack. If either fails the message is nak'd, never acked:
        it must not be dropped."""
        reason = "; ".join(v.describe() for v in violations)
        seq = _stream_seq(msg)
        headers = dict(msg.headers or {})
        try:
            dead = await self.dead_letters.record(
                stream=STREAM_311,
                stream_sequence=seq,
                external_request_id=headers.get(MSG_ID_HEADER, ""),
                subject=msg.subject,
                reason=reason,
                violations=violations,
                deliveries=deliveries,
                body=msg.data,
                headers=headers,
            )
        except Exception as exc:  # noqa: BLE001 - the vault write failed: retry the whole message later
            log.warning(
                "dead letter not stored, will retry: %s", type(exc).__name__, extra={"stream_seq": seq}
            )
            await settle(msg.nak(delay=backoff(deliveries)))
            return
        payload = dead_letter_payload(msg.data, headers, msg.subject, violations, reason, dead.id)
        payload.update(stream_sequence=seq, deliveries=deliveries)
        try:
            await self.js.publish(
                SUBJECT_311_DLQ,
                json.dumps(payload, separators=(",", ":")).encode(),
                headers={
                    # Stable per dead letter, so a retried publish is deduplicated.
                    "Nats-Msg-Id": f"dlq-{dead.id}",
                    DLQ_REASON_HEADER: " ".join(reason.split())[:1000],
                },
            )
        except Exception as exc:  # noqa: BLE001 - any publish failure: retry the whole message later
            log.warning("DLQ publish failed, will retry: %s", type(exc).__name__, extra={"stream_seq": seq})
            await settle(msg.nak(delay=backoff(deliveries)))
            return
        self.stats.dead_lettered += 1
        # The reason names fields and rules only, never values, so it is safe to log.
        log.info(
            "311 message dead-lettered",
            extra={"stream_seq": seq, "reason": reason, "dead_letter_id": dead.id},
        )
        await settle(msg.ack())
        self._erase(msg)


def dead_letter_payload(
    body: bytes,
    headers: Mapping[str, str] | None,
    subject: str,
    violations: list[FieldViolation],
    reason: str,
    dead_letter_id: str,
) -> dict[str, Any]:
    """The DLQ message: the reason, and the original without identity or the written
    complaint (``redacted_original``); the full original stays in the dead-letter vault
    under ``dead_letter_id``."""
    # Only the 311 id header travels on: other headers are the sender's and unchecked.
    kept_headers = {k: v for k, v in (headers or {}).items() if k == MSG_ID_HEADER}
    return {
        "reason": reason,
        "violations": [{"field": v.field, "rule": v.rule, "policy": v.policy} for v in violations],
        "dead_letter_id": dead_letter_id,
        "original_subject": subject,
        "original_headers": kept_headers,
        "external_request_id": (headers or {}).get(MSG_ID_HEADER),
        "failed_at": datetime.now(UTC).isoformat(),
        **redacted_original(body, dead_letter_id),
    }


def delivery_count(msg: Msg) -> int:
    try:
        return int(msg.metadata.num_delivered)
    except Exception:  # noqa: BLE001 - not a JetStream message (tests); count as first
        return 1


def _stream_seq(msg: Msg) -> int | None:
    try:
        return int(msg.metadata.sequence.stream)
    except Exception:  # noqa: BLE001 - not a JetStream message
        return None


async def settle(action: Any) -> None:
    """Ack/nak are best effort: if the connection is gone the server redelivers after
    ack_wait, and processing is idempotent."""
    try:
        await action
    except Exception as exc:  # noqa: BLE001
        log.warning("ack/nak failed: %s", type(exc).__name__)
