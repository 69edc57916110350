"""Records histories of representative RemediationWorkflow runs for the replay tests.

    .venv/bin/python -m tests.workflow.record_remediation_histories [scenario ...]

Runs each scenario on the time-skipping test server with the in-memory activities, the
child started by a stand-in parent (so progress signals are in the history), and writes
``tests/workflow/histories/remediation_workflow/<scenario>.json``. Commit the files:
``test_remediation_replay`` replays every one against the current workflow code, so a
change that running remediations could not replay fails the suite. Record new histories
*in addition* when the workflow changes (guarded by a named patch), never instead of the
old ones. (A folder of their own: ``test_replay`` replays the top-level files against
CaseLifecycleWorkflow.)
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from tests import infra
from tests.workflow import remediation_support as rs
from workflows.remediation import (
    UPDATE_CANCEL,
    UPDATE_COMPLETE_WORK,
    UPDATE_COUNCIL_DECISION,
    UPDATE_EMERGENCY_APPROVAL,
    UPDATE_RECORD_COSTS,
    UPDATE_RECORD_PAYMENT,
    UPDATE_SCHEDULE_WORK,
)
from workflows.search_attributes import ensure_search_attributes

HISTORIES = Path(__file__).parent / "histories" / "remediation_workflow"

# A scenario runs the child to its end and returns a handle on it.
Scenario = Callable[[WorkflowEnvironment], Awaitable[WorkflowHandle[Any, Any]]]


async def _today(env: WorkflowEnvironment, plus_days: int = 0) -> str:
    now = await env.get_current_time()
    return (now.astimezone(rs.TORONTO).date() + timedelta(days=plus_days)).isoformat()


async def _phase(env: WorkflowEnvironment, handle: WorkflowHandle[Any, Any], phase: str) -> None:
    for _ in range(300):
        try:
            if (await rs.state(handle)).phase == phase:
                return
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
        await env.sleep(timedelta(seconds=1))
    raise AssertionError(f"{handle.id} never reached {phase}")


async def _refused(handle: WorkflowHandle[Any, Any], name: str, request: object) -> None:
    try:
        await handle.execute_update(name, request)
    except WorkflowUpdateFailedError:
        return
    raise AssertionError(f"{name} was expected to be refused")


async def _work_done(env: WorkflowEnvironment, child: WorkflowHandle[Any, Any]) -> None:
    await child.execute_update(UPDATE_SCHEDULE_WORK, rs.schedule(await _today(env, 2)))
    await env.sleep(timedelta(days=3))
    await child.execute_update(UPDATE_RECORD_COSTS, rs.costs(rs.contractor_cost()))
    await child.execute_update(UPDATE_COMPLETE_WORK, rs.completion(await _today(env), rs.staff_cost()))


async def under_gate_paid(env: WorkflowEnvironment) -> WorkflowHandle[Any, Any]:
    """$2,500 on private land: no Council; scheduled, costed, completed, paid in two parts."""
    async with rs.remediation_worker(env.client, rs.FakeRemediation()) as queue:
        parent, child = await rs.start_with_parent(env.client, queue, rs.make_input("BL-2026-910001"))
        await _phase(env, child, "approved")
        await _work_done(env, child)
        await _phase(env, child, "invoiced")
        await env.sleep(timedelta(days=12))
        await child.execute_update(UPDATE_RECORD_PAYMENT, rs.payment(99_500, await _today(env)))
        await child.execute_update(UPDATE_RECORD_PAYMENT, rs.payment(100_000, await _today(env)))
        await parent.result()
    return child


async def exactly_gate_tax_roll(env: WorkflowEnvironment) -> WorkflowHandle[Any, Any]:
    """Exactly $5,000: no Council; unpaid, so on the tax roll after the payment period."""
    async with rs.remediation_worker(env.client, rs.FakeRemediation()) as queue:
        parent, child = await rs.start_with_parent(
            env.client, queue, rs.make_input("BL-2026-910002", estimate_cents=500_000)
        )
        await _phase(env, child, "approved")
        await _work_done(env, child)
        await parent.result()
    return child


async def council_approved_tax_roll(env: WorkflowEnvironment) -> WorkflowHandle[Any, Any]:
    """$7,250: waits two months for Council, which approves; partly paid, rest on the roll."""
    async with rs.remediation_worker(env.client, rs.FakeRemediation()) as queue:
        parent, child = await rs.start_with_parent(
            env.client, queue, rs.make_input("BL-2026-910003", estimate_cents=725_000)
        )
        await _phase(env, child, "awaiting_council")
        await _refused(
            child,
            UPDATE_COUNCIL_DECISION,
            rs.council_decision("approved", await _today(env), actor_roles=["officer"]),
        )
        await env.sleep(timedelta(days=60))
        await child.execute_update(
            UPDATE_COUNCIL_DECISION, rs.council_decision("approved", await _today(env, -1))
        )
        await _phase(env, child, "approved")
        await _work_done(env, child)
        await _phase(env, child, "invoiced")
        await child.execute_update(UPDATE_RECORD_PAYMENT, rs.payment(50_000, await _today(env)))
        await parent.result()
    return child


async def council_refused(env: WorkflowEnvironment) -> WorkflowHandle[Any, Any]:
    """$10,000: Council refuses; the case goes back to other enforcement."""
    async with rs.remediation_worker(env.client, rs.FakeRemediation()) as queue:
        parent, child = await rs.start_with_parent(
            env.client, queue, rs.make_input("BL-2026-910004", estimate_cents=1_000_000)
        )
        await _phase(env, child, "awaiting_council")
        await env.sleep(timedelta(days=30))
        await child.execute_update(UPDATE_COUNCIL_DECISION, rs.council_decision("refused", await _today(env)))
        await parent.result()
    return child


async def emergency_approved(env: WorkflowEnvironment) -> WorkflowHandle[Any, Any]:
    """$12,500: refused emergency approvals (wrong role, no risk), then the Fire Chief's."""
    async with rs.remediation_worker(env.client, rs.FakeRemediation()) as queue:
        parent, child = await rs.start_with_parent(
            env.client, queue, rs.make_input("BL-2026-910005", estimate_cents=1_250_000)
        )
        await _phase(env, child, "awaiting_council")
        await _refused(child, UPDATE_EMERGENCY_APPROVAL, rs.emergency(actor_roles=["clerk"]))
        await _refused(child, UPDATE_EMERGENCY_APPROVAL, rs.emergency(risk=""))
        await child.execute_update(UPDATE_EMERGENCY_APPROVAL, rs.emergency())
        await _phase(env, child, "approved")
        await _work_done(env, child)
        await _phase(env, child, "invoiced")
        await child.execute_update(UPDATE_RECORD_PAYMENT, rs.payment(199_500, await _today(env)))
        await parent.result()
    return child


