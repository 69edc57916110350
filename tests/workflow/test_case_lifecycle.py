"""CaseLifecycleWorkflow on the time-skipping test server, with in-memory activities."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from tests.workflow.fakes import FakeLifecycle, findings
from tests.workflow.support import (
    RECEIVED_AT,
    FakeCases,
    case_worker,
    current_details,
    make_input,
    search_attributes,
    start_case,
    state_when,
    travel,
)
from workflows.contracts import (
    QUERY_STATE,
    QUERY_TIMELINE,
    UPDATE_CLOSE_CASE,
    UPDATE_RECORD_INSPECTION,
    UPDATE_TAKE_ENFORCEMENT_ACTION,
    UPDATE_TRANSITION_STATUS,
    CaseLifecycleResult,
    CaseLifecycleState,
    CloseCaseRequest,
    EnforcementActionRequest,
    InspectionFinding,
    RecordInspectionRequest,
    TimelineEntry,
    TransitionStatusRequest,
)
from workflows.search_attributes import ensure_search_attributes


@pytest.fixture
async def env(time_skipping_env: WorkflowEnvironment) -> WorkflowEnvironment:
    # The test server accepts custom search attributes only once registered.
    await ensure_search_attributes(time_skipping_env.client, time_skipping_env.client.namespace)
    # Cases are received at a fixed moment (RECEIVED_AT, a Friday afternoon): the test
    # server's clock is moved there, so every timer and date is the same whenever it runs.
    await travel(time_skipping_env, RECEIVED_AT + timedelta(minutes=1))
    return time_skipping_env


async def _state(handle) -> CaseLifecycleState:
    state: CaseLifecycleState = await handle.query(QUERY_STATE, result_type=CaseLifecycleState)
    return state


async def _transition(handle, status: str, reason: str = "", actor: str = "officer-7") -> CaseLifecycleState:
    state: CaseLifecycleState = await handle.execute_update(
        UPDATE_TRANSITION_STATUS,
        TransitionStatusRequest(status=status, reason=reason, actor=actor),
        result_type=CaseLifecycleState,
    )
    return state


async def _rejected(handle, update: str, request: object) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await handle.execute_update(update, request)
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


async def test_start_sets_search_attributes_details_and_acknowledgement_due(env: WorkflowEnvironment) -> None:
    fake = FakeCases(zone="WARD-2", officer="officer-7")
    async with case_worker(env.client, fake) as queue:
        handle = await start_case(env.client, queue, make_input("BL-2026-000101"))
        state = await state_when(handle, lambda s: s.assigned_officer != "")

        assert state.status == "received"
        assert state.zone == "WARD-2" and state.assigned_officer == "officer-7"  # from the case record
        assert fake.get_case_calls == 1
        # Received Friday 2037-11-20 15:30 Toronto: two business days -> Tuesday (policy 6.5.5).
        assert state.deadlines.acknowledgement_due is not None
        assert state.deadlines.acknowledgement_due.astimezone(UTC) == datetime(
            2037, 11, 25, 4, 59, 59, tzinfo=UTC
        )
        # The priority's first-inspection target is loaded at start (config/sla_targets.yaml).
        assert [(e.event, e.status) for e in state.timeline] == [
            ("received", "received"),
            ("targets", "received"),
        ]
        assert state.timeline[0].at == datetime(2037, 11, 20, 20, 30, tzinfo=UTC)

        assert await search_attributes(handle) == {
            "CaseNumber": "BL-2026-000101",
            "CaseStatus": "received",
            "CasePriority": "high",
            "ServiceCode": "pool-fence",
            "BylawNumber": "2010-0049",
            "Zone": "WARD-2",
            "AssignedOfficer": "officer-7",
        }
        # One business day for a high-priority inspection: Monday 23rd (policy 4.2, 6.8.6).
        assert state.inspection_due is not None
        assert state.inspection_due.astimezone(UTC) == datetime(2037, 11, 23, 21, 30, tzinfo=UTC)
        expected = (
            "Received 2037-11-20; acknowledgement due 2037-11-24; assigned to officer-7, "
            "awaiting investigation; inspection due by 2037-11-23 "
            "(priority high, pool-fence, by-law 2010-0049)"
        )
        assert await current_details(handle) == expected
        assert state.current_details == expected


async def test_unknown_zone_and_officer_are_left_unset(env: WorkflowEnvironment) -> None:
    async with case_worker(env.client, FakeCases()) as queue:
        handle = await start_case(env.client, queue, make_input(zone=""))
        await state_when(handle, lambda s: s.inspection_due is not None)
        attributes = await search_attributes(handle)
        assert "Zone" not in attributes and "AssignedOfficer" not in attributes
        assert (await current_details(handle)).endswith(
            "awaiting assignment; inspection due by 2037-11-23 (priority high, pool-fence, by-law 2010-0049)"
        )


async def test_acknowledgement_due_given_by_intake_is_kept(env: WorkflowEnvironment) -> None:
    due = datetime(2037, 11, 26, 22, 0, tzinfo=UTC)  # intake knew of a declared closure day
    async with case_worker(env.client, FakeCases()) as queue:
        handle = await start_case(env.client, queue, make_input(acknowledgement_due=due))
        state = await _state(handle)
        assert state.deadlines.acknowledgement_due == due
        assert "acknowledgement due 2037-11-26" in await current_details(handle)


async def test_acknowledgement_skips_christmas_holidays(env: WorkflowEnvironment) -> None:
    # Thursday 2037-12-24: Christmas (Fri), weekend, Boxing Day observed Monday 28th (4.2).
    received = datetime(2037, 12, 24, 15, 0, tzinfo=UTC)
    async with case_worker(env.client, FakeCases()) as queue:
        handle = await start_case(env.client, queue, make_input(received_at=received))
        state = await _state(handle)
        assert state.deadlines.acknowledgement_due is not None
        assert state.deadlines.acknowledgement_due.date().isoformat() == "2037-12-30"


async def test_illegal_transition_is_rejected_by_the_validator(env: WorkflowEnvironment) -> None:
    fake = FakeCases()
    async with case_worker(env.client, fake) as queue:
        handle = await start_case(env.client, queue, make_input())
        error = await _rejected(handle, UPDATE_TRANSITION_STATUS, TransitionStatusRequest(status="complied"))
        assert error.type == "InvalidTransition"
        assert error.message == (
            "status: cannot move from received to complied; allowed next: "
            "referred, rejected, under_investigation"
        )
        assert error.details[0] == {
            "field": "status",
            "rule": error.message.removeprefix("status: "),
            "policy": None,
        }
        assert fake.calls == []
        assert (await _state(handle)).status == "received"
        # A validator rejection leaves no trace in the history.
        history = await handle.fetch_history()
        assert not [
            e
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
        ]


async def test_unknown_status_and_missing_reason_name_the_field_and_policy(env: WorkflowEnvironment) -> None:
    async with case_worker(env.client, FakeCases()) as queue:
        handle = await start_case(env.client, queue, make_input())
        unknown = await _rejected(
            handle, UPDATE_TRANSITION_STATUS, TransitionStatusRequest(status="archived")
        )
        assert unknown.type == "InvalidTransition"
        assert unknown.message.startswith("status: unknown status 'archived'")

        no_reason = await _rejected(
            handle, UPDATE_TRANSITION_STATUS, TransitionStatusRequest(status="rejected")
        )
        assert no_reason.type == "InvalidArgument"
        assert no_reason.message == "reason: a rejected complaint gets a recorded reason (policy 4.4)"
        assert no_reason.details[0]["policy"] == "4.4"


async def test_allowed_transition_records_status_once_and_updates_everything(
    env: WorkflowEnvironment,
) -> None:
    fake = FakeCases(officer="officer-7")
    async with case_worker(env.client, fake) as queue:
        handle = await start_case(env.client, queue, make_input("BL-2026-000102"))
        # The record and targets arrive by activities at start; the details below name them.
        await state_when(handle, lambda s: s.targets is not None and s.assigned_officer == "officer-7")
        state = await _transition(handle, "under_investigation", actor="supervisor-1")

        assert [(c.status, c.step_key, c.actor) for c in fake.calls] == [
            ("under_investigation", "BL-2026-000102:1:under_investigation", "supervisor-1")
        ]
        assert state.status == "under_investigation" and state.transitions == 1
        assert state.timeline[-1].event == "status" and state.timeline[-1].actor == "supervisor-1"
        assert (await search_attributes(handle))["CaseStatus"] == "under_investigation"
        details = (
            "Received 2037-11-20; under investigation; inspection due by 2037-11-23; officer officer-7 "
            "(priority high, pool-fence, by-law 2010-0049)"
        )
        assert await current_details(handle) == details

        timeline = await handle.query(QUERY_TIMELINE, result_type=list[TimelineEntry])
        assert [e.status for e in timeline if e.event == "status"] == ["under_investigation"]

        # Issue 4: the statuses after investigation are reached by the lifecycle steps,
        # which record what they are (a notice, a deadline), never by a bare status change.
        error = await _rejected(
            handle, UPDATE_TRANSITION_STATUS, TransitionStatusRequest(status="notice_issued")
        )
        assert error.type == "InvalidTransition"
        assert (
            error.message
            == "status: notice_issued is reached by an enforcement action (take_enforcement_action)"
        )
        assert len(fake.calls) == 1


async def test_transient_activity_failure_is_retried_with_the_same_step_key(env: WorkflowEnvironment) -> None:
    fake = FakeCases(transient_failures={"under_investigation": 2})
    async with case_worker(env.client, fake) as queue:
        handle = await start_case(env.client, queue, make_input("BL-2026-000103"))
        await _transition(handle, "under_investigation")
        assert [c.step_key for c in fake.calls] == ["BL-2026-000103:1:under_investigation"] * 3
        assert fake.recorded == {"BL-2026-000103:1:under_investigation": "under_investigation"}


async def test_business_refusal_fails_the_update_once_and_keeps_the_status(env: WorkflowEnvironment) -> None:
    fake = FakeCases(refuse={"referred": ("FailedPrecondition", "case is restricted (policy 6.10)")})
    async with case_worker(env.client, fake) as queue:
        handle = await start_case(env.client, queue, make_input("BL-2026-000104"))
        error = await _rejected(
            handle,
            UPDATE_TRANSITION_STATUS,
            TransitionStatusRequest(status="referred", reason="OPP matter (6.11.2)"),
        )
        assert error.type == "FailedPrecondition"
        assert (
            error.message
            == "the cases service did not record status referred: case is restricted (policy 6.10)"
        )
        assert len(fake.calls) == 1  # non-retryable: one attempt
        state = await _state(handle)
        assert state.status == "received" and state.transitions == 0
        # The workflow keeps running and the next step reuses the unconsumed sequence number.
        await _transition(handle, "under_investigation")
        assert fake.calls[-1].step_key == "BL-2026-000104:1:under_investigation"


async def test_concurrent_transitions_from_the_same_status_admit_only_one(env: WorkflowEnvironment) -> None:
    fake = FakeCases(delay_seconds=0.5)
    async with case_worker(env.client, fake) as queue:
        handle = await start_case(env.client, queue, make_input())
        results = await asyncio.gather(
            _transition(handle, "under_investigation"),
            _transition(handle, "referred", reason="Police matter, referred to the OPP (6.11.2)"),
            return_exceptions=True,
        )
        succeeded = [r for r in results if isinstance(r, CaseLifecycleState)]
        failed = [r for r in results if isinstance(r, WorkflowUpdateFailedError)]
        assert len(succeeded) == 1 and len(failed) == 1
        assert isinstance(failed[0].cause, ApplicationError) and failed[0].cause.type == "InvalidTransition"
        assert len(fake.calls) == 1
        assert (await _state(handle)).status == fake.calls[0].status


async def test_close_case_ends_the_workflow_with_its_outcome(env: WorkflowEnvironment) -> None:
    fake = FakeCases()
    async with case_worker(env.client, fake) as queue:
        handle = await start_case(env.client, queue, make_input("BL-2026-000105"))
        await _transition(handle, "under_investigation")
        await env.sleep(timedelta(days=10))
        result = await handle.execute_update(
            UPDATE_CLOSE_CASE,
            CloseCaseRequest(
                outcome="dismissed", reason="no contravention found on inspection", actor="officer-7"
            ),
            result_type=CaseLifecycleResult,
        )
        assert result == await handle.result()
        assert result.outcome == "dismissed" and result.transitions == 2
        assert result.days_open >= 10
        assert fake.calls[-1].status == "closed"
        assert fake.calls[-1].step_key == "BL-2026-000105:2:closed"
        assert fake.calls[-1].outcome == "dismissed"
        assert fake.calls[-1].reason == "no contravention found on inspection"

        state = await _state(handle)  # completed workflows still answer queries
        assert state.status == "closed" and state.outcome == "dismissed"
        assert [e.event for e in state.timeline].count("closed") == 1
        assert (await search_attributes(handle))["CaseStatus"] == "closed"
        assert "closed" in await current_details(handle)


async def test_close_case_outcome_must_fit_the_status(env: WorkflowEnvironment) -> None:
    fake = FakeCases()
    async with case_worker(env.client, fake) as queue:
        handle = await start_case(env.client, queue, make_input())
        error = await _rejected(
            handle,
            UPDATE_CLOSE_CASE,
            CloseCaseRequest(outcome="voluntary_compliance", reason="owner fixed it"),
        )
        assert error.type == "InvalidTransition"
        assert (
            error.message
            == "outcome: a case cannot close as voluntary_compliance from received; only from complied"
        )
        no_reason = await _rejected(
            handle, UPDATE_CLOSE_CASE, CloseCaseRequest(outcome="dismissed", reason=" ")
        )
        assert no_reason.type == "InvalidArgument" and "policy 6.5.10 f" in no_reason.message
        assert fake.calls == []
        # The case stays open and can still close properly.
        await handle.execute_update(
            UPDATE_CLOSE_CASE, CloseCaseRequest(outcome="dismissed", reason="civil matter")
        )
        assert (await handle.result()).outcome == "dismissed"


async def test_referral_then_close(env: WorkflowEnvironment) -> None:
    async with case_worker(env.client, FakeCases()) as queue:
        handle = await start_case(env.client, queue, make_input())
        await _transition(handle, "referred", reason="Trespassing: referred to the OPP (policy 6.11.2)")
        error = await _rejected(
            handle, UPDATE_TRANSITION_STATUS, TransitionStatusRequest(status="under_investigation")
        )
        assert "cannot move from referred to under_investigation" in error.message
        await handle.execute_update(
            UPDATE_CLOSE_CASE, CloseCaseRequest(outcome="referred", reason="OPP notified")
        )
        assert (await handle.result()).outcome == "referred"


async def test_continue_as_new_carries_state(env: WorkflowEnvironment) -> None:
    fake = FakeCases(officer="officer-7")
    lifecycle = FakeLifecycle()
    async with case_worker(env.client, fake, lifecycle=lifecycle) as queue:
        # A low event limit makes the workflow continue as new after a few steps.
        handle = await start_case(env.client, queue, make_input("BL-2026-000106", history_event_limit=40))
        first_run = (await handle.describe()).run_id
        await _transition(handle, "under_investigation")
        await travel(env, RECEIVED_AT + timedelta(hours=21))
        await handle.execute_update(
            UPDATE_RECORD_INSPECTION,
            RecordInspectionRequest(
                kind="initial",
                inspected_at=RECEIVED_AT + timedelta(hours=20),
                checklist_id="pool-fence",
                findings=[InspectionFinding(**f) for f in findings({"gate-self-closing": "gate stays open"})],
            ),
        )
        await handle.execute_update(
            UPDATE_TAKE_ENFORCEMENT_ACTION,
            EnforcementActionRequest(
                action="education",
                details="The pool gate does not close and latch by itself.",
                required_action="Repair the gate so it self-closes and self-latches.",
                comply_by="2037-12-18",
            ),
        )

        deadline = asyncio.get_running_loop().time() + 30
        while (await handle.describe()).run_id == first_run:
            assert asyncio.get_running_loop().time() < deadline, "workflow did not continue as new"
            await asyncio.sleep(0.2)

        latest = env.client.get_workflow_handle(handle.id, result_type=CaseLifecycleResult)
        state = await _state(latest)
        assert state.runs >= 2
        assert state.status == "awaiting_compliance" and state.deadline is not None
        assert state.deadline.due_on == "2037-12-18" and state.actions[0].number == "BL-2026-000106-W1"
        assert state.assigned_officer == "officer-7"
        assert fake.get_case_calls == 1  # the record is read once per case, not per run
        assert (await search_attributes(latest))["CaseStatus"] == "awaiting_compliance"

        # The deadline timer resumes in the new run: at expiry the case awaits re-inspection.
        await env.sleep(timedelta(days=30))
        state = await state_when(latest, lambda s: s.status == "reinspection")
        assert [c.step_key for c in fake.calls].count("BL-2026-000106:4:reinspection") == 1
        # Step keys continue across runs, so none is ever reused.
        assert len(set(lifecycle.deadline_changes)) == len(lifecycle.deadline_changes)
        await latest.execute_update(
            UPDATE_RECORD_INSPECTION,
            RecordInspectionRequest(
                kind="reinspection",
                inspected_at=datetime(2037, 12, 21, 15, 0, tzinfo=UTC),
                checklist_id="pool-fence",
                findings=[InspectionFinding(**f) for f in findings()],
            ),
        )
        result = await latest.result()
        assert result.outcome == "voluntary_compliance" and result.days_open == 31


async def test_invalid_priority_fails_the_workflow(env: WorkflowEnvironment) -> None:
    async with case_worker(env.client, FakeCases()) as queue:
        handle = await start_case(env.client, queue, make_input(priority="urgent"))
        with pytest.raises(WorkflowFailureError) as caught:
            await handle.result()
        cause = caught.value.cause
        assert isinstance(cause, ApplicationError) and cause.type == "InvalidArgument"
        assert "priority: unknown priority 'urgent'" in cause.message


async def test_unknown_town_timezone_fails_the_workflow(env: WorkflowEnvironment) -> None:
    async with case_worker(env.client, FakeCases()) as queue:
        handle = await start_case(env.client, queue, make_input(town_timezone="Mars/Olympus"))
        with pytest.raises(WorkflowFailureError) as caught:
            await handle.result()
        cause = caught.value.cause
        assert isinstance(cause, ApplicationError) and cause.type == "InvalidArgument"
        assert cause.message == "town_timezone: unknown time zone 'Mars/Olympus'"


def test_workflow_payloads_carry_no_complainant_identity() -> None:
    # policy 6.3.4: nothing in a workflow input, message or state may hold who complained.
    from workflows import activities, contracts

    forbidden = ("complainant", "first_name", "last_name", "email", "phone", "contact", "name")
    payloads = [
        contracts.CaseLifecycleInput,
        contracts.CaseLifecycleState,
        contracts.TimelineEntry,
        contracts.TransitionStatusRequest,
        contracts.CloseCaseRequest,
        contracts.CaseLifecycleResult,
        activities.RecordStatusInput,
        activities.CaseSnapshot,
    ]
    for payload in payloads:
        for field in dataclasses.fields(payload):
            assert not any(word in field.name for word in forbidden), f"{payload.__name__}.{field.name}"
