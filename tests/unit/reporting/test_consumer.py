"""The event consumer's settlement rules, with fake JetStream messages: ack only after
the batch committed, retry a failing batch message by message, park an event that keeps
failing (recorded, then acked), record unreadable messages."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast
from zoneinfo import ZoneInfo

from nats.aio.msg import Msg

from services.common.events import DomainEvent
from services.reporting.entrypoints.event_consumer import EventConsumer, backoff, decode
from services.reporting.service_layer.services import ReportingService
from tests.unit.reporting import scenario
from tests.unit.reporting.fakes import MemoryReadModel, MemoryUnitOfWork


@dataclass
class FakeMsg:
    data: bytes
    subject: str
    deliveries: int = 1
    seq: int = 1
    settled: list[tuple[str, float | None]] = field(default_factory=list)

    @property
    def metadata(self) -> Any:
        return SimpleNamespace(num_delivered=self.deliveries, sequence=SimpleNamespace(stream=self.seq))

    async def ack(self) -> None:
        self.settled.append(("ack", None))

    async def nak(self, delay: float | None = None) -> None:
        self.settled.append(("nak", delay))


class FlakyService(ReportingService):
    """Fails any batch containing a poisoned event id, like a database error would."""

    def __init__(self, poisoned: set[str]) -> None:
        self.model = MemoryReadModel()
        super().__init__(
            uow=lambda snapshot=False: MemoryUnitOfWork(self.model), service_labels={}, zone=ZoneInfo("UTC")
        )
        self.poisoned = poisoned

    async def apply(self, events: Sequence[DomainEvent]) -> int:
        if any(e.event_id in self.poisoned for e in events):
            raise RuntimeError("database said no")
        return await super().apply(events)


def message(event: DomainEvent, **kwargs: Any) -> FakeMsg:
    return FakeMsg(json.dumps(event.to_json()).encode(), event.subject, **kwargs)


def consumer(service: ReportingService) -> EventConsumer:
    return EventConsumer(cast(Any, None), service, max_error_deliveries=3)


def msgs(*items: FakeMsg) -> list[Msg]:
    return cast(list[Msg], list(items))


async def test_a_batch_is_acked_after_it_is_applied() -> None:
    service = FlakyService(set())
    events = scenario.events()[:5]
    batch = [message(e, seq=i) for i, e in enumerate(events)]
    await consumer(service).process_batch(msgs(*batch))
    assert all(m.settled == [("ack", None)] for m in batch)
    assert set(service.model.processed) == {e.event_id for e in events}


async def test_one_failing_event_does_not_hold_up_the_others() -> None:
    good, bad = scenario.events()[0], scenario.events()[1]
    service = FlakyService({bad.event_id})
    good_msg, bad_msg = message(good, seq=1), message(bad, seq=2, deliveries=1)
    await consumer(service).process_batch(msgs(good_msg, bad_msg))
    assert good_msg.settled == [("ack", None)]
    assert bad_msg.settled == [("nak", backoff(1))]  # retried later, not acked
    assert good.event_id in service.model.processed
    assert bad.event_id not in service.model.processed


async def test_an_event_failing_too_often_is_parked_and_acked() -> None:
    bad = scenario.events()[1]
    service = FlakyService({bad.event_id})
    bad_msg = message(bad, seq=9, deliveries=3)
    await consumer(service).process_batch(msgs(bad_msg))
    assert bad_msg.settled == [("ack", None)]
    parked = service.model.processed[bad.event_id]
    assert not parked.handled
    assert parked.note.startswith("failed 3 times: RuntimeError: database said no")


async def test_unreadable_messages_are_recorded_and_acked() -> None:
    service = FlakyService(set())
    junk = FakeMsg(b"\xff not json", "bylaw.events.case.created", seq=42)
    await consumer(service).process_batch(msgs(junk))
    assert junk.settled == [("ack", None)]
    recorded = service.model.processed["nats-BYLAW_EVENTS-42"]
    assert recorded.event_type == "case.created" and not recorded.handled
    assert recorded.note.startswith("not a domain event")


def test_backoff_grows_and_is_capped() -> None:
    assert [backoff(n) for n in (1, 2, 3, 6, 20)] == [1.0, 2.0, 4.0, 30.0, 30.0]


def test_naive_occurred_at_is_taken_as_utc() -> None:
    payload = scenario.events()[0].to_json() | {"occurred_at": "2026-03-01T10:00:00"}
    decoded = decode(cast(Msg, FakeMsg(json.dumps(payload).encode(), "bylaw.events.case.created")))
    assert isinstance(decoded, DomainEvent)
    assert decoded.occurred_at == datetime(2026, 3, 1, 10, tzinfo=UTC)