async def cancelled_awaiting_council(env: WorkflowEnvironment) -> WorkflowHandle[Any, Any]:
    """$8,000: the owner does the work before Council meets; the order is cancelled."""
    async with rs.remediation_worker(env.client, rs.FakeRemediation()) as queue:
        parent, child = await rs.start_with_parent(
            env.client, queue, rs.make_input("BL-2026-910006", estimate_cents=800_000)
        )
        await _phase(env, child, "awaiting_council")
        await env.sleep(timedelta(days=10))
        await child.execute_update(
            UPDATE_CANCEL, rs.cancel("The owner removed the refuse before Council met")
        )
        await parent.result()
    return child


SCENARIOS: dict[str, Scenario] = {
    "under_gate_paid": under_gate_paid,
    "exactly_gate_tax_roll": exactly_gate_tax_roll,
    "council_approved_tax_roll": council_approved_tax_roll,
    "council_refused": council_refused,
    "emergency_approved": emergency_approved,
    "cancelled_awaiting_council": cancelled_awaiting_council,
}


async def record(names: list[str]) -> list[Path]:
    HISTORIES.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=infra.temporal_test_server_path()
    ) as env:
        await ensure_search_attributes(env.client, env.client.namespace)
        for name in names:
            child = await SCENARIOS[name](env)
            history = await child.fetch_history()
            path = HISTORIES / f"{name}.json"
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
