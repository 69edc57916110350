"""services.common.coalesce: concurrent calls go out as one batch, every caller gets its own
answer, and a failing batch never fails an item that is fine on its own."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Sequence

import pytest

from services.common.coalesce import Coalescer


class Backend:
    """Doubles numbers; refuses negative ones (the whole batch fails, as one transaction)."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.singles: list[int] = []

    async def run_batch(self, items: Sequence[int]) -> list[int]:
        self.batches.append(list(items))
        await asyncio.sleep(0)
        if any(i < 0 for i in items):
            raise ValueError("negative")
        return [2 * i for i in items]

    async def run_one(self, item: int) -> int:
        self.singles.append(item)
        await asyncio.sleep(0)
        if item < 0:
            raise ValueError(f"negative: {item}")
        return 2 * item


async def test_calls_made_together_go_as_one_batch_and_answers_go_back_in_order() -> None:
    backend = Backend()
    coalesce = Coalescer("doubling", backend.run_batch, backend.run_one)
    results = await asyncio.gather(*(coalesce(i) for i in range(10)))
    assert results == [2 * i for i in range(10)]
    assert backend.batches == [list(range(10))]
    assert backend.singles == []
    assert coalesce.stats.batches == 1
    assert coalesce.stats.mean_batch == 10


async def test_a_lone_call_runs_on_its_own() -> None:
    backend = Backend()
    coalesce = Coalescer("doubling", backend.run_batch, backend.run_one)
    assert await coalesce(21) == 42
    assert backend.batches == []
    assert backend.singles == [21]


async def test_max_batch_splits_the_calls() -> None:
    backend = Backend()
    coalesce = Coalescer("doubling", backend.run_batch, backend.run_one, max_batch=4)
    results = await asyncio.gather(*(coalesce(i) for i in range(10)))
    assert results == [2 * i for i in range(10)]
    assert backend.batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


async def test_a_bad_item_fails_only_its_own_caller() -> None:
    backend = Backend()
    coalesce = Coalescer("doubling", backend.run_batch, backend.run_one)
    results = await asyncio.gather(*(coalesce(i) for i in (1, -5, 3)), return_exceptions=True)
    assert results[0] == 2
    assert isinstance(results[1], ValueError)
    assert "negative: -5" in str(results[1])
    assert results[2] == 6
    assert backend.batches == [[1, -5, 3]]
    assert sorted(backend.singles) == [-5, 1, 3]  # each retried on its own
    assert coalesce.stats.fallbacks == 1


async def test_a_batch_answering_the_wrong_number_of_items_is_not_trusted() -> None:
    backend = Backend()

    async def short_batch(items: Sequence[int]) -> list[int]:
        return [2 * i for i in items][:-1]

    coalesce = Coalescer("doubling", short_batch, backend.run_one)
    assert list(await asyncio.gather(coalesce(1), coalesce(2))) == [2, 4]
    assert sorted(backend.singles) == [1, 2]


async def test_linger_gathers_calls_arriving_a_little_apart() -> None:
    backend = Backend()
    coalesce = Coalescer("doubling", backend.run_batch, backend.run_one, linger=0.05)

    async def later(i: int, delay: float) -> int:
        await asyncio.sleep(delay)
        return await coalesce(i)

    assert list(await asyncio.gather(later(1, 0), later(2, 0.01), later(3, 0.02))) == [2, 4, 6]
    assert backend.batches == [[1, 2, 3]]


async def test_without_linger_calls_apart_go_separately() -> None:
    backend = Backend()
    coalesce = Coalescer("doubling", backend.run_batch, backend.run_one)

    async def later(i: int, delay: float) -> int:
        await asyncio.sleep(delay)
        return await coalesce(i)

    assert list(await asyncio.gather(later(1, 0), later(2, 0.02))) == [2, 4]
    assert backend.batches == []
    assert backend.singles == [1, 2]


async def test_a_cancelled_caller_does_not_cancel_the_batch() -> None:
    backend = Backend()
    release = asyncio.Event()

    async def slow_batch(items: Sequence[int]) -> list[int]:
        await release.wait()
        return await backend.run_batch(items)

    coalesce = Coalescer("doubling", slow_batch, backend.run_one)
    first = asyncio.ensure_future(coalesce(1))
    second = asyncio.ensure_future(coalesce(2))
    await asyncio.sleep(0.01)
    first.cancel()
    release.set()
    assert await second == 4
    with pytest.raises(asyncio.CancelledError):
        await first
    assert backend.batches == [[1, 2]]


def test_max_batch_must_be_positive() -> None:
    backend = Backend()
    with pytest.raises(ValueError, match="max_batch"):
        Coalescer("doubling", backend.run_batch, backend.run_one, max_batch=0)


async def test_a_failure_that_fails_all_goes_to_every_caller_without_retries() -> None:
    backend = Backend()

    async def down(items: Sequence[int]) -> list[int]:
        raise ConnectionError("the other side is down")

    coalesce = Coalescer(
        "doubling", down, backend.run_one, fails_all=lambda e: isinstance(e, ConnectionError)
    )
    results = await asyncio.gather(coalesce(1), coalesce(2), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    assert backend.singles == []  # not tried one by one
    assert coalesce.stats.fallbacks == 0


async def test_an_abandoned_callers_error_is_not_reported_as_never_retrieved() -> None:
    release = asyncio.Event()
    unretrieved: list[object] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: unretrieved.append(context))

    async def failing_alone(item: int) -> int:
        await release.wait()
        raise ValueError("refused")

    async def failing_batch(items: Sequence[int]) -> list[int]:
        raise ValueError("refused")

    coalesce = Coalescer("refusing", failing_batch, failing_alone)
    caller = asyncio.ensure_future(coalesce(1))
    await asyncio.sleep(0.01)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    release.set()
    await asyncio.sleep(0.01)
    del caller
    gc.collect()
    await asyncio.sleep(0)
    assert unretrieved == []


async def test_a_batch_cancelled_midway_leaves_no_caller_waiting() -> None:
    started = asyncio.Event()

    async def hanging_batch(items: Sequence[int]) -> list[int]:
        started.set()
        await asyncio.Event().wait()
        return []

    backend = Backend()
    coalesce = Coalescer("hanging", hanging_batch, backend.run_one)
    callers = [asyncio.ensure_future(coalesce(i)) for i in (1, 2)]
    await asyncio.wait_for(started.wait(), 1)
    for task in list(coalesce._running):  # what stopping the process does to it
        task.cancel()
    results = await asyncio.wait_for(asyncio.gather(*callers, return_exceptions=True), 1)
    assert all(isinstance(r, asyncio.CancelledError) for r in results)
