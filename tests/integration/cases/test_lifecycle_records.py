"""The case lifecycle RPCs (issue 4) over gRPC against PostgreSQL and NATS: assignment by
zone, specialty and workload with department queues; checklists and inspections; the
pre-inspection packet; enforcement actions with set fines; compliance deadline changes
(policy 6.7.5-6.7.8); escalation alerts published as events; the closure summary. Every
write is idempotent on (case_number, step_key)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import nats
import pytest
from bylaw.v1 import cases_pb2, common_pb2
from nats.js.api import DeliverPolicy
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from tests.integration.cases.conftest import CasesHarness
from tests.integration.cases.support import open_request, record, rpc_error, seed_roll, ts

SYSTEM = common_pb2.Actor(subject="system:case-lifecycle", roles=["system"])
OFFICER = common_pb2.Actor(subject="officer-1", roles=["officer"])
NOW = datetime.now(UTC)


def _officer(officer_id: str, department: str, specialties: list[str], zones: list[str]) -> cases_pb2.Officer:
    return cases_pb2.Officer(
        officer_id=officer_id,
        display_name=officer_id.title(),
        badge_number=f"B-{officer_id[-2:]}",
        department=department,
        specialties=specialties,
        zone_codes=zones,
        active=True,
    )


async def _seed_officers(cases: CasesHarness) -> None:
    await cases.stub.UpsertOfficers(
        cases_pb2.UpsertOfficersRequest(
            officers=[
                _officer("bd-downtown-1", "BD", ["pool-fence"], ["DOWNTOWN"]),
                _officer("bd-downtown-2", "BD", ["pool-fence"], ["DOWNTOWN"]),
                _officer("bd-north", "BD", ["pool-fence"], ["NORTH"]),
                _officer("be-1", "BE", ["grass-cutting"], ["DOWNTOWN"]),
                _officer("ac-1", "AC", ["dog-kennel-licensing"], ["DOWNTOWN", "NORTH"]),
            ]
        )
    )


async def _open(cases: CasesHarness, **kwargs: Any) -> cases_pb2.Case:
    request = open_request(**kwargs)
    reply: cases_pb2.OpenCaseResponse = await cases.stub.OpenCase(request)
    return reply.case


def _pool(**kwargs: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "service_code": "pool-fence",
        "priority": common_pb2.PRIORITY_HIGH,
        "enforced_by": ("BD",),
    }
    base.update(kwargs)
    return base


async def _pool_case(cases: CasesHarness, address: str = "12 John St") -> cases_pb2.Case:
    request = open_request(address=address, **_pool())
    request.bylaw_number = "2010-0049"
    reply: cases_pb2.OpenCaseResponse = await cases.stub.OpenCase(request)
    return reply.case


def _findings(result: str = "compliant", failing: dict[str, str] | None = None) -> list[cases_pb2.Finding]:
    items = [
        "enclosure-complete",
        "fence-height",
        "climbability",
        "opening-spacing",
        "gate-self-closing",
        "gate-latch-height",
        "condition",
    ]
    failing = failing or {}
    return [
        cases_pb2.Finding(item_id=item, result="non_compliant", note=failing[item])
        if item in failing
        else cases_pb2.Finding(item_id=item, result=result)
        for item in items
    ]


def _record_inspection(number: str, step: str, **kwargs: Any) -> cases_pb2.RecordInspectionRequest:
    values: dict[str, Any] = {
        "case_number": number,
        "step_key": step,
        "kind": "initial",
        "checklist_id": "pool-fence",
        "findings": _findings(failing={"gate-self-closing": "Gate stays open when released (photo 2)"}),
        "actor": SYSTEM,
    }
    values.update(kwargs)
    request = cases_pb2.RecordInspectionRequest(**values)
    if "inspected_at" not in kwargs:
        request.inspected_at.CopyFrom(ts(NOW - timedelta(hours=1)))
    return request


async def test_assignment_by_zone_specialty_and_workload_and_department_queues(cases: CasesHarness) -> None:
    await seed_roll(cases.stub)
    await _seed_officers(cases)
    # 12 John St lies in the DOWNTOWN polygon: a downtown pool-fence specialist gets it
    # (spec 1.2), and the next one goes to the other, less loaded, downtown specialist.
    first = await _pool_case(cases, "12 John St")
    assert first.zone_code == "DOWNTOWN"
    assert first.assigned_officer_id == "bd-downtown-1" and first.department == "BD"
    second = await _pool_case(cases, "100 Dundas St E")
    assert second.assigned_officer_id == "bd-downtown-2"
    # 45 Centre St N is in zone NORTH (roll): the north specialist.
    north = await _pool_case(cases, "45 Centre St N")
    assert north.assigned_officer_id == "bd-north"

    # A matrix row the Fire Department enforces lands in the FD queue, unassigned (no FD
    # officer here); an Animal Control row goes to AC before BE (first listed).
    burning = await _open(
        cases, address="12 John St", service_code="open-air-burning", enforced_by=("FD",), priority=1
    )
    assert burning.department == "FD" and burning.assigned_officer_id == ""
    kennel = await _open(
        cases, address="12 John St", service_code="dog-kennel-licensing", enforced_by=("AC", "BE")
    )
    assert kennel.department == "AC" and kennel.assigned_officer_id == "ac-1"

    async def queue(department: str) -> list[str]:
        reply = await cases.stub.ListCases(
            cases_pb2.ListCasesRequest(department=department, actor=common_pb2.Actor(roles=["supervisor"]))
        )
        return [c.case_number for c in reply.cases]

    assert await queue("FD") == [burning.case_number]
    assert await queue("ac") == [kennel.case_number]  # department codes are case-insensitive
    assert set(await queue("BD")) == {first.case_number, second.case_number, north.case_number}

    # A supervisor reassigns: the case follows the officer into that department's queue.
    moved = await cases.stub.AssignCase(
        cases_pb2.AssignCaseRequest(
            case_number=burning.case_number,
            officer_id="be-1",
            step_key="reassign-1",
            reason="FD asked BE",
            actor=SYSTEM,
        )
    )
    assert moved.assigned_officer_id == "be-1" and moved.department == "BE"
    assert await queue("FD") == []


async def test_checklists_apply_by_service_code(cases: CasesHarness) -> None:
    reply = await cases.stub.ListChecklists(cases_pb2.ListChecklistsRequest(service_code="pool-fence"))
    assert [c.checklist_id for c in reply.checklists] == ["pool-fence", "general"]
    pool = reply.checklists[0]
    assert pool.bylaw_number == "2010-0049" and pool.version
    assert {i.item_id: i.section for i in pool.items}["gate-self-closing"] == "5.1"
    every = await cases.stub.ListChecklists(cases_pb2.ListChecklistsRequest())
    ids = {c.checklist_id for c in every.checklists}
    # At least property standards, zoning, pool fence and yard maintenance (issue 4 item 2).
    assert {"property-standards", "zoning", "pool-fence", "yard-maintenance"} <= ids
    zoning = await cases.stub.ListChecklists(cases_pb2.ListChecklistsRequest(service_code="zoning"))
    assert zoning.checklists[0].checklist_id == "zoning"


async def test_inspection_schedule_and_findings_validated_against_the_checklist(cases: CasesHarness) -> None:
    await seed_roll(cases.stub)
    await _seed_officers(cases)
    case = await _pool_case(cases)
    number = case.case_number
    due = NOW + timedelta(days=1)

    late = cases_pb2.ScheduleInspectionRequest(
        case_number=number, step_key="sched-1", kind="initial", officer_id="bd-downtown-1", actor=SYSTEM
    )
    late.scheduled_for.CopyFrom(ts(due + timedelta(days=2)))
    late.due_by.CopyFrom(ts(due))
    _, error = await rpc_error(cases.stub.ScheduleInspection(late))
    assert isinstance(error, InvalidArgument)
    assert [(v.field, v.policy) for v in error.violations] == [("reason", "6.5.4")]

    ok = cases_pb2.ScheduleInspectionRequest(
        case_number=number, step_key="sched-1", kind="initial", actor=SYSTEM
    )
    ok.scheduled_for.CopyFrom(ts(due - timedelta(hours=2)))
    ok.due_by.CopyFrom(ts(due))
    scheduled = await cases.stub.ScheduleInspection(ok)
    assert scheduled.state == "scheduled" and scheduled.officer_id == case.assigned_officer_id
    assert (await cases.stub.ScheduleInspection(ok)).step_key == "sched-1"  # a retry

    # Missing items, an unknown item, a result not on the list and a non-compliant item
    # without the observation: each named (policy 6.7.1 a for the note).
    bad = _record_inspection(
        number,
        "insp-1",
        scheduled_step_key="sched-1",
        findings=[
            cases_pb2.Finding(item_id="enclosure-complete", result="compliant"),
            cases_pb2.Finding(item_id="gate-self-closing", result="non_compliant", note=""),
            cases_pb2.Finding(item_id="diving-board", result="compliant"),
            cases_pb2.Finding(item_id="fence-height", result="maybe"),
        ],
    )
    _, error = await rpc_error(cases.stub.RecordInspection(bad))
    assert isinstance(error, InvalidArgument)
    by_field = {v.field: v for v in error.violations}
    assert by_field["findings[1].note"].policy == "6.7.1 a"
    assert "not an item of checklist 'pool-fence'" in by_field["findings[2].item_id"].rule
    assert "unknown result 'maybe'" in by_field["findings[3].result"].rule
    assert "missing: climbability, opening-spacing, gate-latch-height, condition" in by_field["findings"].rule

    # A checklist of another by-law is refused for this case.
    _, error = await rpc_error(
        cases.stub.RecordInspection(_record_inspection(number, "insp-1", checklist_id="zoning"))
    )
    assert isinstance(error, InvalidArgument) and error.violations[0].field == "checklist_id"

    recorded = await cases.stub.RecordInspection(
        _record_inspection(number, "insp-1", scheduled_step_key="sched-1")
    )
    assert recorded.state == "completed" and recorded.step_key == "sched-1"
    assert recorded.violation_found and list(recorded.bylaw_sections) == ["5.1"]
    assert recorded.checklist_version == "2026.1"
    again = await cases.stub.RecordInspection(
        _record_inspection(number, "insp-1", scheduled_step_key="sched-1")
    )
    assert again == recorded
    listed = await cases.stub.ListInspections(
        cases_pb2.ListInspectionsRequest(case_number=number, actor=OFFICER)
    )
    assert len(listed.inspections) == 1

    # The report is attached once; another document for the same inspection is refused.
    attach = cases_pb2.AttachDocumentRequest(
        case_number=number, record="inspection", step_key="insp-1", document_id="doc-1", actor=SYSTEM
    )
    assert (await cases.stub.AttachDocument(attach)).document_id == "doc-1"
    assert (await cases.stub.AttachDocument(attach)).document_id == "doc-1"
    attach.document_id = "doc-2"
    code, error = await rpc_error(cases.stub.AttachDocument(attach))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and isinstance(error, FailedPrecondition)


async def test_enforcement_actions_number_and_fine_from_the_schedule_once(cases: CasesHarness) -> None:
    await seed_roll(cases.stub)
    await _seed_officers(cases)
    number = (await _pool_case(cases)).case_number

    def action(step: str, kind: str, **kwargs: Any) -> cases_pb2.RecordEnforcementActionRequest:
        comply_by = kwargs.pop("comply_by", None)
        request = cases_pb2.RecordEnforcementActionRequest(
            case_number=number, step_key=step, action=kind, actor=SYSTEM, **kwargs
        )
        if comply_by is not None:
            request.comply_by.CopyFrom(ts(comply_by))
        return request

    # An order gives a reasonable time to comply (policy 6.7.4 b).
    _, error = await rpc_error(cases.stub.RecordEnforcementAction(action("a-1", "order_to_comply")))
    assert isinstance(error, InvalidArgument) and error.violations[0].policy == "6.7.4 b"
    order = await cases.stub.RecordEnforcementAction(
        action("a-1", "order_to_comply", comply_by=NOW + timedelta(days=14), details="Repair the gate")
    )
    assert order.number == f"{number}-O1" and order.seq == 1 and order.amount_cents == 0

    # A ticket's fine comes from config/set_fines.yaml: the code must exist, be a ticket,
    # and be under the case's by-law.
    for code, fragment in (
        ("", "needs the code of an approved set fine"),
        ("NOPE", "unknown code 'NOPE'; for by-law 2010-0049: POOL-GATE, POOL-NO-ENCLOSURE"),
        ("AMP-YARD-REFUSE", "is a amp, not a ticket"),
        ("PARK-FIRE-ROUTE", "is under by-law 2014-0062; the case is by-law 2010-0049"),
    ):
        _, error = await rpc_error(
            cases.stub.RecordEnforcementAction(action("a-2", "ticket", fine_code=code))
        )
        assert isinstance(error, InvalidArgument) and fragment in error.violations[0].rule, code
    ticket_request = action("a-2", "ticket", fine_code="POOL-GATE")
    ticket = await cases.stub.RecordEnforcementAction(ticket_request)
    assert (ticket.number, ticket.amount_cents, ticket.total_payable_cents) == (f"{number}-T1", 20000, 25500)
    assert ticket.bylaw_section == "5.1" and "self-closing" in ticket.fine_description
    # A retry of the same step (a worker restarted mid-activity) records no second fine.
    assert await cases.stub.RecordEnforcementAction(ticket_request) == ticket
    code, error = await rpc_error(cases.stub.RecordEnforcementAction(action("a-2", "amp", fine_code="X")))
    assert isinstance(error, (FailedPrecondition, InvalidArgument))
    async with cases.app_sessions() as session:
        fines = (
            await session.execute(
                text(
                    "SELECT count(*) FROM cases.enforcement_actions a JOIN cases.cases c ON c.id = a.case_id"
                    " WHERE c.case_number = :n AND a.amount_cents > 0"
                ),
                {"n": number},
            )
        ).scalar_one()
    assert fines == 1

    # A departure from the usual path carries its reason (policy 6.4.7); no action says why.
    _, error = await rpc_error(
        cases.stub.RecordEnforcementAction(
            action("a-3", "prosecution_referral", justification="health_and_safety")
        )
    )
    assert isinstance(error, InvalidArgument) and error.violations[0].policy == "6.4.7"
    _, error = await rpc_error(cases.stub.RecordEnforcementAction(action("a-3", "no_action")))
    assert isinstance(error, InvalidArgument) and error.violations[0].policy == "6.2.2 g"

    listed = await cases.stub.ListEnforcementActions(
        cases_pb2.ListEnforcementActionsRequest(case_number=number, actor=OFFICER)
    )
    assert [a.number for a in listed.actions] == [f"{number}-O1", f"{number}-T1"]


async def test_compliance_deadline_changes_follow_policy_6_7(cases: CasesHarness) -> None:
    await seed_roll(cases.stub)
    number = (await _pool_case(cases)).case_number
    deadline = NOW + timedelta(days=14)

    def change(
        step: str, kind: str, when: datetime | None, **kwargs: Any
    ) -> cases_pb2.RecordDeadlineChangeRequest:
        request = cases_pb2.RecordDeadlineChangeRequest(
            case_number=number, step_key=step, kind=kind, actor=SYSTEM, **kwargs
        )
        if when is not None:
            request.deadline.CopyFrom(ts(when))
        return request

    _, error = await rpc_error(cases.stub.RecordDeadlineChange(change("d-0", "extended", deadline)))
    assert isinstance(error, InvalidArgument) and "no compliance deadline" in error.message
    await cases.stub.RecordDeadlineChange(change("d-1", "set", deadline, action_step_key="a-1"))
    case = await cases.stub.GetCase(cases_pb2.GetCaseRequest(case_number=number, actor=SYSTEM))
    assert case.compliance_deadline.ToDatetime(tzinfo=UTC) == deadline.replace(
        microsecond=deadline.microsecond
    )

    # Extensions: requested in writing with a reason (6.7.8), and later than before (6.7.6).
    _, error = await rpc_error(
        cases.stub.RecordDeadlineChange(change("d-2", "extended", deadline + timedelta(days=7)))
    )
    assert isinstance(error, InvalidArgument)
    assert {(v.field, v.policy) for v in error.violations} == {
        ("reason", "6.7.8"),
        ("written_request_on", "6.7.8"),
    }
    earlier = change("d-2", "extended", deadline - timedelta(days=1), reason="owner abroad")
    earlier.written_request_on.CopyFrom(ts(NOW))
    _, error = await rpc_error(cases.stub.RecordDeadlineChange(earlier))
    assert isinstance(error, InvalidArgument) and error.violations[0].policy == "6.7.6"
    extended = change(
        "d-2", "extended", deadline + timedelta(days=7), reason="owner out of country until May"
    )
    extended.written_request_on.CopyFrom(ts(NOW - timedelta(days=1)))
    reply = await cases.stub.RecordDeadlineChange(extended)
    assert reply.previous_deadline.ToDatetime(tzinfo=UTC) == deadline

    # Shortening: only for an extraordinary reason and after attempting contact (6.7.7).
    _, error = await rpc_error(
        cases.stub.RecordDeadlineChange(change("d-3", "shortened", deadline, reason=""))
    )
    assert isinstance(error, InvalidArgument)
    assert {v.field for v in error.violations} == {"reason", "contact_attempted_at"}
    assert {v.policy for v in error.violations} == {"6.7.7"}
    shortened = change("d-3", "shortened", deadline, reason="children seen using the unfenced pool")
    shortened.contact_attempted_at.CopyFrom(ts(NOW - timedelta(hours=3)))
    await cases.stub.RecordDeadlineChange(shortened)
    await cases.stub.RecordDeadlineChange(change("d-4", "cleared", None))
    case = await cases.stub.GetCase(cases_pb2.GetCaseRequest(case_number=number, actor=SYSTEM))
    assert not case.HasField("compliance_deadline")
    listed = await cases.stub.ListDeadlineChanges(
        cases_pb2.ListDeadlineChangesRequest(case_number=number, actor=OFFICER)
    )
    assert [c.kind for c in listed.changes] == ["set", "extended", "shortened", "cleared"]

    # The policy holds in the database too, whoever writes.
    async with cases.app_sessions() as session:
        with pytest.raises(DBAPIError, match="extension_requested_in_writing"):
            await session.execute(
                text(
                    "INSERT INTO cases.deadline_changes"
                    " (case_id, step_key, kind, reason, actor_subject, occurred_at)"
                    " SELECT id, 'raw', 'extended', 'x', 'x', now() FROM cases.cases WHERE case_number = :n"
                ),
                {"n": number},
            )


async def test_alerts_are_recorded_listed_cleared_and_published(cases: CasesHarness, nats_url: str) -> None:
    await seed_roll(cases.stub)
    await _seed_officers(cases)
    number = (await _pool_case(cases)).case_number
    nc = await nats.connect(nats_url)
    try:
        sub = await nc.jetstream().subscribe("bylaw.events.case.>", deliver_policy=DeliverPolicy.NEW)
        raise_request = cases_pb2.RaiseAlertRequest(
            case_number=number,
            step_key=f"{number}:alert:inspection_sla_missed:1",
            kind="inspection_sla_missed",
            detail="No inspection by 2026-11-23 (high priority: 1 business day)",
            actor=SYSTEM,
        )
        raise_request.due_at.CopyFrom(ts(NOW - timedelta(hours=1)))
        alert = await cases.stub.RaiseAlert(raise_request)
        assert await cases.stub.RaiseAlert(raise_request) == alert  # retried: one alert, one event
        assert alert.department == "BD" and alert.assigned_officer_id == "bd-downtown-1"
        received: list[dict[str, Any]] = []
        deadline = asyncio.get_running_loop().time() + 15
        while not received:
            msg = await sub.next_msg(timeout=max(0.1, deadline - asyncio.get_running_loop().time()))
            await msg.ack()
            body = json.loads(msg.data)
            if body["case_number"] == number and body["event_type"] == "case.alert_raised":
                received.append({**body, "_subject": msg.subject})
    finally:
        await nc.drain()
    [event] = received
    assert event["_subject"] == "bylaw.events.case.alert_raised"
    assert event["data"]["kind"] == "inspection_sla_missed" and event["data"]["department"] == "BD"

    supervisor = common_pb2.Actor(subject="sup", roles=["supervisor"])
    open_bd = await cases.stub.ListAlerts(
        cases_pb2.ListAlertsRequest(open_only=True, department="BD", actor=supervisor)
    )
    assert [a.step_key for a in open_bd.alerts] == [alert.step_key]
    assert (
        await cases.stub.ListAlerts(cases_pb2.ListAlertsRequest(department="FD", actor=supervisor))
    ).alerts == []
    _, error = await rpc_error(
        cases.stub.RaiseAlert(cases_pb2.RaiseAlertRequest(case_number=number, step_key="x", kind="bored"))
    )
    assert isinstance(error, InvalidArgument) and error.violations[0].field == "kind"

    cleared = await cases.stub.ClearAlert(
        cases_pb2.ClearAlertRequest(
            case_number=number, step_key=alert.step_key, reason="inspected", actor=SYSTEM
        )
    )
    assert cleared.HasField("cleared_at") and cleared.cleared_reason == "inspected"
    still_open = await cases.stub.ListAlerts(cases_pb2.ListAlertsRequest(open_only=True, actor=supervisor))
    assert still_open.alerts == []
    every = await cases.stub.ListAlerts(cases_pb2.ListAlertsRequest(case_number=number, actor=supervisor))
    assert len(every.alerts) == 1


async def test_pre_inspection_packet_and_closure_summary(cases: CasesHarness) -> None:
    await seed_roll(cases.stub)
    await _seed_officers(cases)
    # An earlier property standards case at the same parcel, closed after an order: it
    # shows as the property's history in the packet of a later pool-fence case.
    earlier = (await _open(cases, address="100 Dundas St E")).case_number
    order = cases_pb2.RecordEnforcementActionRequest(
        case_number=earlier, step_key="o", action="order_to_comply", actor=SYSTEM
    )
    order.comply_by.CopyFrom(ts(NOW + timedelta(days=10)))
    await cases.stub.RecordEnforcementAction(order)
    await cases.stub.RecordStatus(record(earlier, common_pb2.CASE_STATUS_COMPLIED, "c"))
    closed_at = NOW
    await cases.stub.RecordStatus(
        record(
            earlier, common_pb2.CASE_STATUS_CLOSED, "close", outcome="order_compliance", occurred_at=closed_at
        )
    )
    # The closure summary needs the closed status first, then is recorded once.
    summary = cases_pb2.RecordClosureRequest(
        case_number=earlier,
        outcome="order_compliance",
        reason="gate repaired",
        days_since_complaint=21,
        days_since_order=12,
        business_days_open=15,
        actor=SYSTEM,
    )
    summary.closed_at.CopyFrom(ts(closed_at))
    summary.first_order_at.CopyFrom(ts(NOW - timedelta(days=12)))
    closure = await cases.stub.RecordClosure(summary)
    assert (closure.outcome, closure.days_since_complaint, closure.days_since_order) == (
        "order_compliance",
        21,
        12,
    )
    assert closure.enforcement_actions == 1 and closure.inspections == 0
    assert [e.step_key for e in closure.timeline] == ["opened", "c", "close"]
    assert await cases.stub.RecordClosure(summary) == closure
    fetched = await cases.stub.GetClosure(cases_pb2.GetClosureRequest(case_number=earlier, actor=OFFICER))
    assert fetched == closure

    current = (await _pool_case(cases, "100 Dundas Street East")).case_number
    assert current != earlier
    early_summary = cases_pb2.RecordClosureRequest(case_number=current, outcome="dismissed", actor=SYSTEM)
    early_summary.closed_at.CopyFrom(ts(NOW))
    code, _ = await rpc_error(cases.stub.RecordClosure(early_summary))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    code, error = await rpc_error(
        cases.stub.GetClosure(cases_pb2.GetClosureRequest(case_number=current, actor=OFFICER))
    )
    assert isinstance(error, NotFound)

    packet = await cases.stub.GetPreInspectionPacket(
        cases_pb2.GetPreInspectionPacketRequest(case_number=current, actor=OFFICER)
    )
    assert packet.case.case_number == current
    assert packet.property.roll_number == "1121010001001000000"
    assert packet.property.owner_name == "Harbour Holdings Ltd"  # the assessment roll is public
    assert [(p.case_number, p.service_code, p.outcome, list(p.actions)) for p in packet.prior_cases] == [
        (earlier, "property-standards-cosmetic", "order_compliance", ["order_to_comply"])
    ]
    assert [c.checklist_id for c in packet.checklists] == ["pool-fence", "general"]
    assert packet.officer.officer_id == packet.case.assigned_officer_id

    # A restricted matter (policy 6.10) is not found by an officer without the need to know,
    # nor listed among the property's prior cases in another case's packet.
    hidden_request = open_request(address="100 Dundas St E", restricted=True, service_code="zoning")
    hidden = (await cases.stub.OpenCase(hidden_request)).case.case_number
    code, _ = await rpc_error(
        cases.stub.GetPreInspectionPacket(
            cases_pb2.GetPreInspectionPacketRequest(case_number=hidden, actor=OFFICER)
        )
    )
    assert code == grpc.StatusCode.NOT_FOUND
    again = await cases.stub.GetPreInspectionPacket(
        cases_pb2.GetPreInspectionPacketRequest(case_number=current, actor=OFFICER)
    )
    assert hidden not in [p.case_number for p in again.prior_cases]
    supervisor = common_pb2.Actor(subject="sup", roles=["supervisor"])
    seen = await cases.stub.GetPreInspectionPacket(
        cases_pb2.GetPreInspectionPacketRequest(case_number=current, actor=supervisor)
    )
    assert hidden in [p.case_number for p in seen.prior_cases]
