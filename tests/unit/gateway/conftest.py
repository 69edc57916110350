"""Fixtures for the gateway's unit tests: fake services on an in-process gRPC server and
the real app in front of them through httpx's ASGI transport."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from services.common.settings import Settings
from services.gateway.app import create_app
from tests.unit.gateway.fakes import Fakes, gateway_settings, start_fakes


@pytest.fixture
def settings() -> Settings:
    return gateway_settings()


@pytest.fixture
async def fakes() -> AsyncIterator[Fakes]:
    f = await start_fakes()
    try:
        yield f
    finally:
        await f.clients.close(0)
        await f.server.stop()


@pytest.fixture
async def client(settings: Settings, fakes: Fakes) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, fakes.clients)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
        yield c
