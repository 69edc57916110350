"""The 311 feed's JSON body → Submission (DESIGN.md §3)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from services.common.errors import InvalidArgument
from services.intake.entrypoints.open311_message import decode_311, ordering_key

BODY: dict[str, Any] = {
    "service_code": "noise",
    "lat": 44.2497,
    "long": -76.9511,
    "address_string": "12 Dundas St E",
    "description": "Loud music every night",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.org",
    "phone": "613-555-0100",
    "service_request_id": "NYC-61234567",
    "requested_datetime": "2026-03-02T10:00:00-05:00",
    "channel": "311-phone",
    "complainant_address": "1 Main St",
    "api_key": "ignored",
}


def encode(**changes: Any) -> bytes:
    body = {**BODY, **changes}
    return json.dumps({k: v for k, v in body.items() if v is not ...}).encode()


def fields(body: bytes, headers: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(InvalidArgument) as exc:
        decode_311(body, headers)
    return [v.field for v in exc.value.violations]


def test_decodes_the_open311_fields() -> None:
    sub = decode_311(encode(), {"Nats-Msg-Id": "NYC-61234567"})
    assert sub.service_code == "noise"
    assert (sub.location.lat, sub.location.lon) == (44.2497, -76.9511)
    assert sub.location.address == "12 Dundas St E"
    assert sub.complainant.first_name == "Ada" and sub.complainant.phone == "613-555-0100"
    assert sub.external_request_id == "NYC-61234567"
    assert sub.requested_at == datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    assert sub.channel == "311-phone"
    assert sub.attributes == {"complainant_address": "1 Main St"}


def test_numeric_strings_and_numeric_ids_are_accepted() -> None:
    sub = decode_311(encode(lat="44.25", long="-76.95", service_request_id=61234567))
    assert (sub.location.lat, sub.location.lon) == (44.25, -76.95)
    assert sub.external_request_id == "61234567"


def test_the_header_supplies_a_missing_id() -> None:
    assert decode_311(encode(service_request_id=...), {"Nats-Msg-Id": "H-1"}).external_request_id == "H-1"


def test_body_and_header_ids_must_agree() -> None:
    assert fields(encode(), {"Nats-Msg-Id": "OTHER"}) == ["service_request_id"]


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"[1, 2]"])
def test_not_a_json_object(body: bytes) -> None:
    assert fields(body) == ["body"]


def test_type_errors_name_each_field() -> None:
    assert sorted(fields(encode(lat="north", description=["a"], attribute="x"))) == [
        "attribute",
        "description",
        "lat",
    ]


@pytest.mark.parametrize("channel", ["portal", "walk-in", "", None])
def test_only_311_channels_on_the_311_feed(channel: str | None) -> None:
    assert fields(encode(channel=channel)) == ["channel"]


def test_requested_datetime_needs_a_zone() -> None:
    assert fields(encode(requested_datetime="2026-03-02T10:00:00")) == ["requested_datetime"]
    assert fields(encode(requested_datetime="yesterday")) == ["requested_datetime"]


def test_non_finite_coordinates_are_refused() -> None:
    assert fields(encode(lat="NaN")) == ["lat"]


def test_ordering_key_groups_one_place() -> None:
    a = decode_311(encode(address_string="12  Dundas St E"))
    b = decode_311(encode(address_string="12 dundas st e"))
    assert ordering_key(a) == ordering_key(b) != ""
    c = decode_311(encode(address_string="", lat=44.24971, long=-76.95109))
    d = decode_311(encode(address_string="", lat=44.24969, long=-76.95112))
    assert ordering_key(c) == ordering_key(d)
    assert ordering_key(c).startswith("p:")
