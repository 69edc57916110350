"""OpenCase through a real gRPC channel against PostgreSQL: find-or-create with duplicate
(policy 6.6.5) and repeat-after-compliance (6.6.3) detection, idempotent retries, case
numbers, and exactly one case when complaints about one place race each other."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from bylaw.v1 import cases_pb2, common_pb2
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from services.cases.domain.geo import METRES_PER_DEGREE_LAT
from services.cases.entrypoints.grpc_servicer import MAX_OPEN_CASES
from services.common.errors import InvalidArgument
from services.common.grpc_client import domain_error_from_status
from tests.integration.cases.conftest import CasesHarness
from tests.integration.cases.support import (
    CENTRE_45,
    DUNDAS_100,
    JOHN_12,
    open_request,
    record,
    rpc_error,
    seed_roll,
)

CREATED = cases_pb2.OPEN_CASE_DISPOSITION_CREATED
JOINED = cases_pb2.OPEN_CASE_DISPOSITION_JOINED
REPEAT = cases_pb2.OPEN_CASE_DISPOSITION_REPEAT_AFTER_COMPLIANCE


async def _count(cases: CasesHarness, sql: str) -> int:
    async with cases.app_sessions() as session:
        return int((await session.execute(text(sql))).scalar_one())


async def test_create_then_join_by_roll_address_and_gps(cases: CasesHarness) -> None:
    await seed_roll(cases.stub)
    first = await cases.stub.OpenCase(open_request(address="100 Dundas Street East, Napanee, ON K7R 1H8"))
    assert first.disposition == CREATED
    assert first.case.case_number.startswith("BL-") and len(first.case.case_number) == len("BL-2026-000001")
    assert first.case.status == common_pb2.CASE_STATUS_RECEIVED
    assert first.property_match.method == "address"
    assert first.case.property_match.property.roll_number == DUNDAS_100
    assert first.case.zone_code == "DOWNTOWN"

    by_roll = await cases.stub.OpenCase(open_request(address_id="1121-010-001-00100-0000"))
    by_gps = await cases.stub.OpenCase(open_request(point=(44.24870 + 15 / METRES_PER_DEGREE_LAT, -76.95000)))
    assert (by_roll.disposition, by_roll.property_match.method) == (JOINED, "roll_number")
    assert (by_gps.disposition, by_gps.property_match.method) == (JOINED, "gps")
    assert 14 < by_gps.property_match.distance_m < 16
    assert by_gps.case.case_number == first.case.case_number
    assert by_gps.case.complaint_count == 3

    other_code = await cases.stub.OpenCase(open_request(address="100 Dundas St E", service_code="noise"))
    assert other_code.disposition == CREATED
    assert await _count(cases, "SELECT count(*) FROM cases.cases") == 2
    assert await _count(cases, "SELECT count(*) FROM cases.case_complaints") == 4


async def test_retry_returns_same_case_and_disposition(cases: CasesHarness) -> None:
    await seed_roll(cases.stub)
    create = open_request(address="12 John St", complaint_id="SR-retry-1")
    join = open_request(address="12 John Street", complaint_id="SR-retry-2")
    first = await cases.stub.OpenCase(create)
    joined = await cases.stub.OpenCase(join)
    again_create = await cases.stub.OpenCase(create)
    again_join = await cases.stub.OpenCase(join)
    assert (again_create.disposition, again_join.disposition) == (CREATED, JOINED)
    assert again_create.case.case_number == again_join.case.case_number == first.case.case_number
    assert again_join.case.complaint_count == joined.case.complaint_count == 2
    assert again_create.property_match == first.property_match
    assert await _count(cases, "SELECT count(*) FROM cases.outbox") == 2  # no events for retries


async def test_repeat_after_compliance_then_new_case_after_lookback(cases: CasesHarness) -> None:
    await seed_roll(cases.stub)
    t0 = datetime(2026, 4, 1, 14, 0, tzinfo=UTC)
    first = await cases.stub.OpenCase(open_request(address="12 John St", received_at=t0))
    number = first.case.case_number
    await cases.stub.RecordStatus(record(number, common_pb2.CASE_STATUS_UNDER_INVESTIGATION, "investigate"))
    await cases.stub.RecordStatus(
        record(number, common_pb2.CASE_STATUS_CLOSED, "close", outcome="voluntary_compliance", occurred_at=t0)
    )
    repeat = await cases.stub.OpenCase(
        open_request(address="12 John St", received_at=t0 + timedelta(days=30))
    )
    assert repeat.disposition == REPEAT  # policy 6.6.3
    assert repeat.case.case_number == number
    assert repeat.case.status == common_pb2.CASE_STATUS_CLOSED
    assert await _count(cases, "SELECT count(*) FROM cases.cases") == 1

    later = await cases.stub.OpenCase(
        open_request(address="12 John St", received_at=t0 + timedelta(days=181))
    )
    assert later.disposition == CREATED and later.case.case_number != number


async def test_repeat_lookback_comes_from_settings(cases: CasesHarness) -> None:
    assert cases.app.service.policy.repeat_lookback == timedelta(days=180)
    assert cases.app.service.policy.match_radius_m == 25.0


async def test_complied_case_that_failed_reinspection_is_open_again(cases: CasesHarness) -> None:
    await seed_roll(cases.stub)
    number = (await cases.stub.OpenCase(open_request(address="12 John St"))).case.case_number
    await cases.stub.RecordStatus(record(number, common_pb2.CASE_STATUS_COMPLIED, "complied"))
    await cases.stub.RecordStatus(record(number, common_pb2.CASE_STATUS_REINSPECTION, "reinspect"))
    again = await cases.stub.OpenCase(open_request(address="12 John St"))
    assert again.disposition == JOINED and again.case.case_number == number


async def test_case_numbers_follow_the_toronto_year(cases: CasesHarness) -> None:
    eve = datetime(2027, 1, 1, 3, 0, tzinfo=UTC)  # 22:00 on 31 December in Napanee
    a = await cases.stub.OpenCase(open_request(address="1 Water St", received_at=eve))
    b = await cases.stub.OpenCase(open_request(address="2 Water St", received_at=eve + timedelta(hours=3)))
    c = await cases.stub.OpenCase(open_request(address="3 Water St", received_at=eve + timedelta(hours=4)))
    assert [a.case.case_number, b.case.case_number, c.case.case_number] == [
        "BL-2026-000001",
        "BL-2027-000001",
        "BL-2027-000002",
    ]


async def test_concurrent_complaints_about_one_parcel_make_one_case(cases: CasesHarness) -> None:
    await seed_roll(cases.stub)
    n = 16
    # The same parcel reached three ways at once: by address, by roll number and by GPS.
    requests = []
    for i in range(n):
        if i % 3 == 0:
            requests.append(open_request(address="12 John Street, Napanee"))
        elif i % 3 == 1:
            requests.append(open_request(address_id=JOHN_12))
        else:
            requests.append(open_request(point=(44.25040, -76.95125)))
    responses = await asyncio.gather(*(cases.stub.OpenCase(r) for r in requests))
    dispositions = sorted(r.disposition for r in responses)
    assert dispositions == [CREATED] + [JOINED] * (n - 1)
    assert len({r.case.case_number for r in responses}) == 1
    assert await _count(cases, "SELECT count(*) FROM cases.cases") == 1
    assert await _count(cases, "SELECT complaint_count FROM cases.cases") == n
    # The losers waited on the dedupe lock and joined: no case number was even taken.
    year = responses[0].case.case_number.split("-")[1]
    assert await _count(cases, f"SELECT last_value FROM cases.case_number_seq_{year}") == 1


async def test_concurrent_gps_only_complaints_nearby_make_one_case(cases: CasesHarness) -> None:
    # A field with no parcel: complaints a few metres apart are the same place.
    base_lat, base_lon = 44.3100, -76.8800
    points = [(base_lat + (i % 4) * 4 / METRES_PER_DEGREE_LAT, base_lon) for i in range(10)]
    responses = await asyncio.gather(
        *(cases.stub.OpenCase(open_request(point=p, service_code="open-air-burning")) for p in points)
    )
    assert sorted(r.disposition for r in responses) == [CREATED] + [JOINED] * 9
    assert len({r.case.case_number for r in responses}) == 1


async def test_concurrent_retries_of_one_complaint_make_one_record(cases: CasesHarness) -> None:
    await seed_roll(cases.stub)
    request = open_request(address="100 Dundas St E", complaint_id="SR-same")
    responses = await asyncio.gather(*(cases.stub.OpenCase(request) for _ in range(8)))
    assert {r.disposition for r in responses} == {CREATED}
    assert {r.case.complaint_count for r in responses} == {1}
    assert await _count(cases, "SELECT count(*) FROM cases.case_complaints") == 1


async def test_unique_index_refuses_a_second_open_case_for_a_key(cases: CasesHarness) -> None:
    """The backstop beneath the advisory lock: the database itself holds policy 6.6.5."""
    first = await cases.stub.OpenCase(open_request(address="9 Mill St"))
    async with cases.app_sessions() as session:
        with pytest.raises(IntegrityError, match="uq_cases_open_dedupe"):
            await session.execute(
                text(
                    "INSERT INTO cases.cases (case_number, status, priority_rank, service_code, dedupe_kind,"
                    " dedupe_key, received_at, updated_at)"
                    " SELECT 'BL-2026-999999', 'received', 3, service_code,"
                    " dedupe_kind, dedupe_key, now(), now() FROM cases.cases WHERE case_number = :n"
                ),
                {"n": first.case.case_number},
            )
    # Once that case is no longer open, the key is free for a new one.
    await cases.stub.RecordStatus(
        record(first.case.case_number, common_pb2.CASE_STATUS_REJECTED, "reject", reason="frivolous (4.4)")
    )
    second = await cases.stub.OpenCase(open_request(address="9 Mill Street"))
    assert second.disposition == CREATED


async def test_invalid_open_case_names_fields(cases: CasesHarness) -> None:
    request = open_request(address="")
    request.priority = common_pb2.PRIORITY_UNSPECIFIED
    code, error = await rpc_error(cases.stub.OpenCase(request))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert isinstance(error, InvalidArgument)
    assert {v.field for v in error.violations} == {"priority", "location"}
    assert next(v for v in error.violations if v.field == "location").policy == "4.10"


async def test_open_cases_answers_each_request_in_place(cases: CasesHarness) -> None:
    """The batch call intake uses at volume: each request handled as OpenCase handles it,
    each result in its request's position, a bad request failing only itself."""
    await seed_roll(cases.stub)
    invalid = open_request(address="")
    invalid.priority = common_pb2.PRIORITY_UNSPECIFIED
    requests = [
        open_request(address="12 John Street, Napanee"),
        invalid,
        open_request(address_id=JOHN_12),  # the same parcel: joins the first
        open_request(address="9 Mill St", service_code="noise"),
    ]
    response = await cases.stub.OpenCases(cases_pb2.OpenCasesRequest(requests=requests))
    results = list(response.results)
    assert [r.WhichOneof("result") for r in results] == ["response", "error", "response", "response"]
    first, _, joined, other = (r.response for r in results)
    assert sorted([first.disposition, joined.disposition]) == [CREATED, JOINED]
    assert first.case.case_number == joined.case.case_number
    assert other.disposition == CREATED
    assert other.case.case_number != first.case.case_number
    # The error is OpenCase's own: INVALID_ARGUMENT naming the fields, with the policy.
    error = domain_error_from_status(results[1].error)
    assert isinstance(error, InvalidArgument)
    assert {v.field for v in error.violations} == {"priority", "location"}
    assert next(v for v in error.violations if v.field == "location").policy == "4.10"
    # Retried as a batch: the same answers, nothing new (idempotent on complaint_id).
    again = await cases.stub.OpenCases(cases_pb2.OpenCasesRequest(requests=requests))
    assert [r.response.case.case_number for r in again.results if r.HasField("response")] == [
        first.case.case_number,
        joined.case.case_number,
        other.case.case_number,
    ]
    assert await _count(cases, "SELECT count(*) FROM cases.cases") == 2
    assert await _count(cases, "SELECT count(*) FROM cases.case_complaints") == 3


