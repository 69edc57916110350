"""The gRPC servicer called directly (no network): protobuf ↔ domain conversion, enum
mapping, actors from requests or call metadata. Storage is the in-memory fake."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from bylaw.v1 import cases_pb2, common_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from services.cases.entrypoints import convert
from services.cases.entrypoints.grpc_servicer import ACTOR_SUBJECT_METADATA, CasesServicer
from services.cases.service_layer.services import CasesService
from services.common.errors import InvalidArgument, NotFound
from tests.unit.cases.fakes import FakeUnitOfWork, Store

RECEIVED = datetime(2026, 6, 1, 13, 30, tzinfo=UTC)


class FakeContext:
    def __init__(self, metadata: tuple[tuple[str, str], ...] = ()) -> None:
        self.metadata = metadata

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self.metadata


def _ts(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


async def _stream(items: list[cases_pb2.Property]) -> AsyncIterator[cases_pb2.Property]:
    for item in items:
        yield item


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
async def servicer(store: Store) -> CasesServicer:
    # The case RPCs only: the lifecycle and remediation RPCs (issue 4) come from the
    # servicer classes services.cases.bootstrap composes, so this one is partial by design.
    s = CasesServicer(CasesService(lambda: FakeUnitOfWork(store)))  # type: ignore[abstract]
    ctx: Any = FakeContext(((ACTOR_SUBJECT_METADATA, "clerk-7"),))
    summary = await s.ImportProperties(
        _stream(
            [
                cases_pb2.Property(
                    roll_number="1121 010 001 00100 0000",
                    address="100 Dundas St E",
                    point=common_pb2.GeoPoint(lat=44.2487, lon=-76.95),
                    zone_code="DOWNTOWN",
                    owner_name="Owner Ltd",
                )
            ]
        ),
        ctx,
    )
    assert (summary.inserted, summary.total) == (1, 1)
    assert store.audit[-1].actor_subject == "clerk-7"  # from call metadata
    return s


def open_request(**kw: Any) -> cases_pb2.OpenCaseRequest:
    request = cases_pb2.OpenCaseRequest(
        complaint_id="SR-2026-0000001",
        service_code="property-standards-major-safety",
        bylaw_number="2010-0050",
        priority=common_pb2.PRIORITY_HIGH,
        matrix_version="2023-07-25",
        enforced_by=["BD"],
        location=common_pb2.Location(address="100 Dundas Street East"),
        received_at=_ts(RECEIVED),
        channel="311-phone",
        actor=common_pb2.Actor(subject="svc-intake"),
    )
    for key, value in kw.items():
        setattr(request, key, value)
    return request


async def test_open_case_round_trip(servicer: CasesServicer) -> None:
    ctx: Any = FakeContext()
    response = await servicer.OpenCase(open_request(), ctx)
    assert response.disposition == cases_pb2.OPEN_CASE_DISPOSITION_CREATED
    case = response.case
    assert case.case_number == "BL-2026-000001"
    assert case.status == common_pb2.CASE_STATUS_RECEIVED
    assert case.priority == common_pb2.PRIORITY_HIGH
    assert case.received_at.ToDatetime(tzinfo=UTC) == RECEIVED
    assert not case.HasField("closed_at")
    assert case.zone_code == "DOWNTOWN" and case.channel == "311-phone"
    assert response.property_match.matched and response.property_match.method == "address"
    assert response.property_match.property.roll_number == "1121010001001000000"
    assert case.location.address == "100 Dundas Street East" and not case.location.HasField("point")
    joined = await servicer.OpenCase(open_request(complaint_id="SR-2026-0000002"), ctx)
    assert joined.disposition == cases_pb2.OPEN_CASE_DISPOSITION_JOINED
    assert joined.case.complaint_count == 2


async def test_missing_priority_is_invalid(servicer: CasesServicer) -> None:
    ctx: Any = FakeContext()
    with pytest.raises(InvalidArgument) as err:
        await servicer.OpenCase(open_request(priority=common_pb2.PRIORITY_UNSPECIFIED), ctx)
    assert [v.field for v in err.value.violations] == ["priority"]


async def test_record_status_maps_enums_and_outcome(servicer: CasesServicer) -> None:
    ctx: Any = FakeContext()
    number = (await servicer.OpenCase(open_request(), ctx)).case.case_number
    closed = await servicer.RecordStatus(
        cases_pb2.RecordStatusRequest(
            case_number=number,
            status=common_pb2.CASE_STATUS_CLOSED,
            step_key="close-1",
            outcome="order_compliance",
            occurred_at=_ts(datetime(2026, 7, 1, tzinfo=UTC)),
            actor=common_pb2.Actor(subject="worker"),
        ),
        ctx,
    )
    assert closed.status == common_pb2.CASE_STATUS_CLOSED
    assert closed.outcome == "order_compliance"
    assert closed.closed_at.ToDatetime(tzinfo=UTC) == datetime(2026, 7, 1, tzinfo=UTC)
    assert closed.compliance_confirmed_at.ToDatetime(tzinfo=UTC) == datetime(2026, 7, 1, tzinfo=UTC)


async def test_unspecified_or_unknown_status_is_invalid(servicer: CasesServicer) -> None:
    ctx: Any = FakeContext()
    number = (await servicer.OpenCase(open_request(), ctx)).case.case_number
    with pytest.raises(InvalidArgument) as err:
        await servicer.RecordStatus(cases_pb2.RecordStatusRequest(case_number=number, step_key="s"), ctx)
    assert err.value.violations[0].field == "status"
    with pytest.raises(InvalidArgument) as unknown:
        await servicer.RecordStatus(
            cases_pb2.RecordStatusRequest(case_number=number, step_key="s", status=99),  # type: ignore[arg-type]
            ctx,
        )
    assert "unknown case status 99" in unknown.value.violations[0].rule


async def test_get_case_respects_actor_roles(servicer: CasesServicer) -> None:
    ctx: Any = FakeContext()
    number = (await servicer.OpenCase(open_request(restricted=True), ctx)).case.case_number
    with pytest.raises(NotFound):
        await servicer.GetCase(
            cases_pb2.GetCaseRequest(
                case_number=number, actor=common_pb2.Actor(subject="o", roles=["officer"])
            ),
            ctx,
        )
    case = await servicer.GetCase(
        cases_pb2.GetCaseRequest(
            case_number=number, actor=common_pb2.Actor(subject="s", roles=["supervisor"])
        ),
        ctx,
    )
    assert case.restricted


async def test_list_cases_filters_by_status_enum(servicer: CasesServicer) -> None:
    ctx: Any = FakeContext()
    await servicer.OpenCase(open_request(), ctx)
    received = await servicer.ListCases(
        cases_pb2.ListCasesRequest(statuses=[common_pb2.CASE_STATUS_RECEIVED], page=common_pb2.PageRequest()),
        ctx,
    )
    assert received.total == 1 and received.next_page_token == ""
    closed = await servicer.ListCases(
        cases_pb2.ListCasesRequest(statuses=[common_pb2.CASE_STATUS_CLOSED]), ctx
    )
    assert closed.total == 0
    with pytest.raises(InvalidArgument) as err:
        await servicer.ListCases(
            cases_pb2.ListCasesRequest(statuses=[common_pb2.CASE_STATUS_UNSPECIFIED]), ctx
        )
    assert err.value.violations[0].field == "statuses[0]"


async def test_zones_officers_lookup_and_summary(servicer: CasesServicer, store: Store) -> None:
    ctx: Any = FakeContext()
    ring = [[-76.96, 44.24], [-76.94, 44.24], [-76.94, 44.26], [-76.96, 44.26], [-76.96, 44.24]]
    zones = await servicer.UpsertZones(
        cases_pb2.UpsertZonesRequest(
            zones=[
                cases_pb2.Zone(
                    zone_code="DOWNTOWN",
                    name="Downtown",
                    geojson=json.dumps({"type": "Polygon", "coordinates": [ring]}),
                )
            ],
            actor=common_pb2.Actor(subject="clerk-1"),
        ),
        ctx,
    )
    assert (zones.inserted, zones.total) == (1, 1)
    officers = await servicer.UpsertOfficers(
        cases_pb2.UpsertOfficersRequest(
            officers=[cases_pb2.Officer(officer_id="BD-1", display_name="Sam", department="bd", active=True)]
        ),
        ctx,
    )
    assert officers.inserted == 1
    assert store.officers["BD-1"].department == "BD"
    match = await servicer.LookupProperty(
        cases_pb2.LookupPropertyRequest(
            location=common_pb2.Location(point=common_pb2.GeoPoint(lat=44.24875, lon=-76.95004))
        ),
        ctx,
    )
    assert match.match.method == "gps" and 0 < match.match.distance_m < 10
    summary = await servicer.GetTownSummary(cases_pb2.GetTownSummaryRequest(), ctx)
    assert (summary.properties, summary.officers, summary.zones, summary.open_cases) == (1, 1, 1, 0)


def test_every_status_and_priority_round_trips() -> None:
    for value in common_pb2.CaseStatus.values():
        status = convert.status_from_proto(value)
        if status is not None:
            assert convert.status_to_proto(status) == value
    for rank in common_pb2.Priority.values():
        priority = convert.priority_from_proto(rank)
        if priority is not None:
            assert convert.priority_to_proto(priority) == rank


def test_every_domain_status_has_a_proto_value() -> None:
    from services.cases.domain.cases import CaseStatus

    assert {convert.status_from_proto(convert.status_to_proto(s)) for s in CaseStatus} == set(CaseStatus)


async def test_status_history_rpc(servicer: CasesServicer) -> None:
    ctx: Any = FakeContext()
    number = (await servicer.OpenCase(open_request(restricted=True), ctx)).case.case_number
    await servicer.RecordStatus(
        cases_pb2.RecordStatusRequest(
            case_number=number,
            status=common_pb2.CASE_STATUS_UNDER_INVESTIGATION,
            step_key="s1",
            reason="visit",
        ),
        ctx,
    )
    supervisor = common_pb2.Actor(subject="s", roles=["supervisor"])
    history = await servicer.ListStatusHistory(
        cases_pb2.ListStatusHistoryRequest(case_number=number, actor=supervisor), ctx
    )
    assert [(e.from_status, e.to_status) for e in history.entries] == [
        (common_pb2.CASE_STATUS_UNSPECIFIED, common_pb2.CASE_STATUS_RECEIVED),
        (common_pb2.CASE_STATUS_RECEIVED, common_pb2.CASE_STATUS_UNDER_INVESTIGATION),
    ]
    assert history.entries[1].reason == "visit" and history.entries[0].actor_subject == "svc-intake"
    assert history.entries[0].occurred_at.ToDatetime(tzinfo=UTC) == RECEIVED
    with pytest.raises(NotFound):  # restricted (policy 6.10)
        await servicer.ListStatusHistory(
            cases_pb2.ListStatusHistoryRequest(case_number=number, actor=common_pb2.Actor(roles=["officer"])),
            ctx,
        )
