"""RemediationWorkflow on the time-skipping test server, with the activities faked: every
path of municipal remediation (seed spec 3.4) — under the $5,000 Council gate, exactly
$5,000, over it with Council approving or refusing, the emergency approval and its refusals
(policy 6.5.13-6.5.14), payment within the period and the tax roll after it (policy
6.7.9), cancellation — across real days and months of durable timers."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from tests.workflow import remediation_support as rs
from tests.workflow.support import current_details, search_attributes
from workflows import remediation_activities as acts
from workflows.contracts import RemediationResult, remediation_workflow_id
from workflows.remediation import (
    UPDATE_CANCEL,
    UPDATE_COMPLETE_WORK,
    UPDATE_COUNCIL_DECISION,
    UPDATE_EMERGENCY_APPROVAL,
    UPDATE_RECORD_COSTS,
    UPDATE_RECORD_PAYMENT,
    UPDATE_SCHEDULE_WORK,
    Phase,
    Rejection,
    RemediationState,
    RemediationWorkflow,
    check_payment,
    council_gate_applies,
)
from workflows.search_attributes import ensure_search_attributes


@pytest.fixture
async def env(time_skipping_env: WorkflowEnvironment) -> WorkflowEnvironment:
    await ensure_search_attributes(time_skipping_env.client, time_skipping_env.client.namespace)
    return time_skipping_env


async def today(env: WorkflowEnvironment, plus_days: int = 0) -> str:
    now = await env.get_current_time()
    return (now.astimezone(rs.TORONTO).date() + timedelta(days=plus_days)).isoformat()


async def update(handle: WorkflowHandle[Any, Any], name: str, request: object) -> RemediationState:
    result: RemediationState = await handle.execute_update(name, request, result_type=RemediationState)
    return result


async def refused(handle: WorkflowHandle[Any, Any], name: str, request: object) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await handle.execute_update(name, request)
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


def violation(error: ApplicationError) -> tuple[str, str, str | None]:
    [details] = error.details
    assert isinstance(details, dict)
    return error.type or "", details["field"], details["policy"]


async def until(handle: WorkflowHandle[Any, Any], phase: str, env: WorkflowEnvironment) -> RemediationState:
    """The state once the workflow reaches ``phase`` (its activities run asynchronously)."""
    current: RemediationState | None = None
    for _ in range(200):
        try:
            current = await rs.state(handle)
        except RPCError as err:  # the parent has not started its child yet
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
        if current is not None and current.phase == phase:
            return current
        await env.sleep(timedelta(seconds=1))
    raise AssertionError(f"never reached {phase}: {current}")


async def work_done(handle: WorkflowHandle[Any, Any], env: WorkflowEnvironment, *extra: Any) -> None:
    await update(handle, UPDATE_RECORD_COSTS, rs.costs(rs.contractor_cost(), *extra))
    await update(handle, UPDATE_COMPLETE_WORK, rs.completion(await today(env), rs.staff_cost()))


def test_the_gate_is_strictly_more_than_5000_on_private_land() -> None:
    # Policy 6.5.13: "anticipated to exceed $5,000", on private lands.
    assert not council_gate_applies(True, 500_000)
    assert council_gate_applies(True, 500_001)
    assert not council_gate_applies(False, 5_000_000)


async def test_under_5000_no_gate_paid_within_the_period(env: WorkflowEnvironment) -> None:
    fake = rs.FakeRemediation()
    async with rs.remediation_worker(env.client, fake) as queue:
        input = rs.make_input(estimate_cents=250_000)
        parent, child = await rs.start_with_parent(env.client, queue, input)
        approved = await until(child, "approved", env)
        assert (approved.approval, approved.council_approval_required) == ("not_required", False)
        assert approved.work_order_number == f"{input.case_number}-W1"
        await rs.expect_reported(parent, ["remediation"])
        assert await search_attributes(child) == {
            "CaseNumber": input.case_number,
            "CaseStatus": "remediation",
        }
        # No Council report for work that does not need Council (policy 6.5.13).
        assert fake.documents() == [acts.OWNER_NOTICE, acts.CONTRACTOR_WORK_ORDER]

        scheduled = await update(child, UPDATE_SCHEDULE_WORK, rs.schedule(await today(env, 3)))
        assert (scheduled.phase, scheduled.scheduled_on) == ("scheduled", await today(env, 3))
        await env.sleep(timedelta(days=4))
        await work_done(child, env)
        invoiced = await until(child, "invoiced", env)
        assert invoiced.invoice_amount_cents == invoiced.balance_cents == 199_500
        assert invoiced.due_on == await today(env, 30)
        await rs.expect_reported(parent, ["remediation", "complied"])

        await env.sleep(timedelta(days=10))
        part = await update(child, UPDATE_RECORD_PAYMENT, rs.payment(99_500, await today(env)))
        assert (part.phase, part.balance_cents, part.payments) == ("invoiced", 100_000, 1)
        await env.sleep(timedelta(days=10))
        await update(child, UPDATE_RECORD_PAYMENT, rs.payment(100_000, await today(env)))
        result: RemediationResult = await parent.result()
    assert result == RemediationResult(
        work_order_seq=1,
        outcome="completed",
        actual_cost_cents=199_500,
        invoice_number=f"{input.case_number}-INV1",
        paid=True,
        added_to_tax_roll=False,
        emergency=False,
        work_order_number=f"{input.case_number}-W1",
    )
    assert fake.tax_roll_items == 0 and fake.invoices_issued == 1
    assert fake.documents() == [acts.OWNER_NOTICE, acts.CONTRACTOR_WORK_ORDER, acts.INVOICE]
    assert sorted(fake.orders[(input.case_number, 1)].payments) == [
        f"{input.case_number}:remediation-1:payment-1",
        f"{input.case_number}:remediation-1:payment-2",
    ]


async def test_exactly_5000_does_not_wait_for_council(env: WorkflowEnvironment) -> None:
    fake = rs.FakeRemediation()
    async with rs.remediation_worker(env.client, fake) as queue:
        parent, child = await rs.start_with_parent(env.client, queue, rs.make_input(estimate_cents=500_000))
        approved = await until(child, "approved", env)
        assert not approved.council_approval_required
        await rs.expect_reported(parent, ["remediation"])
        await child.terminate("test over")


async def test_over_5000_waits_months_for_council_which_approves(env: WorkflowEnvironment) -> None:
    fake = rs.FakeRemediation()
    async with rs.remediation_worker(env.client, fake) as queue:
        input = rs.make_input(estimate_cents=725_000)
        parent, child = await rs.start_with_parent(env.client, queue, input)
        waiting = await until(child, "awaiting_council", env)
        assert waiting.council_approval_required
        await rs.expect_reported(parent, ["awaiting_council_approval"])
        assert (await search_attributes(child))["CaseStatus"] == "awaiting_council_approval"
        assert "awaits Council's decision (policy 6.5.13)" in await current_details(child)
        # Policy 6.5.13: the Council report goes out before any work.
        assert fake.documents() == [acts.OWNER_NOTICE, acts.COUNCIL_REQUEST]

        # Durable: three months pass with nothing happening.
        await env.sleep(timedelta(days=90))
        assert (await rs.state(child)).phase == "awaiting_council"
        error = await refused(child, UPDATE_RECORD_COSTS, rs.costs(rs.contractor_cost()))
        assert violation(error) == ("FailedPrecondition", "phase", "6.5.13")

        meeting = await today(env, -1)
        decided = await update(child, UPDATE_COUNCIL_DECISION, rs.council_decision("approved", meeting))
        assert (decided.phase, decided.approval, decided.council_resolution) == (
            "approved",
            "council",
            "2026-114",
        )
        await until(child, "approved", env)
        assert fake.orders[(input.case_number, 1)].approval_kind == "council"
        await work_done(child, env)
        await until(child, "invoiced", env)
        result: RemediationResult = await parent.result()  # time skips past the due date
        await rs.expect_reported(parent, ["awaiting_council_approval", "remediation", "complied"])
    assert (result.outcome, result.added_to_tax_roll, result.paid, result.emergency) == (
        "completed",
        True,
        False,
        False,
    )
    assert fake.documents() == [
        acts.OWNER_NOTICE,
        acts.COUNCIL_REQUEST,
        acts.CONTRACTOR_WORK_ORDER,
        acts.INVOICE,
        acts.TAX_ROLL_NOTICE,
    ]


async def test_over_5000_council_refuses(env: WorkflowEnvironment) -> None:
    fake = rs.FakeRemediation()
    async with rs.remediation_worker(env.client, fake) as queue:
        input = rs.make_input(estimate_cents=1_000_000)
        parent, child = await rs.start_with_parent(env.client, queue, input)
        await until(child, "awaiting_council", env)
        await env.sleep(timedelta(days=40))
        await update(child, UPDATE_COUNCIL_DECISION, rs.council_decision("refused", await today(env)))
        result: RemediationResult = await parent.result()
        assert await search_attributes(child) == {"CaseNumber": input.case_number, "CaseStatus": "escalated"}
        assert "refused by Council" in await current_details(child)
        await rs.expect_reported(parent, ["awaiting_council_approval", "escalated"])
    assert result.outcome == "refused_by_council"
    assert (result.invoice_number, result.actual_cost_cents, result.paid) == ("", 0, False)
    assert fake.documents() == [acts.OWNER_NOTICE, acts.COUNCIL_REQUEST]
    assert acts.ISSUE_INVOICE not in fake.calls


async def test_council_decisions_are_recorded_by_the_clerk_after_the_meeting(
    env: WorkflowEnvironment,
) -> None:
    fake = rs.FakeRemediation()
    async with rs.remediation_worker(env.client, fake) as queue:
        _, child = await rs.start_with_parent(env.client, queue, rs.make_input(estimate_cents=900_000))
        await until(child, "awaiting_council", env)
        meeting = await today(env)
        error = await refused(
            child,
            UPDATE_COUNCIL_DECISION,
            rs.council_decision("approved", meeting, actor_roles=["officer", "admin"]),
        )
        assert violation(error) == ("PermissionDenied", "actor_roles", "6.5.13")
        error = await refused(
            child, UPDATE_COUNCIL_DECISION, rs.council_decision("approved", await today(env, 1))
        )
        assert violation(error) == ("InvalidArgument", "meeting_date", "6.5.13")
        error = await refused(
            child, UPDATE_COUNCIL_DECISION, rs.council_decision("approved", meeting, resolution_number=" ")
        )
        assert violation(error) == ("InvalidArgument", "resolution_number", "6.5.13")
        error = await refused(child, UPDATE_COUNCIL_DECISION, rs.council_decision("deferred", meeting))
        assert violation(error) == ("InvalidArgument", "decision", "6.5.13")
        # Rejected in validators: nothing reached the record.
        assert acts.RECORD_APPROVAL not in fake.calls
        assert (await rs.state(child)).phase == "awaiting_council"
        await child.terminate("test over")


async def test_emergency_approval_and_its_refusals(env: WorkflowEnvironment) -> None:
    fake = rs.FakeRemediation()
    async with rs.remediation_worker(env.client, fake) as queue:
        input = rs.make_input(estimate_cents=1_250_000)
        parent, child = await rs.start_with_parent(env.client, queue, input)
        await until(child, "awaiting_council", env)
        # Wrong role: the Clerk, an officer, a supervisor, an administrator may not (6.5.14).
        for roles in (["clerk"], ["officer", "supervisor"], ["admin"]):
            error = await refused(child, UPDATE_EMERGENCY_APPROVAL, rs.emergency(actor_roles=roles))
            assert violation(error) == ("PermissionDenied", "actor_roles", "6.5.14")
        # No recorded risk, no description, no statement that there is no time for Council.
        for bad, field in (
            (rs.emergency(risk=""), "risk"),
            (rs.emergency(risk="noise"), "risk"),
            (rs.emergency(risk_description="  "), "risk_description"),
            (rs.emergency(no_time_for_council=False), "no_time_for_council"),
            (rs.emergency(urgency=""), "urgency"),
        ):
            error = await refused(child, UPDATE_EMERGENCY_APPROVAL, bad)
            assert violation(error) == ("InvalidArgument", field, "6.5.14")
        assert acts.RECORD_APPROVAL not in fake.calls

        approved = await update(child, UPDATE_EMERGENCY_APPROVAL, rs.emergency(actor_roles=["cbo"]))
        assert (approved.phase, approved.approval, approved.emergency_risk) == (
            "approved",
            "emergency",
            "safety",
        )
        # A second approval (or a late Council decision) has nothing left to approve.
        error = await refused(
            child, UPDATE_COUNCIL_DECISION, rs.council_decision("approved", await today(env))
        )
        assert violation(error) == ("FailedPrecondition", "phase", "6.5.13")
        await until(child, "approved", env)
        await work_done(child, env)
        await until(child, "invoiced", env)
        await update(child, UPDATE_RECORD_PAYMENT, rs.payment(199_500, await today(env)))
        result: RemediationResult = await parent.result()
        await rs.expect_reported(parent, ["awaiting_council_approval", "remediation", "complied"])
    assert (result.outcome, result.emergency, result.paid) == ("completed", True, True)
    # Policy 6.5.14: listed for Council's next report, for information.
    assert fake.documents() == [
        acts.OWNER_NOTICE,
        acts.COUNCIL_REQUEST,
        acts.COUNCIL_INFORMATION,
        acts.CONTRACTOR_WORK_ORDER,
        acts.INVOICE,
    ]


async def test_no_emergency_approval_where_no_council_approval_is_needed(env: WorkflowEnvironment) -> None:
    fake = rs.FakeRemediation()
    async with rs.remediation_worker(env.client, fake) as queue:
        _, child = await rs.start_with_parent(env.client, queue, rs.make_input(estimate_cents=400_000))
        await until(child, "approved", env)
        error = await refused(child, UPDATE_EMERGENCY_APPROVAL, rs.emergency())
        assert violation(error) == ("FailedPrecondition", "phase", "6.5.14")
        await child.terminate("test over")


async def test_unpaid_balance_goes_on_the_tax_roll_when_the_period_has_elapsed(
    env: WorkflowEnvironment,
) -> None:
    fake = rs.FakeRemediation()
    async with rs.remediation_worker(env.client, fake) as queue:
        input = rs.make_input(estimate_cents=300_000, payment_period_days=45)
        parent, child = await rs.start_with_parent(env.client, queue, input)
        await until(child, "approved", env)
        await work_done(child, env)
        invoiced = await until(child, "invoiced", env)
        assert invoiced.due_on == await today(env, 45)  # the period stated in the owner's notice
        await env.sleep(timedelta(days=5))
        await update(child, UPDATE_RECORD_PAYMENT, rs.payment(50_000, await today(env)))
        # Still within the period on the due date itself: nothing goes on the tax roll.
        await env.sleep(timedelta(days=40))
        assert await today(env) == invoiced.due_on
        assert (await rs.state(child)).phase == "invoiced"
        assert fake.tax_roll_items == 0
        # Past the end of the due date (Toronto time), the balance goes on the tax roll.
        await env.sleep(timedelta(days=2))
        taxed = await until(child, "on_tax_roll", env)
        assert taxed.added_to_tax_roll
        result: RemediationResult = await parent.result()
    assert (result.outcome, result.added_to_tax_roll, result.paid) == ("completed", True, False)
    order = fake.orders[(input.case_number, 1)]
    assert order.tax_roll_amount == 149_500  # 199,500 invoiced - 50,000 paid
    assert list(order.payments.values()) == [50_000]
    assert fake.tax_roll_items == 1 and fake.invoices_issued == 1
    assert fake.documents()[-1] == acts.TAX_ROLL_NOTICE


async def test_payments_are_the_treasurers_and_never_exceed_the_balance(env: WorkflowEnvironment) -> None:
    fake = rs.FakeRemediation()
    async with rs.remediation_worker(env.client, fake) as queue:
        _, child = await rs.start_with_parent(env.client, queue, rs.make_input())
        await until(child, "approved", env)
        error = await refused(child, UPDATE_RECORD_PAYMENT, rs.payment(1_000, await today(env)))
        assert violation(error)[:2] == ("FailedPrecondition", "phase")  # nothing invoiced yet
        await work_done(child, env)
        await until(child, "invoiced", env)
        error = await refused(
            child, UPDATE_RECORD_PAYMENT, rs.payment(1_000, await today(env), actor_roles=["clerk"])
        )
        assert violation(error)[:2] == ("PermissionDenied", "actor_roles")
        error = await refused(child, UPDATE_RECORD_PAYMENT, rs.payment(199_501, await today(env)))
        assert violation(error)[:2] == ("InvalidArgument", "amount_cents")
        assert "$1,995.00" in error.message
        error = await refused(child, UPDATE_RECORD_PAYMENT, rs.payment(1_000, await today(env, 1)))
        assert violation(error)[:2] == ("InvalidArgument", "received_on")
        error = await refused(
            child, UPDATE_RECORD_PAYMENT, rs.payment(1_000, await today(env), method="barter")
        )
        assert violation(error)[:2] == ("InvalidArgument", "method")
        assert acts.RECORD_PAYMENT not in fake.calls
        await child.terminate("test over")


async def test_work_rules_costs_and_completion(env: WorkflowEnvironment) -> None:
    fake = rs.FakeRemediation()
    async with rs.remediation_worker(env.client, fake) as queue:
        input = rs.make_input()
        _, child = await rs.start_with_parent(env.client, queue, input)
        await until(child, "approved", env)
        error = await refused(child, UPDATE_COMPLETE_WORK, rs.completion(await today(env)))
        assert violation(error) == ("InvalidArgument", "costs", "6.7.9")
        error = await refused(
            child, UPDATE_COMPLETE_WORK, rs.completion(await today(env, -1), rs.contractor_cost())
        )
        assert violation(error) == ("InvalidArgument", "completed_on", "6.5.13")  # before the approval
        error = await refused(child, UPDATE_RECORD_COSTS, rs.costs(rs.contractor_cost(reference="")))
        assert violation(error)[:2] == ("InvalidArgument", "costs[0].reference")
        error = await refused(child, UPDATE_RECORD_COSTS, rs.costs(rs.staff_cost(hours=0)))
        assert violation(error)[:2] == ("InvalidArgument", "costs[0].hours")
        error = await refused(
            child, UPDATE_RECORD_COSTS, rs.costs(rs.contractor_cost(), actor_roles=["treasurer"])
        )
        assert violation(error)[:2] == ("PermissionDenied", "actor_roles")
        first = await update(child, UPDATE_RECORD_COSTS, rs.costs(rs.contractor_cost(), rs.staff_cost()))
        second = await update(child, UPDATE_RECORD_COSTS, rs.costs(rs.staff_cost(6_500, 1.0)))
        assert (first.cost_entries, second.cost_entries, second.actual_cost_cents) == (2, 3, 206_000)
        assert list(fake.orders[(input.case_number, 1)].costs) == [
            f"{input.case_number}:remediation-1:cost-{n}" for n in (1, 2, 3)
        ]
        # Costs incurred: the work order can no longer be called off, only completed (6.7.9).
        error = await refused(child, UPDATE_CANCEL, rs.cancel("owner did it"))
        assert violation(error) == ("FailedPrecondition", "costs", "6.7.9")
        await child.terminate("test over")


async def test_cancelled_before_any_work(env: WorkflowEnvironment) -> None:
    fake = rs.FakeRemediation()
    async with rs.remediation_worker(env.client, fake) as queue:
        parent, child = await rs.start_with_parent(env.client, queue, rs.make_input(estimate_cents=800_000))
        await until(child, "awaiting_council", env)
        error = await refused(child, UPDATE_CANCEL, rs.cancel(" "))
        assert violation(error) == ("InvalidArgument", "reason", "6.5.10 f")
        await update(child, UPDATE_CANCEL, rs.cancel("The owner removed the refuse before Council met"))
        result: RemediationResult = await parent.result()
    assert result.outcome == "cancelled"
    assert acts.CANCEL_WORK_ORDER in fake.calls and acts.ISSUE_INVOICE not in fake.calls


async def test_a_refusal_from_the_record_answers_the_update_and_changes_nothing(
    env: WorkflowEnvironment,
) -> None:
    fake = rs.FakeRemediation(
        refuse={acts.RECORD_COSTS: ("InvalidArgument", "costs[0].incurred_on: after today")}
    )
    async with rs.remediation_worker(env.client, fake) as queue:
        _, child = await rs.start_with_parent(env.client, queue, rs.make_input())
        await until(child, "approved", env)
        error = await refused(child, UPDATE_RECORD_COSTS, rs.costs(rs.contractor_cost()))
        assert error.type == "InvalidArgument" and "incurred_on" in error.message
        assert [d["field"] for d in error.details if isinstance(d, dict)] == ["request"]
        current = await rs.state(child)
        assert (current.cost_entries, current.actual_cost_cents) == (0, 0)
        await child.terminate("test over")


async def test_transient_failures_are_retried_and_invoice_once(env: WorkflowEnvironment) -> None:
    fake = rs.FakeRemediation(transient_failures={acts.ISSUE_INVOICE: 2, acts.RENDER_DOCUMENT: 1})
    async with rs.remediation_worker(env.client, fake) as queue:
        input = rs.make_input()
        parent, child = await rs.start_with_parent(env.client, queue, input)
        await until(child, "approved", env)
        await work_done(child, env)
        await until(child, "invoiced", env)
        await update(child, UPDATE_RECORD_PAYMENT, rs.payment(199_500, await today(env)))
        result: RemediationResult = await parent.result()
    assert result.paid
    assert fake.calls.count(acts.ISSUE_INVOICE) == 3 and fake.invoices_issued == 1


async def test_the_parent_is_found_without_being_named(env: WorkflowEnvironment) -> None:
    fake = rs.FakeRemediation()
    async with rs.remediation_worker(env.client, fake) as queue:
        parent, child = await rs.start_with_parent(env.client, queue, rs.make_input(parent_workflow_id=""))
        await until(child, "approved", env)
        await rs.expect_reported(parent, ["remediation"])
        await child.terminate("test over")


async def test_a_bad_start_fails_at_once_naming_the_fields(env: WorkflowEnvironment) -> None:
    fake = rs.FakeRemediation()
    async with rs.remediation_worker(env.client, fake) as queue:
        parent, _ = await rs.start_with_parent(
            env.client, queue, rs.make_input(estimate_cents=0, contractor="", town_timezone="Mars/Olympus")
        )
        with pytest.raises(WorkflowFailureError) as caught:
            await parent.result()
    child_error = caught.value.cause.__cause__
    assert isinstance(child_error, ApplicationError) and child_error.type == "InvalidArgument"
    assert "estimate_cents" in child_error.message and "contractor" in child_error.message
    assert "town_timezone" in child_error.message
    assert fake.calls == []


def test_no_payment_through_the_invoice_once_the_period_has_ended() -> None:
    # Once the timer fires the window closes before the tax-roll step, so a payment racing
    # it is refused: the balance is collected with the property taxes (s.446, policy 6.7.9).
    request = rs.payment(1_000, "2026-08-01")
    with pytest.raises(Rejection) as caught:
        check_payment(request, Phase.INVOICED, True, 10_000, date(2026, 6, 1), date(2026, 8, 1))
    assert (caught.value.kind, caught.value.field, caught.value.policy) == (
        "FailedPrecondition",
        "phase",
        "6.7.9",
    )
    check_payment(request, Phase.INVOICED, False, 10_000, date(2026, 6, 1), date(2026, 8, 1))


async def test_a_parent_that_is_gone_does_not_stop_the_work(env: WorkflowEnvironment) -> None:
    fake = rs.FakeRemediation()
    async with rs.remediation_worker(env.client, fake) as queue:
        input = rs.make_input(parent_workflow_id="case-BL-2026-999999")  # never started
        handle = await env.client.start_workflow(
            RemediationWorkflow.run,
            input,
            id=remediation_workflow_id(input.case_number, 1),
            task_queue=queue,
        )
        approved = await until(handle, "approved", env)
        assert approved.case_status == "remediation"
        assert (await search_attributes(handle))["CaseStatus"] == "remediation"
        assert acts.CONTRACTOR_WORK_ORDER in fake.documents()
        await handle.terminate("test over")
