"""Builders shared by the cases integration tests: a tiny assessment roll around
downtown Napanee, one zone polygon, and OpenCase requests."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import grpc
from bylaw.v1 import cases_pb2, common_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from services.common.errors import DomainError
from services.common.grpc_client import domain_error_from_rpc

if TYPE_CHECKING:
    from bylaw.v1.cases_pb2_grpc import CasesServiceAsyncStub

DUNDAS_100 = "1121010001001000000"
JOHN_12 = "1121010002000120000"
CENTRE_45 = "1121020003000450000"

# 100 Dundas St E and 12 John St are ~190 m apart; Centre St N is farther north.
PARCELS = [
    cases_pb2.Property(
        roll_number="1121-010-001-00100-0000",
        address="100 Dundas St E",
        point=common_pb2.GeoPoint(lat=44.24870, lon=-76.95000),
        owner_name="Harbour Holdings Ltd",
        owner_mailing_address="100 Dundas St E, Napanee ON K7R 1H8",
        zone_code="DOWNTOWN",
        land_use="commercial",
        ward="Ward 1",
    ),
    cases_pb2.Property(
        roll_number=JOHN_12,
        address="12 John Street",
        point=common_pb2.GeoPoint(lat=44.25040, lon=-76.95120),
        owner_name="A. Example",
        land_use="residential",
        ward="Ward 1",
    ),
    cases_pb2.Property(
        roll_number=CENTRE_45,
        address="45 Centre St N",
        point=common_pb2.GeoPoint(lat=44.25600, lon=-76.95400),
        owner_name="B. Example",
        zone_code="NORTH",
        land_use="residential",
        ward="Ward 2",
    ),
]

# A box around the downtown core (GeoJSON is [lon, lat]); 12 John St falls inside it.
DOWNTOWN_POLYGON = json.dumps(
    {
        "type": "Polygon",
        "coordinates": [
            [
                [-76.9600, 44.2440],
                [-76.9420, 44.2440],
                [-76.9420, 44.2530],
                [-76.9600, 44.2530],
                [-76.9600, 44.2440],
            ]
        ],
    }
)


def ts(value: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(value.astimezone(UTC))
    return out


def open_request(
    *,
    address: str = "",
    point: tuple[float, float] | None = None,
    address_id: str = "",
    service_code: str = "property-standards-cosmetic",
    priority: int = common_pb2.PRIORITY_LOW,
    complaint_id: str | None = None,
    received_at: datetime | None = None,
    restricted: bool = False,
    summary: str = "",
    enforced_by: Sequence[str] = ("BD",),
) -> cases_pb2.OpenCaseRequest:
    location = common_pb2.Location(address=address, address_id=address_id)
    if point is not None:
        location.point.CopyFrom(common_pb2.GeoPoint(lat=point[0], lon=point[1]))
    request = cases_pb2.OpenCaseRequest(
        complaint_id=complaint_id or f"SR-{uuid.uuid4().hex[:12]}",
        service_code=service_code,
        bylaw_number="2010-0050",
        priority=priority,  # type: ignore[arg-type]
        matrix_version="2023-07-25",
        enforced_by=list(enforced_by),
        location=location,
        channel="web",
        restricted=restricted,
        summary=summary,
        actor=common_pb2.Actor(subject="svc-intake", roles=["system"]),
    )
    if received_at is not None:
        request.received_at.CopyFrom(ts(received_at))
    return request


async def stream(items: Sequence[cases_pb2.Property]) -> AsyncIterator[cases_pb2.Property]:
    for item in items:
        yield item


async def seed_roll(stub: CasesServiceAsyncStub) -> None:
    await stub.UpsertZones(
        cases_pb2.UpsertZonesRequest(
            zones=[cases_pb2.Zone(zone_code="DOWNTOWN", name="Downtown", geojson=DOWNTOWN_POLYGON)]
        )
    )
    await stub.ImportProperties(stream(PARCELS))


async def rpc_error(call: object) -> tuple[grpc.StatusCode, DomainError | None]:
    """Await a call expected to fail; its status code and the domain error it carried."""
    try:
        await call  # type: ignore[misc]
    except grpc.aio.AioRpcError as err:
        return err.code(), domain_error_from_rpc(err)
    raise AssertionError("the call succeeded")


def record(
    case_number: str,
    status: int,
    step_key: str,
    *,
    reason: str = "",
    outcome: str = "",
    occurred_at: datetime | None = None,
) -> cases_pb2.RecordStatusRequest:
    request = cases_pb2.RecordStatusRequest(
        case_number=case_number,
        status=status,  # type: ignore[arg-type]
        step_key=step_key,
        reason=reason,
        outcome=outcome,
        actor=common_pb2.Actor(subject="worker", roles=["system"]),
    )
    if occurred_at is not None:
        request.occurred_at.CopyFrom(ts(occurred_at))
    return request
