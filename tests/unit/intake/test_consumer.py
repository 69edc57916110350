"""The 311 consumer's decisions per message: ack after success, dead-letter bad input with
the original and the reason, nak (never DLQ) when a dependency is down, and ordering by
place within a concurrently processed batch (DESIGN.md §3)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from services.common.errors import FieldViolation, InvalidArgument, Unavailable
from services.common.events import DomainEvent
from services.common.messaging import SUBJECT_311_DLQ, SUBJECT_311_REQUESTS
from services.intake.domain.model import Submission
from services.intake.entrypoints.case_events import CaseStatusFollower
from services.intake.entrypoints.nats_consumer import Complaints311Consumer, backoff
from services.intake.entrypoints.open311_message import decode_311
from services.intake.service_layer.dead_letters import DeadLetters
from services.intake.service_layer.ports import CaseStatusChange
from tests.unit.intake.fakes import FakeDeadLetters
from tests.unit.intake.test_open311_message import encode


@dataclass
class FakeMsg:
    data: bytes
    seq: int = 1
    delivered: int = 1
    headers: dict[str, str] | None = None
    subject: str = SUBJECT_311_REQUESTS
    acked: bool = False
    naks: list[float | None] = field(default_factory=list)
    termed: bool = False

    @property
    def metadata(self) -> Any:
        return SimpleNamespace(num_delivered=self.delivered, sequence=SimpleNamespace(stream=self.seq))

    async def ack(self) -> None:
        self.acked = True

    async def nak(self, delay: float | None = None) -> None:
        self.naks.append(delay)

    async def term(self) -> None:
        self.termed = True


class FakeJetStream:
    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.fail = False

    async def publish(self, subject: str, payload: bytes, headers: dict[str, str]) -> None:
        if self.fail:
            raise ConnectionError("nats down")
        self.published.append((subject, json.loads(payload), headers))


class FakeService:
    def __init__(self, error: BaseException | None = None, delay: float = 0.0) -> None:
        self.error = error
        self.delay = delay
        self.order: list[str] = []
        self.running = 0
        self.max_running = 0

    async def submit(self, sub: Submission) -> None:
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            await asyncio.sleep(self.delay)
            self.order.append(sub.external_request_id)
            if self.error is not None:
                raise self.error
        finally:
            self.running -= 1


class FakeEraser:
    def __init__(self) -> None:
        self.queued: list[int] = []

    def erase_soon(self, seq: int) -> None:
        self.queued.append(seq)


@dataclass
class Harness:
    consumer: Complaints311Consumer
    vault: FakeDeadLetters
    eraser: FakeEraser


def harness(service: FakeService, js: FakeJetStream | None = None, **kw: Any) -> Harness:
    vault, eraser = FakeDeadLetters(), FakeEraser()
    # The sink only records; resubmission (which needs the intake service) is not used here.
    sink = DeadLetters(vault, None, decode_311)  # type: ignore[arg-type]
    c = Complaints311Consumer(js or FakeJetStream(), service, sink, eraser=eraser, **kw)  # type: ignore[arg-type]
    return Harness(c, vault, eraser)


def consumer(service: FakeService, js: FakeJetStream | None = None, **kw: Any) -> Complaints311Consumer:
    return harness(service, js, **kw).consumer


async def test_valid_message_is_acked_after_processing_then_erased() -> None:
    service, js = FakeService(), FakeJetStream()
    h = harness(service, js)
    msg = FakeMsg(encode(), seq=5)
    await h.consumer.process_batch([msg])  # type: ignore[list-item]
    assert service.order == ["NYC-61234567"]
    assert msg.acked and msg.naks == [] and js.published == []
    # The request carries identity: once processed it is erased from the stream (6.3).
    assert h.eraser.queued == [5]


async def test_bad_json_goes_to_the_dlq_as_size_and_digest_only_and_is_acked() -> None:
    service, js = FakeService(), FakeJetStream()
    h = harness(service, js)
    raw = b'{broken "first_name": "Ada", "phone": "613-555-0100"'
    msg = FakeMsg(raw, seq=17, headers={"Nats-Msg-Id": "NYC-9"})
    await h.consumer.process_batch([msg])  # type: ignore[list-item]
    assert service.order == []
    ((subject, body, headers),) = js.published
    assert subject == SUBJECT_311_DLQ
    # Not JSON, so it cannot be redacted field by field: size and SHA-256 only (policy 6.3).
    assert "original" not in body and "Ada" not in json.dumps(body) and "613-555" not in json.dumps(body)
    assert body["size_bytes"] == len(raw) and body["sha256"] == hashlib.sha256(raw).hexdigest()
    (dead_id,) = h.vault.letters
    assert dead_id in body["original_withheld"] and body["dead_letter_id"] == dead_id
    assert h.vault.letters[dead_id][1] == raw  # the full original is vaulted
    assert body["reason"].startswith("body: is not valid UTF-8 JSON")
    assert body["external_request_id"] == "NYC-9"
    assert body["stream_sequence"] == 17
    assert headers["Nats-Msg-Id"] == f"dlq-{dead_id}"
    assert msg.acked and h.eraser.queued == [17]


async def test_validation_failure_names_field_rule_and_policy_and_withholds_identity() -> None:
    error = InvalidArgument([FieldViolation("description", "is required: a brief description", "6.5.3")])
    js = FakeJetStream()
    h = harness(FakeService(error), js)
    msg = FakeMsg(encode(), headers={"Nats-Msg-Id": "NYC-61234567", "X-Sender-Note": "Ada called"})
    await h.consumer.process_batch([msg])  # type: ignore[list-item]
    ((_, body, headers),) = js.published
    assert body["violations"] == [
        {"field": "description", "rule": "is required: a brief description", "policy": "6.5.3"}
    ]
    assert body["reason"] == "description: is required: a brief description (policy 6.5.3)"
    original = body["original"]
    assert original["service_request_id"] == "NYC-61234567" and original["service_code"] == "noise"
    (dead_id,) = h.vault.letters
    for name in ("first_name", "last_name", "email", "phone", "complainant_address", "description"):
        assert original[name].startswith("[withheld") and dead_id in original[name], name
    text = json.dumps(body)
    for value in ("Ada", "Lovelace", "ada@example.org", "613-555-0100", "1 Main St"):
        assert value not in text, value
    assert body["original_headers"] == {"Nats-Msg-Id": "NYC-61234567"}
    assert "description" in headers["Bylaw-Dlq-Reason"]
    assert json.loads(h.vault.letters[dead_id][1]) == json.loads(encode())
    assert msg.acked


async def test_redelivered_bad_message_is_one_dead_letter() -> None:
    error = InvalidArgument([FieldViolation("service_code", "unknown")])
    js = FakeJetStream()
    h = harness(FakeService(error), js)
    for delivered in (1, 2):
        await h.consumer.process_batch([FakeMsg(encode(), seq=8, delivered=delivered)])  # type: ignore[list-item]
    assert len(h.vault.letters) == 1
    assert js.published[0][2]["Nats-Msg-Id"] == js.published[1][2]["Nats-Msg-Id"]


async def test_dead_letter_vault_failure_naks_instead_of_dropping() -> None:
    js = FakeJetStream()
    h = harness(FakeService(), js)

    async def broken(new: Any) -> Any:
        raise ConnectionError("database down")

    h.vault.add = broken  # type: ignore[method-assign]
    msg = FakeMsg(b"not json", seq=3)
    await h.consumer.process_batch([msg])  # type: ignore[list-item]
    assert not msg.acked and msg.naks == [1.0] and js.published == [] and h.eraser.queued == []


async def test_dependency_down_naks_with_delay_and_never_dead_letters() -> None:
    js = FakeJetStream()
    msg = FakeMsg(encode(), delivered=3)
    await consumer(FakeService(Unavailable("cases service: UNAVAILABLE")), js).process_batch([msg])  # type: ignore[list-item]
    assert msg.naks == [backoff(3)] == [4.0]
    assert not msg.acked and js.published == []


async def test_unexpected_error_retries_then_dead_letters() -> None:
    js = FakeJetStream()
    c = consumer(FakeService(RuntimeError("bug")), js, max_error_deliveries=3)
    first = FakeMsg(encode(), delivered=1)
    await c.process_batch([first])  # type: ignore[list-item]
    assert first.naks == [1.0] and js.published == []
    last = FakeMsg(encode(), delivered=3)
    await c.process_batch([last])  # type: ignore[list-item]
    ((_, body, _),) = js.published
    assert "processing failed 3 times (RuntimeError)" in body["reason"]
    assert last.acked


async def test_dlq_publish_failure_naks_instead_of_dropping() -> None:
    js = FakeJetStream()
    js.fail = True
    msg = FakeMsg(b"not json")
    h = harness(FakeService(), js)
    await h.consumer.process_batch([msg])  # type: ignore[list-item]
    assert not msg.acked and msg.naks == [1.0]
    assert h.eraser.queued == []  # never erased before it is safely dead-lettered


async def test_batch_is_concurrent_within_the_bound_and_ordered_per_place() -> None:
    service = FakeService(delay=0.01)
    c = consumer(service, concurrency=3)
    msgs = [
        FakeMsg(encode(service_request_id=f"{place}-{i}", address_string=f"{place} Main St"), seq=n)
        for n, (place, i) in enumerate(((p, i) for i in range(3) for p in "ABCDE"), start=1)
    ]
    await c.process_batch(msgs)  # type: ignore[arg-type]
    assert all(m.acked for m in msgs)
    assert service.max_running == 3
    for place in "ABCDE":
        assert [x for x in service.order if x.startswith(place)] == [f"{place}-0", f"{place}-1", f"{place}-2"]


async def test_order_per_place_holds_across_batches_in_flight_together() -> None:
    # The consumer fetches the next batch while the previous one is still running.
    service = FakeService(delay=0.01)
    c = consumer(service, concurrency=8)
    first = [FakeMsg(encode(service_request_id="A-0", address_string="1 Main St"), seq=1)]
    second = [
        FakeMsg(encode(service_request_id="B-0", address_string="2 Main St"), seq=2),
        FakeMsg(encode(service_request_id="A-1", address_string="1 MAIN  st"), seq=3),
    ]
    tasks = c.dispatch(first) + c.dispatch(second)  # type: ignore[arg-type]
    await asyncio.gather(*tasks)
    assert service.order.index("A-0") < service.order.index("A-1")
    assert c._tails == {}  # nothing left waiting


class FakeFollowerService:
    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error
        self.changes: list[CaseStatusChange] = []

    async def apply_case_status(self, change: CaseStatusChange) -> int:
        if self.error is not None:
            raise self.error
        self.changes.append(change)
        return 1


def status_event(**data: Any) -> bytes:
    event = DomainEvent("case.status_changed", "BL-2026-000009", {"from": "complied", "to": "closed", **data})
    return json.dumps(event.to_json()).encode()


async def test_case_status_event_is_applied_then_acked() -> None:
    service = FakeFollowerService()
    msg = FakeMsg(status_event())
    await CaseStatusFollower(FakeJetStream(), service).handle(msg)  # type: ignore[arg-type]
    (change,) = service.changes
    assert (change.case_number, change.status) == ("BL-2026-000009", "closed")
    assert change.occurred_at.tzinfo is not None
    assert msg.acked


async def test_unreadable_case_event_is_terminated_not_retried_forever() -> None:
    for body in (b"not json", status_event(to=None), json.dumps({"event_id": "x"}).encode()):
        msg = FakeMsg(body)
        await CaseStatusFollower(FakeJetStream(), FakeFollowerService()).handle(msg)  # type: ignore[arg-type]
        assert msg.termed and not msg.acked


async def test_case_event_waits_out_a_database_outage() -> None:
    msg = FakeMsg(status_event(), delivered=2)
    follower = CaseStatusFollower(FakeJetStream(), FakeFollowerService(Unavailable("db")))  # type: ignore[arg-type]
    await follower.handle(msg)  # type: ignore[arg-type]
    assert msg.naks == [2.0] and not msg.acked and not msg.termed
