"""RecordStatus, AssignCase, GetCase and ListCases over gRPC against PostgreSQL: the
status history, idempotency on (case_number, step_key), restricted visibility (policy
6.10), the work queue (6.5.4) and the append-only audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from bylaw.v1 import cases_pb2, common_pb2
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from services.common.errors import InvalidArgument
from tests.integration.cases.conftest import CasesHarness
from tests.integration.cases.support import open_request, record, rpc_error, seed_roll

OFFICER = common_pb2.Actor(subject="officer-1", roles=["officer"])
SUPERVISOR = common_pb2.Actor(subject="sup-1", roles=["supervisor"])


async def test_status_history_and_idempotent_steps(cases: CasesHarness) -> None:
    await seed_roll(cases.stub)
    number = (await cases.stub.OpenCase(open_request(address="12 John St"))).case.case_number
    step = record(number, common_pb2.CASE_STATUS_UNDER_INVESTIGATION, "assign", reason="officer assigned")
    first = await cases.stub.RecordStatus(step)
    again = await cases.stub.RecordStatus(step)
    assert first.status == again.status == common_pb2.CASE_STATUS_UNDER_INVESTIGATION
    assert first.status_reason == "officer assigned"
    await cases.stub.RecordStatus(record(number, common_pb2.CASE_STATUS_NOTICE_ISSUED, "notice-1"))
    closed_at = datetime(2026, 9, 1, 16, 0, tzinfo=UTC)
    closed = await cases.stub.RecordStatus(
        record(
            number, common_pb2.CASE_STATUS_CLOSED, "close", outcome="order_compliance", occurred_at=closed_at
        )
    )
    assert closed.status == common_pb2.CASE_STATUS_CLOSED
    assert closed.closed_at.ToDatetime(tzinfo=UTC) == closed_at
    assert closed.outcome == "order_compliance"
    async with cases.app_sessions() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT h.step_key, h.from_status, h.to_status, h.actor_subject"
                    " FROM cases.status_history h"
                    " JOIN cases.cases c ON c.id = h.case_id WHERE c.case_number = :n ORDER BY h.id"
                ),
                {"n": number},
            )
        ).all()
    timeline = await cases.stub.ListStatusHistory(
        cases_pb2.ListStatusHistoryRequest(case_number=number, actor=OFFICER)
    )
    assert [e.step_key for e in timeline.entries] == ["opened", "assign", "notice-1", "close"]
    assert timeline.entries[-1].outcome == "order_compliance"
    assert [tuple(r) for r in rows] == [
        ("opened", "", "received", "svc-intake"),
        ("assign", "received", "under_investigation", "worker"),
        ("notice-1", "under_investigation", "notice_issued", "worker"),
        ("close", "notice_issued", "closed", "worker"),
    ]


async def test_record_status_errors(cases: CasesHarness) -> None:
    await seed_roll(cases.stub)
    number = (await cases.stub.OpenCase(open_request(address="12 John St"))).case.case_number
    code, _ = await rpc_error(
        cases.stub.RecordStatus(record("BL-2026-424242", common_pb2.CASE_STATUS_COMPLIED, "s"))
    )
    assert code == grpc.StatusCode.NOT_FOUND
    code, error = await rpc_error(cases.stub.RecordStatus(record(number, common_pb2.CASE_STATUS_CLOSED, "s")))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert isinstance(error, InvalidArgument) and error.violations[0].field == "outcome"
    code, error = await rpc_error(
        cases.stub.RecordStatus(record(number, common_pb2.CASE_STATUS_UNSPECIFIED, "s"))
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert isinstance(error, InvalidArgument) and error.violations[0].field == "status"
    await cases.stub.RecordStatus(record(number, common_pb2.CASE_STATUS_ESCALATED, "esc"))
    code, _ = await rpc_error(cases.stub.RecordStatus(record(number, common_pb2.CASE_STATUS_COMPLIED, "esc")))
    assert code == grpc.StatusCode.FAILED_PRECONDITION  # same step, different status
    await cases.stub.RecordStatus(
        record(number, common_pb2.CASE_STATUS_REFERRED, "refer", reason="OPP matter (6.11.2)")
    )
    code, _ = await rpc_error(cases.stub.RecordStatus(record(number, common_pb2.CASE_STATUS_ESCALATED, "x")))
    assert code == grpc.StatusCode.FAILED_PRECONDITION  # a finished case is not reopened


async def test_restricted_cases_hidden_from_officers(cases: CasesHarness) -> None:
    await seed_roll(cases.stub)
    public = (await cases.stub.OpenCase(open_request(address="12 John St"))).case.case_number
    secret = (
        await cases.stub.OpenCase(open_request(address="100 Dundas St E", restricted=True))
    ).case.case_number
    code, _ = await rpc_error(cases.stub.GetCase(cases_pb2.GetCaseRequest(case_number=secret, actor=OFFICER)))
    assert code == grpc.StatusCode.NOT_FOUND  # policy 6.10: not even its existence
    seen = await cases.stub.GetCase(cases_pb2.GetCaseRequest(case_number=secret, actor=SUPERVISOR))
    assert seen.restricted
    delegated = common_pb2.Actor(subject="o2", roles=["officer", "restricted_cases"])
    assert (
        await cases.stub.GetCase(cases_pb2.GetCaseRequest(case_number=secret, actor=delegated))
    ).restricted
    officer_list = await cases.stub.ListCases(cases_pb2.ListCasesRequest(actor=OFFICER))
    assert [c.case_number for c in officer_list.cases] == [public] and officer_list.total == 1
    supervisor_list = await cases.stub.ListCases(cases_pb2.ListCasesRequest(actor=SUPERVISOR))
    assert supervisor_list.total == 2


async def test_work_queue_order_filters_and_pages(cases: CasesHarness) -> None:
    await seed_roll(cases.stub)
    t0 = datetime(2026, 2, 2, 15, 0, tzinfo=UTC)
    specs = [
        ("1 Elm St", common_pb2.PRIORITY_LOW, 0),
        ("2 Elm St", common_pb2.PRIORITY_HIGH, 4),
        ("3 Elm St", common_pb2.PRIORITY_MEDIUM, 1),
        ("4 Elm St", common_pb2.PRIORITY_HIGH, 2),
        ("5 Elm St", common_pb2.PRIORITY_LOW, -5),
        ("6 Elm St", common_pb2.PRIORITY_MEDIUM, -1),
        ("7 Elm St", common_pb2.PRIORITY_HIGH, 2),
    ]
    numbers: dict[str, str] = {}
    for address, priority, days in specs:
        response = await cases.stub.OpenCase(
            open_request(address=address, priority=priority, received_at=t0 + timedelta(days=days))
        )
        numbers[address] = response.case.case_number
    # High first, then medium, then low; oldest first within each (policy 6.5.4); equal
    # received_at falls back to the case number.
    expected = [
        numbers[a]
        for a in ("4 Elm St", "7 Elm St", "2 Elm St", "6 Elm St", "3 Elm St", "5 Elm St", "1 Elm St")
    ]
    seen: list[str] = []
    token = ""
    while True:
        page = await cases.stub.ListCases(
            cases_pb2.ListCasesRequest(
                page=common_pb2.PageRequest(page_size=3, page_token=token), actor=OFFICER
            )
        )
        assert page.total == 7
        seen.extend(c.case_number for c in page.cases)
        token = page.next_page_token
        if not token:
            break
    assert seen == expected
    await cases.stub.RecordStatus(
        record(numbers["2 Elm St"], common_pb2.CASE_STATUS_UNDER_INVESTIGATION, "start")
    )
    investigating = await cases.stub.ListCases(
        cases_pb2.ListCasesRequest(statuses=[common_pb2.CASE_STATUS_UNDER_INVESTIGATION], actor=OFFICER)
    )
    assert [c.case_number for c in investigating.cases] == [numbers["2 Elm St"]]
    medium = await cases.stub.ListCases(
        cases_pb2.ListCasesRequest(priority=common_pb2.PRIORITY_MEDIUM, actor=OFFICER)
    )
    assert [c.case_number for c in medium.cases] == [numbers["6 Elm St"], numbers["3 Elm St"]]
    by_code = await cases.stub.ListCases(cases_pb2.ListCasesRequest(service_code="noise", actor=OFFICER))
    assert by_code.total == 0
    code, _ = await rpc_error(
        cases.stub.ListCases(cases_pb2.ListCasesRequest(page=common_pb2.PageRequest(page_token="garbage!")))
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT


async def test_routing_and_reassignment(cases: CasesHarness) -> None:
    await seed_roll(cases.stub)
    await cases.stub.UpsertOfficers(
        cases_pb2.UpsertOfficersRequest(
            officers=[
                cases_pb2.Officer(
                    officer_id="BD-1",
                    display_name="Sam",
                    department="BD",
                    zone_codes=["DOWNTOWN"],
                    active=True,
                ),
                cases_pb2.Officer(officer_id="BD-2", display_name="Kim", department="BD", active=True),
                cases_pb2.Officer(officer_id="BE-1", display_name="Lee", department="BE", active=True),
            ]
        )
    )
    opened = await cases.stub.OpenCase(open_request(address="100 Dundas St E", enforced_by=["BD"]))
    assert opened.case.assigned_officer_id == "BD-1"  # department and zone (spec 1.2)
    number = opened.case.case_number
    request = cases_pb2.AssignCaseRequest(
        case_number=number, officer_id="BD-2", step_key="reassign-1", reason="workload", actor=SUPERVISOR
    )
    assert (await cases.stub.AssignCase(request)).assigned_officer_id == "BD-2"
    assert (await cases.stub.AssignCase(request)).assigned_officer_id == "BD-2"
    mine = await cases.stub.ListCases(cases_pb2.ListCasesRequest(assigned_officer_id="BD-2", actor=OFFICER))
    assert [c.case_number for c in mine.cases] == [number]
    code, _ = await rpc_error(
        cases.stub.AssignCase(
            cases_pb2.AssignCaseRequest(
                case_number=number, officer_id="GHOST", step_key="x", actor=SUPERVISOR
            )
        )
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    async with cases.app_sessions() as session:
        assigned = (
            await session.execute(
                text("SELECT count(*) FROM cases.outbox WHERE subject = 'bylaw.events.case.assigned'")
            )
        ).scalar_one()
    assert assigned == 1


async def test_every_state_change_is_audited_and_the_log_is_append_only(cases: CasesHarness) -> None:
    await seed_roll(cases.stub)
    number = (await cases.stub.OpenCase(open_request(address="12 John St"))).case.case_number
    await cases.stub.OpenCase(open_request(address="12 John St"))
    await cases.stub.RecordStatus(record(number, common_pb2.CASE_STATUS_UNDER_INVESTIGATION, "s1"))
    async with cases.app_sessions() as session:
        rows = (
            await session.execute(
                text("SELECT actor_subject, action, case_number FROM cases.audit_log ORDER BY id")
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("system", "zones.upserted", None),
        ("system", "properties.imported", None),
        ("svc-intake", "case.created", number),
        ("svc-intake", "case.complaint_joined", number),
        ("worker", "case.status_recorded", number),
    ]
    for statement in (
        "UPDATE cases.audit_log SET actor_subject = 'someone-else'",
        "DELETE FROM cases.audit_log",
        "TRUNCATE cases.audit_log",
    ):
        async with cases.app_sessions() as session:
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(text(statement))


async def test_workflow_style_calls_referral_close_and_restricted_read(cases: CasesHarness) -> None:
    """What the case workflow sends: actor role "system", the outcome as reason prefix."""
    await seed_roll(cases.stub)
    system = common_pb2.Actor(subject="system:case-lifecycle", roles=["system"])
    secret = (await cases.stub.OpenCase(open_request(address="12 John St", restricted=True))).case.case_number
    assert (await cases.stub.GetCase(cases_pb2.GetCaseRequest(case_number=secret, actor=system))).restricted
    await cases.stub.RecordStatus(
        record(secret, common_pb2.CASE_STATUS_REFERRED, "refer", reason="trespassing: OPP (6.11.2)")
    )
    closed = await cases.stub.RecordStatus(
        record(
            secret, common_pb2.CASE_STATUS_CLOSED, "close", reason="referred: complainant told to call OPP"
        )
    )
    assert closed.status == common_pb2.CASE_STATUS_CLOSED and closed.outcome == "referred"
    assert closed.HasField("closed_at")
