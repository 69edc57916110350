"""Records histories of representative CaseLifecycleWorkflow runs for the replay tests.

    .venv/bin/python -m tests.workflow.record_histories

Runs each scenario on the time-skipping test server with the in-memory activities and
writes ``tests/workflow/histories/<scenario>.json`` (one file per run; a run that
continued as new gives ``<scenario>.run<N>.json``). Commit the files: ``test_replay``
replays every one against the current workflow code, so a change that would break
running cases fails the suite. Record new histories *in addition* when the workflow
changes (guarded by a named patch), never instead of the old ones.

``LEGACY`` names the histories recorded before ``PATCH_LIFECYCLE_V2`` (issue 4): their
scenarios walked statuses one update at a time, which the lifecycle no longer accepts, so
they cannot be recorded again; their files stay as the proof that runs begun then replay.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

import tests.workflow.test_lifecycle_paths as paths
from tests import infra
from tests.workflow.fakes import COUNCIL_DECISION, FakeLifecycle, FakeRemediationWorkflow
from tests.workflow.support import (
    RECEIVED_AT,
    FakeCases,
    case_worker,
    latest_run_id,
    make_input,
    start_case,
    started_from_input,
    state_when,
    travel,
)
from workflows.contracts import (
    UPDATE_ASSIGN_OFFICER,
    UPDATE_CLOSE_CASE,
    UPDATE_EXTEND_DEADLINE,
    UPDATE_SCHEDULE_INSPECTION,
    UPDATE_SHORTEN_DEADLINE,
    UPDATE_TAKE_ENFORCEMENT_ACTION,
    AssignOfficerRequest,
    CloseCaseRequest,
    ExtendDeadlineRequest,
    ScheduleInspectionRequest,
    ShortenDeadlineRequest,
    WorkOrderRequest,
    remediation_workflow_id,
)
from workflows.search_attributes import ensure_search_attributes

HISTORIES = Path(__file__).parent / "histories"

Scenario = Callable[[WorkflowEnvironment], Awaitable[WorkflowHandle[Any, Any]]]


# Histories recorded before PATCH_LIFECYCLE_V2 (issue 4); kept for replay, never re-recorded.
LEGACY = frozenset(
    {
        "voluntary_compliance",
        "rejected_after_refusals",
        "transient_failures_and_concurrent_updates",
        "continued_as_new",
    }
)


async def lifecycle_voluntary_compliance(env: WorkflowEnvironment) -> WorkflowHandle[Any, Any]:
    """Acknowledged; inspection scheduled and recorded; warning letter; the deadline timer
    across the Christmas holidays; compliance at re-inspection; closure."""
    async with case_worker(env.client, FakeCases(zone="DOWNTOWN", officer="officer-7")) as queue:
        handle = await start_case(env.client, queue, make_input("BL-2037-900001"))
        await paths.acknowledge(handle)
        await travel(env, paths.local(2037, 11, 23, 9))
        await paths.update(
            handle,
            UPDATE_SCHEDULE_INSPECTION,
            ScheduleInspectionRequest(kind="initial", scheduled_for=paths.local(2037, 11, 23, 14)),
        )
        await travel(env, paths.local(2037, 11, 23, 14))
        await paths.inspect(env, handle, failing=paths.GATE)
        await paths.update(handle, UPDATE_TAKE_ENFORCEMENT_ACTION, paths.action("education", "2037-12-23"))
        await travel(env, paths.local(2037, 12, 24, 8))
        await state_when(handle, lambda s: s.status == "reinspection")
        await paths.inspect(env, handle, kind="reinspection")
        await handle.result()
    return handle


async def lifecycle_started_from_input(env: WorkflowEnvironment) -> WorkflowHandle[Any, Any]:
    """Started as intake starts a case since PATCH_START_FROM_INPUT: zone, officer,
    department, targets and the acknowledgement in the input, no activity at start; then
    inspection, warning letter, compliance at re-inspection, closure."""
    async with case_worker(env.client, FakeCases(zone="DOWNTOWN", officer="officer-7")) as queue:
        handle = await start_case(env.client, queue, started_from_input("BL-2037-900101"))
        await travel(env, paths.local(2037, 11, 23, 9))
        await paths.update(
            handle,
            UPDATE_SCHEDULE_INSPECTION,
            ScheduleInspectionRequest(kind="initial", scheduled_for=paths.local(2037, 11, 23, 14)),
        )
        await travel(env, paths.local(2037, 11, 23, 14))
        await paths.inspect(env, handle, failing=paths.GATE)
        await paths.update(handle, UPDATE_TAKE_ENFORCEMENT_ACTION, paths.action("education", "2037-12-23"))
        await travel(env, paths.local(2037, 12, 24, 8))
        await state_when(handle, lambda s: s.status == "reinspection")
        await paths.inspect(env, handle, kind="reinspection")
        await handle.result()
    return handle


async def lifecycle_extension_and_shortening(env: WorkflowEnvironment) -> WorkflowHandle[Any, Any]:
    """A notice departing from the usual path (with its reason), an extension on a
    written request, a shortening after attempted contact, a missed re-inspection alert
    cleared by a second extension, and compliance."""
    async with case_worker(env.client, FakeCases(officer="officer-7")) as queue:
        handle = await start_case(env.client, queue, make_input("BL-2037-900002"))
        await paths.acknowledge(handle)
        await travel(env, paths.local(2037, 11, 23, 11))
        await paths.inspect(env, handle, failing=paths.GATE)
        await paths.refused(
            handle, UPDATE_TAKE_ENFORCEMENT_ACTION, paths.action("compliance_notice", "2037-12-11")
        )
        await paths.update(
            handle,
            UPDATE_TAKE_ENFORCEMENT_ACTION,
            paths.action(
                "compliance_notice",
                "2037-12-11",
                deviation_reason="Warned verbally twice this summer about the same gate.",
                justification="history_of_non_compliance",
            ),
        )
        await paths.update(
            handle,
            UPDATE_EXTEND_DEADLINE,
            ExtendDeadlineRequest(
                "2038-01-08", "Owner abroad until January; letter of 23 Nov.", "2037-11-23"
            ),
        )
        await travel(env, paths.local(2037, 12, 14, 9))
        await paths.update(
            handle,
            UPDATE_SHORTEN_DEADLINE,
            ShortenDeadlineRequest(
                "2037-12-18",
                "Children seen playing inside the unfenced pool area.",
                contact_attempted_at=paths.local(2037, 12, 14, 8, 30),
                contact_method="phone",
            ),
        )
        await travel(env, paths.local(2037, 12, 23, 9))
        await state_when(handle, lambda s: any(a.kind == "reinspection_missed" for a in s.alerts))
        await paths.update(
            handle,
            UPDATE_EXTEND_DEADLINE,
            ExtendDeadlineRequest("2038-01-15", "Contractor booked for 12 January (letter).", "2037-12-22"),
        )
        await travel(env, paths.local(2038, 1, 18, 9))
        await state_when(handle, lambda s: s.status == "reinspection")
        await paths.inspect(env, handle, kind="reinspection")
        await handle.result()
    return handle


async def lifecycle_escalation_to_ticket(env: WorkflowEnvironment) -> WorkflowHandle[Any, Any]:
    """Warning, notice and order each fail re-inspection; the order goes overdue (alert);
    a Part I ticket with its set fine; closure as prosecution."""
    async with case_worker(env.client, FakeCases(officer="officer-7")) as queue:
        handle = await start_case(env.client, queue, make_input("BL-2037-900003"))
        await paths.acknowledge(handle)
        await travel(env, paths.local(2037, 11, 23, 11))
        await paths.inspect(env, handle, failing=paths.GATE)
        for name, comply_by, expiry in (
            ("education", "2037-12-04", paths.local(2037, 12, 7, 9)),
            ("compliance_notice", "2037-12-18", paths.local(2037, 12, 21, 9)),
            ("order_to_comply", "2038-01-15", paths.local(2038, 1, 18, 9)),
        ):
            await paths.update(handle, UPDATE_TAKE_ENFORCEMENT_ACTION, paths.action(name, comply_by))
            await travel(env, expiry)
            await state_when(handle, lambda s: s.status == "reinspection")
            await paths.inspect(env, handle, kind="reinspection", failing=paths.GATE)
        await travel(env, paths.local(2038, 2, 2, 9))
        await state_when(handle, lambda s: any(a.kind == "order_overdue" for a in s.alerts))
        await paths.update(
            handle, UPDATE_TAKE_ENFORCEMENT_ACTION, paths.action("ticket", fine_code="POOL-GATE")
        )
        await handle.execute_update(
            UPDATE_CLOSE_CASE,
            CloseCaseRequest(outcome="prosecution", reason="Ticket paid", actor="officer-7"),
        )
        await handle.result()
    return handle


async def lifecycle_dismissal_with_alerts(env: WorkflowEnvironment) -> WorkflowHandle[Any, Any]:
    """Acknowledgement and inspection targets missed (two alerts), the acknowledgement
    signal and the inspection clear them, nothing found: dismissed."""
    async with case_worker(env.client, FakeCases(officer="officer-7")) as queue:
        handle = await start_case(env.client, queue, make_input("BL-2037-900004"))
        await travel(env, paths.local(2037, 11, 25, 9))
        await state_when(handle, lambda s: len(s.alerts) == 2)
        await paths.acknowledge(handle)
        await paths.inspect(env, handle)
        await state_when(handle, lambda s: all(a.cleared_at is not None for a in s.alerts))
        await handle.execute_update(
            UPDATE_CLOSE_CASE,
            CloseCaseRequest(outcome="dismissed", reason="No contravention found at inspection."),
        )
        await handle.result()
    return handle


async def lifecycle_remediation_handoff(env: WorkflowEnvironment) -> WorkflowHandle[Any, Any]:
    """An order not complied with; direct enforcement over $5,000 (the fake remediation
    child waits for Council, which approves); the work completes; closed as remediation."""
    async with case_worker(
        env.client, FakeCases(officer="officer-7"), workflows=[FakeRemediationWorkflow]
    ) as queue:
        handle = await start_case(env.client, queue, make_input("BL-2037-900005"))
        await paths.acknowledge(handle)
        await travel(env, paths.local(2037, 11, 23, 11))
        await paths.inspect(env, handle, failing=paths.GATE)
        await paths.update(
            handle,
            UPDATE_TAKE_ENFORCEMENT_ACTION,
            paths.action(
                "order_to_comply",
                "2037-12-11",
                deviation_reason="The gate has failed three prior inspections at this address.",
                justification="history_of_non_compliance",
            ),
        )
        await travel(env, paths.local(2037, 12, 14, 9))
        await state_when(handle, lambda s: s.status == "reinspection")
        await paths.inspect(env, handle, kind="reinspection", failing=paths.GATE)
        work = WorkOrderRequest("Replace the gate hardware and latch", 750_000, "Quinte Fencing Ltd.")
        await paths.update(
            handle, UPDATE_TAKE_ENFORCEMENT_ACTION, paths.action("direct_enforcement", work_order=work)
        )
        await state_when(handle, lambda s: s.status == "awaiting_council_approval")
        await travel(env, paths.local(2038, 1, 12, 19))
        child = env.client.get_workflow_handle(remediation_workflow_id("BL-2037-900005", 1))
        await child.signal(COUNCIL_DECISION, "approve")
        await handle.result()
    return handle


async def lifecycle_continued_as_new(env: WorkflowEnvironment) -> WorkflowHandle[Any, Any]:
    """A case that continues as new while its compliance deadline is pending: the timer
    resumes in the new run, expires, and compliance closes the case."""
    async with case_worker(env.client, FakeCases(officer="officer-9")) as queue:
        handle = await start_case(env.client, queue, make_input("BL-2037-900006", history_event_limit=40))
        await paths.acknowledge(handle)
        await travel(env, paths.local(2037, 11, 23, 11))
        await paths.inspect(env, handle, failing=paths.GATE)
        await paths.update(handle, UPDATE_TAKE_ENFORCEMENT_ACTION, paths.action("education", "2037-12-18"))
        latest = env.client.get_workflow_handle(handle.id)
        while await latest_run_id(env.client, handle.id) == handle.result_run_id:
            await asyncio.sleep(0.1)
        await travel(env, paths.local(2037, 12, 21, 9))
        await state_when(latest, lambda s: s.status == "reinspection")
        await paths.inspect(env, latest, kind="reinspection")
        await latest.result()
    return handle


async def lifecycle_reassignment_and_retries(env: WorkflowEnvironment) -> WorkflowHandle[Any, Any]:
    """A reassignment, refused updates (validator and business refusals), a document
    render retried through transient failures; left open."""
    lifecycle = FakeLifecycle(document_failures=2)
    async with case_worker(env.client, FakeCases(officer="officer-7"), lifecycle=lifecycle) as queue:
        handle = await start_case(env.client, queue, make_input("BL-2037-900007", priority="medium"))
        await paths.refused(handle, UPDATE_ASSIGN_OFFICER, AssignOfficerRequest("officer-9", "busy"))
        await paths.refused(
            handle,
            UPDATE_ASSIGN_OFFICER,
            AssignOfficerRequest("officer-404", "Officer on leave until March."),
        )
        await paths.update(
            handle, UPDATE_ASSIGN_OFFICER, AssignOfficerRequest("officer-9", "Officer on leave until March.")
        )
        await travel(env, RECEIVED_AT + timedelta(hours=1))
        await paths.inspect(env, handle, failing=paths.GATE)
    return handle


SCENARIOS: dict[str, Scenario] = {
    "lifecycle_voluntary_compliance": lifecycle_voluntary_compliance,
    "lifecycle_extension_and_shortening": lifecycle_extension_and_shortening,
    "lifecycle_escalation_to_ticket": lifecycle_escalation_to_ticket,
    "lifecycle_dismissal_with_alerts": lifecycle_dismissal_with_alerts,
    "lifecycle_remediation_handoff": lifecycle_remediation_handoff,
    "lifecycle_continued_as_new": lifecycle_continued_as_new,
    "lifecycle_reassignment_and_retries": lifecycle_reassignment_and_retries,
    "lifecycle_started_from_input": lifecycle_started_from_input,
}


async def run_ids(client: Client, workflow_id: str) -> list[str]:
    """Every run of ``workflow_id``, first to last, following continue-as-new."""
    # The latest run first; walk back through the chain.
    runs = [await latest_run_id(client, workflow_id)]
    while True:
        history = await client.get_workflow_handle(workflow_id, run_id=runs[0]).fetch_history()
        started = history.events[0].workflow_execution_started_event_attributes
        if not started.continued_execution_run_id:
            return runs
        runs.insert(0, started.continued_execution_run_id)


async def record(names: list[str]) -> list[Path]:
    HISTORIES.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name in names:
        # A server per scenario: each moves the clock to its own dates (support.RECEIVED_AT).
        async with await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=infra.temporal_test_server_path()
        ) as env:
            await ensure_search_attributes(env.client, env.client.namespace)
            await travel(env, RECEIVED_AT + timedelta(minutes=1))
            handle = await SCENARIOS[name](env)
            runs = await run_ids(env.client, handle.id)
            for index, run_id in enumerate(runs, start=1):
                history = await env.client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
                path = HISTORIES / (f"{name}.json" if len(runs) == 1 else f"{name}.run{index}.json")
                path.write_text(history.to_json() + "\n")
                written.append(path)
    return written


def main(argv: list[str]) -> None:
    names = argv or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise SystemExit(f"unknown scenarios: {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    for path in asyncio.run(record(names)):
        print(path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path)


if __name__ == "__main__":
    main(sys.argv[1:])
