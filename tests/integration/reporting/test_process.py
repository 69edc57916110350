"""``python -m services.reporting`` as a real process: migrates, consumes events from
NATS with its durable consumer, answers GetDashboard, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bylaw.v1 import reporting_pb2, reporting_pb2_grpc

from devstack.processes import free_port
from services.common import messaging
from services.common.grpc_client import insecure_channel
from tests.integration.evidence.harness import wait_serving
from tests.unit.reporting import scenario

ROOT = Path(__file__).resolve().parents[3]


async def test_process_consumes_and_serves(database_url: str, nats_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = os.environ | {
        "BYLAW_ENV": "test",
        "BYLAW_DATABASE_URL": database_url,
        "BYLAW_NATS_URL": nats_url,
        "BYLAW_REPORTING_PORT": str(port),
    }
    # A case number of its own: the shared stream may hold other suites' events, which the
    # process also applies; this test looks only at its own event.
    case = f"BL-2099-{int.from_bytes(os.urandom(3), 'big'):06d}"
    scenario.SERVICE[case] = "garbage"
    # Received now, so it is among the most recent activity whatever else the stream holds.
    event = scenario.created(case, datetime.now(UTC).isoformat())
    with (tmp_path / "reporting.log").open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.reporting", cwd=ROOT, env=env, stdout=log, stderr=log
        )
        try:
            await asyncio.to_thread(wait_serving, f"127.0.0.1:{port}", "bylaw.v1.ReportingService")
            nc = await messaging.connect(nats_url, "reporting-process-test")
            try:
                await nc.jetstream().publish(
                    event.subject, json.dumps(event.to_json()).encode(), headers={"Nats-Msg-Id": case}
                )
            finally:
                await nc.drain()
            channel = insecure_channel(f"127.0.0.1:{port}")
            try:
                stub = reporting_pb2_grpc.ReportingServiceStub(channel)
                deadline = time.monotonic() + 30
                while True:
                    dashboard = await stub.GetDashboard(reporting_pb2.GetDashboardRequest(recent_limit=100))
                    if any(a.case_number == case for a in dashboard.recent_activity):
                        break
                    assert time.monotonic() < deadline, "event not applied within 30 s"
                    await asyncio.sleep(0.2)
            finally:
                await channel.close()
            assert dashboard.events_applied >= 1
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 30) == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
