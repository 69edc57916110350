"""From the intake contract (``bylaw.v1`` messages) to Open311 documents."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from bylaw.v1 import common_pb2, intake_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from services.common.errors import DomainError
from services.gateway.open311.models import (
    Open311Attribute,
    Open311AttributeValue,
    Open311Request,
    Open311RequestCreated,
    Open311Service,
    Open311ServiceDefinition,
)

# Policy legend under Appendix A.
DEPARTMENTS = {
    "AC": "Animal Control",
    "BD": "Building Department",
    "BE": "By-law Enforcement",
    "FD": "Fire Department",
    "OPP": "Police",
    "PH": "Public Health",
    "*DS": "Department Staff Patrol",
}
_DATATYPES = {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}


def priority_name(priority: int) -> str:
    name = common_pb2.Priority.Name(priority)  # type: ignore[arg-type]
    return "" if name == "PRIORITY_UNSPECIFIED" else name.removeprefix("PRIORITY_").lower()


def service_name(entry: common_pb2.MatrixEntry) -> str:
    # Several matrix rows share a by-law (Parking, Dog Control ...); the infraction tells
    # them apart.
    if entry.infraction:
        return f"{entry.bylaw_short_title}: {entry.infraction}"
    return entry.bylaw_short_title


def service_from_entry(entry: common_pb2.MatrixEntry) -> Open311Service:
    bylaw = (
        f"By-law {entry.bylaw_number}"
        if entry.bylaw_number and entry.bylaw_number != "N/A"
        else "Provincial statute"
    )
    priority = priority_name(entry.priority)
    parts = [f"{service_name(entry)} ({bylaw})."]
    if priority:
        parts.append(f"Priority: {priority.capitalize()} (Service Level Matrix, policy Appendix A).")
    if entry.enforced_by:
        depts = ", ".join(DEPARTMENTS.get(code, code) for code in entry.enforced_by)
        parts.append(f"Enforced by: {depts}.")
    if entry.footnote:
        parts.append(entry.footnote)
    keywords = [entry.bylaw_short_title, *([entry.infraction] if entry.infraction else [])]
    if entry.bylaw_number and entry.bylaw_number != "N/A":
        keywords.append(entry.bylaw_number)
    if priority:
        keywords.append(f"{priority} priority")
    return Open311Service(
        service_code=entry.service_code,
        service_name=service_name(entry),
        description=" ".join(parts),
        # Every service asks at least for the complainant's address (policy 6.5.3), so
        # clients should always fetch the definition.
        metadata=True,
        type="realtime",
        # Keywords are comma-separated, so commas inside one ("Building Code Act, 1992") go.
        keywords=", ".join(k.replace(",", "") for k in keywords),
        group=entry.bylaw_short_title,
    )


def definition_from_proto(definition: intake_pb2.ServiceDefinition) -> Open311ServiceDefinition:
    attributes = []
    for attr in sorted(definition.attributes, key=lambda a: (a.order or 1_000_000, a.code)):
        if attr.datatype not in _DATATYPES:
            raise DomainError(f"intake returned attribute {attr.code!r} with datatype {attr.datatype!r}")
        attributes.append(
            Open311Attribute(
                variable=attr.variable,
                code=attr.code,
                datatype=attr.datatype,  # checked just above
                required=attr.required,
                datatype_description=attr.datatype_description or None,
                order=attr.order or None,
                description=attr.description or None,
                values=[Open311AttributeValue(key=v.key, name=v.name) for v in attr.values],
            )
        )
    return Open311ServiceDefinition(service_code=definition.service.service_code, attributes=attributes)


def _when(ts: Timestamp, tz: tzinfo, present: bool) -> datetime | None:
    if not present:
        return None
    return ts.ToDatetime(tzinfo=UTC).astimezone(tz)


def request_from_public(pc: intake_pb2.PublicComplaint, tz: tzinfo) -> Open311Request:
    status = pc.status.lower()
    if status not in ("open", "closed"):
        raise DomainError(f"intake returned Open311 status {pc.status!r} for {pc.service_request_id}")
    requested = _when(pc.requested_at, tz, pc.HasField("requested_at"))
    if requested is None:
        raise DomainError(f"intake returned {pc.service_request_id} without requested_at")
    return Open311Request(
        service_request_id=pc.service_request_id,
        status=status,  # checked just above
        status_notes=pc.status_notes or None,
        service_name=pc.service_name or None,
        service_code=pc.service_code,
        agency_responsible=pc.agency_responsible or None,
        service_notice=pc.service_notice or None,
        requested_datetime=requested,
        updated_datetime=_when(pc.updated_at, tz, pc.HasField("updated_at")),
        expected_datetime=_when(pc.expected_at, tz, pc.HasField("expected_at")),
        address=pc.address or None,
        address_id=pc.address_id or None,
        zipcode=pc.zipcode or None,
        lat=pc.lat if pc.HasField("lat") else None,
        long=pc.lon if pc.HasField("lon") else None,
        case_number=pc.case_number or None,
        external_request_id=pc.external_request_id or None,
    )


def created_from_outcome(outcome: intake_pb2.ComplaintOutcome) -> Open311RequestCreated:
    notice = outcome.service_notice
    if outcome.reason and outcome.reason not in notice:
        # Referrals and rejections still get an answer with the reason (policy 6.5.9, 4.4).
        notice = f"{notice} {outcome.reason}".strip()
    return Open311RequestCreated(
        service_request_id=outcome.service_request_id,
        service_notice=notice or None,
        case_number=outcome.case_number or None,
    )
