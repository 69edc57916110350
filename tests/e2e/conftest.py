"""The whole system started exactly as `make run` starts it (devstack.Stack), on free
ports in a temporary directory, seeded with the demo town."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.demo_town import seed_demo_town
from devstack.stack import Stack, StackPorts


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data_dir: Path = tmp_path_factory.mktemp("stack")
    s = Stack(data_dir, StackPorts.free(), temporal_ui=False, extra_env={"BYLAW_ENV": "test"})
    s.start()
    try:
        s.wait_healthy(timeout=120)
        asyncio.run(seed_demo_town(s.env["BYLAW_CASES_ADDR"]))
        yield s
    finally:
        s.stop()
