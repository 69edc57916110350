"""Distances and the GPS radius used to match parcels and detect duplicates (6.6.5)."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from services.cases.domain.geo import (
    METRES_PER_DEGREE_LAT,
    Point,
    bounding_box,
    grid_cell,
    haversine_m,
    neighbourhood_cells,
    point_violations,
    within,
)

NAPANEE = Point(44.2487, -76.9516)


def test_haversine_of_known_distances() -> None:
    assert haversine_m(NAPANEE, NAPANEE) == 0.0
    # One thousandth of a degree of latitude is ~111.2 m everywhere.
    assert haversine_m(NAPANEE, Point(NAPANEE.lat + 0.001, NAPANEE.lon)) == pytest.approx(111.19, abs=0.05)
    # A degree of longitude shrinks with cos(latitude): ~79.6 m per thousandth here.
    expected = 111.19 * math.cos(math.radians(NAPANEE.lat))
    assert haversine_m(NAPANEE, Point(NAPANEE.lat, NAPANEE.lon + 0.001)) == pytest.approx(expected, abs=0.05)
    # Napanee to Kingston city hall is about 38 km.
    assert haversine_m(NAPANEE, Point(44.2299, -76.4811)) == pytest.approx(37_500, rel=0.02)


def test_within_radius_is_inclusive_and_tight() -> None:
    north_20m = Point(NAPANEE.lat + 20 / METRES_PER_DEGREE_LAT, NAPANEE.lon)
    north_30m = Point(NAPANEE.lat + 30 / METRES_PER_DEGREE_LAT, NAPANEE.lon)
    assert within(NAPANEE, north_20m, 25.0)
    assert not within(NAPANEE, north_30m, 25.0)


def test_bounding_box_contains_every_point_within_the_radius() -> None:
    rng = random.Random(7)
    box = bounding_box(NAPANEE, 25.0)
    for _ in range(2000):
        bearing = rng.uniform(0, 2 * math.pi)
        distance = rng.uniform(0, 25.0)
        dlat = distance * math.cos(bearing) / METRES_PER_DEGREE_LAT
        dlon = distance * math.sin(bearing) / (METRES_PER_DEGREE_LAT * math.cos(math.radians(NAPANEE.lat)))
        p = Point(NAPANEE.lat + dlat, NAPANEE.lon + dlon)
        if haversine_m(NAPANEE, p) <= 25.0:
            assert box.contains(p)
    # and is not absurdly large: its half-height is the radius.
    assert (box.max_lat - box.min_lat) / 2 * METRES_PER_DEGREE_LAT == pytest.approx(25.0)


def test_points_within_radius_share_a_lock_cell() -> None:
    """The GPS duplicate lock: any two points within the radius lock a common cell."""
    rng = random.Random(11)
    for _ in range(3000):
        a = Point(44.2 + rng.uniform(0, 0.1), -77.0 + rng.uniform(0, 0.1))
        bearing, distance = rng.uniform(0, 2 * math.pi), rng.uniform(0, 25.0)
        b = Point(
            a.lat + distance * math.cos(bearing) / METRES_PER_DEGREE_LAT,
            a.lon + distance * math.sin(bearing) / (METRES_PER_DEGREE_LAT * math.cos(math.radians(a.lat))),
        )
        if haversine_m(a, b) <= 25.0:
            assert set(neighbourhood_cells(a, 25.0)) & set(neighbourhood_cells(b, 25.0))


def test_neighbourhood_is_sorted_three_by_three() -> None:
    cells = neighbourhood_cells(NAPANEE, 25.0)
    assert cells == sorted(cells)
    assert len(set(cells)) == 9
    row, col = grid_cell(NAPANEE, 25.0)
    assert {(r, c) for r, c in itertools.product(range(row - 1, row + 2), range(col - 1, col + 2))} == set(
        cells
    )


def test_point_violations_name_the_field() -> None:
    assert point_violations(NAPANEE, "location.point") == []
    bad = point_violations(Point(91.0, -200.0), "location.point")
    assert [v.field for v in bad] == ["location.point.lat", "location.point.lon"]
    assert point_violations(Point(float("nan"), 0.0), "p")[0].field == "p.lat"
