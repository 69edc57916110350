"""``python -m services.intake`` as a real process: configured only by the environment, it
migrates, serves gRPC health and the IntakeService, handles complaints, keeps complainant
identity out of its logs (policy 6.3.2) and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import grpc
from bylaw.v1 import common_pb2, intake_pb2
from bylaw.v1.intake_pb2_grpc import IntakeServiceStub
from grpc_health.v1 import health_pb2, health_pb2_grpc

from devstack.processes import free_port
from services.common.messaging import SUBJECT_311_REQUESTS, SUBJECT_311_UPDATES, connect
from tests.integration.intake.conftest import FakeCases

ROOT = Path(__file__).resolve().parents[3]
CANARIES = ("Zebulon-Canary", "Quixote-Canary", "zq.canary@example.org", "613-555-0177", "7 Canary Row")


async def wait_serving(address: str, within: float) -> None:
    deadline = asyncio.get_running_loop().time() + within
    async with grpc.aio.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                resp = await health.Check(
                    health_pb2.HealthCheckRequest(service="bylaw.v1.IntakeService"), timeout=2
                )
                if resp.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.aio.AioRpcError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"intake at {address} never became SERVING")
            await asyncio.sleep(0.3)


async def test_entry_point_serves_processes_and_stops_without_logging_identity(
    database_url: str,
    nats_url: str,
    temporal_address: str,
    temporal_namespace: str,
    fake_cases: FakeCases,
    fresh_311_stream: None,
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "BYLAW_ENV": "test",
        "BYLAW_DATABASE_URL": database_url,
        "BYLAW_NATS_URL": nats_url,
        "BYLAW_TEMPORAL_ADDRESS": temporal_address,
        "BYLAW_TEMPORAL_NAMESPACE": temporal_namespace,
        "BYLAW_CASES_ADDR": fake_cases.address,
        "BYLAW_GRPC_BIND_HOST": "127.0.0.1",
        "BYLAW_INTAKE_PORT": str(port),
        "BYLAW_LOG_JSON": "true",
        "BYLAW_LOG_LEVEL": "DEBUG",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.intake",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        address = f"127.0.0.1:{port}"
        await wait_serving(address, within=60)
        async with grpc.aio.insecure_channel(address) as channel:
            stub = IntakeServiceStub(channel)
            services = await stub.ListServices(intake_pb2.ListServicesRequest())
            assert len(services.services) == 40
            outcome = await stub.SubmitComplaint(
                intake_pb2.SubmitComplaintRequest(
                    submission=intake_pb2.ComplaintSubmission(
                        service_code="pool-fence",
                        location=common_pb2.Location(address="18 Centre St S, Napanee"),
                        description="Gate to the pool left open; Quixote-Canary's children play nearby.",
                        complainant=intake_pb2.ComplainantIdentity(
                            first_name="Zebulon-Canary",
                            last_name="Quixote-Canary",
                            email="zq.canary@example.org",
                            phone="613-555-0177",
                            address="7 Canary Row",
                        ),
                        channel="portal",
                    )
                )
            )
            assert outcome.kind == intake_pb2.OUTCOME_KIND_NEW_CASE

        # The 311 consumer runs in the process too.
        nc = await connect(nats_url, "intake-process-test")
        updates: asyncio.Queue[bytes] = asyncio.Queue()

        async def on_update(msg: object) -> None:
            await updates.put(msg.data)  # type: ignore[attr-defined]

        await nc.subscribe(SUBJECT_311_UPDATES, cb=on_update)
        body = {
            "service_code": "noise",
            "address_string": "1 Market Sq, Napanee",
            "description": "Amplified music at 2 a.m.",
            "first_name": "Zebulon-Canary",
            "last_name": "Quixote-Canary",
            "email": "zq.canary@example.org",
            "service_request_id": "P-1",
            "channel": "311-online",
        }
        await nc.jetstream().publish(
            SUBJECT_311_REQUESTS, json.dumps(body).encode(), headers={"Nats-Msg-Id": "P-1"}
        )
        update = json.loads(await asyncio.wait_for(updates.get(), timeout=30))
        assert update["external_request_id"] == "P-1" and update["case_number"]
        await nc.close()
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(proc.communicate(), timeout=30)
    log = output.decode()
    assert proc.returncode == 0, log[-3000:]
    assert '"msg": "complaint recorded"' in log  # it does log, at DEBUG even ...
    assert not any(c in log for c in CANARIES)  # ... but never who complained
    assert "Gate to the pool" not in log  # nor the written complaint
