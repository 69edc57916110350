"""Assessment roll validation (19-digit Ontario roll numbers, named fields), officers and
zone GeoJSON validation, and point-in-zone lookup."""

from __future__ import annotations

import json

import pytest

from services.cases.domain.geo import Point
from services.cases.domain.properties import (
    Officer,
    Property,
    PropertyBatchValidator,
    Zone,
    canonical_roll_number,
    is_roll_number,
    officer_violations,
    roll_number_problem,
)
from services.cases.domain.zones import ZoneIndex, parse_zone_geometry, zone_violations


def _square(lon0: float, lat0: float, size: float) -> str:
    ring = [[lon0, lat0], [lon0 + size, lat0], [lon0 + size, lat0 + size], [lon0, lat0 + size], [lon0, lat0]]
    return json.dumps({"type": "Polygon", "coordinates": [ring]})


@pytest.mark.parametrize(
    "raw",
    [
        "1121010001001000000",
        "1121-010-001-00100-0000",
        "1121 010 001 00100 0000",
        " 1121.010.001.00100.0000 ",
    ],
)
def test_valid_roll_numbers_in_any_printed_form(raw: str) -> None:
    assert is_roll_number(raw)
    assert canonical_roll_number(raw) == "1121010001001000000"


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("", "is required"),
        ("112101000100100000", "got 18"),
        ("11210100010010000001", "got 20"),
        ("1121-010-001-0010A-0000", "only digits"),
    ],
)
def test_invalid_roll_numbers_say_why(raw: str, fragment: str) -> None:
    problem = roll_number_problem(raw)
    assert problem is not None and fragment in problem


def test_batch_validator_names_the_row_and_field() -> None:
    v = PropertyBatchValidator()
    good = v.check(0, Property("1121-010-001-00100-0000", "100 Dundas St E", Point(44.25, -76.95)))
    assert good.roll_number == "1121010001001000000"
    v.check(1, Property("12345", "1 Market St"))
    v.check(2, Property("1121010001001000000", "100 Dundas St E"))
    v.check(3, Property("1121010001001100000", "   ", Point(95.0, -76.9)))
    fields = [(x.field, x.rule) for x in v.outcome()]
    assert (
        "properties[1].roll_number",
        "must have 19 digits (Ontario assessment roll number); got 5",
    ) in fields
    assert any(f == "properties[2].roll_number" and "duplicate of properties[0]" in r for f, r in fields)
    assert any(f == "properties[3].address" for f, _ in fields)
    assert any(f == "properties[3].point.lat" for f, _ in fields)


def test_batch_validator_caps_the_list_but_counts_everything() -> None:
    v = PropertyBatchValidator(max_reported=3)
    for i in range(10):
        v.check(i, Property("bad", "1 Market St"))
    out = v.outcome()
    assert len(out) == 4
    assert out[-1].field == "properties" and "7 more problems" in out[-1].rule


def test_officer_department_must_be_a_matrix_department() -> None:
    ok = Officer("OFF-1", "Sam Lee", department="BE")
    assert officer_violations(0, ok) == []
    bad = officer_violations(2, Officer("", "", department="XX"))
    assert {v.field for v in bad} == {
        "officers[2].officer_id",
        "officers[2].display_name",
        "officers[2].department",
    }
    dept = next(v for v in bad if v.field == "officers[2].department")
    assert dept.policy == "Appendix A"


def test_zone_geojson_accepts_polygons_multipolygons_and_features() -> None:
    square = _square(-76.96, 44.24, 0.01)
    assert parse_zone_geometry(square).geom_type == "Polygon"
    feature = json.dumps({"type": "Feature", "properties": {}, "geometry": json.loads(square)})
    assert parse_zone_geometry(feature).geom_type == "Polygon"
    multi = json.dumps({"type": "MultiPolygon", "coordinates": [json.loads(square)["coordinates"]]})
    assert parse_zone_geometry(multi).geom_type == "MultiPolygon"


@pytest.mark.parametrize(
    ("geojson", "fragment"),
    [
        ("", "GeoJSON is required"),
        ("{not json", "not JSON"),
        (json.dumps({"type": "Point", "coordinates": [-76.9, 44.2]}), "got Point"),
        (json.dumps({"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}), "malformed Polygon"),
        # A bow-tie ring crosses itself: shapely names the self-intersection.
        (
            json.dumps({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}),
            "Self-intersection",
        ),
        (json.dumps({"type": "Polygon", "coordinates": [[[0, 0], [200, 0], [200, 1], [0, 0]]]}), "WGS84"),
    ],
)
def test_invalid_zone_geometry_error_names_zone_and_reason(geojson: str, fragment: str) -> None:
    violations = zone_violations(3, Zone("NORTH", "North", geojson))
    assert len(violations) == 1
    assert violations[0].field == "zones[3].geojson"
    assert violations[0].rule.startswith("zone NORTH: ")
    assert fragment in violations[0].rule


def test_zone_code_and_name_are_required() -> None:
    fields = {v.field for v in zone_violations(0, Zone("", " ", _square(0, 0, 1)))}
    assert fields == {"zones[0].zone_code", "zones[0].name"}


def test_zone_index_finds_the_containing_zone_and_prefers_the_smaller() -> None:
    index = ZoneIndex(
        [
            Zone("WIDE", "Wide", _square(-77.0, 44.2, 0.2)),
            Zone("CORE", "Core", _square(-76.96, 44.24, 0.01)),
        ]
    )
    assert index.zone_of(Point(44.245, -76.955)) == "CORE"  # inside both
    assert index.zone_of(Point(44.30, -76.90)) == "WIDE"
    assert index.zone_of(Point(45.0, -75.0)) == ""
    # On the boundary counts as inside (covers, not contains).
    assert index.zone_of(Point(44.24, -76.955)) == "CORE"


def test_long_land_use_and_badge_are_named() -> None:
    v = PropertyBatchValidator()
    v.check(0, Property("1121010001001000000", "1 A St", land_use="x" * 65))
    assert [x.field for x in v.outcome()] == ["properties[0].land_use"]
    assert [x.field for x in officer_violations(0, Officer("A", "A", "b" * 65, "BE"))] == [
        "officers[0].badge_number"
    ]
