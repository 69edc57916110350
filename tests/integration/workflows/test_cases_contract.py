"""The workflow's activities against the REAL cases service (PostgreSQL + NATS, hosted
in-process on a free port): the RecordStatus/GetCase contract, idempotent steps, error
mapping to retryable / non-retryable failures, and one case driven end to end by the
workflow on the Temporal dev server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

import grpc
import pytest
from bylaw.v1 import cases_pb2, common_pb2
from bylaw.v1.cases_pb2_grpc import CasesServiceStub
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from devstack.processes import free_port
from services.cases.bootstrap import build_app
from services.common.grpc_client import insecure_channel
from services.common.grpc_server import build_server
from services.common.runtime import infrastructure
from services.common.settings import Settings
from tests.integration.workflows.conftest import Others
from tests.workflow.support import make_input
from workflows.activities import CaseActivities, GetCaseInput, RecordStatusInput
from workflows.case_lifecycle import CaseLifecycleWorkflow
from workflows.contracts import (
    UPDATE_CLOSE_CASE,
    UPDATE_RECORD_INSPECTION,
    UPDATE_TRANSITION_STATUS,
    CaseLifecycleResult,
    CloseCaseRequest,
    InspectionFinding,
    RecordInspectionRequest,
    TransitionStatusRequest,
    workflow_id,
)
from workflows.worker import build_worker

if TYPE_CHECKING:  # the async stub type exists only in the generated .pyi
    from bylaw.v1.cases_pb2_grpc import CasesServiceAsyncStub

NOW = datetime(2026, 11, 20, 20, 30, tzinfo=UTC)


@dataclass
class RealCases:
    stub: CasesServiceAsyncStub
    activities: CaseActivities
    address: str


@pytest.fixture
async def real_cases(database_url: str, nats_url: str) -> AsyncIterator[RealCases]:
    settings = Settings(env="test", database_url=database_url, nats_url=nats_url, cases_port=free_port())
    address = f"127.0.0.1:{settings.cases_port}"
    async with infrastructure("cases-for-workflows", settings, schema="cases") as infra:
        app = build_app(infra)
        server, _health, _port = await build_server([app.registration], address)
        await server.start()
        channel = insecure_channel(address)
        try:
            stub = cast("CasesServiceAsyncStub", CasesServiceStub(channel))
            yield RealCases(stub, CaseActivities(stub), address)
        finally:
            await channel.close()
            await server.stop(1)


async def open_case(stub: CasesServiceAsyncStub, received_at: datetime = NOW) -> str:
    received = cases_pb2.OpenCaseRequest(
        complaint_id=f"SR-{uuid.uuid4().hex[:12]}",
        service_code="pool-fence",
        bylaw_number="2010-0049",
        priority=common_pb2.PRIORITY_HIGH,
        matrix_version="2023-07-25",
        enforced_by=["BE"],
        location=common_pb2.Location(address=f"{uuid.uuid4().int % 900 + 100} Dundas St E"),
        channel="web",
        actor=common_pb2.Actor(subject="svc-intake", roles=["system"]),
    )
    received.received_at.FromDatetime(received_at)
    response = await stub.OpenCase(received)
    return str(response.case.case_number)


def record(case_number: str, status: str, seq: int, **extra: str) -> RecordStatusInput:
    return RecordStatusInput(
        case_number=case_number,
        status=status,
        step_key=f"{case_number}:{seq}:{status}",
        occurred_at=NOW,
        **extra,
    )


async def test_get_case_reads_the_record(real_cases: RealCases) -> None:
    number = await open_case(real_cases.stub)
    snapshot = await ActivityEnvironment().run(real_cases.activities.get_case, GetCaseInput(number))
    assert snapshot.case_number == number
    assert (snapshot.status, snapshot.priority, snapshot.service_code) == ("received", "high", "pool-fence")
    assert snapshot.bylaw_number == "2010-0049"


async def test_record_status_is_idempotent_on_the_step_key(real_cases: RealCases) -> None:
    number = await open_case(real_cases.stub)
    env = ActivityEnvironment()
    step = record(number, "under_investigation", 1, actor="supervisor-1")
    first = await env.run(real_cases.activities.record_status, step)
    again = await env.run(real_cases.activities.record_status, step)  # a retried attempt
    assert first.status == again.status == "under_investigation"

    case = await real_cases.stub.GetCase(cases_pb2.GetCaseRequest(case_number=number))
    assert case.status == common_pb2.CASE_STATUS_UNDER_INVESTIGATION

    # The same step key with another status is a conflict, not a silent overwrite.
    with pytest.raises(ApplicationError) as caught:
        await env.run(
            real_cases.activities.record_status,
            RecordStatusInput(number, "referred", step.step_key, NOW, reason="OPP"),
        )
    assert caught.value.type == "FailedPrecondition" and caught.value.non_retryable


async def test_business_errors_are_non_retryable(real_cases: RealCases) -> None:
    env = ActivityEnvironment()
    with pytest.raises(ApplicationError) as missing:
        await env.run(real_cases.activities.get_case, GetCaseInput("BL-2026-999999"))
    assert missing.value.type == "NotFound" and missing.value.non_retryable

    number = await open_case(real_cases.stub)
    with pytest.raises(ApplicationError) as invalid:
        await env.run(real_cases.activities.record_status, record(number, "rejected", 1))
    assert invalid.value.type == "InvalidArgument" and invalid.value.non_retryable
    assert {
        "field": "reason",
        "rule": "a rejected complaint needs its reason recorded",
        "policy": "4.4, 4.11, 6.2.1 g",
    } in (invalid.value.details)


async def test_unreachable_service_is_retryable() -> None:
    channel = insecure_channel(f"127.0.0.1:{free_port()}")  # nothing listens there
    try:
        activities = CaseActivities(cast("CasesServiceAsyncStub", CasesServiceStub(channel)))
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await ActivityEnvironment().run(activities.get_case, GetCaseInput("BL-2026-000001"))
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE  # Temporal retries it
    finally:
        await channel.close()


async def test_workflow_drives_the_real_record(
    real_cases: RealCases, temporal_client: Client, others: Others
) -> None:
    received = datetime.now(UTC)
    number = await open_case(real_cases.stub, received)
    queue = f"case-lifecycle-{uuid.uuid4().hex[:8]}"
    channels: list[grpc.aio.Channel] = []
    lifecycle = others.lifecycle(real_cases.address, channels)
    try:
        async with build_worker(temporal_client, real_cases.activities, queue, lifecycle=lifecycle):
            handle = await temporal_client.start_workflow(
                CaseLifecycleWorkflow.run,
                make_input(number, received_at=received),
                id=workflow_id(number),
                task_queue=queue,
            )
            await handle.execute_update(
                UPDATE_TRANSITION_STATUS,
                TransitionStatusRequest(status="under_investigation", actor="officer-7"),
            )
            # Findings go to the record, checked there against the pool-fence checklist.
            await handle.execute_update(
                UPDATE_RECORD_INSPECTION,
                RecordInspectionRequest(
                    kind="initial",
                    inspected_at=datetime.now(UTC),
                    checklist_id="pool-fence",
                    findings=[
                        InspectionFinding(item_id=item, result="compliant")
                        for item in (
                            "enclosure-complete",
                            "fence-height",
                            "climbability",
                            "opening-spacing",
                            "gate-self-closing",
                            "gate-latch-height",
                            "condition",
                        )
                    ],
                    actor="officer-7",
                ),
            )
            result = await handle.execute_update(
                UPDATE_CLOSE_CASE,
                CloseCaseRequest(
                    outcome="dismissed", reason="no contravention at inspection", actor="officer-7"
                ),
                result_type=CaseLifecycleResult,
            )
            assert await asyncio.wait_for(handle.result(), timeout=30) == result
    finally:
        for channel in channels:
            await channel.close()

    case = await real_cases.stub.GetCase(cases_pb2.GetCaseRequest(case_number=number))
    assert case.status == common_pb2.CASE_STATUS_CLOSED
    assert case.outcome == "dismissed"
    assert result.transitions == 2
    system = common_pb2.Actor(subject="sup", roles=["supervisor"])
    [inspection] = (
        await real_cases.stub.ListInspections(
            cases_pb2.ListInspectionsRequest(case_number=number, actor=system)
        )
    ).inspections
    assert inspection.state == "completed" and not inspection.violation_found
    report = others.servicer.rendered[(number, f"{number}:inspection:1:report")]
    assert inspection.report_document_id == report.document_id
    closure = await real_cases.stub.GetClosure(cases_pb2.GetClosureRequest(case_number=number, actor=system))
    assert (closure.outcome, closure.inspections, closure.days_since_order) == ("dismissed", 1, -1)
    assert (
        closure.closure_document_id
        == others.servicer.rendered[(number, f"{number}:closure:letter")].document_id
    )
