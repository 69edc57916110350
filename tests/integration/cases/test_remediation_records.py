"""Municipal remediation records in the cases service, over gRPC on real PostgreSQL: work
orders and the $5,000 Council gate (policy 6.5.13), Council decisions and emergency
approvals (6.5.14) with their rules, the list for Council's next report, costs and
completion, cancellation, restricted visibility, and idempotency on every step key."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import grpc
from bylaw.v1 import cases_pb2, common_pb2
from sqlalchemy import func, select, text

from services.cases.adapters.remediation_orm import CouncilReportItemRow, RemediationCostRow, WorkOrderRow
from services.common.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from tests.integration.cases.conftest import CasesHarness
from tests.integration.cases.support import open_request, record, rpc_error, seed_roll, ts

DUNDAS = "1121010001001000000"  # 100 Dundas St E, owner Harbour Holdings Ltd
MAY_1 = datetime(2026, 5, 1, 14, 0, tzinfo=UTC)  # 10:00 in Napanee
JUNE_1 = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)
SYSTEM = common_pb2.Actor(subject="system:remediation", roles=["system"])
CLERK = common_pb2.Actor(subject="clerk-1", roles=["clerk"])
TREASURER = common_pb2.Actor(subject="treasurer-1", roles=["treasurer"])


async def open_case(cases: CasesHarness, *, restricted: bool = False) -> str:
    await seed_roll(cases.stub)
    opened = await cases.stub.OpenCase(
        open_request(
            address="100 Dundas St E", restricted=restricted, received_at=datetime(2026, 4, 1, tzinfo=UTC)
        )
    )
    number: str = opened.case.case_number
    return number


def create_request(
    case_number: str, seq: int = 1, *, estimate: int = 250_000, private_land: bool = True, **extra: Any
) -> cases_pb2.CreateWorkOrderRequest:
    values: dict[str, Any] = {
        "case_number": case_number,
        "work_order_seq": seq,
        "step_key": f"{case_number}:remediation-{seq}:work-order",
        "description": "Cut grass and weeds to under 20 cm; remove refuse from the rear yard",
        "contractor": "Napanee Property Services",
        "estimate_cents": estimate,
        "private_land": private_land,
        "requested_by": "officer-7",
        "actor": SYSTEM,
    }
    request = cases_pb2.CreateWorkOrderRequest(**(values | extra))
    request.occurred_at.CopyFrom(ts(MAY_1))
    return request


def council(case_number: str, decision: str = "approved", *, step: str = "council", **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "case_number": case_number,
        "work_order_seq": 1,
        "step_key": f"{case_number}:remediation-1:{step}",
        "kind": "council",
        "decision": decision,
        "council_resolution": "2026-114",
        "council_meeting_on": "2026-05-12",
        "decided_by": "clerk-1",
        "decided_by_role": "clerk",
        "actor": SYSTEM,
    }
    values.update(overrides)
    request = cases_pb2.RecordRemediationApprovalRequest(**values)
    request.occurred_at.CopyFrom(ts(datetime(2026, 5, 13, 14, 0, tzinfo=UTC)))
    return request


def emergency(case_number: str, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "case_number": case_number,
        "work_order_seq": 1,
        "step_key": f"{case_number}:remediation-1:emergency",
        "kind": "emergency",
        "decision": "approved",
        "emergency_risk": "safety",
        "emergency_description": "Collapsing rear porch over the public sidewalk",
        "emergency_urgency": "Next Council meeting is in three weeks; the porch may fall any day",
        "no_time_for_council": True,
        "decided_by": "fire-chief-1",
        "decided_by_role": "fire_chief",
        "actor": SYSTEM,
    }
    values.update(overrides)
    request = cases_pb2.RecordRemediationApprovalRequest(**values)
    request.occurred_at.CopyFrom(ts(datetime(2026, 5, 2, 14, 0, tzinfo=UTC)))
    return request


def cost(step: str, kind: str = "contractor_invoice", amount: int = 180_000, **extra: Any) -> Any:
    values: dict[str, Any] = {
        "step_key": step,
        "kind": kind,
        "description": "Grass cutting, 2 crew",
        "amount_cents": amount,
    }
    if kind == "contractor_invoice":
        values["reference"] = "NPS-4411"
    values.update(extra)
    return cases_pb2.RemediationCost(**values)


def costs_request(case_number: str, *entries: Any, at: datetime = JUNE_1) -> Any:
    request = cases_pb2.RecordRemediationCostsRequest(
        case_number=case_number, work_order_seq=1, costs=list(entries), actor=SYSTEM
    )
    request.occurred_at.CopyFrom(ts(at))
    return request


def complete_request(case_number: str, completed_on: str = "2026-05-30", at: datetime = JUNE_1) -> Any:
    request = cases_pb2.CompleteRemediationWorkRequest(
        case_number=case_number,
        work_order_seq=1,
        step_key=f"{case_number}:remediation-1:completed",
        completed_on=completed_on,
        note="Done; before and after photos attached",
        actor=SYSTEM,
    )
    request.occurred_at.CopyFrom(ts(at))
    return request


def fields(error: object) -> dict[str, str | None]:
    assert isinstance(error, InvalidArgument), error
    return {v.field: v.policy for v in error.violations}


async def count(cases: CasesHarness, model: Any) -> int:
    async with cases.app_sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def outbox_types(cases: CasesHarness) -> list[str]:
    async with cases.app_sessions() as session:
        rows = await session.execute(text("SELECT payload->>'event_type' FROM cases.outbox ORDER BY seq"))
        return [r[0] for r in rows if r[0].startswith("remediation.")]


async def test_under_the_gate_the_work_is_approved_at_once_and_retries_create_nothing(
    cases: CasesHarness,
) -> None:
    number = await open_case(cases)
    request = create_request(number, estimate=250_000)
    first = await cases.stub.CreateWorkOrder(request)
    assert first.work_order_number == f"{number}-W1"
    assert first.status == "approved"
    assert not first.council_approval_required
    assert first.approval.kind == "not_required" and first.approval.decision == "approved"
    # The parcel and its registered owner come from the assessment roll (policy 6.7.9).
    assert first.property_roll_number == DUNDAS
    assert first.property_address == "100 Dundas St E"
    assert first.owner_name == "Harbour Holdings Ltd"
    assert first.bylaw_number == "2010-0050"
    racing = await asyncio.gather(*(cases.stub.CreateWorkOrder(request) for _ in range(4)))
    assert {r.work_order_number for r in racing} == {first.work_order_number}
    assert await count(cases, WorkOrderRow) == 1
    assert await outbox_types(cases) == ["remediation.work_order_created"]
    listed = await cases.stub.ListWorkOrders(
        cases_pb2.ListWorkOrdersRequest(case_number=number, actor=SYSTEM)
    )
    assert [w.work_order_number for w in listed.work_orders] == [first.work_order_number]


async def test_the_gate_is_more_than_5000_dollars_on_private_land(cases: CasesHarness) -> None:
    number = await open_case(cases)
    exactly = await cases.stub.CreateWorkOrder(create_request(number, 1, estimate=500_000))
    over = await cases.stub.CreateWorkOrder(create_request(number, 2, estimate=500_001))
    public = await cases.stub.CreateWorkOrder(
        create_request(number, 3, estimate=2_000_000, private_land=False)
    )
    # Policy 6.5.13: "anticipated to exceed $5,000" on private lands.
    assert (exactly.status, exactly.council_approval_required) == ("approved", False)
    assert (over.status, over.council_approval_required) == ("awaiting_council", True)
    assert over.approval.kind == ""
    assert (public.status, public.council_approval_required) == ("approved", False)
    pending = await cases.stub.ListCouncilReportItems(cases_pb2.ListCouncilReportItemsRequest(actor=CLERK))
    [item] = pending.items
    assert (item.work_order_number, item.kind) == (over.work_order_number, "approval_request")
    assert item.estimate_cents == 500_001 and item.property_address == "100 Dundas St E"
    assert "over $5,000, policy 6.5.13" in item.summary


async def test_work_order_rules_name_field_rule_and_policy(cases: CasesHarness) -> None:
    number = await open_case(cases)
    bad = create_request(number, estimate=0, description=" ", contractor="")
    code, error = await rpc_error(cases.stub.CreateWorkOrder(bad))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert fields(error) == {"description": "6.7.10", "contractor": None, "estimate_cents": "6.5.13"}
    off_roll = create_request(number, property_roll_number="1121099999999990000")
    code, error = await rpc_error(cases.stub.CreateWorkOrder(off_roll))
    assert fields(error) == {"property_roll_number": "6.7.9"}
    await cases.stub.CreateWorkOrder(create_request(number))
    other_step = create_request(number)
    other_step.step_key = "another-step"
    code, error = await rpc_error(cases.stub.CreateWorkOrder(other_step))
    assert code == grpc.StatusCode.ALREADY_EXISTS
    code, error = await rpc_error(cases.stub.CreateWorkOrder(create_request("BL-2026-999999")))
    assert code == grpc.StatusCode.NOT_FOUND


async def test_council_decision_rules_and_its_idempotent_record(cases: CasesHarness) -> None:
    number = await open_case(cases)
    await cases.stub.CreateWorkOrder(create_request(number, estimate=725_000))
    code, error = await rpc_error(
        cases.stub.RecordRemediationApproval(
            council(number, decided_by_role="officer", council_resolution="")
        )
    )
    assert fields(error) == {"decided_by_role": "6.5.13", "council_resolution": "6.5.13"}
    code, error = await rpc_error(
        cases.stub.RecordRemediationApproval(council(number, council_meeting_on="2026-06-30"))
    )
    assert fields(error) == {"council_meeting_on": "6.5.13"}
    code, error = await rpc_error(cases.stub.RecordRemediationApproval(council(number, decision="maybe")))
    assert fields(error) == {"decision": "6.5.13"}

    approved = await cases.stub.RecordRemediationApproval(council(number))
    assert approved.status == "approved"
    assert (approved.approval.kind, approved.approval.decision) == ("council", "approved")
    assert (approved.approval.council_resolution, approved.approval.council_meeting_on) == (
        "2026-114",
        "2026-05-12",
    )
    again = await cases.stub.RecordRemediationApproval(council(number))
    assert again == approved
    code, error = await rpc_error(
        cases.stub.RecordRemediationApproval(council(number, "refused", step="late"))
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "no longer awaiting Council" in str(error)
    # Decided: off the list for Council's next report, recorded as reported at that meeting.
    pending = await cases.stub.ListCouncilReportItems(cases_pb2.ListCouncilReportItemsRequest(actor=CLERK))
    assert list(pending.items) == []
    everything = await cases.stub.ListCouncilReportItems(
        cases_pb2.ListCouncilReportItemsRequest(include_reported=True, actor=CLERK)
    )
    assert [i.reported_meeting_on for i in everything.items] == ["2026-05-12"]
    assert await outbox_types(cases) == [
        "remediation.work_order_created",
        "remediation.council_decision_recorded",
    ]


async def test_refused_by_council_stops_the_work(cases: CasesHarness) -> None:
    number = await open_case(cases)
    await cases.stub.CreateWorkOrder(create_request(number, estimate=900_000))
    refused = await cases.stub.RecordRemediationApproval(council(number, "refused"))
    assert refused.status == "refused" and refused.approval.decision == "refused"
    code, error = await rpc_error(cases.stub.RecordRemediationCosts(costs_request(number, cost("c1"))))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and isinstance(error, FailedPrecondition)


async def test_emergency_approval_needs_the_official_and_a_recorded_risk(cases: CasesHarness) -> None:
    number = await open_case(cases)
    await cases.stub.CreateWorkOrder(create_request(number, estimate=1_250_000))
    code, error = await rpc_error(
        cases.stub.RecordRemediationApproval(
            emergency(
                number,
                emergency_risk="",
                emergency_description="",
                emergency_urgency=" ",
                no_time_for_council=False,
            )
        )
    )
    assert fields(error) == {
        "emergency_risk": "6.5.14",
        "emergency_description": "6.5.14",
        "emergency_urgency": "6.5.14",
        "no_time_for_council": "6.5.14",
    }
    code, error = await rpc_error(
        cases.stub.RecordRemediationApproval(emergency(number, decided_by_role="clerk"))
    )
    assert fields(error) == {"decided_by_role": "6.5.14"}
    code, error = await rpc_error(
        cases.stub.RecordRemediationApproval(emergency(number, emergency_risk="noise"))
    )
    assert fields(error) == {"emergency_risk": "6.5.14"}

    approved = await cases.stub.RecordRemediationApproval(emergency(number))
    assert approved.status == "approved"
    assert (approved.approval.kind, approved.approval.emergency_risk) == ("emergency", "safety")
    assert approved.approval.decided_by_role == "fire_chief"
    # Policy 6.5.14: listed for Council's next report, for information.
    pending = await cases.stub.ListCouncilReportItems(cases_pb2.ListCouncilReportItemsRequest(actor=CLERK))
    [item] = pending.items
    assert item.kind == "emergency_approval"
    assert "approved by the Fire Chief without Council because of a risk to safety" in item.summary
    assert "Collapsing rear porch" in item.summary
    assert await outbox_types(cases) == ["remediation.work_order_created", "remediation.emergency_approved"]

    # The Clerk marks it reported; it leaves the list. Only the Clerk may.
    mark = cases_pb2.MarkCouncilItemsReportedRequest(
        item_ids=[item.item_id], meeting_on="2026-05-26", actor=CLERK
    )
    code, error = await rpc_error(
        cases.stub.MarkCouncilItemsReported(
            cases_pb2.MarkCouncilItemsReportedRequest(
                item_ids=[item.item_id], meeting_on="2026-05-26", actor=TREASURER
            )
        )
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED and isinstance(error, PermissionDenied)
    code, error = await rpc_error(
        cases.stub.MarkCouncilItemsReported(
            cases_pb2.MarkCouncilItemsReportedRequest(
                item_ids=[item.item_id, 99_999], meeting_on="2026-05-26", actor=CLERK
            )
        )
    )
    assert fields(error) == {"item_ids": None}
    remaining = await cases.stub.MarkCouncilItemsReported(mark)
    assert list(remaining.items) == []
    assert await count(cases, CouncilReportItemRow) == 2  # the request (superseded) and the emergency


async def test_no_council_approval_for_work_under_the_gate(cases: CasesHarness) -> None:
    number = await open_case(cases)
    await cases.stub.CreateWorkOrder(create_request(number, estimate=480_000))
    code, error = await rpc_error(cases.stub.RecordRemediationApproval(emergency(number)))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert "needs no Council approval" in str(error) and "6.5.13" in str(error)


async def test_costs_completion_and_their_rules(cases: CasesHarness) -> None:
    number = await open_case(cases)
    await cases.stub.CreateWorkOrder(create_request(number))
    code, error = await rpc_error(cases.stub.CompleteRemediationWork(complete_request(number)))
    assert fields(error) == {"costs": "6.7.9"}
    code, error = await rpc_error(
        cases.stub.RecordRemediationCosts(
            costs_request(
                number,
                cost("a", "staff_time", 12_000),
                cost("b", "contractor_invoice", 5_000, reference=""),
                cost("c", "other", -5),
                cost("d", "catering", 100),
            )
        )
    )
    assert set(fields(error)) == {
        "costs[0].hours",
        "costs[1].reference",
        "costs[2].amount_cents",
        "costs[3].kind",
    }

    step = f"{number}:remediation-1:cost"
    first = await cases.stub.RecordRemediationCosts(
        costs_request(
            number,
            cost(f"{step}-1"),
            cost(f"{step}-2", "staff_time", 19_500, hours=3.0, description="Officer supervision 3 h"),
        )
    )
    assert first.actual_cost_cents == 199_500
    again = await cases.stub.RecordRemediationCosts(costs_request(number, cost(f"{step}-1")))
    assert again.actual_cost_cents == 199_500
    assert await count(cases, RemediationCostRow) == 2
    code, error = await rpc_error(
        cases.stub.RecordRemediationCosts(costs_request(number, cost(f"{step}-1", amount=1)))
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION

    code, error = await rpc_error(cases.stub.CompleteRemediationWork(complete_request(number, "2026-04-30")))
    assert fields(error) == {"completed_on": "6.5.13"}  # before the work order existed
    code, error = await rpc_error(cases.stub.CompleteRemediationWork(complete_request(number, "2026-06-02")))
    assert fields(error) == {"completed_on": None}  # in the future
    done = await cases.stub.CompleteRemediationWork(complete_request(number))
    assert (done.status, done.completed_on) == ("completed", "2026-05-30")
    assert await cases.stub.CompleteRemediationWork(complete_request(number)) == done
    code, error = await rpc_error(cases.stub.RecordRemediationCosts(costs_request(number, cost(f"{step}-3"))))
    assert code == grpc.StatusCode.FAILED_PRECONDITION


async def test_no_work_before_council_decides(cases: CasesHarness) -> None:
    number = await open_case(cases)
    await cases.stub.CreateWorkOrder(create_request(number, estimate=600_000))
    code, error = await rpc_error(cases.stub.RecordRemediationCosts(costs_request(number, cost("c1"))))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert "awaiting Council's decision" in str(error) and "6.5.13" in str(error)
    schedule = cases_pb2.ScheduleRemediationWorkRequest(
        case_number=number, work_order_seq=1, step_key="s1", scheduled_on="2026-05-20", actor=SYSTEM
    )
    code, error = await rpc_error(cases.stub.ScheduleRemediationWork(schedule))
    assert code == grpc.StatusCode.FAILED_PRECONDITION


async def test_cancellation_before_any_cost(cases: CasesHarness) -> None:
    number = await open_case(cases)
    await cases.stub.CreateWorkOrder(create_request(number, estimate=600_000))
    cancel = cases_pb2.CancelWorkOrderRequest(
        case_number=number, work_order_seq=1, step_key="cancel", reason="", actor=SYSTEM
    )
    _, error = await rpc_error(cases.stub.CancelWorkOrder(cancel))
    assert fields(error) == {"reason": "6.5.10 f"}
    cancel.reason = "Owner cleaned up the property before Council met"
    cancelled = await cases.stub.CancelWorkOrder(cancel)
    assert cancelled.status == "cancelled"
    assert await cases.stub.CancelWorkOrder(cancel) == cancelled
    pending = await cases.stub.ListCouncilReportItems(cases_pb2.ListCouncilReportItemsRequest(actor=CLERK))
    assert list(pending.items) == []


async def test_restricted_work_orders_are_hidden_like_their_case(cases: CasesHarness) -> None:
    number = await open_case(cases, restricted=True)
    await cases.stub.CreateWorkOrder(create_request(number, estimate=700_000))
    officer = common_pb2.Actor(subject="officer-7", roles=["officer"])
    code, error = await rpc_error(
        cases.stub.GetWorkOrder(
            cases_pb2.GetWorkOrderRequest(case_number=number, work_order_seq=1, actor=officer)
        )
    )
    assert code == grpc.StatusCode.NOT_FOUND and isinstance(error, NotFound)
    supervisor = common_pb2.Actor(subject="sup-1", roles=["supervisor"])
    found = await cases.stub.GetWorkOrder(
        cases_pb2.GetWorkOrderRequest(case_number=number, work_order_seq=1, actor=supervisor)
    )
    assert found.restricted
    # Policy 6.10: a Council report does not locate a complaint about staff or Council.
    [item] = (
        await cases.stub.ListCouncilReportItems(cases_pb2.ListCouncilReportItemsRequest(actor=CLERK))
    ).items
    assert item.property_address == "" and "Cut grass" not in item.summary


async def test_scheduling_follows_the_approval(cases: CasesHarness) -> None:
    number = await open_case(cases)
    await cases.stub.CreateWorkOrder(create_request(number))  # approved May 1 (no gate)

    def schedule(on: str, step: str = "s1") -> cases_pb2.ScheduleRemediationWorkRequest:
        request = cases_pb2.ScheduleRemediationWorkRequest(
            case_number=number, work_order_seq=1, step_key=step, scheduled_on=on, actor=SYSTEM
        )
        request.occurred_at.CopyFrom(ts(MAY_1))
        return request

    _, error = await rpc_error(cases.stub.ScheduleRemediationWork(schedule("2026-04-30")))
    assert fields(error) == {"scheduled_on": "6.5.13"}
    _, error = await rpc_error(cases.stub.ScheduleRemediationWork(schedule("20 May")))
    assert fields(error) == {"scheduled_on": None}
    scheduled = await cases.stub.ScheduleRemediationWork(schedule("2026-05-20"))
    assert (scheduled.status, scheduled.scheduled_on) == ("scheduled", "2026-05-20")
    assert await cases.stub.ScheduleRemediationWork(schedule("2026-05-20")) == scheduled
    moved = await cases.stub.ScheduleRemediationWork(schedule("2026-05-27", "s2"))
    assert moved.scheduled_on == "2026-05-27"


async def test_no_cancellation_once_costs_are_recorded(cases: CasesHarness) -> None:
    number = await open_case(cases)
    await cases.stub.CreateWorkOrder(create_request(number))
    await cases.stub.RecordRemediationCosts(costs_request(number, cost("c1")))
    cancel = cases_pb2.CancelWorkOrderRequest(
        case_number=number, work_order_seq=1, step_key="cancel", reason="owner did it", actor=SYSTEM
    )
    code, error = await rpc_error(cases.stub.CancelWorkOrder(cancel))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "6.7.9" in str(error)


async def test_no_work_order_on_a_finished_case(cases: CasesHarness) -> None:
    number = await open_case(cases)
    await cases.stub.RecordStatus(
        record(number, common_pb2.CASE_STATUS_REJECTED, "reject", reason="civil matter")
    )
    code, error = await rpc_error(cases.stub.CreateWorkOrder(create_request(number)))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "rejected" in str(error)


async def test_cost_dates_and_council_report_dates_are_not_in_the_future(cases: CasesHarness) -> None:
    number = await open_case(cases)
    await cases.stub.CreateWorkOrder(create_request(number, estimate=700_000))
    _, error = await rpc_error(
        cases.stub.RecordRemediationCosts(costs_request(number, cost("c1", incurred_on="2026-06-02")))
    )
    assert isinstance(error, InvalidArgument)  # the work order is not approved, but fields come first
    assert fields(error) == {"costs[0].incurred_on": None}
    [item] = (
        await cases.stub.ListCouncilReportItems(cases_pb2.ListCouncilReportItemsRequest(actor=CLERK))
    ).items
    _, error = await rpc_error(
        cases.stub.MarkCouncilItemsReported(
            cases_pb2.MarkCouncilItemsReportedRequest(
                item_ids=[item.item_id], meeting_on="2999-01-01", actor=CLERK
            )
        )
    )
    assert fields(error) == {"meeting_on": None}
    _, error = await rpc_error(
        cases.stub.ExportTaxRoll(cases_pb2.ExportTaxRollRequest(export_key=" ", actor=TREASURER))
    )
    assert fields(error) == {"export_key": None}