async def test_open_cases_writes_a_batch_in_one_transaction(cases: CasesHarness) -> None:
    """Intake's grouped complaints cost one commit, not one each: every case of the batch
    carries the same inserting transaction id."""
    requests = [open_request(address=f"{n} Water St") for n in range(1, 11)]
    response = await cases.stub.OpenCases(cases_pb2.OpenCasesRequest(requests=requests))
    assert [r.response.disposition for r in response.results] == [CREATED] * 10
    assert await _count(cases, "SELECT count(*) FROM cases.cases") == 10
    assert await _count(cases, "SELECT count(DISTINCT xmin::text) FROM cases.cases") == 1
    # The outbox carries one case.created per case, written with them.
    assert await _count(cases, "SELECT count(*) FROM cases.outbox WHERE subject LIKE '%case.created'") == 10


async def test_open_cases_matches_each_address_to_the_roll(cases: CasesHarness) -> None:
    """The batch reads its streets' parcels once, up front; each complaint still gets its
    own parcel, and a street with none on the roll matches nothing."""
    await seed_roll(cases.stub)
    requests = [
        open_request(address="12 John Street, Napanee"),
        open_request(address="100 Dundas St E"),
        open_request(address="45 Centre St N", service_code="noise"),
        open_request(address="5 Nowhere Rd"),
    ]
    response = await cases.stub.OpenCases(cases_pb2.OpenCasesRequest(requests=requests))
    matches = [r.response.property_match for r in response.results]
    assert [(m.method, m.property.roll_number) for m in matches] == [
        ("address", JOHN_12),
        ("address", DUNDAS_100),
        ("address", CENTRE_45),
        ("", ""),
    ]
    assert [r.response.disposition for r in response.results] == [CREATED] * 4


