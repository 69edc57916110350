"""Malformed complaints are refused naming field, rule and policy section (policy 4.10,
6.5.1-6.5.3; Open311 GeoReport v2)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.common.errors import FieldViolation, InvalidArgument
from services.intake.domain.model import ComplainantIdentity, Location, Submission
from services.intake.domain.validation import validate_submission
from tests.unit.intake.fakes import seed_matrix

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
MATRIX = seed_matrix()


def make(**changes: Any) -> Submission:
    base = Submission(
        service_code="grass-cutting",
        location=Location(address="12 Dundas St E, Napanee"),
        description="Grass over 30 cm for weeks.",
        complainant=ComplainantIdentity(
            first_name="Ada",
            last_name="Lovelace",
            email="ada@example.org",
            phone="613-555-0100",
            address="1 Main St",
        ),
        channel="portal",
    )
    return dataclasses.replace(base, **changes)


def who(**changes: Any) -> ComplainantIdentity:
    return dataclasses.replace(make().complainant, **changes)


def violations(sub: Submission) -> list[FieldViolation]:
    with pytest.raises(InvalidArgument) as exc:
        validate_submission(sub, MATRIX, NOW)
    return exc.value.violations


def only(sub: Submission) -> FieldViolation:
    found = violations(sub)
    assert len(found) == 1, found
    return found[0]


def test_a_complete_complaint_is_valid() -> None:
    valid = validate_submission(make(), MATRIX, NOW)
    assert valid.entry.service_code == "grass-cutting"
    assert valid.matrix_version == MATRIX.label
    assert valid.requested_at == NOW  # none given: the time of receipt (policy 6.5.10 a)
    assert valid.identity.preferred_contact == "email"  # derived from the contact given


def test_service_code_is_required_policy_6_5_3() -> None:
    v = only(make(service_code=" "))
    assert (v.field, v.policy) == ("service_code", "6.5.3")


def test_service_code_must_be_in_the_matrix_in_force_policy_6_8_3() -> None:
    v = only(make(service_code="storm-drainage"))
    assert v.field == "service_code"
    assert v.policy == "6.8.3"
    assert MATRIX.label in v.rule


def test_location_needs_an_address_or_coordinates_policy_4_10() -> None:
    v = only(make(location=Location()))
    assert (v.field, v.policy) == ("address_string", "4.10")
    # Coordinates alone are enough.
    validate_submission(make(location=Location(lat=44.25, lon=-76.95)), MATRIX, NOW)


def test_lat_and_long_go_together_policy_4_10() -> None:
    v = only(make(location=Location(lat=44.25)))
    assert (v.field, v.policy) == ("long", "4.10")


@pytest.mark.parametrize(("lat", "lon", "field"), [(91.0, -76.9, "lat"), (44.2, -181.0, "long")])
def test_coordinates_must_be_wgs84(lat: float, lon: float, field: str) -> None:
    assert only(make(location=Location(lat=lat, lon=lon))).field == field


def test_description_is_required_policy_6_5_3() -> None:
    v = only(make(description="   "))
    assert (v.field, v.policy) == ("description", "6.5.3")
    assert "nature" in v.rule


def test_description_at_most_4000_characters_open311() -> None:
    assert only(make(description="x" * 4001)).field == "description"
    validate_submission(make(description="x" * 4000), MATRIX, NOW)


def test_channel_must_be_known_policy_6_5_1() -> None:
    v = only(make(channel="carrier-pigeon"))
    assert (v.field, v.policy) == ("channel", "6.5.1")


def test_311_channels_need_the_311_id() -> None:
    assert only(make(channel="311-online")).field == "service_request_id"
    validate_submission(make(channel="311-online", external_request_id="NYC-1"), MATRIX, NOW)


def test_external_id_characters_are_limited() -> None:
    assert only(make(external_request_id="id with spaces")).field == "service_request_id"


def test_requested_datetime_not_in_the_future() -> None:
    assert only(make(requested_at=NOW + timedelta(hours=1))).field == "requested_datetime"
    validate_submission(make(requested_at=NOW + timedelta(minutes=2)), MATRIX, NOW)  # clock skew


def test_requested_datetime_needs_a_zone() -> None:
    naive = datetime(2026, 3, 2, 9, 0)
    assert only(make(requested_at=naive)).field == "requested_datetime"


def test_verbal_only_on_phone_or_walk_in_policy_6_5_1() -> None:
    v = only(make(verbal=True, channel="email"))
    assert (v.field, v.policy) == ("verbal", "6.5.1")
    validate_submission(make(verbal=True, channel="phone"), MATRIX, NOW)


def test_media_url_must_be_http() -> None:
    assert only(make(media_url="javascript:alert(1)")).field == "media_url"


def test_email_format_when_given_policy_6_5_3() -> None:
    v = only(make(complainant=who(email="not-an-email")))
    assert (v.field, v.policy) == ("email", "6.5.3")


@pytest.mark.parametrize("phone", ["12345", "call me maybe", "+1 613 555 0100 1234 5678 9"])
def test_phone_format_when_given_policy_6_5_3(phone: str) -> None:
    v = only(make(complainant=who(phone=phone)))
    assert (v.field, v.policy) == ("phone", "6.5.3")


@pytest.mark.parametrize("phone", ["613-555-0100", "+1 (613) 555-0100", "613.555.0100 ext. 12"])
def test_phone_formats_accepted(phone: str) -> None:
    validate_submission(make(complainant=who(phone=phone)), MATRIX, NOW)


def test_preferred_contact_needs_that_contact_policy_6_5_3() -> None:
    v = only(make(complainant=who(email="", preferred_contact="email")))
    assert (v.field, v.policy) == ("email", "6.5.3")
    assert only(make(complainant=who(preferred_contact="pigeon"))).field == "preferred_contact"


def test_unknown_attribute_is_refused() -> None:
    assert only(make(attributes={"colour": "red"})).field == "attribute[colour]"


def test_attribute_list_values_are_checked() -> None:
    v = only(make(attributes={"about_staff_or_council": "perhaps"}))
    assert v.field == "attribute[about_staff_or_council]"


def test_complainant_address_attribute_fills_the_identity_policy_4_10() -> None:
    valid = validate_submission(
        make(complainant=who(address=""), attributes={"complainant_address": " 7  King St "}), MATRIX, NOW
    )
    assert valid.identity.address == "7 King St"


def test_complaint_about_staff_is_restricted_policy_6_10() -> None:
    assert validate_submission(make(attributes={"about_staff_or_council": "yes"}), MATRIX, NOW).restricted
    assert validate_submission(make(about_staff_or_council=True), MATRIX, NOW).restricted
    assert not validate_submission(make(), MATRIX, NOW).restricted


def test_every_violation_is_reported_at_once() -> None:
    fields = {v.field for v in violations(make(service_code="", description="", location=Location()))}
    assert fields == {"service_code", "description", "address_string"}


def test_rules_never_echo_the_offending_value() -> None:
    # Values may be complainant identity (policy 6.3.2); errors go to logs and the DLQ.
    with pytest.raises(InvalidArgument) as exc:
        validate_submission(
            make(complainant=who(email="canary.secret@@nowhere", phone="canary-phone")), MATRIX, NOW
        )
    assert "canary" not in exc.value.message


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"complainant": who(first_name="x" * 101)}, "first_name"),
        ({"complainant": who(last_name="x" * 101)}, "last_name"),
        ({"complainant": who(address="x" * 301)}, "complainant_address"),
        ({"location": Location(address="x" * 301)}, "address_string"),
        ({"location": Location(address="1 Main St", address_id="x" * 65)}, "address_id"),
        ({"location": Location(address="1 Main St", postal_code="x" * 17)}, "zipcode"),
    ],
)
def test_field_lengths_are_bounded(changes: dict[str, Any], field: str) -> None:
    assert only(make(**changes)).field == field


@pytest.mark.parametrize(
    ("complainant", "field"),
    [
        (who(phone="", preferred_contact="phone"), "phone"),
        (who(address="", preferred_contact="mail"), "complainant_address"),
    ],
)
def test_preferred_contact_method_needs_its_details_policy_6_5_3(
    complainant: ComplainantIdentity, field: str
) -> None:
    v = only(make(complainant=complainant))
    assert (v.field, v.policy) == (field, "6.5.3")
