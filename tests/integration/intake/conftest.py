"""Intake hosted in-process against the session's real PostgreSQL (a fresh database per
test), NATS JetStream and Temporal dev server, with a FAKE cases service: a small
``grpc.aio`` servicer implementing ``OpenCase`` on a real port, reached over a real gRPC
channel exactly as the real cases service would be."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import grpc
import pytest
from bylaw.v1 import cases_pb2, common_pb2
from bylaw.v1.intake_pb2_grpc import IntakeServiceStub
from nats.aio.client import Client as NatsClient
from nats.js.errors import NotFoundError
from temporalio.client import Client

from devstack.processes import free_port
from services.common.grpc_client import insecure_channel
from services.common.grpc_server import build_server
from services.common.messaging import STREAM_311, STREAM_EVENTS, connect, ensure_streams
from services.common.runtime import Infrastructure, infrastructure
from services.common.settings import Settings
from services.intake.bootstrap import IntakeApp, build
from services.intake.entrypoints.case_events import DURABLE as CASE_STATUS_DURABLE
from services.intake.entrypoints.nats_consumer import DURABLE

if TYPE_CHECKING:
    from bylaw.v1.intake_pb2_grpc import IntakeServiceAsyncStub

# Case numbers unique across the session's Temporal server (workflow ids are case-<n>).
_CASE_NUMBERS = itertools.count(int(time.time()) % 100_000 * 10)


@dataclass
class FakeCasesServicer:
    """Creates a case per (service code, address); later complaints there join it.
    Idempotent on complaint_id like the real service."""

    requests: list[cases_pb2.OpenCaseRequest] = field(default_factory=list)
    batch_sizes: list[int] = field(default_factory=list)  # one entry per OpenCases call
    by_complaint: dict[str, cases_pb2.OpenCaseResponse] = field(default_factory=dict)
    by_place: dict[tuple[str, str], str] = field(default_factory=dict)

    async def open_case(self, request: cases_pb2.OpenCaseRequest, context: Any) -> cases_pb2.OpenCaseResponse:
        self.requests.append(request)
        if request.complaint_id in self.by_complaint:
            return self.by_complaint[request.complaint_id]
        key = (request.service_code, request.location.address.lower())
        if key in self.by_place:
            number, disposition = self.by_place[key], cases_pb2.OPEN_CASE_DISPOSITION_JOINED
        else:
            number = f"BL-2026-{next(_CASE_NUMBERS):06d}"
            self.by_place[key] = number
            disposition = cases_pb2.OPEN_CASE_DISPOSITION_CREATED
        response = cases_pb2.OpenCaseResponse(
            case=cases_pb2.Case(
                case_number=number,
                status=common_pb2.CASE_STATUS_RECEIVED,
                priority=request.priority,
                service_code=request.service_code,
                bylaw_number=request.bylaw_number,
                zone_code="Z-DOWNTOWN",
            ),
            disposition=disposition,
        )
        self.by_complaint[request.complaint_id] = response
        return response

    async def open_cases(
        self, request: cases_pb2.OpenCasesRequest, context: Any
    ) -> cases_pb2.OpenCasesResponse:
        self.batch_sizes.append(len(request.requests))
        return cases_pb2.OpenCasesResponse(
            results=[
                cases_pb2.OpenCaseResult(response=await self.open_case(r, context)) for r in request.requests
            ]
        )


@dataclass
class FakeCases:
    servicer: FakeCasesServicer
    address: str
    server: grpc.aio.Server | None = None
    # False: a cases service from before OpenCases (intake must fall back to OpenCase).
    batches: bool = True

    async def start(self) -> None:
        self.server = grpc.aio.server()
        # Only OpenCase(s): anything else intake called would fail with UNIMPLEMENTED.
        handlers = {
            "OpenCase": grpc.unary_unary_rpc_method_handler(
                self.servicer.open_case,
                request_deserializer=cases_pb2.OpenCaseRequest.FromString,
                response_serializer=cases_pb2.OpenCaseResponse.SerializeToString,
            )
        }
        if self.batches:
            handlers["OpenCases"] = grpc.unary_unary_rpc_method_handler(
                self.servicer.open_cases,
                request_deserializer=cases_pb2.OpenCasesRequest.FromString,
                response_serializer=cases_pb2.OpenCasesResponse.SerializeToString,
            )
        self.server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("bylaw.v1.CasesService", handlers),)
        )
        self.server.add_insecure_port(self.address)
        await self.server.start()

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop(0)


@pytest.fixture
async def fake_cases() -> AsyncIterator[FakeCases]:
    cases = FakeCases(FakeCasesServicer(), f"127.0.0.1:{free_port()}")
    await cases.start()
    try:
        yield cases
    finally:
        await cases.stop()


@pytest.fixture
async def fresh_311_stream(nats_url: str) -> None:
    """Each test starts with an empty 311 stream and none of intake's durable consumers:
    the NATS server lives for the whole session."""
    nc = await connect(nats_url, "intake-test-setup")
    try:
        await ensure_streams(nc)
        js = nc.jetstream()
        await js.purge_stream(STREAM_311)
        with contextlib.suppress(NotFoundError):
            await js.delete_consumer(STREAM_311, DURABLE)
        with contextlib.suppress(NotFoundError):
            await js.delete_consumer(STREAM_EVENTS, CASE_STATUS_DURABLE)
    finally:
        await nc.close()


@dataclass
class IntakeHarness:
    stub: IntakeServiceAsyncStub
    app: IntakeApp
    infra: Infrastructure
    settings: Settings
    temporal: Client
    nc: NatsClient


@pytest.fixture
async def intake(
    database_url: str,
    nats_url: str,
    temporal_address: str,
    temporal_namespace: str,
    fake_cases: FakeCases,
    fresh_311_stream: None,
) -> AsyncIterator[IntakeHarness]:
    settings = Settings(
        env="test",
        database_url=database_url,
        nats_url=nats_url,
        temporal_address=temporal_address,
        temporal_namespace=temporal_namespace,
        cases_addr=fake_cases.address,
        intake_port=free_port(),
        intake_consumer_batch=64,
        intake_consumer_concurrency=16,
    )
    address = f"127.0.0.1:{settings.intake_port}"
    temporal = await Client.connect(temporal_address, namespace=temporal_namespace)
    async with infrastructure("intake-test", settings, schema="intake") as infra:
        app = await build(infra, temporal=temporal)
        server, _health, _port = await build_server(app.registrations(), address)
        await server.start()
        stop = asyncio.Event()
        tasks = [asyncio.create_task(task(stop)) for task in app.background()]
        channel = insecure_channel(address)
        watcher = await connect(nats_url, "intake-test-watcher")
        try:
            stub = cast("IntakeServiceAsyncStub", IntakeServiceStub(channel))
            yield IntakeHarness(stub, app, infra, settings, temporal, watcher)
        finally:
            await watcher.close()
            await channel.close()
            stop.set()
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=15)
            await server.stop(1)
            await app.close()
