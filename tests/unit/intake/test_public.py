"""The public Open311 request object (DESIGN.md §3; policy 6.3.4, 6.3.8, 6.10)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema

from services.intake.domain.model import (
    ComplaintRecord,
    Location,
    OutcomeKind,
    Priority,
    ProcessingState,
    ReasonCode,
)
from services.intake.domain.public import public_view, to_open311

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "fixtures" / "open311" / "request.json").read_text()
)
WHEN = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def record(**changes: object) -> ComplaintRecord:
    base: dict[str, object] = dict(
        id="00000000-0000-0000-0000-000000000001",
        service_request_id="SR-2026-0000001",
        source="311",
        channel="311-online",
        external_request_id="NYC-1",
        service_code="noise",
        service_name="Noise",
        bylaw_number="2023-0043",
        priority=Priority.MEDIUM,
        enforced_by=("BE", "OPP"),
        matrix_version="2023-07-25 #406/23",
        location=Location(address="12 Dundas St E", lat=44.25, lon=-76.95, postal_code="K7R 1A1"),
        media_url="https://example.org/p.jpg",
        requested_at=WHEN,
        received_at=WHEN,
        updated_at=WHEN,
        state=ProcessingState.DONE,
        acknowledgement_due=None,
        outcome=OutcomeKind.NEW_CASE,
        reason_code=ReasonCode.NEW_CASE,
        case_number="BL-2026-000001",
    )
    base.update(changes)
    return ComplaintRecord(**base)  # type: ignore[arg-type]


def test_open311_object_validates_against_the_schema() -> None:
    for outcome, code in [
        (OutcomeKind.NEW_CASE, ReasonCode.NEW_CASE),
        (OutcomeKind.REJECTED, ReasonCode.ANONYMOUS),
        (None, None),
    ]:
        body = to_open311(public_view(record(outcome=outcome, reason_code=code)))
        jsonschema.validate(body, SCHEMA)


def test_case_and_311_ids_are_carried() -> None:
    body = to_open311(public_view(record()))
    assert body["case_number"] == "BL-2026-000001"
    assert body["external_request_id"] == "NYC-1"
    assert body["status"] == "open"
    assert body["status_notes"] == "Under review as case BL-2026-000001."
    assert body["agency_responsible"] == "Town of Greater Napanee: By-law Enforcement"
    assert body["requested_datetime"] == "2026-03-02T15:00:00Z"


def test_the_written_complaint_and_media_are_not_disclosed_policy_6_3_4() -> None:
    body = to_open311(public_view(record()))
    assert body["description"] is None
    assert body["media_url"] is None


def test_referred_and_rejected_are_closed() -> None:
    referred = to_open311(
        public_view(
            record(
                outcome=OutcomeKind.REFERRED,
                reason_code=ReasonCode.OUT_OF_SCOPE,
                case_number="",
                referred_to="Ontario Provincial Police",
            )
        )
    )
    assert referred["status"] == "closed" and referred["case_number"] is None
    assert referred["agency_responsible"] == "Ontario Provincial Police"
    rejected = public_view(
        record(outcome=OutcomeKind.REJECTED, reason_code=ReasonCode.REPEAT_AFTER_COMPLIANCE)
    )
    assert rejected.status == "closed"
    assert "6.6.3" in rejected.status_notes


def test_restricted_complaint_hides_its_location_policy_6_10() -> None:
    body = to_open311(public_view(record(restricted=True)))
    assert (
        body["address"] is None and body["lat"] is None and body["long"] is None and body["zipcode"] is None
    )
