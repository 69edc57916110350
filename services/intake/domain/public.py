"""The complaint as the public sees it: the Open311 GeoReport v2 request object with the
``case_number`` and ``external_request_id`` extensions (DESIGN.md section 3).

Never the complainant's identity, never the written complaint (policy 6.3.4), never
investigation details (6.3.8). A complaint about a Town employee or Council member also
hides its location (6.10). The same object is what ``GET requests/{id}.json`` returns and
what goes back to the 311 system on ``bylaw.311.updates``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.intake.domain.communication import status_notes
from services.intake.domain.matrix import DEPARTMENTS, OUTSIDE_AGENCIES
from services.intake.domain.model import CLOSED_CASE_STATUSES, ComplaintRecord, OutcomeKind

MUNICIPALITY = "Town of Greater Napanee"


@dataclass(frozen=True, slots=True)
class PublicComplaint:
    service_request_id: str
    external_request_id: str
    case_number: str
    service_code: str
    service_name: str
    status: str  # Open311: "open" | "closed"
    status_notes: str
    agency_responsible: str
    service_notice: str
    requested_at: datetime
    updated_at: datetime
    address: str
    address_id: str
    zipcode: str
    lat: float | None
    lon: float | None
    outcome: OutcomeKind | None
    channel: str
    # Open311 expected_datetime: the resolution target for the priority (policy 6.8.5)
    # while the complaint is open on a case; none once closed, referred or rejected.
    expected_at: datetime | None = None


def open311_status(outcome: OutcomeKind | None, case_status: str = "") -> str:
    # A referral or rejection ends the Town's handling; a case keeps the complaint open
    # until the case ends (the cases service reports its status in case events).
    if outcome in (OutcomeKind.REFERRED, OutcomeKind.REJECTED):
        return "closed"
    return "closed" if case_status in CLOSED_CASE_STATUSES else "open"


def agency_responsible(record: ComplaintRecord) -> str:
    if record.referred_to:
        return record.referred_to
    departments = [
        DEPARTMENTS[c] for c in record.enforced_by if c in DEPARTMENTS and c not in OUTSIDE_AGENCIES
    ]
    return f"{MUNICIPALITY}: {', '.join(departments)}" if departments else MUNICIPALITY


def public_view(record: ComplaintRecord) -> PublicComplaint:
    hide_location = record.restricted  # policy 6.10
    loc = record.location
    status = open311_status(record.outcome, record.case_status)
    return PublicComplaint(
        service_request_id=record.service_request_id,
        external_request_id=record.external_request_id,
        case_number=record.case_number,
        service_code=record.service_code,
        service_name=record.service_name,
        status=status,
        status_notes=status_notes(
            record.outcome,
            case_number=record.case_number,
            referred_to=record.referred_to,
            reason_code=record.reason_code,
            case_closed=record.case_status in CLOSED_CASE_STATUSES,
        ),
        agency_responsible=agency_responsible(record),
        service_notice=record.service_notice,
        requested_at=record.requested_at,
        updated_at=record.updated_at,
        address="" if hide_location else loc.address,
        address_id="" if hide_location else loc.address_id,
        zipcode="" if hide_location else loc.postal_code,
        lat=None if hide_location else loc.lat,
        lon=None if hide_location else loc.lon,
        outcome=record.outcome,
        channel=record.channel,
        expected_at=record.resolution_due if status == "open" and record.on_case else None,
    )


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def to_open311(view: PublicComplaint) -> dict[str, Any]:
    """The Open311 request object (validates against shared/open311/request.json)."""
    return {
        "service_request_id": view.service_request_id,
        "status": view.status,
        "status_notes": view.status_notes or None,
        "service_name": view.service_name or None,
        "service_code": view.service_code,
        # The written complaint is not disclosed to the public (policy 6.3.4).
        "description": None,
        "agency_responsible": view.agency_responsible or None,
        "service_notice": view.service_notice or None,
        "requested_datetime": _iso(view.requested_at),
        "updated_datetime": _iso(view.updated_at),
        "expected_datetime": _iso(view.expected_at) if view.expected_at else None,
        "address": view.address or None,
        "address_id": view.address_id or None,
        "zipcode": view.zipcode or None,
        "lat": view.lat,
        "long": view.lon,
        "media_url": None,
        "case_number": view.case_number or None,
        "external_request_id": view.external_request_id or None,
        # Extension: how the complaint ended (new_case, joined_case, referred, rejected),
        # so the 311 system (and the replay tool) can count outcomes without parsing notes.
        "outcome": view.outcome.value if view.outcome else None,
    }
