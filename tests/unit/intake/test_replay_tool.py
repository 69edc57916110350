"""The 311 replay tool's translation of an NYC Open Data row into the 311 message of
DESIGN.md section 3 (ids, service code from the map, channel, fictional identity)."""

from __future__ import annotations

from services.intake.tools.replay_311 import DEFAULT_MAP, ComplaintTypeMap, fake_identity, message_from_row

ROW = {
    "unique_key": "60879417",
    "created_date": "2024-04-15T23:03:15.000",
    "complaint_type": "HEAT/HOT WATER",
    "descriptor": "ENTIRE BUILDING",
    "location_type": "RESIDENTIAL BUILDING",
    "incident_zip": "11355",
    "incident_address": "142-30 SANFORD  AVENUE",
    "open_data_channel_type": "PHONE",
    "latitude": "40.75",
    "longitude": "-73.82",
}


def test_a_row_becomes_the_311_message() -> None:
    types = ComplaintTypeMap.load(DEFAULT_MAP)
    msg = message_from_row(ROW, types)
    assert msg["service_request_id"] == "60879417"
    assert msg["service_code"] == "property-standards-major-safety"
    assert msg["channel"] == "311-phone"
    assert msg["requested_datetime"] == "2024-04-15T23:03:15-04:00"  # New York local time
    assert msg["address_string"] == "142-30 SANFORD AVENUE"
    assert (msg["lat"], msg["long"]) == (40.75, -73.82)
    assert msg["description"] == "HEAT/HOT WATER / ENTIRE BUILDING / RESIDENTIAL BUILDING"
    assert message_from_row(ROW, types, "r2-")["service_request_id"] == "r2-60879417"


def test_channels_and_unmapped_types() -> None:
    types = ComplaintTypeMap.load(DEFAULT_MAP)
    for nyc, ours in (("ONLINE", "311-online"), ("MOBILE", "311-mobile"), ("UNKNOWN", "311-other")):
        assert message_from_row({**ROW, "open_data_channel_type": nyc}, types)["channel"] == ours
    # Unmapped: sent under its own name so intake refuses it (DLQ with the reason).
    assert (
        message_from_row({**ROW, "complaint_type": "Lost Property"}, types)["service_code"] == "Lost Property"
    )
    assert "Lost Property" in types.unmapped


def test_fake_identity_is_deterministic_and_obviously_fictional() -> None:
    one = fake_identity("60879417")
    assert one == fake_identity("60879417") != fake_identity("60879418")
    assert one["email"].endswith("@example.invalid")
    assert one["phone"].startswith("613-555-01")
