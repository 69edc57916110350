"""Protobuf ↔ domain conversions for the cases gRPC contract (``bylaw.v1.cases``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from bylaw.v1 import cases_pb2, common_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from services.cases.domain.cases import Case, CaseStatus, Disposition, Priority, StatusChange
from services.cases.domain.geo import Point
from services.cases.domain.properties import ImportCounts, Officer, Property, PropertyMatch, Zone
from services.cases.service_layer.commands import Actor, Location, TownSummary
from services.common.errors import FieldViolation, InvalidArgument

_STATUS_PREFIX = "CASE_STATUS_"
_PRIORITY_PREFIX = "PRIORITY_"

_DISPOSITION = {
    Disposition.CREATED: cases_pb2.OPEN_CASE_DISPOSITION_CREATED,
    Disposition.JOINED: cases_pb2.OPEN_CASE_DISPOSITION_JOINED,
    Disposition.REPEAT_AFTER_COMPLIANCE: cases_pb2.OPEN_CASE_DISPOSITION_REPEAT_AFTER_COMPLIANCE,
}


def timestamp_or_none(ts: Timestamp, present: bool = True) -> datetime | None:
    if not present or (ts.seconds == 0 and ts.nanos == 0):
        return None
    return ts.ToDatetime(tzinfo=UTC)


def to_timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(value.astimezone(UTC))
    return ts


def status_from_proto(value: int, field: str = "status") -> CaseStatus | None:
    """None for UNSPECIFIED; InvalidArgument for a number this build does not know."""
    if value == common_pb2.CASE_STATUS_UNSPECIFIED:
        return None
    try:
        name = common_pb2.CaseStatus.Name(value)  # type: ignore[arg-type]
    except ValueError:
        raise InvalidArgument(FieldViolation(field, f"unknown case status {value}")) from None
    return CaseStatus(name.removeprefix(_STATUS_PREFIX).lower())


def status_to_proto(status: CaseStatus) -> common_pb2.CaseStatus.ValueType:
    return common_pb2.CaseStatus.Value(_STATUS_PREFIX + status.value.upper())


def priority_from_proto(value: int, field: str = "priority") -> Priority | None:
    if value == common_pb2.PRIORITY_UNSPECIFIED:
        return None
    try:
        name = common_pb2.Priority.Name(value)  # type: ignore[arg-type]
    except ValueError:
        raise InvalidArgument(FieldViolation(field, f"unknown priority {value}")) from None
    return Priority(name.removeprefix(_PRIORITY_PREFIX).lower())


def priority_to_proto(priority: Priority) -> common_pb2.Priority.ValueType:
    return common_pb2.Priority.Value(_PRIORITY_PREFIX + priority.value.upper())


def disposition_to_proto(disposition: Disposition) -> cases_pb2.OpenCaseDisposition.ValueType:
    return _DISPOSITION[disposition]


def actor_from_proto(actor: common_pb2.Actor) -> Actor:
    return Actor(subject=actor.subject.strip(), roles=frozenset(r.strip() for r in actor.roles if r.strip()))


def location_from_proto(loc: common_pb2.Location) -> Location:
    return Location(
        address=loc.address,
        point=Point(loc.point.lat, loc.point.lon) if loc.HasField("point") else None,
        address_id=loc.address_id,
        postal_code=loc.postal_code,
    )


def property_from_proto(p: cases_pb2.Property) -> Property:
    return Property(
        roll_number=p.roll_number,
        address=p.address,
        point=Point(p.point.lat, p.point.lon) if p.HasField("point") else None,
        owner_name=p.owner_name,
        owner_mailing_address=p.owner_mailing_address,
        zone_code=p.zone_code,
        land_use=p.land_use,
        ward=p.ward,
    )


def property_to_proto(p: Property) -> cases_pb2.Property:
    msg = cases_pb2.Property(
        roll_number=p.roll_number,
        address=p.address,
        owner_name=p.owner_name,
        owner_mailing_address=p.owner_mailing_address,
        zone_code=p.zone_code,
        land_use=p.land_use,
        ward=p.ward,
    )
    if p.point is not None:
        msg.point.CopyFrom(common_pb2.GeoPoint(lat=p.point.lat, lon=p.point.lon))
    return msg


def match_to_proto(match: PropertyMatch) -> cases_pb2.PropertyMatch:
    msg = cases_pb2.PropertyMatch(matched=match.matched, method=match.method, distance_m=match.distance_m)
    if match.parcel is not None:
        msg.property.CopyFrom(property_to_proto(match.parcel))
    return msg


def officer_from_proto(o: cases_pb2.Officer) -> Officer:
    return Officer(
        officer_id=o.officer_id.strip(),
        display_name=o.display_name,
        badge_number=o.badge_number,
        department=o.department.strip().upper(),
        specialties=tuple(s.strip() for s in o.specialties if s.strip()),
        zone_codes=tuple(z.strip() for z in o.zone_codes if z.strip()),
        active=o.active,
    )


def zone_from_proto(z: cases_pb2.Zone) -> Zone:
    return Zone(zone_code=z.zone_code.strip(), name=z.name, geojson=z.geojson)


def case_to_proto(case: Case) -> cases_pb2.Case:
    location = common_pb2.Location(
        address=case.location_address,
        address_id=case.location_address_id,
        postal_code=case.location_postal_code,
    )
    if case.point is not None:
        location.point.CopyFrom(common_pb2.GeoPoint(lat=case.point.lat, lon=case.point.lon))
    msg = cases_pb2.Case(
        case_number=case.case_number,
        status=status_to_proto(case.status),
        priority=priority_to_proto(case.priority),
        service_code=case.service_code,
        bylaw_number=case.bylaw_number,
        matrix_version=case.matrix_version,
        location=location,
        property_match=match_to_proto(case.match),
        zone_code=case.zone_code,
        assigned_officer_id=case.assigned_officer_id,
        received_at=to_timestamp(case.received_at),
        updated_at=to_timestamp(case.updated_at),
        closed_at=to_timestamp(case.closed_at),
        complaint_count=case.complaint_count,
        restricted=case.restricted,
        status_reason=case.status_reason,
        outcome=case.outcome,
        enforced_by=list(case.enforced_by),
        summary=case.summary,
        compliance_confirmed_at=to_timestamp(case.compliance_confirmed_at),
        channel=case.channel,
        department=case.department,
        compliance_deadline=to_timestamp(case.compliance_deadline),
    )
    return msg


def summary_to_proto(counts: ImportCounts) -> cases_pb2.ImportSummary:
    return cases_pb2.ImportSummary(
        inserted=counts.inserted, updated=counts.updated, total=counts.total, unchanged=counts.unchanged
    )


def town_summary_to_proto(summary: TownSummary) -> cases_pb2.TownSummary:
    return cases_pb2.TownSummary(
        properties=summary.properties,
        officers=summary.officers,
        zones=summary.zones,
        open_cases=summary.open_cases,
    )


def statuses_from_proto(values: Iterable[int]) -> frozenset[CaseStatus]:
    out: set[CaseStatus] = set()
    for i, value in enumerate(values):
        status = status_from_proto(value, f"statuses[{i}]")
        if status is None:
            raise InvalidArgument(FieldViolation(f"statuses[{i}]", "must be a case status, not UNSPECIFIED"))
        out.add(status)
    return frozenset(out)


def history_entry_to_proto(change: StatusChange) -> cases_pb2.StatusHistoryEntry:
    return cases_pb2.StatusHistoryEntry(
        step_key=change.step_key,
        from_status=(
            status_to_proto(CaseStatus(change.from_status))
            if change.from_status
            else common_pb2.CASE_STATUS_UNSPECIFIED
        ),
        to_status=status_to_proto(change.to_status),
        reason=change.reason,
        outcome=change.outcome,
        actor_subject=change.actor_subject,
        occurred_at=to_timestamp(change.occurred_at),
    )
