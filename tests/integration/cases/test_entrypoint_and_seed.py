"""``python -m services.cases`` as a real process (migrates, serves health and the API,
publishes events, stops cleanly on SIGTERM), and the demo town loaded through it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from bylaw.v1 import cases_pb2
from bylaw.v1.cases_pb2_grpc import CasesServiceStub
from nats.js.api import DeliverPolicy

from devstack.demo_town import generate_town, seed_demo_town
from devstack.processes import free_port
from services.common.grpc_client import insecure_channel
from services.common.healthcheck import check_grpc
from tests.integration.cases.support import open_request

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def cases_process(database_url: str, nats_url: str, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "BYLAW_ENV": "test",
        "BYLAW_DATABASE_URL": database_url,
        "BYLAW_NATS_URL": nats_url,
        "BYLAW_CASES_PORT": str(port),
        "BYLAW_GRPC_BIND_HOST": "127.0.0.1",
    }
    log = (tmp_path / "cases.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cases"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "cases.log").read_text()
            try:
                if check_grpc(address, "bylaw.v1.CasesService"):
                    break
            except Exception:
                pass
            assert time.monotonic() < deadline, "cases service did not become healthy"
            time.sleep(0.2)
        yield address
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, (tmp_path / "cases.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


async def test_demo_town_seeds_idempotently_through_the_service(cases_process: str, nats_url: str) -> None:
    town = generate_town()
    calls: list[tuple[str, int, int]] = []
    first = await seed_demo_town(cases_process, progress=lambda s, d, t: calls.append((s, d, t)))
    assert first["properties"] == {
        "inserted": len(town.properties),
        "updated": 0,
        "unchanged": 0,
        "total": 300,
    }
    assert first["zones"]["inserted"] == 4 and first["officers"]["inserted"] == 6
    assert ("properties", len(town.properties), len(town.properties)) in calls
    assert {s for s, _, _ in calls} == {"zones", "properties", "officers"}

    second = await seed_demo_town(cases_process)
    for stage in ("zones", "properties", "officers"):
        assert second[stage]["inserted"] == 0 and second[stage]["updated"] == 0, second

    async with insecure_channel(cases_process) as channel:
        stub = CasesServiceStub(channel)
        summary = await stub.GetTownSummary(cases_pb2.GetTownSummaryRequest())
        assert (summary.properties, summary.officers, summary.zones) == (300, 6, 4)
        # A complaint at a demo parcel matches it, takes its zone and is routed.
        parcel = next(p for p in town.properties if p.zone_code == "NORTH")
        nc = await nats.connect(nats_url)
        try:
            sub = await nc.jetstream().subscribe(
                "bylaw.events.case.created", deliver_policy=DeliverPolicy.NEW
            )
            opened = await stub.OpenCase(
                open_request(address=parcel.address, service_code="noise", enforced_by=("BE", "OPP"))
            )
            # The process's outbox relay publishes the event.
            event = json.loads((await sub.next_msg(timeout=15)).data)
            assert event["case_number"] == opened.case.case_number
        finally:
            await nc.drain()
        assert opened.property_match.property.roll_number == parcel.roll_number
        assert opened.case.zone_code == "NORTH"
        assert opened.case.assigned_officer_id == "OFF-BE-02"  # noise specialist
