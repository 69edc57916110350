"""Civic address normalisation: two spellings of one place must produce one key, or a
duplicate complaint opens a second case (policy 6.6.5)."""

from __future__ import annotations

import pytest

from services.cases.domain.addresses import NormalisedAddress, normalise_address


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("123 Dundas Street East", "123 DUNDAS ST E"),
        ("123 dundas st. e.", "123 DUNDAS ST E"),
        ("123 DUNDAS ST EAST", "123 DUNDAS ST E"),
        ("45 Centre Street North", "45 CENTRE ST N"),
        ("45 Centre St. N.", "45 CENTRE ST N"),
        ("8 Advance Avenue", "8 ADVANCE AVE"),
        ("1200 Camden Road", "1200 CAMDEN RD"),
        ("12 Riverview Drive", "12 RIVERVIEW DR"),
        ("3 Maple Crescent", "3 MAPLE CRES"),
        ("3 Maple Court", "3 MAPLE CRT"),
        ("9 Elm Boulevard", "9 ELM BLVD"),
        ("4020 County Road 41", "4020 COUNTY RD 41"),
        ("12 Bridge St West", "12 BRIDGE ST W"),
        ("12 Bridge Street Southwest", "12 BRIDGE ST SW"),
    ],
)
def test_street_types_and_directions_are_abbreviated(raw: str, expected: str) -> None:
    assert normalise_address(raw) == NormalisedAddress(expected)


@pytest.mark.parametrize(
    "raw",
    [
        "4-12 John Street",
        "12 John St, Unit 4",
        "12 John St Unit 4",
        "Unit 4, 12 John St",
        "Apt 4 12 John St",
        "Apartment 4, 12 John Street",
        "Suite 4, 12 John St.",
        "#4 12 John St",
        "12 John St #4",
        "12 John St, Unit # 4",
    ],
)
def test_unit_forms_all_become_one_key(raw: str) -> None:
    normalised = normalise_address(raw)
    assert normalised is not None
    assert normalised.street_line == "12 JOHN ST"
    assert normalised.unit == "4"
    assert normalised.key == "12 JOHN ST UNIT 4"


@pytest.mark.parametrize(
    "raw",
    [
        "123 Dundas Street East, Napanee, ON K7R 1A1",
        "123 Dundas St E, Greater Napanee, Ontario",
        "123 Dundas St E Napanee ON",
        "123 Dundas St. E., Napanee, ON, Canada",
        "123 Dundas St E K7R1A1",
    ],
)
def test_municipality_province_and_postal_code_are_dropped(raw: str) -> None:
    assert normalise_address(raw) == NormalisedAddress("123 DUNDAS ST E")


def test_route_number_after_the_street_type_is_kept() -> None:
    assert normalise_address("4020 County Rd. 41, Napanee") == NormalisedAddress("4020 COUNTY RD 41")


def test_leading_st_is_saint_not_street() -> None:
    assert normalise_address("12 St. Lawrence Street West") == NormalisedAddress("12 ST LAWRENCE ST W")


def test_apostrophes_and_periods_join_words() -> None:
    assert normalise_address("5 O'Brien's Lane") == NormalisedAddress("5 OBRIENS LANE")


def test_civic_number_suffix_letter_is_kept() -> None:
    assert normalise_address("12A John St") == NormalisedAddress("12A JOHN ST")


def test_address_without_civic_number_uses_first_segment() -> None:
    assert normalise_address("Market Square, Napanee") == NormalisedAddress("MARKET SQ")


@pytest.mark.parametrize("raw", ["", "   ", " , , ", "Unit 4"])
def test_nothing_address_like_gives_none(raw: str) -> None:
    assert normalise_address(raw) is None


def test_different_places_stay_different() -> None:
    a = normalise_address("12 John St")
    b = normalise_address("14 John St")
    c = normalise_address("12 John St, Unit 5")
    assert a is not None and b is not None and c is not None
    assert len({a.key, b.key, c.key}) == 3
