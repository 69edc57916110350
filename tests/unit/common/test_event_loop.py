"""Settings.event_loop: every service process and the worker run on the loop it names."""

from __future__ import annotations

import asyncio

import pytest
import uvloop

from services.common.runtime import run_event_loop
from services.common.settings import Settings


def _loop_class_of_run(event_loop: str) -> type:
    seen: list[type] = []

    async def main() -> None:
        seen.append(type(asyncio.get_running_loop()))

    run_event_loop(main(), event_loop)
    assert len(seen) == 1, "the coroutine must run exactly once"
    return seen[0]


def test_uvloop_is_the_default() -> None:
    assert Settings().event_loop == "uvloop"
    assert issubclass(_loop_class_of_run("uvloop"), uvloop.Loop)


def test_asyncio_loop_when_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BYLAW_EVENT_LOOP", "asyncio")
    chosen = Settings().event_loop
    assert chosen == "asyncio"
    assert not issubclass(_loop_class_of_run(chosen), uvloop.Loop)


def test_unknown_loop_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BYLAW_EVENT_LOOP", "trio")
    with pytest.raises(ValueError, match="event_loop"):
        Settings()
