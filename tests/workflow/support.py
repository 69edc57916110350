"""Helpers shared by the workflow tests and the history recorder: an in-memory stand-in
for the cases activities (same activity names and payloads as ``CaseActivities``), case
inputs, and reading what a supervisor sees (search attributes, current details)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import temporalio.api.sdk.v1 as sdk
from temporalio import activity
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.workflow.fakes import FakeLifecycle
from workflows.activities import (
    GET_CASE,
    RECORD_STATUS,
    CaseSnapshot,
    GetCaseInput,
    RecordStatusInput,
    RecordStatusResult,
)
from workflows.case_lifecycle import CaseLifecycleWorkflow
from workflows.contracts import (
    QUERY_STATE,
    SEARCH_ATTRIBUTE_KEYS,
    CaseLifecycleInput,
    CaseLifecycleState,
    LifecycleTargets,
    workflow_id,
)

# Friday 15:30 in Toronto. In the future, so the workflow tests move the time-skipping
# server's clock here (``travel``) and every timer and date is the same whenever they run.
RECEIVED_AT = datetime(2037, 11, 20, 20, 30, tzinfo=UTC)


@dataclass
class FakeCases:
    """Records RecordStatus calls like the cases service would: once per step_key."""

    zone: str = ""
    officer: str = ""
    # status -> (error type, message) the fake refuses with, like a FailedPrecondition
    refuse: dict[str, tuple[str, str]] = field(default_factory=dict)
    # status -> how many attempts fail with a transient error before one succeeds
    transient_failures: dict[str, int] = field(default_factory=dict)
    delay_seconds: float = 0.0
    calls: list[RecordStatusInput] = field(default_factory=list)
    recorded: dict[str, str] = field(default_factory=dict)  # step_key -> status
    get_case_calls: int = 0

    @activity.defn(name=RECORD_STATUS)
    async def record_status(self, request: RecordStatusInput) -> RecordStatusResult:
        self.calls.append(request)
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        if request.status in self.refuse:
            kind, message = self.refuse[request.status]
            raise ApplicationError(message, type=kind, non_retryable=True)
        if self.transient_failures.get(request.status, 0) > 0:
            self.transient_failures[request.status] -= 1
            raise RuntimeError("cases service unavailable")
        self.recorded.setdefault(request.step_key, request.status)
        return RecordStatusResult(case_number=request.case_number, status=request.status)

    @activity.defn(name=GET_CASE)
    async def get_case(self, request: GetCaseInput) -> CaseSnapshot:
        self.get_case_calls += 1
        return CaseSnapshot(
            case_number=request.case_number,
            status="received",
            priority="high",
            service_code="pool-fence",
            bylaw_number="2010-0049",
            zone_code=self.zone,
            assigned_officer_id=self.officer,
            restricted=False,
        )

    def activities(self) -> list[Any]:
        return [self.record_status, self.get_case]


def case_number() -> str:
    return f"BL-2026-{uuid.uuid4().int % 1_000_000:06d}"


def make_input(number: str | None = None, **overrides: Any) -> CaseLifecycleInput:
    values: dict[str, Any] = {
        "case_number": number or case_number(),
        "service_code": "pool-fence",
        "bylaw_number": "2010-0049",
        "priority": "high",
        "matrix_version": "2023-01",
        "received_at": RECEIVED_AT,
        "enforced_by": ["BE"],
    }
    values.update(overrides)
    return CaseLifecycleInput(**values)


def started_from_input(number: str | None = None, **overrides: Any) -> CaseLifecycleInput:
    """The input as intake builds it since PATCH_START_FROM_INPUT: what cases assigned,
    the targets with the Town's closure days, and the acknowledgement sent at once."""
    values: dict[str, Any] = {
        "case_record_known": True,
        "zone": "DOWNTOWN",
        "assigned_officer": "officer-7",
        "department": "BD",
        "targets": LifecycleTargets(
            sla_version="test targets",
            inspection_business_days=1,
            reinspection_business_days=2,
            order_followup_business_days=10,
            closure_days=[],
        ),
        "acknowledged_at": RECEIVED_AT,
    }
    values.update(overrides)
    return make_input(number, **values)


@asynccontextmanager
async def case_worker(
    client: Client,
    fake: FakeCases,
    task_queue: str | None = None,
    lifecycle: FakeLifecycle | None = None,
    workflows: Sequence[type] = (),
) -> AsyncIterator[str]:
    queue = task_queue or f"case-lifecycle-{uuid.uuid4().hex[:8]}"
    steps = lifecycle or FakeLifecycle()
    async with Worker(
        client,
        task_queue=queue,
        workflows=[CaseLifecycleWorkflow, *workflows],
        activities=[*fake.activities(), *steps.activities()],
    ):
        yield queue


async def start_case(client: Client, queue: str, input: CaseLifecycleInput) -> WorkflowHandle[Any, Any]:
    return await client.start_workflow(
        CaseLifecycleWorkflow.run, input, id=workflow_id(input.case_number), task_queue=queue
    )


async def state_when(
    handle: WorkflowHandle[Any, Any], predicate: Callable[[CaseLifecycleState], bool], seconds: float = 60
) -> CaseLifecycleState:
    """The workflow's state once ``predicate`` holds (the start reads the case record
    asynchronously, so a query right after start may come before it)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        state: CaseLifecycleState = await handle.query(QUERY_STATE, result_type=CaseLifecycleState)
        if predicate(state):
            return state
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"state never matched: {state}")
        await asyncio.sleep(0.05)


async def current_details(handle: WorkflowHandle[Any, Any]) -> str:
    """What the Temporal UI shows as the workflow's current details (the SDK answers the
    built-in metadata query with it)."""
    metadata = await handle.query("__temporal_workflow_metadata", result_type=sdk.WorkflowMetadata)
    return str(metadata.current_details)


async def search_attributes(handle: WorkflowHandle[Any, Any]) -> dict[str, Any]:
    """Our custom search attributes as the server reports them (system ones, such as the
    dev server's BuildIds, left out)."""
    ours = {key.name: key for key in SEARCH_ATTRIBUTE_KEYS}
    # Read raw: the time-skipping server reports an unset attribute as a null payload,
    # which the SDK's decoder of a described workflow cannot parse; an unset attribute is
    # simply absent here, as it is on the real server.
    raw = await handle._client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=handle._client.namespace,
            execution=WorkflowExecution(workflow_id=handle.id, run_id=handle.run_id or ""),
        )
    )
    found: dict[str, Any] = {}
    for name, payload in raw.workflow_execution_info.search_attributes.indexed_fields.items():
        if name not in ours:
            continue
        value = json.loads(payload.data) if payload.data else None
        if isinstance(value, list):
            value = value[0] if value else None
        if value is None:
            continue
        kind = ours[name].indexed_value_type
        found[name] = (
            datetime.fromisoformat(value)
            if int(kind) == int(IndexedValueType.INDEXED_VALUE_TYPE_DATETIME)
            else value
        )
    return found


async def travel(env: WorkflowEnvironment, to: datetime) -> None:
    """Move the time-skipping server's clock forward to ``to`` (firing any timer due
    before it); a moment already past is left as it is."""
    now = await env.get_current_time()
    if to > now:
        await env.sleep(to - now)


async def latest_run_id(client: Client, workflow_id: str) -> str:
    """The newest run of ``workflow_id`` (read raw: see ``search_attributes``)."""
    raw = await client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
        )
    )
    return str(raw.workflow_execution_info.execution.run_id)
