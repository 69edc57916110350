"""``python -m services.gateway`` as a process: it serves on BYLAW_GATEWAY_PORT, reports its
dependencies, logs access lines without bodies or write query strings, and stops cleanly
on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from devstack.processes import free_port
from tests.unit.gateway.fakes import FakeIntake, dead_address, registrations, start_fake_server

ROOT = Path(__file__).resolve().parents[3]
CANARY_EMAIL = "canary.entrypoint@example.org"
CANARY_NAME = "Ximena-Canary"


def gateway_env(port: int, **addrs: str) -> dict[str, str]:
    names = ("intake", "cases", "evidence", "notices", "reporting")
    return {
        **os.environ,
        "BYLAW_ENV": "test",
        "BYLAW_GATEWAY_HOST": "127.0.0.1",
        "BYLAW_GATEWAY_PORT": str(port),
        "BYLAW_TEMPORAL_ADDRESS": dead_address(),
        "BYLAW_LOG_LEVEL": "DEBUG",
        **{f"BYLAW_{n.upper()}_ADDR": addrs.get(n) or dead_address() for n in names},
    }


def test_gateway_process_serves_and_stops_gracefully(tmp_path: Path) -> None:
    port = free_port()
    env = gateway_env(port)
    log_path = tmp_path / "gateway.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.gateway"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{base}/livez", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert proc.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "gateway did not start"
                time.sleep(0.2)

            health = httpx.get(f"{base}/healthz", timeout=10)
            assert health.status_code == 503
            assert set(health.json()["down"]) == {
                "intake",
                "cases",
                "evidence",
                "notices",
                "reporting",
                "temporal",
            }

            resp = httpx.post(
                f"{base}/open311/v2/requests.json?first_name={CANARY_NAME}",
                data={
                    "service_code": "noise",
                    "address_string": "1 Main St",
                    "first_name": CANARY_NAME,
                    "email": CANARY_EMAIL,
                },
                timeout=30,
            )
            assert resp.status_code == 503
            assert "intake" in resp.json()[0]["description"]
            assert (
                httpx.get(f"{base}/openapi.json", timeout=5)
                .json()["info"]["title"]
                .endswith("By-law Enforcement")
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise
    assert code == 0, log_path.read_text()
    text = log_path.read_text()
    assert "POST /open311/v2/requests.json 503" in text
    assert "GET /healthz 503" in text
    assert CANARY_EMAIL not in text and CANARY_NAME not in text
    assert "Application shutdown complete" in text


async def test_sigterm_lets_an_in_flight_request_finish(tmp_path: Path) -> None:
    intake = FakeIntake()  # type: ignore[abstract]
    intake.list_services_delay = 1.5
    server = await start_fake_server(registrations(intake=intake), ["intake"])
    port = free_port()
    log_path = tmp_path / "gateway.log"
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "services.gateway",
            cwd=ROOT,
            env=gateway_env(port, intake=server.address),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                deadline = time.monotonic() + 30
                while True:
                    try:
                        if (await client.get("/livez")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    assert proc.returncode is None, log_path.read_text()
                    assert time.monotonic() < deadline, "gateway did not start"
                    await asyncio.sleep(0.2)
                in_flight = asyncio.create_task(client.get("/open311/v2/services.json"))
                await asyncio.sleep(0.5)  # the request is now waiting on intake
                proc.send_signal(signal.SIGTERM)
                resp = await in_flight
            assert resp.status_code == 200, resp.text
            assert len(resp.json()) == 40
            code = await asyncio.wait_for(proc.wait(), 20)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            await server.stop()
    assert code == 0, log_path.read_text()
