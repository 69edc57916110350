"""A case started with what intake knows (PATCH_START_FROM_INPUT) begins in one workflow
task with no activity: at 311 volume every activity and task at start costs once per
complaint (issue 3). Without ``case_record_known`` it still reads the record and targets."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from tests.workflow.support import (
    RECEIVED_AT,
    FakeCases,
    case_worker,
    make_input,
    start_case,
    started_from_input,
    state_when,
    travel,
)
from workflows.search_attributes import ensure_search_attributes


@pytest.fixture
async def env(time_skipping_env: WorkflowEnvironment) -> WorkflowEnvironment:
    await ensure_search_attributes(time_skipping_env.client, time_skipping_env.client.namespace)
    await travel(time_skipping_env, RECEIVED_AT + timedelta(minutes=1))
    return time_skipping_env


async def _start_events(env: WorkflowEnvironment, handle_id: str) -> list[EventType.ValueType]:
    """The events up to the first timer (the case settled, waiting). Read before any query:
    the time-skipping server answers a query through a workflow task of its own."""
    handle = env.client.get_workflow_handle(handle_id)
    for _ in range(100):
        events = [event.event_type for event in (await handle.fetch_history()).events]
        if EventType.EVENT_TYPE_TIMER_STARTED in events:
            return events
        await asyncio.sleep(0.1)
    raise AssertionError("the case never settled on its first timer")


async def test_started_from_input_runs_no_activity_and_one_workflow_task(env: WorkflowEnvironment) -> None:
    async with case_worker(env.client, FakeCases(zone="ELSEWHERE", officer="someone-else")) as queue:
        handle = await start_case(env.client, queue, started_from_input())
        events = await _start_events(env, handle.id)
        state = await state_when(handle, lambda s: s.targets is not None)
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in events
    assert events.count(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) == 1
    # Automatic TemporalChangeVersion upserts aside, one upsert carries every attribute.
    assert events.count(EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES) == 3
    # What intake passed, not what the (differing) fake record says.
    assert (state.zone, state.assigned_officer, state.department) == ("DOWNTOWN", "officer-7", "BD")
    assert state.targets is not None and state.targets.sla_version == "test targets"
    assert state.acknowledged_at is not None  # no acknowledgement timer to run


async def test_without_the_record_it_reads_the_case_and_its_targets(env: WorkflowEnvironment) -> None:
    async with case_worker(env.client, FakeCases(zone="NORTH", officer="officer-3")) as queue:
        handle = await start_case(env.client, queue, make_input())
        events = await _start_events(env, handle.id)
        state = await state_when(handle, lambda s: s.targets is not None)
    assert events.count(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) == 2  # get_case, lifecycle_policy
    assert (state.zone, state.assigned_officer) == ("NORTH", "officer-3")
