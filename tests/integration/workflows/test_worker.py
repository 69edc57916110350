"""The worker's wiring on the real Temporal dev server: CaseLifecycleWorkflow run by the
same Worker ``python -m workflows.worker`` builds, its activities calling a cases service
over real gRPC, and what a supervisor sees through visibility (list, describe, details)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import grpc
import pytest
from bylaw.v1.cases_pb2_grpc import CasesServiceStub
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.worker import UnsandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from services.common.errors import FailedPrecondition
from services.common.grpc_client import insecure_channel
from services.common.settings import Settings
from tests.integration.workflows.conftest import FakeCases, Others
from tests.temporal_namespaces import new_namespace
from tests.workflow.support import current_details, make_input, search_attributes
from workflows.activities import CaseActivities
from workflows.case_lifecycle import CaseLifecycleWorkflow
from workflows.contracts import (
    QUERY_STATE,
    UPDATE_CLOSE_CASE,
    UPDATE_TRANSITION_STATUS,
    CaseLifecycleResult,
    CaseLifecycleState,
    CloseCaseRequest,
    TransitionStatusRequest,
    workflow_id,
)
from workflows.worker import build_worker

REPO = Path(__file__).resolve().parents[3]
T = TypeVar("T")


@asynccontextmanager
async def running_worker(
    client: Client, cases_address: str, others: Others, *, sandboxed: bool = True
) -> AsyncIterator[str]:
    queue = f"case-lifecycle-{uuid.uuid4().hex[:8]}"
    channels: list[grpc.aio.Channel] = []
    lifecycle = others.lifecycle(cases_address, channels)
    try:
        activities = CaseActivities(cast(Any, CasesServiceStub(channels[0])))
        async with build_worker(client, activities, queue, lifecycle=lifecycle, sandboxed=sandboxed):
            yield queue
    finally:
        for channel in channels:
            await channel.close()


async def eventually(probe: Callable[[], Awaitable[T]], ok: Callable[[T], bool], seconds: float = 20) -> T:
    """Visibility is eventually consistent: poll until ``ok`` or fail at the deadline."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        value = await probe()
        if ok(value):
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {seconds}s; last value: {value!r}")
        await asyncio.sleep(0.2)


async def list_ids(client: Client, query: str) -> list[str]:
    return [execution.id async for execution in client.list_workflows(query)]


async def state_of(handle: WorkflowHandle[Any, Any]) -> CaseLifecycleState:
    state: CaseLifecycleState = await handle.query(QUERY_STATE, result_type=CaseLifecycleState)
    return state


# Settings.workflow_sandbox: the same case runs the same with the sandbox off.
@pytest.mark.parametrize("sandboxed", [True, False], ids=["sandboxed", "unsandboxed"])
async def test_case_is_findable_and_readable_in_visibility(
    temporal_client: Client, fake_cases: FakeCases, others: Others, sandboxed: bool
) -> None:
    case_number = f"BL-2026-{uuid.uuid4().int % 10**6:06d}"
    fake_cases.servicer.add_case(case_number, zone="WARD-3", officer="officer-12")
    async with running_worker(temporal_client, fake_cases.address, others, sandboxed=sandboxed) as queue:
        handle = await temporal_client.start_workflow(
            CaseLifecycleWorkflow.run, make_input(case_number), id=workflow_id(case_number), task_queue=queue
        )
        found = await eventually(
            lambda: list_ids(temporal_client, f'CaseStatus = "received" AND CaseNumber = "{case_number}"'),
            lambda ids: ids == [workflow_id(case_number)],
        )
        assert found == [f"case-{case_number}"]
        attributes = await eventually(lambda: search_attributes(handle), lambda a: "AssignedOfficer" in a)
        assert attributes == {
            "CaseNumber": case_number,
            "CaseStatus": "received",
            "CasePriority": "high",
            "ServiceCode": "pool-fence",
            "BylawNumber": "2010-0049",
            "Zone": "WARD-3",
            "AssignedOfficer": "officer-12",
        }
        # The case is received on support.RECEIVED_AT (a Friday in 2037): its targets lie
        # ahead, so the details show them and no alert has fired.
        await eventually(lambda: state_of(handle), lambda s: s.inspection_due is not None)
        assert await current_details(handle) == (
            "Received 2037-11-20; acknowledgement due 2037-11-24; assigned to officer-12, "
            "awaiting investigation; inspection due by 2037-11-23 "
            "(priority high, pool-fence, by-law 2010-0049)"
        )

        state = await handle.execute_update(
            UPDATE_TRANSITION_STATUS,
            TransitionStatusRequest(status="under_investigation", actor="supervisor-1"),
            result_type=CaseLifecycleState,
        )
        assert state.status == "under_investigation"
        [call] = fake_cases.servicer.record_calls
        assert call.step_key == f"{case_number}:1:under_investigation"
        assert call.actor.subject == "supervisor-1" and list(call.actor.roles) == ["system"]
        assert fake_cases.servicer.cases[case_number].status == call.status

        await eventually(
            lambda: list_ids(
                temporal_client, f'CaseStatus = "under_investigation" AND CaseNumber = "{case_number}"'
            ),
            lambda ids: len(ids) == 1,
        )
        assert (
            "under investigation; inspection due by 2037-11-23; officer officer-12"
            in await current_details(handle)
        )

        result = await handle.execute_update(
            UPDATE_CLOSE_CASE,
            CloseCaseRequest(outcome="dismissed", reason="no contravention found"),
            result_type=CaseLifecycleResult,
        )
        assert result.outcome == "dismissed"
        assert fake_cases.servicer.record_calls[-1].outcome == "dismissed"
        # The closure summary went to the record, and the closure letter to notices.
        assert fake_cases.servicer.closures[case_number].outcome == "dismissed"
        assert (case_number, f"{case_number}:closure:letter") in others.servicer.rendered
        assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
        await eventually(
            lambda: list_ids(temporal_client, f'CaseStatus = "closed" AND CaseNumber = "{case_number}"'),
            lambda ids: len(ids) == 1,
        )


