"""What OpenCase relies on to run at 311 volume (issue 3), against PostgreSQL through the
real gRPC service: case numbers from a sequence per Toronto year (created with the year's
first case, never reusing a number, gaps after a rollback), officers' open caseloads kept
by a trigger (routing reads those, spec 1.2), the roster and zone polygons cached until any
replica changes them, the dedupe lock held before the next statement runs (policy 6.6.5),
and events and audit entries that commit, or vanish, with the case."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from bylaw.v1 import cases_pb2, common_pb2
from sqlalchemy import text

from services.cases.adapters.repository import SqlUnitOfWork, lock_id
from services.cases.bootstrap import build_service
from services.cases.domain.cases import OPEN_STATUSES, CaseStatus, Priority
from services.cases.domain.geo import Point
from services.cases.service_layer.commands import Actor, Location, OpenCase
from services.cases.service_layer.ports import AuditEntry
from services.common.events import DomainEvent
from tests.integration.cases.conftest import CasesHarness
from tests.integration.cases.support import open_request, record, seed_roll

CREATED = cases_pb2.OPEN_CASE_DISPOSITION_CREATED


def _in(year: int) -> datetime:
    """Mid-June of ``year``, well inside the Toronto year."""
    return datetime(year, 6, 15, 16, 0, tzinfo=UTC)


async def _scalar(cases: CasesHarness, sql: str, **params: Any) -> Any:
    async with cases.app_sessions() as session:
        return (await session.execute(text(sql), params)).scalar()


async def _rows(cases: CasesHarness, sql: str) -> list[tuple[Any, ...]]:
    async with cases.app_sessions() as session:
        return [tuple(r) for r in (await session.execute(text(sql))).all()]


# --- case numbers ---------------------------------------------------------------------------


async def test_a_years_first_case_creates_its_sequence(cases: CasesHarness) -> None:
    assert await _scalar(cases, "SELECT to_regclass('cases.case_number_seq_2031')::text") is None
    first = await cases.stub.OpenCase(open_request(address="1 Water St", received_at=_in(2031)))
    assert first.case.case_number == "BL-2031-000001"
    assert await _scalar(cases, "SELECT last_value FROM cases.case_number_seq_2031") == 1


async def test_concurrent_first_cases_of_a_year_get_every_number_once(cases: CasesHarness) -> None:
    n = 20
    responses = await asyncio.gather(
        *(
            cases.stub.OpenCase(open_request(address=f"{i + 1} Bridge St W", received_at=_in(2033)))
            for i in range(n)
        )
    )
    assert {r.disposition for r in responses} == {CREATED}
    assert sorted(r.case.case_number for r in responses) == [f"BL-2033-{i:06d}" for i in range(1, n + 1)]


async def test_a_number_taken_by_a_rolled_back_creation_is_skipped_not_reused(cases: CasesHarness) -> None:
    await cases.stub.OpenCase(open_request(address="1 Mill St", received_at=_in(2034)))
    # A creation that took the next number and then rolled back (a lost race, a crash).
    async with cases.app_sessions() as session:
        assert (await session.execute(text("SELECT cases.next_case_sequence(2034)"))).scalar() == 2
        await session.rollback()
    later = await cases.stub.OpenCase(open_request(address="2 Mill St", received_at=_in(2034)))
    assert later.case.case_number == "BL-2034-000003"  # a gap: acceptable, never a duplicate


async def test_a_new_sequence_starts_after_numbers_already_on_cases(cases: CasesHarness) -> None:
    """A year with cases but no sequence (restored from elsewhere) continues after them."""
    seeded = await cases.stub.OpenCase(open_request(address="1 Centre St N", received_at=_in(2035)))
    async with cases.app_sessions() as session, session.begin():
        await session.execute(
            text("UPDATE cases.cases SET case_number = 'BL-2036-000041' WHERE case_number = :n"),
            {"n": seeded.case.case_number},
        )
    nxt = await cases.stub.OpenCase(open_request(address="2 Centre St N", received_at=_in(2036)))
    assert nxt.case.case_number == "BL-2036-000042"


# --- officers' caseloads ----------------------------------------------------------------------


async def _officers(cases: CasesHarness, *officers: cases_pb2.Officer) -> None:
    await cases.stub.UpsertOfficers(cases_pb2.UpsertOfficersRequest(officers=list(officers)))


def _be(officer_id: str, *, active: bool = True) -> cases_pb2.Officer:
    return cases_pb2.Officer(officer_id=officer_id, display_name=officer_id, department="BE", active=active)


def _noise(address: str) -> cases_pb2.OpenCaseRequest:
    return open_request(address=address, service_code="noise", enforced_by=["BE"])


async def _kept_load(cases: CasesHarness) -> dict[str, int]:
    rows = await _rows(
        cases, "SELECT officer_id, sum(open_cases) FROM cases.officer_open_load GROUP BY officer_id"
    )
    return {officer: int(n) for officer, n in rows if n}


async def _counted_load(cases: CasesHarness) -> dict[str, int]:
    open_sql = ", ".join(f"'{s.value}'" for s in OPEN_STATUSES)
    rows = await _rows(
        cases,
        "SELECT assigned_officer_id, count(*) FROM cases.cases "
        f"WHERE assigned_officer_id <> '' AND status IN ({open_sql}) GROUP BY assigned_officer_id",
    )
    return {officer: int(n) for officer, n in rows}


async def test_caseload_kept_by_the_trigger_equals_the_open_cases_through_every_status(
    cases: CasesHarness,
) -> None:
    await _officers(cases, _be("BE-A"), _be("BE-B"))
    opened = [
        await cases.stub.OpenCase(
            open_request(address=f"{i} King St", service_code="noise", enforced_by=["BE"])
        )
        for i in range(1, 5)
    ]
    assert await _kept_load(cases) == await _counted_load(cases) == {"BE-A": 2, "BE-B": 2}
    number = opened[0].case.case_number
    # Every status a case can be recorded in, including out of the open set and back.
    path = [
        CaseStatus.UNDER_INVESTIGATION,
        CaseStatus.NOTICE_ISSUED,
        CaseStatus.AWAITING_COMPLIANCE,
        CaseStatus.COMPLIED,
        CaseStatus.REINSPECTION,
        CaseStatus.ESCALATED,
        CaseStatus.AWAITING_COUNCIL_APPROVAL,
        CaseStatus.REMEDIATION,
        CaseStatus.REFERRED,
    ]
    for step, status in enumerate(path):
        await cases.stub.RecordStatus(
            record(number, getattr(common_pb2, f"CASE_STATUS_{status.value.upper()}"), f"s{step}", reason="r")
        )
        assert await _kept_load(cases) == await _counted_load(cases), status
    other = opened[1].case
    await cases.stub.AssignCase(
        cases_pb2.AssignCaseRequest(
            case_number=other.case_number,
            officer_id="BE-B" if other.assigned_officer_id == "BE-A" else "BE-A",
            step_key="rebalance",
            actor=common_pb2.Actor(subject="sup", roles=["supervisor"]),
        )
    )
    await cases.stub.RecordStatus(
        record(
            opened[2].case.case_number, common_pb2.CASE_STATUS_REJECTED, "reject", reason="civil (6.2.1 g)"
        )
    )
    await cases.stub.RecordStatus(
        record(opened[2].case.case_number, common_pb2.CASE_STATUS_CLOSED, "close", outcome="rejected")
    )
    assert await _kept_load(cases) == await _counted_load(cases)
    assert sum((await _counted_load(cases)).values()) == 2


async def test_a_new_case_goes_to_the_lighter_of_two_equally_fitting_officers(cases: CasesHarness) -> None:
    await _officers(cases, _be("BE-A"))
    for i in range(3):
        first = await cases.stub.OpenCase(_noise(f"{i + 1} Dundas St W"))
        assert first.case.assigned_officer_id == "BE-A"
    await _officers(cases, _be("BE-A"), _be("BE-Z"))  # BE-Z sorts last but carries no case
    routed = await cases.stub.OpenCase(
        open_request(address="9 Dundas St W", service_code="noise", enforced_by=["BE"])
    )
    assert routed.case.assigned_officer_id == "BE-Z"


async def test_a_new_cases_number_and_caseloads_come_together_behind_the_dedupe_lock(
    cases: CasesHarness,
) -> None:
    # What a new case reads once it is known to be new (one round trip in the adapter):
    # the same as the two reads made one after the other, with the lock deferred before
    # them taken first.
    await _officers(cases, _be("BE-A"), _be("BE-B"))
    for i in range(3):
        await cases.stub.OpenCase(_noise(f"{i + 1} Dundas St W"))
    loads = await _counted_load(cases)
    names = ["cases-dedupe:noise:address:7 B ST"]
    try_lock = "SELECT pg_try_advisory_xact_lock(:id)"
    async with SqlUnitOfWork(cases.infra.require_sessions()) as uow:
        apart = (await uow.cases.next_sequence(2032), await uow.cases.open_load(["BE-A", "BE-B", "BE-C"]))
        await uow.lock(names)
        together = await uow.cases.next_sequence_and_load(2032, ["BE-A", "BE-B", "BE-C"])
        async with cases.app_sessions() as elsewhere:
            assert (await elsewhere.execute(text(try_lock), {"id": lock_id(names[0])})).scalar() is False
    assert apart[1] == together[1] == loads and sum(loads.values()) == 3
    assert together[0] == apart[0] + 1


# --- the roster and zones cached per process, current across replicas -------------------------


def _command(complaint_id: str, lat: float, lon: float) -> OpenCase:
    return OpenCase(
        complaint_id=complaint_id,
        service_code="noise",
        priority=Priority.MEDIUM,
        location=Location(point=Point(lat, lon)),
        enforced_by=("BE",),
        channel="web",
        actor=Actor("svc-intake"),
    )


async def test_another_replicas_roster_and_zone_changes_reach_this_replicas_next_case(
    cases: CasesHarness,
) -> None:
    await seed_roll(cases.stub)
    await _officers(cases, _be("BE-A"), _be("BE-B"))
    # A second replica of the service on the same database, with caches of its own. The
    # three complaints are GPS points ~110 m apart, outside every zone seeded so far.
    other = build_service(cases.infra.require_sessions(), cases.settings)
    first = await other.open_case(_command("SR-r-1", 44.400, -76.800))
    assert (first.case.assigned_officer_id, first.case.zone_code) == ("BE-A", "")  # tie: by id

    # A zone through the gRPC service (this replica), and a specialty set by hand in the
    # database: the trigger moves the version all the same.
    ring = [[-76.81, 44.39], [-76.79, 44.39], [-76.79, 44.41], [-76.81, 44.41], [-76.81, 44.39]]
    east = json.dumps({"type": "Polygon", "coordinates": [ring]})
    await cases.stub.UpsertZones(
        cases_pb2.UpsertZonesRequest(zones=[cases_pb2.Zone(zone_code="EAST", name="East", geojson=east)])
    )
    async with cases.app_sessions() as session, session.begin():
        await session.execute(
            text("UPDATE cases.officers SET specialties = '{noise}' WHERE officer_id = 'BE-A'")
        )
    second = await other.open_case(_command("SR-r-2", 44.401, -76.801))
    # The specialist, though BE-B has the lighter caseload; and the new zone.
    assert (second.case.assigned_officer_id, second.case.zone_code) == ("BE-A", "EAST")

    await _officers(cases, _be("BE-A", active=False), _be("BE-B"))
    third = await other.open_case(_command("SR-r-3", 44.402, -76.802))
    assert third.case.assigned_officer_id == "BE-B"


# --- the dedupe lock, events and audit in the unit of work -----------------------------------


async def test_the_dedupe_lock_is_held_before_the_next_statement_even_through_the_orm(
    cases: CasesHarness,
) -> None:
    names = ["cases-dedupe:noise:address:1 A ST", "cases-dedupe:noise:address:2 A ST"]
    held = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted"
    try_lock = "SELECT pg_try_advisory_xact_lock(:id)"
    async with SqlUnitOfWork(cases.infra.require_sessions()) as uow:
        await uow.lock(names)
        # The next statement goes through the ORM session, not OpenCase's own path.
        assert (await uow.session.execute(text(held))).scalar() == 2
        async with cases.app_sessions() as elsewhere:
            assert (await elsewhere.execute(text(try_lock), {"id": lock_id(names[0])})).scalar() is False
    async with cases.app_sessions() as elsewhere:
        assert (await elsewhere.execute(text(try_lock), {"id": lock_id(names[0])})).scalar() is True


async def test_events_and_audit_commit_with_the_transaction_or_not_at_all(cases: CasesHarness) -> None:
    count = "SELECT (SELECT count(*) FROM cases.outbox) + (SELECT count(*) FROM cases.audit_log)"
    before = await _scalar(cases, count)
    entry = AuditEntry(actor_subject="t", action="case.test", occurred_at=datetime.now(UTC), details={"k": 1})
    event = DomainEvent(event_type="case.test", case_number="BL-2030-000001", data={"k": 1})
    async with SqlUnitOfWork(cases.infra.require_sessions()) as uow:
        await uow.publish(event)
        await uow.audit(entry)
    assert await _scalar(cases, count) == before  # not committed: nothing
    async with SqlUnitOfWork(cases.infra.require_sessions()) as uow:
        await uow.publish(event)
        await uow.audit(entry)
        await uow.publish(DomainEvent(event_type="case.test", case_number=None, data={}))
        await uow.commit()
    assert await _scalar(cases, count) == before + 3
    payload = await _scalar(
        cases, "SELECT payload FROM cases.outbox WHERE msg_id = CAST(:id AS uuid)", id=event.event_id
    )
    assert payload == event.to_json()
    details = await _scalar(cases, "SELECT details FROM cases.audit_log WHERE action = 'case.test'")
    assert details == {"k": 1}
