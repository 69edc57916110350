"""The eraser of processed 311 requests (policy 6.3): queued erasures, retries, and the
janitor that erases acked requests still in the stream, bounded per pass and never
touching unacked requests or the stream's other subjects."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from nats.js.errors import NotFoundError

from services.common.messaging import STREAM_311, SUBJECT_311_DLQ, SUBJECT_311_REQUESTS, SUBJECT_311_UPDATES
from services.intake.entrypoints.stream_eraser import StreamEraser


class FakeStream:
    """A stream's messages by sequence, and the consumer's ack floor."""

    def __init__(self, subjects: dict[int, str], ack_floor: int) -> None:
        self.subjects = dict(subjects)
        self.ack_floor = ack_floor
        self.failing: set[int] = set()
        self.deletes: list[int] = []

    async def delete_msg(self, stream: str, seq: int) -> bool:
        assert stream == STREAM_311
        if seq in self.failing:
            raise ConnectionError("nats hiccup")
        if seq not in self.subjects:
            raise NotFoundError()
        self.deletes.append(seq)
        del self.subjects[seq]
        return True

    async def consumer_info(self, stream: str, durable: str) -> Any:
        return SimpleNamespace(ack_floor=SimpleNamespace(stream_seq=self.ack_floor))

    async def get_msg(self, stream: str, seq: int, subject: str, next: bool) -> Any:
        assert next
        for s in sorted(self.subjects):
            if s >= seq and self.subjects[s] == subject:
                return SimpleNamespace(seq=s)
        raise NotFoundError()


def eraser(stream: FakeStream, **kw: Any) -> StreamEraser:
    return StreamEraser(stream, "intake-311", **kw)  # type: ignore[arg-type]


async def test_queued_erasures_run_and_failures_are_retried() -> None:
    stream = FakeStream({1: SUBJECT_311_REQUESTS, 2: SUBJECT_311_REQUESTS}, ack_floor=0)
    stream.failing = {2}
    e = eraser(stream)
    e.erase_soon(1)
    e.erase_soon(2)
    assert await e.erase_pending() == 1
    assert e.pending == 1 and stream.subjects == {2: SUBJECT_311_REQUESTS}
    stream.failing.clear()
    assert await e.erase_pending() == 1
    assert e.pending == 0 and stream.subjects == {}


async def test_an_already_erased_message_counts_as_erased() -> None:
    e = eraser(FakeStream({}, ack_floor=0))
    e.erase_soon(9)
    assert await e.erase_pending() == 1 and e.pending == 0


async def test_janitor_erases_acked_requests_only() -> None:
    subjects = {
        1: SUBJECT_311_REQUESTS,
        2: SUBJECT_311_UPDATES,
        3: SUBJECT_311_REQUESTS,
        4: SUBJECT_311_DLQ,
        5: SUBJECT_311_REQUESTS,  # above the ack floor: not processed yet
    }
    stream = FakeStream(subjects, ack_floor=4)
    assert await eraser(stream).sweep_acked() == 2
    assert stream.subjects == {2: SUBJECT_311_UPDATES, 4: SUBJECT_311_DLQ, 5: SUBJECT_311_REQUESTS}


async def test_janitor_work_is_bounded_per_pass_and_resumes_from_its_cursor() -> None:
    stream = FakeStream({n: SUBJECT_311_REQUESTS for n in range(1, 11)}, ack_floor=10)
    e = eraser(stream, max_per_pass=4)
    assert [await e.sweep_acked() for _ in range(4)] == [4, 4, 2, 0]
    assert stream.subjects == {}
    assert stream.deletes == list(range(1, 11))  # each message erased once, in order
