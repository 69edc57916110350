"""/healthz and /livez against fake services: every dependency reported, 503 naming what
is down, short deadlines when something hangs."""

from __future__ import annotations

import time

import httpx

from services.gateway.app import create_app
from services.gateway.clients import GatewayClients
from tests.unit.gateway.fakes import Fakes, dead_address, gateway_settings

DEPENDENCIES = {"intake", "cases", "evidence", "notices", "reporting", "temporal"}


async def test_livez_needs_nothing(client: httpx.AsyncClient, fakes: Fakes) -> None:
    await fakes.server.stop()
    resp = await client.get("/livez")
    assert resp.status_code == 200 and resp.json() == {"status": "ok"}


async def test_healthz_200_when_everything_answers(client: httpx.AsyncClient) -> None:
    resp = await client.get("/healthz")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["status"] == "ok" and body["down"] == []
    assert set(body["dependencies"]) == DEPENDENCIES
    for state in body["dependencies"].values():
        assert state["status"] == "up" and state["detail"] == "serving"
        assert state["latency_ms"] >= 0


async def test_healthz_503_names_a_not_serving_service(client: httpx.AsyncClient, fakes: Fakes) -> None:
    await fakes.server.set_status("cases", serving=False)
    resp = await client.get("/healthz")
    assert resp.status_code == 503
    body = resp.json()
    assert body["status"] == "unavailable" and body["down"] == ["cases"]
    assert body["dependencies"]["cases"] == {
        **body["dependencies"]["cases"],
        "status": "down",
        "detail": "not_serving",
    }
    assert body["dependencies"]["intake"]["status"] == "up"


async def test_healthz_503_names_temporal(client: httpx.AsyncClient, fakes: Fakes) -> None:
    fakes.temporal.up = False
    resp = await client.get("/healthz")
    assert resp.status_code == 503
    assert resp.json()["down"] == ["temporal"]
    assert resp.json()["dependencies"]["temporal"]["detail"] == "ConnectionRefusedError"


async def test_healthz_answers_quickly_when_a_dependency_hangs(
    client: httpx.AsyncClient, fakes: Fakes
) -> None:
    fakes.temporal.hang = True
    started = time.monotonic()
    resp = await client.get("/healthz")
    assert time.monotonic() - started < 4
    assert resp.status_code == 503
    assert "no answer within" in resp.json()["dependencies"]["temporal"]["detail"]


async def test_healthz_probes_concurrently_and_names_an_unreachable_service(fakes: Fakes) -> None:
    addr = fakes.server.address
    clients = GatewayClients.from_addresses(
        intake=addr,
        cases=addr,
        evidence=dead_address(),
        notices=dead_address(),
        reporting=addr,
        temporal=fakes.temporal,
    )
    app = create_app(gateway_settings(), clients)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as c:
            started = time.monotonic()
            resp = await c.get("/healthz")
            elapsed = time.monotonic() - started
    finally:
        await clients.close(0)
    assert resp.status_code == 503
    assert resp.json()["down"] == ["evidence", "notices"]
    # Two dead services probed one after the other would take two deadlines.
    assert elapsed < 2.0


async def test_healthz_before_startup_is_503() -> None:
    app = create_app(gateway_settings())  # no clients and lifespan not run
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as c:
        resp = await c.get("/healthz")
    assert resp.status_code == 503
