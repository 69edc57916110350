"""The remediation workflow's pure rules (its update validators use them; no server needed):
who may act (policy 6.5.13-6.5.14), at which phase, with which fields, and the input a
remediation may start with."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.workflow import remediation_support as rs
from workflows.remediation import (
    Phase,
    Rejection,
    check_cancel,
    check_completion,
    check_costs,
    check_council_decision,
    check_emergency_approval,
    check_input,
    check_record_costs,
    check_schedule,
)

TODAY = date(2026, 6, 15)
APPROVED_ON = date(2026, 6, 1)


def rejected(check: Any, *args: Any) -> tuple[str, str, str | None]:
    with pytest.raises(Rejection) as caught:
        check(*args)
    return caught.value.kind, caught.value.field, caught.value.policy


def test_council_decision() -> None:
    ok = rs.council_decision("approved", "2026-06-09")
    check_council_decision(ok, Phase.AWAITING_COUNCIL, TODAY)
    assert rejected(check_council_decision, ok, Phase.APPROVED, TODAY) == (
        "FailedPrecondition",
        "phase",
        "6.5.13",
    )
    assert rejected(
        check_council_decision,
        rs.council_decision("approved", "2026-06-09", actor_roles=["cao"]),
        Phase.AWAITING_COUNCIL,
        TODAY,
    ) == ("PermissionDenied", "actor_roles", "6.5.13")
    assert rejected(
        check_council_decision, rs.council_decision("approved", "15/06/2026"), Phase.AWAITING_COUNCIL, TODAY
    ) == ("InvalidArgument", "meeting_date", "6.5.13")
    assert rejected(
        check_council_decision,
        rs.council_decision("approved", "2026-06-09", resolution_number="x" * 65),
        Phase.AWAITING_COUNCIL,
        TODAY,
    ) == ("InvalidArgument", "resolution_number", None)


@pytest.mark.parametrize("role", ["cao", "cbo", "fire_chief"])
def test_emergency_approvers_and_the_role_they_approve_as(role: str) -> None:
    assert (
        check_emergency_approval(rs.emergency(actor_roles=["officer", role]), Phase.AWAITING_COUNCIL) == role
    )


def test_emergency_needs_a_recorded_risk_and_no_time_for_council() -> None:
    assert rejected(check_emergency_approval, rs.emergency(risk="noise"), Phase.AWAITING_COUNCIL) == (
        "InvalidArgument",
        "risk",
        "6.5.14",
    )
    assert rejected(
        check_emergency_approval, rs.emergency(no_time_for_council=False), Phase.AWAITING_COUNCIL
    ) == ("InvalidArgument", "no_time_for_council", "6.5.14")
    assert rejected(check_emergency_approval, rs.emergency(), Phase.SCHEDULED) == (
        "FailedPrecondition",
        "phase",
        "6.5.14",
    )


def test_work_is_scheduled_and_completed_only_after_the_approval() -> None:
    check_schedule(rs.schedule("2026-06-01"), Phase.APPROVED, APPROVED_ON)
    check_schedule(rs.schedule("2026-06-20"), Phase.SCHEDULED, APPROVED_ON)  # rescheduled
    assert rejected(check_schedule, rs.schedule("2026-05-31"), Phase.APPROVED, APPROVED_ON) == (
        "InvalidArgument",
        "scheduled_on",
        "6.5.13",
    )
    assert rejected(check_schedule, rs.schedule("2026-06-20"), Phase.AWAITING_COUNCIL, APPROVED_ON)[:2] == (
        "FailedPrecondition",
        "phase",
    )
    assert rejected(
        check_schedule, rs.schedule("2026-06-20", actor_roles=["clerk"]), Phase.APPROVED, APPROVED_ON
    )[:2] == ("PermissionDenied", "actor_roles")
    done = rs.completion("2026-06-10", rs.contractor_cost())
    check_completion(done, Phase.SCHEDULED, APPROVED_ON, TODAY, 0)
    assert rejected(check_completion, rs.completion("2026-06-16"), Phase.SCHEDULED, APPROVED_ON, TODAY, 100)[
        :2
    ] == (
        "InvalidArgument",
        "completed_on",
    )
    assert rejected(
        check_completion, rs.completion("2026-06-10"), Phase.SCHEDULED, APPROVED_ON, TODAY, 0
    ) == (
        "InvalidArgument",
        "costs",
        "6.7.9",
    )
    check_completion(
        rs.completion("2026-06-10"), Phase.SCHEDULED, APPROVED_ON, TODAY, 100
    )  # costs recorded earlier


def test_cost_entries() -> None:
    check_costs([rs.contractor_cost(), rs.staff_cost()], TODAY)
    future = rs.contractor_cost()
    future.incurred_on = "2026-06-16"
    assert rejected(check_costs, [future], TODAY)[:2] == ("InvalidArgument", "costs[0].incurred_on")
    hours_on_invoice = rs.contractor_cost()
    hours_on_invoice.hours = 2
    assert rejected(check_costs, [rs.staff_cost(), hours_on_invoice], TODAY)[:2] == (
        "InvalidArgument",
        "costs[1].hours",
    )
    assert rejected(check_costs, [], TODAY)[:2] == ("InvalidArgument", "costs")
    check_costs([], TODAY, required=False)
    assert rejected(check_record_costs, rs.costs(rs.contractor_cost()), Phase.COMPLETED, TODAY)[:2] == (
        "FailedPrecondition",
        "phase",
    )


def test_cancellation() -> None:
    check_cancel(rs.cancel("owner complied"), Phase.AWAITING_COUNCIL, 0)
    assert rejected(check_cancel, rs.cancel("owner complied"), Phase.COMPLETED, 0)[:2] == (
        "FailedPrecondition",
        "phase",
    )
    assert rejected(check_cancel, rs.cancel("owner complied", actor_roles=["treasurer"]), Phase.APPROVED, 0)[
        :2
    ] == (
        "PermissionDenied",
        "actor_roles",
    )


def test_input_problems_are_all_named() -> None:
    assert check_input(rs.make_input()) == []
    problems = check_input(
        rs.make_input(
            "BL-26-1",
            work_order_seq=0,
            estimate_cents=-1,
            work_description=" ",
            contractor="",
            requested_by="",
            payment_period_days=366,
            town_timezone="Nowhere/Else",
        )
    )
    assert [p.split(":")[0] for p in problems] == [
        "case_number",
        "work_order_seq",
        "estimate_cents",
        "work_description",
        "contractor",
        "requested_by",
        "payment_period_days",
        "town_timezone",
    ]