async def test_open_cases_a_command_failing_inside_the_batch_fails_only_itself(cases: CasesHarness) -> None:
    """A roll number in the right form but not on the roll passes the field checks and is
    refused only once the roll is read, inside the batch's transaction: the batch is
    undone and each command runs on its own, so the others still get one case each."""
    await seed_roll(cases.stub)
    off_roll = "1121999999999990000"
    requests = [
        open_request(address="3 Water St"),
        open_request(address_id=off_roll),
        open_request(address="4 Water St"),
    ]
    response = await cases.stub.OpenCases(cases_pb2.OpenCasesRequest(requests=requests))
    results = list(response.results)
    assert [r.WhichOneof("result") for r in results] == ["response", "error", "response"]
    assert [results[0].response.disposition, results[2].response.disposition] == [CREATED, CREATED]
    error = domain_error_from_status(results[1].error)
    assert isinstance(error, InvalidArgument)
    assert [(v.field, v.policy) for v in error.violations] == [("location.address_id", "4.10")]
    # Nothing of the undone batch survived beside the one-by-one answers.
    assert await _count(cases, "SELECT count(*) FROM cases.cases") == 2
    assert await _count(cases, "SELECT count(*) FROM cases.case_complaints") == 2
    assert await _count(cases, "SELECT count(*) FROM cases.outbox WHERE subject LIKE '%case.created'") == 2


