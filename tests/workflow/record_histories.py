"""Records histories of representative CaseLifecycleWorkflow runs for the replay tests.

    .venv/bin/python -m tests.workflow.record_histories

Runs each scenario on the time-skipping test server with the in-memory activities and
writes ``tests/workflow/histories/<scenario>.json`` (one file per run; a run that
continued as new gives ``<scenario>.run<N>.json``). Commit the files: ``test_replay``
replays every one against the current workflow code, so a change that would break
running cases fails the suite. Record new histories *in addition* when the workflow
changes (guarded by a named patch), never instead of the old ones.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.testing import WorkflowEnvironment

from tests import infra
from tests.workflow.support import FakeCases, case_worker, make_input, start_case
from workflows.contracts import (
    UPDATE_CLOSE_CASE,
    UPDATE_TRANSITION_STATUS,
    CloseCaseRequest,
    TransitionStatusRequest,
)
from workflows.search_attributes import ensure_search_attributes

HISTORIES = Path(__file__).parent / "histories"

Scenario = Callable[[WorkflowEnvironment], Awaitable[WorkflowHandle[Any, Any]]]


async def _move(handle: WorkflowHandle[Any, Any], status: str, reason: str = "") -> None:
    await handle.execute_update(
        UPDATE_TRANSITION_STATUS, TransitionStatusRequest(status=status, reason=reason, actor="officer-7")
    )


async def _close(handle: WorkflowHandle[Any, Any], outcome: str, reason: str) -> None:
    await handle.execute_update(
        UPDATE_CLOSE_CASE, CloseCaseRequest(outcome=outcome, reason=reason, actor="supervisor-1")
    )


async def _refused(handle: WorkflowHandle[Any, Any], status: str, reason: str = "") -> None:
    try:
        await _move(handle, status, reason)
    except WorkflowUpdateFailedError:
        return
    raise AssertionError(f"transition to {status} was expected to fail")


async def voluntary_compliance(env: WorkflowEnvironment) -> WorkflowHandle[Any, Any]:
    """Investigation, notice, compliance period, re-inspection, compliance, closure."""
    async with case_worker(env.client, FakeCases(zone="WARD-1", officer="officer-7")) as queue:
        handle = await start_case(env.client, queue, make_input("BL-2026-900001"))
        await _move(handle, "under_investigation")
        await _move(handle, "notice_issued")
        await _move(handle, "awaiting_compliance")
        await env.sleep(timedelta(days=14))
        await _move(handle, "reinspection")
        await _move(handle, "complied")
        await _close(handle, "voluntary_compliance", "fence repaired and gate self-latching")
        await handle.result()
    return handle


async def rejected_after_refusals(env: WorkflowEnvironment) -> WorkflowHandle[Any, Any]:
    """A validator rejection (leaves no event), a write the cases service refuses (a failed
    activity inside an accepted update), then rejection and closure."""
    fake = FakeCases(refuse={"referred": ("FailedPrecondition", "restricted case")})
    async with case_worker(env.client, fake) as queue:
        handle = await start_case(env.client, queue, make_input("BL-2026-900002", priority="low"))
        await _refused(handle, "complied")
        await _refused(handle, "referred", "civil dispute")
        await _move(handle, "rejected", "civil matter between neighbours (policy 6.2.1 g)")
        await _close(handle, "rejected", "complainant advised of civil remedies")
        await handle.result()
    return handle


async def transient_failures_and_concurrent_updates(env: WorkflowEnvironment) -> WorkflowHandle[Any, Any]:
    """Activity retries, and two concurrent updates serialised by the workflow's lock
    (the second is refused under the lock); left open, waiting."""
    fake = FakeCases(transient_failures={"under_investigation": 2}, delay_seconds=0.3)
    async with case_worker(env.client, fake) as queue:
        handle = await start_case(env.client, queue, make_input("BL-2026-900003", priority="medium"))
        first = await handle.start_update(
            UPDATE_TRANSITION_STATUS,
            TransitionStatusRequest(status="under_investigation", actor="officer-7"),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
        # Admitted by the validator while the first write is still retrying, refused under the lock.
        await _refused(handle, "referred", "OPP matter")
        await first.result()
        await _move(handle, "escalated", "immediate danger: unfenced pool with children nearby (6.2.4 c)")
    return handle


async def continued_as_new(env: WorkflowEnvironment) -> WorkflowHandle[Any, Any]:
    """A long case that continues as new carrying its state, then closes in the new run."""
    async with case_worker(env.client, FakeCases(officer="officer-9")) as queue:
        handle = await start_case(env.client, queue, make_input("BL-2026-900004", history_event_limit=25))
        first_run = (await handle.describe()).run_id
        for status in ("under_investigation", "notice_issued", "awaiting_compliance", "reinspection"):
            await _move(handle, status)
        latest = env.client.get_workflow_handle(handle.id)
        while (await latest.describe()).run_id == first_run:
            await asyncio.sleep(0.1)
        await _move(latest, "escalated")
        await _move(latest, "awaiting_council_approval")
        await env.sleep(timedelta(days=30))
        await _move(latest, "remediation")
        await _move(latest, "complied")
        await _close(latest, "remediation", "contractor completed the work; costs invoiced to the owner")
        await latest.result()
    return handle


SCENARIOS: dict[str, Scenario] = {
    "voluntary_compliance": voluntary_compliance,
    "rejected_after_refusals": rejected_after_refusals,
    "transient_failures_and_concurrent_updates": transient_failures_and_concurrent_updates,
    "continued_as_new": continued_as_new,
}


async def run_ids(client: Client, workflow_id: str) -> list[str]:
    """Every run of ``workflow_id``, first to last, following continue-as-new."""
    first = await client.get_workflow_handle(workflow_id, run_id=None).describe()
    # describe() without a run id gives the latest run; walk back through the chain.
    runs = [first.run_id]
    while True:
        history = await client.get_workflow_handle(workflow_id, run_id=runs[0]).fetch_history()
        started = history.events[0].workflow_execution_started_event_attributes
        if not started.continued_execution_run_id:
            return runs
        runs.insert(0, started.continued_execution_run_id)


async def record(names: list[str]) -> list[Path]:
    HISTORIES.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=infra.temporal_test_server_path()
    ) as env:
        await ensure_search_attributes(env.client, env.client.namespace)
        for name in names:
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
