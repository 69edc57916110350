"""The cases service hosted in-process on a free port, against the session's real
PostgreSQL (a fresh database per test) and NATS JetStream, reached through a real gRPC
channel exactly as intake and the workflow worker reach it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import pytest
from bylaw.v1.cases_pb2_grpc import CasesServiceStub
from sqlalchemy.ext.asyncio import AsyncSession

from devstack.processes import free_port
from services.cases.bootstrap import CasesApp, build_app
from services.cases.config import CasesSettings
from services.common.grpc_client import insecure_channel
from services.common.grpc_server import build_server
from services.common.runtime import Infrastructure, infrastructure
from services.common.settings import Settings

if TYPE_CHECKING:  # the async stub type exists only in the generated .pyi
    from bylaw.v1.cases_pb2_grpc import CasesServiceAsyncStub


@dataclass
class CasesHarness:
    stub: CasesServiceAsyncStub
    app: CasesApp
    infra: Infrastructure
    settings: Settings
    address: str

    def app_sessions(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A session on the service's database for inspecting what it stored."""
        return self.infra.require_sessions()()


@pytest.fixture
def cases_settings() -> CasesSettings:
    return CasesSettings(match_radius_m=25.0, repeat_lookback_days=180)


@pytest.fixture
async def cases(
    database_url: str, nats_url: str, cases_settings: CasesSettings
) -> AsyncIterator[CasesHarness]:
    settings = Settings(env="test", database_url=database_url, nats_url=nats_url, cases_port=free_port())
    address = f"127.0.0.1:{settings.cases_port}"
    async with infrastructure("cases-test", settings, schema="cases") as infra:
        app = build_app(infra, cases_settings)
        server, _health, _port = await build_server([app.registration], address)
        await server.start()
        stop = asyncio.Event()
        relay = asyncio.create_task(app.relay.run(stop))
        channel = insecure_channel(address)
        try:
            stub = cast("CasesServiceAsyncStub", CasesServiceStub(channel))
            yield CasesHarness(stub, app, infra, settings, address)
        finally:
            await channel.close()
            stop.set()
            await asyncio.wait_for(relay, timeout=10)
            await server.stop(1)
