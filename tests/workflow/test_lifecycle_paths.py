"""The case lifecycle of issue 4 on the time-skipping test server, path by path, across
real months of durable timers on the Town's business-day calendar: voluntary compliance,
extension and shortening of the deadline, escalation to a ticket (with the order-overdue
alert), dismissal, the hand-off to municipal remediation (a fake child workflow) and back,
and the rules the updates enforce (progressive enforcement, no enforcement before the
deadline, the parking exception)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from tests.workflow.fakes import COUNCIL_DECISION, FakeLifecycle, FakeRemediationWorkflow, findings
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
    QUERY_SUMMARY,
    SIGNAL_ACKNOWLEDGEMENT_RECORDED,
    UPDATE_ASSIGN_OFFICER,
    UPDATE_CLOSE_CASE,
    UPDATE_EXTEND_DEADLINE,
    UPDATE_RECORD_INSPECTION,
    UPDATE_SCHEDULE_INSPECTION,
    UPDATE_SHORTEN_DEADLINE,
    UPDATE_TAKE_ENFORCEMENT_ACTION,
    AcknowledgementRecorded,
    AssignOfficerRequest,
    CaseLifecycleResult,
    CaseLifecycleState,
    CaseSummary,
    CloseCaseRequest,
    EnforcementActionRequest,
    ExtendDeadlineRequest,
    InspectionFinding,
    RecordInspectionRequest,
    ScheduleInspectionRequest,
    ShortenDeadlineRequest,
    WorkOrderRequest,
    remediation_workflow_id,
)
from workflows.search_attributes import ensure_search_attributes

TORONTO = ZoneInfo("America/Toronto")
GATE = {"gate-self-closing": "The gate stays open when released (photo 2)"}
DETAILS = "The gate of the pool enclosure does not close and latch by itself."
WORK = "Repair the gate so that it self-closes and self-latches."


def local(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TORONTO)


@pytest.fixture
async def env(time_skipping_env: WorkflowEnvironment) -> WorkflowEnvironment:
    await ensure_search_attributes(time_skipping_env.client, time_skipping_env.client.namespace)
    await travel(time_skipping_env, RECEIVED_AT + timedelta(minutes=1))
    return time_skipping_env


async def state(handle: WorkflowHandle[Any, Any]) -> CaseLifecycleState:
    result: CaseLifecycleState = await handle.query(QUERY_STATE, result_type=CaseLifecycleState)
    return result


async def update(handle: WorkflowHandle[Any, Any], name: str, request: object) -> CaseLifecycleState:
    result: CaseLifecycleState = await handle.execute_update(name, request, result_type=CaseLifecycleState)
    return result


async def refused(handle: WorkflowHandle[Any, Any], name: str, request: object) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await handle.execute_update(name, request)
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


async def inspect(
    env: WorkflowEnvironment,
    handle: WorkflowHandle[Any, Any],
    *,
    kind: str = "initial",
    failing: dict[str, str] | None = None,
    risk: str = "",
) -> CaseLifecycleState:
    return await update(
        handle,
        UPDATE_RECORD_INSPECTION,
        RecordInspectionRequest(
            kind=kind,
            inspected_at=await env.get_current_time(),
            checklist_id="pool-fence",
            findings=[InspectionFinding(**f) for f in findings(failing)],
            notes="Site visit from the lane.",
            health_safety_risk=risk,
        ),
    )


def action(name: str, comply_by: str = "", **kwargs: Any) -> EnforcementActionRequest:
    values: dict[str, Any] = {
        "action": name,
        "details": DETAILS,
        "comply_by": comply_by,
        "actor": "officer-7",
    }
    if name in ("education", "compliance_notice", "order_to_comply"):
        values["required_action"] = WORK
    values.update(kwargs)
    return EnforcementActionRequest(**values)


async def acknowledge(handle: WorkflowHandle[Any, Any]) -> None:
    await handle.signal(
        SIGNAL_ACKNOWLEDGEMENT_RECORDED, AcknowledgementRecorded(sent_at=RECEIVED_AT, channel="portal")
    )


async def test_voluntary_compliance_across_weeks_and_the_christmas_holidays(env: WorkflowEnvironment) -> None:
    lifecycle = FakeLifecycle()
    async with case_worker(
        env.client, FakeCases(officer="officer-7", zone="DOWNTOWN"), lifecycle=lifecycle
    ) as q:
        handle = await start_case(env.client, q, make_input("BL-2037-000201"))
        await acknowledge(handle)
        await state_when(handle, lambda s: s.acknowledged_at is not None and s.inspection_due is not None)

        # Monday morning: scheduled before the high-priority target (close of business).
        await travel(env, local(2037, 11, 23, 9))
        scheduled = await update(
            handle,
            UPDATE_SCHEDULE_INSPECTION,
            ScheduleInspectionRequest(kind="initial", scheduled_for=local(2037, 11, 23, 14)),
        )
        assert scheduled.status == "under_investigation" and scheduled.scheduled is not None
        assert "inspection scheduled 2037-11-23" in await current_details(handle)

        await travel(env, local(2037, 11, 23, 14))
        inspected = await inspect(env, handle, failing=GATE)
        assert inspected.violation_identified and inspected.violation_sections == ["5.1"]
        assert inspected.inspections[0].report_document_id == "doc-BL-2037-000201:inspection:1:report"

        warned = await update(handle, UPDATE_TAKE_ENFORCEMENT_ACTION, action("education", "2037-12-23"))
        assert warned.status == "awaiting_compliance"
        assert warned.actions[0].number == "BL-2037-000201-W1" and not warned.actions[0].deviation
        assert await current_details(handle) == (
            "Received 2037-11-20; waiting for compliance deadline 2037-12-23, "
            "Warning letter BL-2037-000201-W1; "
            "officer officer-7 (priority high, pool-fence, by-law 2010-0049)"
        )
        attributes = await search_attributes(handle)
        assert attributes["CaseStatus"] == "awaiting_compliance"
        assert attributes["ComplianceDeadline"] == local(2037, 12, 24, 0, 0) - timedelta(microseconds=1)

        # No enforcement before the deadline expires (policy 6.7.5).
        error = await refused(
            handle, UPDATE_TAKE_ENFORCEMENT_ACTION, action("compliance_notice", "2038-01-15")
        )
        assert error.details[0]["policy"] == "6.7.5"

        # The durable timer holds through the whole compliance period ...
        await travel(env, local(2037, 12, 23, 23, 0))
        assert (await state(handle)).status == "awaiting_compliance"
        # ... and at its end the case awaits re-inspection, due two business days later:
        # Christmas (Friday), the weekend and Boxing Day observed on Monday do not count (4.2).
        await travel(env, local(2037, 12, 24, 8))
        expired = await state_when(handle, lambda s: s.status == "reinspection")
        assert expired.reinspection_due == local(2037, 12, 29, 16, 30)
        assert (
            "re-inspection due by 2037-12-29 (compliance deadline 2037-12-23 passed)"
            in await current_details(handle)
        )

        closed = await inspect(env, handle, kind="reinspection")
        assert closed.status == "closed" and closed.outcome == "voluntary_compliance"
        result = await handle.result()
        assert result.outcome == "voluntary_compliance" and result.days_open == 34
        assert result.days_since_order == -1
        # Business days after Nov 20 up to Dec 24: five full weeks less Christmas Day.
        assert result.business_days_open == 24

    [closure] = lifecycle.closures
    assert (closure.days_since_complaint, closure.days_since_order, closure.business_days_open) == (
        34,
        -1,
        24,
    )
    assert closure.closure_document_id == "doc-BL-2037-000201:closure:letter"
    assert lifecycle.deadline_kinds() == ["set", "cleared"]
    assert lifecycle.alert_kinds() == []  # acknowledged and inspected on time
    assert [d.template for d in lifecycle.documents.values()] == [
        "inspection_report",
        "education_letter",
        "inspection_report",
        "closure_letter",
    ]
    attributes = await search_attributes(handle)
    assert attributes["CaseStatus"] == "closed" and "ComplianceDeadline" not in attributes


async def test_extension_on_written_request_and_shortening_after_contact(env: WorkflowEnvironment) -> None:
    lifecycle = FakeLifecycle()
    async with case_worker(env.client, FakeCases(officer="officer-7"), lifecycle=lifecycle) as q:
        handle = await start_case(env.client, q, make_input("BL-2037-000202"))
        await acknowledge(handle)
        await travel(env, local(2037, 11, 23, 11))
        await inspect(env, handle, failing=GATE)

        # A notice without the warning letter first departs from the usual path (6.4.7).
        error = await refused(
            handle, UPDATE_TAKE_ENFORCEMENT_ACTION, action("compliance_notice", "2037-12-11")
        )
        assert error.details[0] == {
            "field": "deviation_reason",
            "rule": "is required: at least 10 characters of explanation",
            "policy": "6.4.7",
        }
        notice = await update(
            handle,
            UPDATE_TAKE_ENFORCEMENT_ACTION,
            action(
                "compliance_notice",
                "2037-12-11",
                deviation_reason="Warned verbally twice this summer about the same gate.",
                justification="history_of_non_compliance",
            ),
        )
        assert notice.actions[0].deviation
        assert (
            lifecycle.documents["BL-2037-000202:action:1:document"]
            .facts["deviation_reason"]
            .startswith("Warned")
        )

        # Extensions: requested in writing with a reason, later than the current date (6.7.6, 6.7.8).
        no_letter = await refused(
            handle,
            UPDATE_EXTEND_DEADLINE,
            ExtendDeadlineRequest("2038-01-08", "Owner abroad until January.", ""),
        )
        assert (
            no_letter.details[0]["field"] == "written_request_on"
            and no_letter.details[0]["policy"] == "6.7.8"
        )
        earlier = await refused(
            handle,
            UPDATE_EXTEND_DEADLINE,
            ExtendDeadlineRequest("2037-12-10", "Owner abroad until January.", "2037-11-23"),
        )
        assert earlier.details[0]["policy"] == "6.7.6"
        extended = await update(
            handle,
            UPDATE_EXTEND_DEADLINE,
            ExtendDeadlineRequest(
                "2038-01-08", "Owner abroad until January; letter of 23 Nov.", "2037-11-23"
            ),
        )
        assert extended.deadline is not None and extended.deadline.due_on == "2038-01-08"
        assert (await search_attributes(handle))["ComplianceDeadline"] == local(2038, 1, 9, 0, 0) - timedelta(
            microseconds=1
        )
        # The timer follows the new date: the old one passes quietly.
        await travel(env, local(2037, 12, 14, 9))
        assert (await state(handle)).status == "awaiting_compliance"

        # Shortening: only for an extraordinary reason, after attempting contact (6.7.7).
        no_contact = await refused(
            handle,
            UPDATE_SHORTEN_DEADLINE,
            ShortenDeadlineRequest("2037-12-18", "Children seen playing inside the unfenced pool area."),
        )
        assert no_contact.details[0] == {
            "field": "contact_attempted_at",
            "rule": "a time limit is not shortened before attempting to communicate with the resident",
            "policy": "6.7.7",
        }
        shortened = await update(
            handle,
            UPDATE_SHORTEN_DEADLINE,
            ShortenDeadlineRequest(
                "2037-12-18",
                "Children seen playing inside the unfenced pool area.",
                contact_attempted_at=local(2037, 12, 14, 8, 30),
                contact_method="phone, voicemail left",
            ),
        )
        assert shortened.deadline is not None and shortened.deadline.due_on == "2037-12-18"
        assert shortened.deadline.changes == 2

        # Expiry on the shortened date; the re-inspection is then missed (alert) ...
        await travel(env, local(2037, 12, 19, 9))
        expired = await state_when(handle, lambda s: s.status == "reinspection")
        assert expired.reinspection_due == local(2037, 12, 22, 16, 30)
        await travel(env, local(2037, 12, 23, 9))
        missed = await state_when(handle, lambda s: any(a.kind == "reinspection_missed" for a in s.alerts))
        assert "ALERT: re-inspection missed" in missed.current_details
        # ... until more time is given at the officer's discretion (6.7.6), which clears it.
        more = await update(
            handle,
            UPDATE_EXTEND_DEADLINE,
            ExtendDeadlineRequest("2038-01-15", "Contractor booked for 12 January (letter).", "2037-12-22"),
        )
        assert more.status == "awaiting_compliance"
        cleared = await state_when(handle, lambda s: all(a.cleared_at is not None for a in s.alerts))
        assert "ALERT" not in cleared.current_details
        await travel(env, local(2038, 1, 14, 9))
        await inspect(env, handle, kind="reinspection")
        assert (await handle.result()).outcome == "voluntary_compliance"
    assert lifecycle.deadline_kinds() == ["set", "extended", "shortened", "extended", "cleared"]
    assert lifecycle.alert_kinds() == ["reinspection_missed"] and len(lifecycle.cleared) == 1


async def test_escalation_to_a_ticket_with_the_order_overdue_alert(env: WorkflowEnvironment) -> None:
    lifecycle = FakeLifecycle()
    async with case_worker(env.client, FakeCases(officer="officer-7"), lifecycle=lifecycle) as q:
        handle = await start_case(env.client, q, make_input("BL-2037-000203"))
        await acknowledge(handle)
        await travel(env, local(2037, 11, 23, 11))
        await inspect(env, handle, failing=GATE)

        async def fail_reinspection_after(day: datetime) -> CaseLifecycleState:
            await travel(env, day)
            await state_when(handle, lambda s: s.status == "reinspection")
            return await inspect(env, handle, kind="reinspection", failing=GATE)

        await update(handle, UPDATE_TAKE_ENFORCEMENT_ACTION, action("education", "2037-12-04"))
        escalated = await fail_reinspection_after(local(2037, 12, 7, 9))
        assert escalated.status == "escalated" and escalated.deadline is None
        assert "escalated; next usual step: compliance notice" in escalated.current_details

        # A ticket now would skip the notice and the order: only for health and safety,
        # with the reason given to the owner (6.2.4 c, 6.4.7).
        skip = await refused(handle, UPDATE_TAKE_ENFORCEMENT_ACTION, action("ticket", fine_code="POOL-GATE"))
        assert skip.details[0]["field"] == "deviation_reason"
        no_hs = await refused(
            handle,
            UPDATE_TAKE_ENFORCEMENT_ACTION,
            action(
                "ticket",
                fine_code="POOL-GATE",
                deviation_reason="Owner ignored the letter.",
                justification="severity",
            ),
        )
        assert no_hs.details[0]["policy"] == "6.2.4 c"

        await update(handle, UPDATE_TAKE_ENFORCEMENT_ACTION, action("compliance_notice", "2037-12-18"))
        await fail_reinspection_after(local(2037, 12, 21, 9))
        ordered = await update(
            handle, UPDATE_TAKE_ENFORCEMENT_ACTION, action("order_to_comply", "2038-01-15")
        )
        assert [a.number for a in ordered.actions] == [
            "BL-2037-000203-W1",
            "BL-2037-000203-N1",
            "BL-2037-000203-O1",
        ]
        await fail_reinspection_after(local(2038, 1, 18, 9))
        # Ten business days after the order's date with no follow-up: the order is overdue.
        await travel(env, local(2038, 2, 2, 9))
        overdue = await state_when(handle, lambda s: any(a.kind == "order_overdue" for a in s.alerts))
        assert overdue.order_followup_due == local(2038, 1, 29, 16, 30)
        assert "ALERT: order overdue" in await current_details(handle)

        ticketed = await update(
            handle, UPDATE_TAKE_ENFORCEMENT_ACTION, action("ticket", fine_code="POOL-GATE")
        )
        ticket = ticketed.actions[-1]
        assert (ticket.number, ticket.amount_cents, ticket.total_payable_cents) == (
            "BL-2037-000203-T1",
            20000,
            25500,
        )
        assert ticketed.status == "escalated"
        await state_when(handle, lambda s: all(a.cleared_at is not None for a in s.alerts))

        summary: CaseSummary = await handle.query(QUERY_SUMMARY, result_type=CaseSummary)
        assert summary.days_since_order == 43 and summary.next_usual_action == "prosecution_referral"
        assert summary.actions[-1] == "BL-2037-000203-T1 ticket"

        result: CaseLifecycleResult = await handle.execute_update(
            UPDATE_CLOSE_CASE,
            CloseCaseRequest(
                outcome="prosecution", reason="Ticket BL-2037-000203-T1 paid", actor="officer-7"
            ),
            result_type=CaseLifecycleResult,
        )
        assert result.outcome == "prosecution" and result.days_since_order == 43
    tickets = [recorded for given, recorded in lifecycle.actions.values() if given.action == "ticket"]
    assert len(tickets) == 1  # one fine
    assert lifecycle.alert_kinds() == ["order_overdue"]


async def test_dismissal_after_an_inspection_finds_nothing_and_alerts_on_the_way(
    env: WorkflowEnvironment,
) -> None:
    lifecycle = FakeLifecycle()
    async with case_worker(env.client, FakeCases(officer="officer-7"), lifecycle=lifecycle) as q:
        handle = await start_case(env.client, q, make_input("BL-2037-000204"))
        # Nobody acknowledges and nobody inspects: both targets pass and raise alerts.
        await travel(env, local(2037, 11, 25, 9))
        alerted = await state_when(handle, lambda s: len(s.alerts) == 2)
        assert [a.kind for a in alerted.alerts] == ["inspection_sla_missed", "acknowledgement_overdue"]
        assert alerted.alerts[0].due_at == local(2037, 11, 23, 16, 30)
        assert alerted.current_details.endswith(
            "; ALERT: inspection target missed; ALERT: acknowledgement overdue "
            "(priority high, pool-fence, by-law 2010-0049)"
        )
        await acknowledge(handle)
        await inspect(env, handle)
        quiet = await state_when(handle, lambda s: all(a.cleared_at is not None for a in s.alerts))
        assert "ALERT" not in quiet.current_details and not quiet.violation_identified

        # With no violation, enforcement has nothing to act on (6.2.1 f); the case is dismissed.
        nothing = await refused(handle, UPDATE_TAKE_ENFORCEMENT_ACTION, action("education", "2037-12-11"))
        assert nothing.details[0]["policy"] == "6.2.1 f"
        result = await handle.execute_update(
            UPDATE_CLOSE_CASE,
            CloseCaseRequest(
                outcome="dismissed", reason="No contravention found at inspection.", actor="officer-7"
            ),
            result_type=CaseLifecycleResult,
        )
        assert result.outcome == "dismissed"
    assert sorted(lifecycle.cleared) == sorted(lifecycle.alerts)
    assert [c.outcome for c in lifecycle.closures] == ["dismissed"]


async def test_no_action_closes_as_dismissed_with_its_reason(env: WorkflowEnvironment) -> None:
    lifecycle = FakeLifecycle()
    async with case_worker(env.client, FakeCases(officer="officer-7"), lifecycle=lifecycle) as q:
        handle = await start_case(env.client, q, make_input("BL-2037-000205", priority="low"))
        await acknowledge(handle)
        await travel(env, local(2037, 11, 23, 11))
        await inspect(env, handle, failing=GATE)
        closed = await update(
            handle,
            UPDATE_TAKE_ENFORCEMENT_ACTION,
            EnforcementActionRequest(
                action="no_action", details="Owner in hospital; pool drained for winter."
            ),
        )
        assert closed.status == "closed" and closed.outcome == "dismissed"
        assert closed.actions[0].number == "BL-2037-000205-X1"
    assert lifecycle.closures[0].outcome == "dismissed"


async def test_health_and_safety_and_parking_depart_from_the_ladder(env: WorkflowEnvironment) -> None:
    lifecycle = FakeLifecycle()
    async with case_worker(env.client, FakeCases(officer="officer-7"), lifecycle=lifecycle) as q:
        # Parking is ticketed directly (policy 6.2.5): no ladder, no deviation.
        parking = await start_case(
            env.client,
            q,
            make_input(
                "BL-2037-000206", service_code="parking-fire-routes-accessible", bylaw_number="2014-0062"
            ),
        )
        # Enforcement needs an investigation first, even for parking (6.2.1 f).
        early = await refused(
            parking, UPDATE_TAKE_ENFORCEMENT_ACTION, action("ticket", fine_code="POOL-GATE")
        )
        assert early.details[0]["policy"] == "6.2.1 f"
        await travel(env, RECEIVED_AT + timedelta(hours=1))
        await inspect(env, parking, failing=GATE)
        ticket = await update(
            parking, UPDATE_TAKE_ENFORCEMENT_ACTION, action("ticket", fine_code="POOL-GATE")
        )
        assert ticket.actions[0].action == "ticket" and not ticket.actions[0].deviation

        # A low-priority matter needs a recorded risk before health and safety justifies a
        # ticket first (6.2.4 c) ...
        low = await start_case(env.client, q, make_input("BL-2037-000207", priority="low"))
        await inspect(env, low, failing=GATE)
        choice = action(
            "ticket",
            fine_code="POOL-GATE",
            deviation_reason="Toddlers next door; the gate is a drowning hazard.",
            justification="health_and_safety",
        )
        refusal = await refused(low, UPDATE_TAKE_ENFORCEMENT_ACTION, choice)
        assert refusal.details[0]["policy"] == "6.2.4 c"
        # ... which an inspection can record.
        risky = await start_case(env.client, q, make_input("BL-2037-000208", priority="low"))
        await inspect(env, risky, failing=GATE, risk="Gate open onto a playground; pool full.")
        taken = await update(risky, UPDATE_TAKE_ENFORCEMENT_ACTION, choice)
        assert taken.actions[0].deviation and taken.status == "escalated"
        assert lifecycle.actions["BL-2037-000208:action:1"][0].justification == "health_and_safety"


async def test_reassignment_moves_the_officer_and_the_queue(env: WorkflowEnvironment) -> None:
    lifecycle = FakeLifecycle()
    async with case_worker(env.client, FakeCases(officer="officer-7"), lifecycle=lifecycle) as q:
        handle = await start_case(env.client, q, make_input("BL-2037-000209"))
        await state_when(handle, lambda s: s.assigned_officer == "officer-7")
        short = await refused(handle, UPDATE_ASSIGN_OFFICER, AssignOfficerRequest("officer-9", "busy"))
        assert short.details[0]["field"] == "reason"
        unknown = await refused(
            handle,
            UPDATE_ASSIGN_OFFICER,
            AssignOfficerRequest("officer-404", "Officer on leave until March."),
        )
        assert unknown.type == "InvalidArgument" and "no active officer" in unknown.message
        moved = await update(
            handle,
            UPDATE_ASSIGN_OFFICER,
            AssignOfficerRequest("officer-9", "Officer on leave until March.", "sup-1"),
        )
        assert (moved.assigned_officer, moved.department) == ("officer-9", "BE")
        assert (await search_attributes(handle))["AssignedOfficer"] == "officer-9"
        assert [a.step_key for a in lifecycle.assignments.values()] == ["BL-2037-000209:assign:2"]


async def test_remediation_hand_off_over_the_council_gate_and_back(env: WorkflowEnvironment) -> None:
    lifecycle = FakeLifecycle()
    async with case_worker(
        env.client, FakeCases(officer="officer-7"), lifecycle=lifecycle, workflows=[FakeRemediationWorkflow]
    ) as q:
        handle = await start_case(env.client, q, make_input("BL-2037-000210"))
        await acknowledge(handle)
        await travel(env, local(2037, 11, 23, 11))
        await inspect(env, handle, failing=GATE)
        await update(
            handle,
            UPDATE_TAKE_ENFORCEMENT_ACTION,
            action(
                "order_to_comply",
                "2037-12-11",
                deviation_reason="The gate has failed three prior inspections at this address.",
                justification="history_of_non_compliance",
            ),
        )
        await travel(env, local(2037, 12, 14, 9))
        await state_when(handle, lambda s: s.status == "reinspection")
        await inspect(env, handle, kind="reinspection", failing=GATE)

        # Direct enforcement follows the order (6.2.2 e): over $5,000 Council decides first.
        work = WorkOrderRequest("Replace the gate hardware and latch", 750_000, "Quinte Fencing Ltd.")
        await update(
            handle,
            UPDATE_TAKE_ENFORCEMENT_ACTION,
            action("direct_enforcement", work_order=work),
        )
        waiting = await state_when(handle, lambda s: s.status == "awaiting_council_approval")
        assert waiting.remediation is not None and waiting.remediation.running
        assert (await search_attributes(handle))["CaseStatus"] == "awaiting_council_approval"
        assert "waiting for Council (estimate over $5,000)" in await current_details(handle)
        # No other step while the child decides (6.5.13); the case does not close either.
        busy = await refused(handle, UPDATE_TAKE_ENFORCEMENT_ACTION, action("ticket", fine_code="POOL-GATE"))
        assert busy.details[0]["policy"] == "6.5.13"

        child = env.client.get_workflow_handle(remediation_workflow_id("BL-2037-000210", 1))
        await travel(env, local(2038, 1, 12, 19))  # Council meets a month later
        await child.signal(COUNCIL_DECISION, "approve")
        await state_when(handle, lambda s: s.status == "remediation")
        result: CaseLifecycleResult = await handle.result()
        assert result.outcome == "remediation"
        final = await state(handle)
        assert final.remediation is not None and final.remediation.outcome == "completed"
        closing = next(e for e in final.timeline if e.event == "closed")
        assert "added to the tax roll" in closing.note and closing.note.startswith(
            "remediation: work order 1"
        )
        assert [e.status for e in final.timeline if e.event in ("status", "closed")][-4:] == [
            "escalated",
            "awaiting_council_approval",
            "remediation",
            "closed",
        ]


async def test_council_refusal_returns_the_case_to_escalation(env: WorkflowEnvironment) -> None:
    lifecycle = FakeLifecycle()
    async with case_worker(
        env.client, FakeCases(officer="officer-7"), lifecycle=lifecycle, workflows=[FakeRemediationWorkflow]
    ) as q:
        handle = await start_case(env.client, q, make_input("BL-2037-000211"))
        await acknowledge(handle)
        await travel(env, local(2037, 11, 23, 11))
        await inspect(env, handle, failing=GATE, risk="Unfenced pool beside a school path.")
        await update(
            handle,
            UPDATE_TAKE_ENFORCEMENT_ACTION,
            action(
                "direct_enforcement",
                work_order=WorkOrderRequest(
                    "Temporary fencing around the pool", 900_000, "Quinte Fencing Ltd."
                ),
                deviation_reason="Children use the path daily; the pool must be fenced now.",
                justification="health_and_safety",
            ),
        )
        await state_when(handle, lambda s: s.status == "awaiting_council_approval")
        await env.client.get_workflow_handle(remediation_workflow_id("BL-2037-000211", 1)).signal(
            COUNCIL_DECISION, "refuse"
        )
        back = await state_when(handle, lambda s: s.status == "escalated")
        assert back.remediation is not None and back.remediation.outcome == "refused_by_council"
        # Escalation continues: the next step is prosecution.
        referred = await update(
            handle, UPDATE_TAKE_ENFORCEMENT_ACTION, action("prosecution_referral", bylaw_section="4.1")
        )
        assert referred.actions[-1].number == "BL-2037-000211-R1"
        await handle.execute_update(
            UPDATE_CLOSE_CASE, CloseCaseRequest(outcome="prosecution", reason="Information laid in court.")
        )
        assert (await handle.result()).outcome == "prosecution"
    referral = lifecycle.documents["BL-2037-000211:action:2:document"]
    assert referral.template == "prosecution_referral"
    assert referral.facts["prior_actions"][0].startswith("BL-2037-000211-D1: Direct enforcement")


async def test_a_transient_notices_failure_is_retried_and_renders_once(env: WorkflowEnvironment) -> None:
    lifecycle = FakeLifecycle(document_failures=2)
    async with case_worker(env.client, FakeCases(officer="officer-7"), lifecycle=lifecycle) as q:
        handle = await start_case(env.client, q, make_input("BL-2037-000212"))
        await travel(env, RECEIVED_AT + timedelta(hours=1))
        await inspect(env, handle, failing=GATE)
    assert lifecycle.render_calls == ["BL-2037-000212:inspection:1:report"] * 3
    assert list(lifecycle.documents) == ["BL-2037-000212:inspection:1:report"]


async def test_checklist_refusal_fails_the_update_and_changes_nothing(env: WorkflowEnvironment) -> None:
    lifecycle = FakeLifecycle()
    async with case_worker(env.client, FakeCases(officer="officer-7"), lifecycle=lifecycle) as q:
        handle = await start_case(env.client, q, make_input("BL-2037-000213"))
        await travel(env, RECEIVED_AT + timedelta(hours=1))
        error = await refused(
            handle,
            UPDATE_RECORD_INSPECTION,
            RecordInspectionRequest(
                kind="initial",
                inspected_at=await env.get_current_time(),
                checklist_id="pool-fence",
                findings=[InspectionFinding("gate-self-closing", "compliant")],
            ),
        )
        assert error.type == "InvalidArgument" and "missing: condition, enclosure-complete" in error.message
        after = await state(handle)
        assert after.inspections == [] and after.status == "received"
        future = await refused(
            handle,
            UPDATE_RECORD_INSPECTION,
            RecordInspectionRequest(
                kind="initial",
                inspected_at=datetime(2040, 1, 1, tzinfo=UTC),
                checklist_id="pool-fence",
                findings=[InspectionFinding(**f) for f in findings()],
            ),
        )
        assert future.details[0]["field"] == "inspected_at"


async def test_reinspection_before_the_deadline(env: WorkflowEnvironment) -> None:
    lifecycle = FakeLifecycle()
    async with case_worker(env.client, FakeCases(officer="officer-7"), lifecycle=lifecycle) as q:
        handle = await start_case(env.client, q, make_input("BL-2037-000214"))
        await acknowledge(handle)
        await travel(env, local(2037, 11, 23, 11))
        await inspect(env, handle, failing=GATE)
        await update(handle, UPDATE_TAKE_ENFORCEMENT_ACTION, action("education", "2037-12-18"))
        await travel(env, local(2037, 12, 1, 10))
        # Still contravening before the date: recorded, nothing more may happen (6.7.5).
        early = await inspect(env, handle, kind="reinspection", failing=GATE)
        assert early.status == "awaiting_compliance" and len(early.inspections) == 2
        assert "the deadline has not expired (6.7.5)" in early.timeline[-1].note
        # Complied before the date: re-inspected, compliance confirmed, closed.
        await travel(env, local(2037, 12, 8, 10))
        done = await inspect(env, handle, kind="reinspection")
        assert done.outcome == "voluntary_compliance"
        assert [e.status for e in done.timeline if e.event in ("status", "closed")][-3:] == [
            "reinspection",
            "complied",
            "closed",
        ]
    assert lifecycle.deadline_kinds() == ["set", "cleared"]


def test_lifecycle_payloads_carry_no_complainant_identity() -> None:
    # Policy 6.3.4: nothing the workflow receives, keeps or passes to an activity may hold
    # who complained. ("contact" is allowed here: 6.7.7's attempted contact with the resident.)
    import dataclasses

    from workflows import contracts, lifecycle_activities

    forbidden = ("complainant", "first_name", "last_name", "email", "phone", "requestor")
    payloads = [
        value
        for module in (contracts, lifecycle_activities)
        for value in vars(module).values()
        if isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == module.__name__
    ]
    assert len(payloads) > 30
    for payload in payloads:
        for item in dataclasses.fields(payload):
            assert not any(word in item.name for word in forbidden), f"{payload.__name__}.{item.name}"