async def test_business_refusal_from_cases_is_not_retried(
    temporal_client: Client, fake_cases: FakeCases, others: Others
) -> None:
    case_number = f"BL-2026-{uuid.uuid4().int % 10**6:06d}"
    fake_cases.servicer.add_case(case_number)
    fake_cases.servicer.refuse["under_investigation"] = FailedPrecondition(
        f"case {case_number} is restricted (policy 6.10)"
    )
    async with running_worker(temporal_client, fake_cases.address, others) as queue:
        handle = await temporal_client.start_workflow(
            CaseLifecycleWorkflow.run, make_input(case_number), id=workflow_id(case_number), task_queue=queue
        )
        with pytest.raises(WorkflowUpdateFailedError) as caught:
            await handle.execute_update(
                UPDATE_TRANSITION_STATUS, TransitionStatusRequest(status="under_investigation")
            )
        cause = caught.value.cause
        assert isinstance(cause, ApplicationError) and cause.type == "FailedPrecondition"
        assert cause.message == (
            f"the cases service did not record status under_investigation: case {case_number} is restricted "
            "(policy 6.10)"
        )
        assert len(fake_cases.servicer.record_calls) == 1
        assert (await state_of(handle)).status == "received"
        await handle.terminate("test over")


async def test_case_missing_from_the_record_fails_the_workflow(
    temporal_client: Client, fake_cases: FakeCases, others: Others
) -> None:
    case_number = f"BL-2026-{uuid.uuid4().int % 10**6:06d}"  # never added to the fake
    async with running_worker(temporal_client, fake_cases.address, others) as queue:
        handle = await temporal_client.start_workflow(
            CaseLifecycleWorkflow.run, make_input(case_number), id=workflow_id(case_number), task_queue=queue
        )
        with pytest.raises(WorkflowFailureError) as caught:
            await asyncio.wait_for(handle.result(), timeout=30)
        activity_error = caught.value.cause
        assert isinstance(activity_error.__cause__, ApplicationError)
        assert activity_error.__cause__.type == "NotFound"


async def _read_until(stream: asyncio.StreamReader, marker: str, seconds: float) -> str:
    seen: list[str] = []
    async with asyncio.timeout(seconds):
        while True:
            line = (await stream.readline()).decode(errors="replace")
            if not line:
                raise AssertionError("worker exited early:\n" + "".join(seen))
            seen.append(line)
            if marker in line:
                return "".join(seen)


async def test_worker_process_registers_attributes_runs_cases_and_stops_on_sigterm(
    temporal_address: str, temporal_client: Client, fake_cases: FakeCases, others: Others
) -> None:
    namespace = await new_namespace(temporal_client)  # without our search attributes
    queue = f"case-lifecycle-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "BYLAW_ENV": "test",
        "BYLAW_TEMPORAL_ADDRESS": temporal_address,
        "BYLAW_TEMPORAL_NAMESPACE": namespace,
        "BYLAW_TEMPORAL_TASK_QUEUE": queue,
        "BYLAW_CASES_ADDR": fake_cases.address,
        # The lifecycle's other services, so no activity is left retrying at shutdown.
        "BYLAW_NOTICES_ADDR": others.address,
        "BYLAW_INTAKE_ADDR": others.address,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "workflows.worker",
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stderr is not None
        await _read_until(process.stderr, "worker started", 60)

        client = await Client.connect(temporal_address, namespace=namespace)
        case_number = f"BL-2026-{uuid.uuid4().int % 10**6:06d}"
        fake_cases.servicer.add_case(case_number)
        await client.start_workflow(
            CaseLifecycleWorkflow.run, make_input(case_number), id=workflow_id(case_number), task_queue=queue
        )
        # The upserts succeed only because the worker registered the attributes.
        await eventually(
            lambda: list_ids(client, f'CaseStatus = "received" AND CaseNumber = "{case_number}"'),
            lambda ids: len(ids) == 1,
        )

        process.send_signal(signal.SIGTERM)
        tail = await _read_until(process.stderr, "worker stopped", 40)
        assert "worker stopping" in tail
        assert await asyncio.wait_for(process.wait(), timeout=20) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@pytest.mark.parametrize("sandboxed", [True, False])
async def test_the_worker_runs_workflows_in_the_sandbox_unless_told_not_to(
    temporal_client: Client, fake_cases: FakeCases, sandboxed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BYLAW_WORKFLOW_SANDBOX", str(sandboxed).lower())
    setting = Settings().workflow_sandbox
    assert setting is sandboxed
    channel = insecure_channel(fake_cases.address)
    try:
        activities = CaseActivities(cast(Any, CasesServiceStub(channel)))
        worker = build_worker(temporal_client, activities, "unused-queue", sandboxed=setting)
        runner = worker.config()["workflow_runner"]
        assert isinstance(runner, SandboxedWorkflowRunner if sandboxed else UnsandboxedWorkflowRunner)
    finally:
        await channel.close()
