"""The assessment roll, zones and officers over gRPC against PostgreSQL: idempotent
streaming import, all-or-nothing validation naming the bad field, zone validation
naming the zone, property lookup and the town summary."""

from __future__ import annotations

import json

import grpc
from bylaw.v1 import cases_pb2, common_pb2
from sqlalchemy import text

from services.common.errors import InvalidArgument
from tests.integration.cases.conftest import CasesHarness
from tests.integration.cases.support import DUNDAS_100, PARCELS, rpc_error, seed_roll, stream


async def _owner(cases: CasesHarness, roll: str) -> str:
    async with cases.app_sessions() as session:
        return str(
            (
                await session.execute(
                    text("SELECT owner_name FROM cases.properties WHERE roll_number = :r"), {"r": roll}
                )
            ).scalar_one()
        )


async def test_import_twice_is_idempotent_and_updates_changes(cases: CasesHarness) -> None:
    first = await cases.stub.ImportProperties(stream(PARCELS))
    assert (first.inserted, first.updated, first.unchanged, first.total) == (3, 0, 0, 3)
    second = await cases.stub.ImportProperties(stream(PARCELS))
    assert (second.inserted, second.updated, second.unchanged, second.total) == (0, 0, 3, 3)
    changed = cases_pb2.Property()
    changed.CopyFrom(PARCELS[0])
    changed.owner_name = "New Owner Inc."
    third = await cases.stub.ImportProperties(stream([changed]))
    assert (third.inserted, third.updated, third.unchanged) == (0, 1, 0)
    assert await _owner(cases, DUNDAS_100) == "New Owner Inc."
    summary = await cases.stub.GetTownSummary(cases_pb2.GetTownSummaryRequest())
    assert summary.properties == 3


async def test_invalid_row_rejects_the_whole_import_naming_the_field(cases: CasesHarness) -> None:
    bad = [
        cases_pb2.Property(roll_number="1121010009000010000", address="1 Good St"),
        cases_pb2.Property(roll_number="1121-010-009", address="2 Bad St"),
        cases_pb2.Property(roll_number="1121010009000030000", address=""),
    ]
    code, error = await rpc_error(cases.stub.ImportProperties(stream(bad)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert isinstance(error, InvalidArgument)
    fields = {v.field: v.rule for v in error.violations}
    assert "19 digits" in fields["properties[1].roll_number"]
    assert "properties[2].address" in fields
    summary = await cases.stub.GetTownSummary(cases_pb2.GetTownSummaryRequest())
    assert summary.properties == 0  # nothing written, not even the good row


async def test_import_audit_names_the_caller_from_metadata(cases: CasesHarness) -> None:
    await cases.stub.ImportProperties(stream(PARCELS), metadata=(("bylaw-actor-subject", "clerk-42"),))
    async with cases.app_sessions() as session:
        row = (
            await session.execute(
                text("SELECT actor_subject, details FROM cases.audit_log ORDER BY id DESC LIMIT 1")
            )
        ).one()
    assert row.actor_subject == "clerk-42"
    assert row.details == {"inserted": 3, "updated": 0, "unchanged": 0}


async def test_invalid_zone_error_names_zone_and_reason(cases: CasesHarness) -> None:
    bowtie = json.dumps(
        {
            "type": "Polygon",
            "coordinates": [
                [[-76.96, 44.24], [-76.94, 44.26], [-76.94, 44.24], [-76.96, 44.26], [-76.96, 44.24]]
            ],
        }
    )
    code, error = await rpc_error(
        cases.stub.UpsertZones(
            cases_pb2.UpsertZonesRequest(
                zones=[cases_pb2.Zone(zone_code="WEST", name="West", geojson=bowtie)]
            )
        )
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert isinstance(error, InvalidArgument)
    assert error.violations[0].field == "zones[0].geojson"
    assert error.violations[0].rule.startswith("zone WEST: invalid Polygon: Self-intersection")


async def test_zone_upsert_is_idempotent_and_changes_case_zones(cases: CasesHarness) -> None:
    await seed_roll(cases.stub)
    ring = [[-76.90, 44.30], [-76.86, 44.30], [-76.86, 44.33], [-76.90, 44.33], [-76.90, 44.30]]
    zone = cases_pb2.Zone(
        zone_code="RURAL", name="Rural", geojson=json.dumps({"type": "Polygon", "coordinates": [ring]})
    )
    first = await cases.stub.UpsertZones(cases_pb2.UpsertZonesRequest(zones=[zone]))
    again = await cases.stub.UpsertZones(cases_pb2.UpsertZonesRequest(zones=[zone]))
    assert (first.inserted, again.inserted, again.unchanged) == (1, 0, 1)
    location = common_pb2.Location(point=common_pb2.GeoPoint(lat=44.31, lon=-76.88))
    request = cases_pb2.OpenCaseRequest(
        complaint_id="SR-zone-1",
        service_code="open-air-burning",
        priority=common_pb2.PRIORITY_HIGH,
        location=location,
    )
    opened = await cases.stub.OpenCase(request)
    assert opened.case.zone_code == "RURAL"  # point-in-polygon: no parcel there


async def test_lookup_property_by_each_method(cases: CasesHarness) -> None:
    await seed_roll(cases.stub)
    by_roll = await cases.stub.LookupProperty(
        cases_pb2.LookupPropertyRequest(location=common_pb2.Location(address_id="1121 010 001 00100 0000"))
    )
    assert by_roll.match.method == "roll_number" and by_roll.match.property.roll_number == DUNDAS_100
    by_address = await cases.stub.LookupProperty(
        cases_pb2.LookupPropertyRequest(
            location=common_pb2.Location(address="Unit 2, 100 Dundas Street East")
        )
    )
    assert by_address.match.method == "address" and by_address.match.property.roll_number == DUNDAS_100
    by_gps = await cases.stub.LookupProperty(
        cases_pb2.LookupPropertyRequest(
            location=common_pb2.Location(point=common_pb2.GeoPoint(lat=44.24872, lon=-76.95003))
        )
    )
    assert by_gps.match.method == "gps" and by_gps.match.distance_m < 5
    nothing = await cases.stub.LookupProperty(
        cases_pb2.LookupPropertyRequest(location=common_pb2.Location(address="999 Nowhere Rd"))
    )
    assert not nothing.match.matched and nothing.match.method == ""


async def test_officers_upsert_and_summary(cases: CasesHarness) -> None:
    officers = [
        cases_pb2.Officer(officer_id="BE-1", display_name="Sam", department="BE", active=True),
        cases_pb2.Officer(officer_id="AC-1", display_name="Kim", department="AC", active=False),
    ]
    first = await cases.stub.UpsertOfficers(cases_pb2.UpsertOfficersRequest(officers=officers))
    again = await cases.stub.UpsertOfficers(cases_pb2.UpsertOfficersRequest(officers=officers))
    assert (first.inserted, again.unchanged) == (2, 2)
    code, error = await rpc_error(
        cases.stub.UpsertOfficers(
            cases_pb2.UpsertOfficersRequest(
                officers=[cases_pb2.Officer(officer_id="X-1", display_name="X", department="POLICE")]
            )
        )
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert isinstance(error, InvalidArgument) and error.violations[0].field == "officers[0].department"
    summary = await cases.stub.GetTownSummary(cases_pb2.GetTownSummaryRequest())
    assert summary.officers == 1  # active officers only
