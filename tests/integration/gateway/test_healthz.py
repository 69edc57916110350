"""/healthz through real gRPC servers and a real Temporal dev server: the app is built from
settings (its own lifespan connects), fake servicers answer grpc.health.v1, and stopping
one of them turns the answer into a 503 naming it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from services.gateway.app import create_app
from tests.unit.gateway.fakes import (
    FakeCases,
    FakeIntake,
    FakeServer,
    dead_address,
    gateway_settings,
    registrations,
    start_fake_server,
)

NAMES = ("intake", "cases", "evidence", "notices", "reporting")


@dataclass
class Stack:
    servers: dict[str, FakeServer]
    app: FastAPI
    client: httpx.AsyncClient


@pytest.fixture
async def stack(temporal_address: str) -> AsyncIterator[Stack]:
    servers = {
        "intake": await start_fake_server(registrations(intake=FakeIntake()), ["intake"]),  # type: ignore[abstract]
        "cases": await start_fake_server(registrations(cases=FakeCases()), ["cases"]),  # type: ignore[abstract]
        # Only their health service matters here.
        "evidence": await start_fake_server([], ["evidence"]),
        "notices": await start_fake_server([], ["notices"]),
        "reporting": await start_fake_server([], ["reporting"]),
    }
    settings = gateway_settings(
        temporal_address=temporal_address, **{f"{n}_addr": servers[n].address for n in NAMES}
    )
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
                yield Stack(servers, app, client)
    finally:
        for server in servers.values():
            await server.stop()


async def test_healthz_200_then_503_naming_a_stopped_service_then_recovers(stack: Stack) -> None:
    resp = await stack.client.get("/healthz")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["down"] == []
    assert set(body["dependencies"]) == {*NAMES, "temporal"}
    assert body["dependencies"]["temporal"]["status"] == "up"

    # Open311 works through the same real channels.
    services = await stack.client.get("/open311/v2/services.json")
    assert services.status_code == 200 and len(services.json()) == 40

    port = stack.servers["cases"].port
    await stack.servers["cases"].stop()
    started = time.monotonic()
    resp = await stack.client.get("/healthz")
    assert time.monotonic() - started < 3
    assert resp.status_code == 503
    body = resp.json()
    assert body["status"] == "unavailable"
    assert body["down"] == ["cases"]
    assert body["dependencies"]["cases"]["status"] == "down"
    assert body["dependencies"]["intake"]["status"] == "up"

    # The same address serving again is picked up without restarting the gateway.
    stack.servers["cases"] = await start_fake_server(registrations(cases=FakeCases()), ["cases"], port=port)  # type: ignore[abstract]
    deadline = time.monotonic() + 30
    while True:
        resp = await stack.client.get("/healthz")
        if resp.status_code == 200 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert resp.status_code == 200, resp.text


async def test_not_serving_service_is_named(stack: Stack) -> None:
    await stack.servers["reporting"].set_status("reporting", serving=False)
    resp = await stack.client.get("/healthz")
    assert resp.status_code == 503
    assert resp.json()["down"] == ["reporting"]
    assert resp.json()["dependencies"]["reporting"]["detail"] == "not_serving"


async def test_temporal_unreachable_is_named() -> None:
    servers = {n: await start_fake_server([], [n]) for n in NAMES}
    settings = gateway_settings(
        temporal_address=dead_address(), **{f"{n}_addr": servers[n].address for n in NAMES}
    )
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as c:
                resp = await c.get("/healthz")
    finally:
        for server in servers.values():
            await server.stop()
    assert resp.status_code == 503
    assert resp.json()["down"] == ["temporal"]
