"""The services a remediation touches, in-process on free ports over real servers: cases
(PostgreSQL, NATS outbox), evidence (PostgreSQL, S3) and notices (PostgreSQL, WeasyPrint,
storing through evidence), each served over real gRPC — shared by the remediation
integration tests of this folder. Also a case on a parcel of the assessment roll to
remediate, and polling helpers for the workflow's state."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from bylaw.v1 import cases_pb2_grpc, evidence_pb2_grpc, notices_pb2_grpc
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from devstack.processes import free_port
from services.cases.bootstrap import CasesApp, build_app
from services.common import db
from services.common.grpc_client import insecure_channel
from services.common.grpc_server import ServiceRegistration, build_server
from services.common.runtime import infrastructure
from services.common.settings import Settings
from services.notices.bootstrap import build_service as build_notices
from services.notices.bootstrap import registration as notices_registration
from tests import infra
from tests.integration.cases.support import open_request, seed_roll
from tests.integration.evidence.harness import evidence_settings, running_evidence
from workflows.remediation import QUERY_REMEDIATION_STATE, RemediationState
from workflows.remediation_activities import RemediationActivities

if TYPE_CHECKING:
    from bylaw.v1.cases_pb2_grpc import CasesServiceAsyncStub
    from bylaw.v1.notices_pb2_grpc import NoticesServiceAsyncStub

# Builds the cases servicer from the app (a test may hold one RPC's answer back).
ServicerFactory = Callable[[CasesApp], Any]


@dataclass
class RemediationStack:
    cases: CasesServiceAsyncStub
    notices: NoticesServiceAsyncStub
    evidence: evidence_pb2_grpc.EvidenceServiceStub
    cases_address: str
    notices_address: str
    evidence_address: str
    app: CasesApp
    settings: Settings

    def activities(self) -> RemediationActivities:
        return RemediationActivities(self.cases, self.notices, self.settings.timezone)


@asynccontextmanager
async def remediation_stack(
    database_url: str, nats_url: str, s3: infra.S3, servicer: ServicerFactory | None = None
) -> AsyncIterator[RemediationStack]:
    settings = evidence_settings(
        database_url, s3, nats_url=nats_url, s3_bucket=f"rm-{os.urandom(4).hex()}", cases_port=free_port()
    )
    async with (
        running_evidence(settings) as evidence,
        infrastructure("cases-test", settings, schema="cases") as cases_infra,
    ):
        app = build_app(cases_infra)
        registration = app.registration
        if servicer is not None:
            registration = ServiceRegistration(
                registration.full_name, registration.add_to_server, servicer(app)
            )
        cases_address = f"127.0.0.1:{settings.cases_port}"
        cases_server, _, _ = await build_server([registration], cases_address)
        await cases_server.start()
        stop = asyncio.Event()
        relay = asyncio.create_task(app.relay.run(stop))

        await db.migrate("notices", database_url)
        notices_engine = db.make_engine(database_url, pool_size=4, application_name="notices-test")
        evidence_channel = insecure_channel(evidence.address)
        notices = build_notices(settings, db.make_session_factory(notices_engine), evidence_channel)
        notices_server, _, notices_port = await build_server([notices_registration(notices)], "127.0.0.1:0")
        await notices_server.start()
        notices_address = f"127.0.0.1:{notices_port}"

        cases_channel = insecure_channel(cases_address)
        notices_channel = insecure_channel(notices_address)
        try:
            yield RemediationStack(
                cases=cast("CasesServiceAsyncStub", cases_pb2_grpc.CasesServiceStub(cases_channel)),
                notices=cast("NoticesServiceAsyncStub", notices_pb2_grpc.NoticesServiceStub(notices_channel)),
                evidence=evidence.stub,
                cases_address=cases_address,
                notices_address=notices_address,
                evidence_address=evidence.address,
                app=app,
                settings=settings,
            )
        finally:
            await cases_channel.close()
            await notices_channel.close()
            await notices_server.stop(None)
            await evidence_channel.close()
            await notices_engine.dispose()
            stop.set()
            await asyncio.wait_for(relay, timeout=10)
            await cases_server.stop(1)


async def open_case(stack: RemediationStack) -> str:
    """A case at 100 Dundas St E (roll 1121010001001000000, owner Harbour Holdings Ltd)."""
    await seed_roll(stack.cases)
    opened = await stack.cases.OpenCase(
        open_request(address="100 Dundas St E", received_at=datetime(2026, 4, 1, tzinfo=UTC))
    )
    number: str = opened.case.case_number
    return number


async def state_when(
    handle: WorkflowHandle[Any, Any], phase: str, seconds: float = 60, sleep: Any = None
) -> RemediationState:
    """The workflow's state once it reaches ``phase``; ``sleep`` advances time (skipping)."""
    deadline = asyncio.get_running_loop().time() + seconds
    current: RemediationState | None = None
    while True:
        try:
            current = await handle.query(QUERY_REMEDIATION_STATE, result_type=RemediationState)
        except RPCError as err:  # not started yet
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
        if current is not None and current.phase == phase:
            return current
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{handle.id} never reached {phase}; last state {current}")
        await (sleep() if sleep is not None else asyncio.sleep(0.2))