async def test_concurrent_batches_about_the_same_places_in_opposite_orders_make_one_case_each(
    cases: CasesHarness,
) -> None:
    """Two batches that take the same places' dedupe locks in opposite orders may deadlock;
    PostgreSQL then aborts one, which goes through one command at a time. Either way each
    place ends with one case and every complaint is answered once (policy 6.6.5)."""
    places = ("7 Water St", "8 Water St", "9 Water St")
    forward = [open_request(address=a) for a in places]
    backward = [open_request(address=a) for a in reversed(places)]
    answers = await asyncio.gather(
        cases.stub.OpenCases(cases_pb2.OpenCasesRequest(requests=forward)),
        cases.stub.OpenCases(cases_pb2.OpenCasesRequest(requests=backward)),
    )
    dispositions = sorted(r.response.disposition for a in answers for r in a.results)
    assert dispositions == sorted([CREATED] * 3 + [JOINED] * 3)
    assert await _count(cases, "SELECT count(*) FROM cases.cases") == 3
    assert await _count(cases, "SELECT count(*) FROM cases.case_complaints") == 6


async def test_open_cases_refuses_an_oversized_batch(cases: CasesHarness) -> None:
    requests = [open_request(address=f"{n} Water St") for n in range(MAX_OPEN_CASES + 1)]
    code, error = await rpc_error(cases.stub.OpenCases(cases_pb2.OpenCasesRequest(requests=requests)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert isinstance(error, InvalidArgument)
    assert [v.field for v in error.violations] == ["requests"]
    assert await _count(cases, "SELECT count(*) FROM cases.cases") == 0
