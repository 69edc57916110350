"""A worker killed mid-activity (SIGKILL while the notices service renders an order to
comply, or a Part I ticket) and started again: the case completes, and no side effect
happens twice — exactly one document for the step and one fine.

Everything real but the worker's placement: the Temporal dev server, the cases service on
PostgreSQL and NATS, the notices service rendering real PDFs and storing them through the
real evidence service on S3, all in this process; the worker is ``python -m
workflows.worker`` in a child process, killed and restarted. Only intake's closure days
come from a fake. The notices service is held for a while after it has stored the
document and before it answers, so the kill lands after the side effect and before the
activity completes: the retry on the new worker must find the document, not make another.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bylaw.v1 import cases_pb2, common_pb2, intake_pb2_grpc, notices_pb2, notices_pb2_grpc
from sqlalchemy import text
from temporalio.client import Client, WorkflowUpdateStage

from devstack.processes import free_port
from services.common import db
from services.common.grpc_client import insecure_channel
from services.common.grpc_server import ServiceRegistration, build_server
from services.notices.bootstrap import build_service
from services.notices.entrypoints.grpc_servicer import NoticesServicer
from tests import infra
from tests.integration.cases.conftest import CasesHarness
from tests.integration.cases.support import open_request, seed_roll
from tests.integration.evidence.harness import evidence_settings, running_evidence
from tests.integration.workflows.conftest import FakeOthers
from tests.workflow.support import make_input
from workflows.case_lifecycle import CaseLifecycleWorkflow
from workflows.contracts import (
    UPDATE_CLOSE_CASE,
    UPDATE_RECORD_INSPECTION,
    UPDATE_TAKE_ENFORCEMENT_ACTION,
    CaseLifecycleResult,
    CaseLifecycleState,
    CloseCaseRequest,
    EnforcementActionRequest,
    InspectionFinding,
    RecordInspectionRequest,
    workflow_id,
)

REPO = Path(__file__).resolve().parents[3]
HOLD_SECONDS = 60.0  # longer than it takes to notice the render and kill the worker
POOL_ITEMS = (
    "enclosure-complete",
    "fence-height",
    "climbability",
    "opening-spacing",
    "gate-self-closing",
    "gate-latch-height",
    "condition",
)


class HeldNotices(NoticesServicer):
    """The real notices servicer, holding its first answer for one template after the
    document is stored: the window in which the worker dies."""

    def __init__(self, service: Any, template: str) -> None:
        super().__init__(service)
        self.template = template
        self.stored = asyncio.Event()
        self.calls: list[str] = []

    async def RenderDocument(
        self, request: notices_pb2.RenderDocumentRequest, context: Any
    ) -> notices_pb2.Document:
        document = await super().RenderDocument(request, context)
        self.calls.append(request.template)
        if request.template == self.template and not self.stored.is_set():
            self.stored.set()
            await asyncio.sleep(HOLD_SECONDS)
        return document


@dataclass
class Services:
    cases: CasesHarness
    notices: HeldNotices
    notices_address: str
    intake_address: str
    database_url: str


@dataclass
class Worker:
    env: dict[str, str]
    processes: list[asyncio.subprocess.Process] = field(default_factory=list)

    async def start(self) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "workflows.worker",
            cwd=REPO,
            env=self.env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        self.processes.append(process)
        assert process.stderr is not None
        async with asyncio.timeout(60):
            while b"worker started" not in await process.stderr.readline():
                assert process.returncode is None, "the worker exited before starting"
        asyncio.get_running_loop().create_task(_drain(process.stderr))
        return process


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.readline():
        pass


@pytest.fixture
async def services(
    request: pytest.FixtureRequest,
    cases: CasesHarness,
    database_url: str,
    s3_server: infra.S3,
) -> AsyncIterator[Services]:
    template: str = request.param
    settings = evidence_settings(database_url, s3_server, s3_bucket=f"crash-{os.urandom(4).hex()}")
    async with running_evidence(settings) as evidence:
        await db.migrate("notices", database_url)
        engine = db.make_engine(database_url, pool_size=4, application_name="notices-crash")
        evidence_channel = insecure_channel(evidence.address)
        notices = HeldNotices(
            build_service(settings, db.make_session_factory(engine), evidence_channel), template
        )
        intake = FakeOthers()  # type: ignore[abstract]
        notices_address, intake_address = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
        notices_server, _, _ = await build_server(
            [
                ServiceRegistration(
                    "bylaw.v1.NoticesService", notices_pb2_grpc.add_NoticesServiceServicer_to_server, notices
                )
            ],
            notices_address,
        )
        intake_server, _, _ = await build_server(
            [
                ServiceRegistration(
                    "bylaw.v1.IntakeService", intake_pb2_grpc.add_IntakeServiceServicer_to_server, intake
                )
            ],
            intake_address,
        )
        await notices_server.start()
        await intake_server.start()
        try:
            yield Services(cases, notices, notices_address, intake_address, database_url)
        finally:
            await notices_server.stop(0)
            await intake_server.stop(0)
            await evidence_channel.close()
            await engine.dispose()


@pytest.fixture
async def worker(services: Services, temporal_address: str, temporal_namespace: str) -> AsyncIterator[Worker]:
    env = {
        **os.environ,
        "BYLAW_ENV": "test",
        "BYLAW_TEMPORAL_ADDRESS": temporal_address,
        "BYLAW_TEMPORAL_NAMESPACE": temporal_namespace,
        "BYLAW_TEMPORAL_TASK_QUEUE": f"case-lifecycle-{uuid.uuid4().hex[:8]}",
        "BYLAW_CASES_ADDR": services.cases.address,
        "BYLAW_NOTICES_ADDR": services.notices_address,
        "BYLAW_INTAKE_ADDR": services.intake_address,
    }
    running = Worker(env)
    try:
        yield running
    finally:
        for process in running.processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), 30)
                except TimeoutError:
                    process.kill()
                    await process.wait()


def _action(template: str) -> EnforcementActionRequest:
    if template == "order_to_comply":
        return EnforcementActionRequest(
            action="order_to_comply",
            details="The gate of the pool enclosure does not close and latch by itself.",
            required_action="Repair the gate so that it self-closes and self-latches.",
            comply_by=(datetime.now(UTC) + timedelta(days=30)).date().isoformat(),
            deviation_reason="The same gate failed inspection twice last summer.",
            justification="history_of_non_compliance",
            actor="bd-officer",
        )
    return EnforcementActionRequest(
        action="ticket",
        details="The gate of the pool enclosure does not close and latch by itself.",
        fine_code="POOL-GATE",
        deviation_reason="Toddlers play next door; an unlatched pool gate cannot wait for letters.",
        justification="health_and_safety",
        actor="bd-officer",
    )


@pytest.mark.parametrize("services", ["order_to_comply", "offence_notice"], indirect=True)
async def test_killed_worker_resumes_without_a_second_document_or_fine(
    services: Services, worker: Worker, temporal_address: str, temporal_namespace: str
) -> None:
    template = services.notices.template
    stub = services.cases.stub
    await seed_roll(stub)
    await stub.UpsertOfficers(
        cases_pb2.UpsertOfficersRequest(
            officers=[
                cases_pb2.Officer(
                    officer_id="bd-officer", display_name="Sarah Whitfield", badge_number="GN-201",
                    department="BD", specialties=["pool-fence"], zone_codes=["DOWNTOWN"], active=True,
                )
            ]
        )
    )  # fmt: skip
    opened = open_request(
        address="12 John St",
        service_code="pool-fence",
        priority=common_pb2.PRIORITY_HIGH,
        enforced_by=("BD",),
    )
    opened.bylaw_number = "2010-0049"
    received = datetime.now(UTC)
    opened.received_at.FromDatetime(received)
    number = (await stub.OpenCase(opened)).case.case_number

    first = await worker.start()
    client = await Client.connect(temporal_address, namespace=temporal_namespace)
    handle = await client.start_workflow(
        CaseLifecycleWorkflow.run,
        make_input(number, received_at=received),
        id=workflow_id(number),
        task_queue=worker.env["BYLAW_TEMPORAL_TASK_QUEUE"],
    )
    await handle.execute_update(
        UPDATE_RECORD_INSPECTION,
        RecordInspectionRequest(
            kind="initial",
            inspected_at=datetime.now(UTC),
            checklist_id="pool-fence",
            findings=[
                InspectionFinding(item, "non_compliant", "Gate stays open when released")
                if item == "gate-self-closing"
                else InspectionFinding(item, "compliant")
                for item in POOL_ITEMS
            ],
            actor="bd-officer",
        ),
    )

    pending = await handle.start_update(
        UPDATE_TAKE_ENFORCEMENT_ACTION,
        _action("order_to_comply" if template == "order_to_comply" else "ticket"),
        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        result_type=CaseLifecycleState,
    )
    # The document is stored; its activity has not completed. Kill the worker now.
    await asyncio.wait_for(services.notices.stored.wait(), 60)
    first.kill()
    assert await first.wait() == -signal.SIGKILL

    await worker.start()
    state = await asyncio.wait_for(pending.result(), 120)
    [action] = state.actions
    assert action.document_id, "the retried render returned the stored document"

    closing = (
        CloseCaseRequest(outcome="prosecution", reason="Ticket paid in full.", actor="bd-officer")
        if template == "offence_notice"
        else CloseCaseRequest(outcome="dismissed", reason="Owner removed the pool.", actor="bd-officer")
    )
    result = await handle.execute_update(UPDATE_CLOSE_CASE, closing, result_type=CaseLifecycleResult)
    assert await asyncio.wait_for(handle.result(), 60) == result

    # Exactly one document for the step, its HTML and PDF stored once, one fine at most.
    system = common_pb2.Actor(subject="test", roles=["supervisor"])
    documents = await services.notices.service.list_for_case(number)
    assert [d.template for d in documents].count(template) == 1
    [document] = [d for d in documents if d.template == template]
    assert document.document_id == action.document_id and document.pdf_evidence_id
    assert services.notices.calls.count(template) == 2  # the first attempt and the retry
    engine = db.make_engine(services.database_url, pool_size=1, application_name="crash-check")
    try:
        async with db.make_session_factory(engine)() as session:
            stored = (
                await session.execute(
                    text("SELECT count(*) FROM evidence.items WHERE case_number = :n AND step_key LIKE :s"),
                    {"n": number, "s": f"{document.step_key}:%"},
                )
            ).scalar_one()
            fines = (
                await session.execute(
                    text(
                        "SELECT count(*), coalesce(sum(a.amount_cents), 0) FROM cases.enforcement_actions a"
                        " JOIN cases.cases c ON c.id = a.case_id"
                        " WHERE c.case_number = :n AND a.amount_cents > 0"
                    ),
                    {"n": number},
                )
            ).one()
    finally:
        await engine.dispose()
    assert stored == 2  # html and pdf
    assert tuple(fines) == ((1, 20000) if template == "offence_notice" else (0, 0))
    actions = await stub.ListEnforcementActions(
        cases_pb2.ListEnforcementActionsRequest(case_number=number, actor=system)
    )
    assert [a.document_id for a in actions.actions if a.document_id] == [document.document_id]
    closure = await stub.GetClosure(cases_pb2.GetClosureRequest(case_number=number, actor=system))
    assert closure.outcome == result.outcome
