"""The demo town generator: deterministic, ~300 valid parcels, zones that cover every
parcel exactly once, officers whose specialties are real matrix service codes."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import shapely
from shapely.geometry import shape

from devstack.demo_town import MUNICIPALITY_PREFIX, generate_town
from services.cases.domain.addresses import normalise_address
from services.cases.domain.geo import Point
from services.cases.domain.properties import DEPARTMENTS, Officer, Property, PropertyBatchValidator, Zone
from services.cases.domain.zones import ZoneIndex, parse_zone_geometry, zone_violations

MATRIX = Path(__file__).resolve().parents[3] / "config" / "service_level_matrix.csv"


def test_same_seed_same_town_other_seed_other_owners() -> None:
    assert generate_town(2026) == generate_town(2026)
    a, b = generate_town(1), generate_town(2)
    assert [p.roll_number for p in a.properties] == [p.roll_number for p in b.properties]
    assert [p.owner_name for p in a.properties] != [p.owner_name for p in b.properties]


def test_about_three_hundred_valid_unique_parcels() -> None:
    town = generate_town()
    assert 280 <= len(town.properties) <= 320
    validator = PropertyBatchValidator()
    for i, p in enumerate(town.properties):
        validator.check(i, Property(p.roll_number, p.address, Point(p.lat, p.lon), p.owner_name))
    assert validator.outcome() == []
    assert all(p.roll_number.startswith(MUNICIPALITY_PREFIX) for p in town.properties)
    keys = [normalise_address(p.address) for p in town.properties]
    assert all(k is not None for k in keys)
    assert len({k.key for k in keys if k}) == len(town.properties)  # one parcel per address


def test_real_napanee_streets_are_present() -> None:
    streets = {" ".join(p.address.split(" ")[1:]) for p in generate_town().properties}
    for street in (
        "Dundas St E",
        "Dundas St W",
        "Centre St N",
        "Centre St S",
        "John St",
        "Market St",
        "Robert St",
    ):
        assert street in streets
    assert {"Camden Rd", "County Rd 41"} <= streets


def test_four_zones_valid_disjoint_and_covering_every_parcel() -> None:
    town = generate_town()
    assert [z.zone_code for z in town.zones] == ["DOWNTOWN", "NORTH", "SOUTH", "RURAL"]
    for i, z in enumerate(town.zones):
        assert zone_violations(i, Zone(z.zone_code, z.name, z.geojson)) == []
    shapes = [parse_zone_geometry(z.geojson) for z in town.zones]
    for i in range(len(shapes)):
        for j in range(i + 1, len(shapes)):
            assert shapes[i].intersection(shapes[j]).area < 1e-9
    index = ZoneIndex(Zone(z.zone_code, z.name, z.geojson) for z in town.zones)
    for p in town.properties:
        assert index.zone_of(Point(p.lat, p.lon)) == p.zone_code
    assert Counter(p.zone_code for p in town.properties).keys() == {"DOWNTOWN", "NORTH", "SOUTH", "RURAL"}


def test_town_centre_is_downtown() -> None:
    town = generate_town()
    downtown = shape(json.loads(town.zones[0].geojson))
    assert downtown.contains(shapely.Point(-76.9516, 44.2487))


def test_officers_have_matrix_specialties_and_known_zones() -> None:
    town = generate_town()
    with MATRIX.open(newline="") as fh:
        codes = {row["service_code"] for row in csv.DictReader(fh)}
    zone_codes = {z.zone_code for z in town.zones}
    assert len(town.officers) == 6
    assert {o.department for o in town.officers} == {"BE", "BD", "AC"}
    for o in town.officers:
        assert o.department in DEPARTMENTS
        assert set(o.specialties) <= codes, set(o.specialties) - codes
        assert set(o.zone_codes) <= zone_codes
        assert Officer(o.officer_id, o.display_name, department=o.department).active
    # Every zone has at least one By-law Enforcement officer.
    assert set().union(*(o.zone_codes for o in town.officers if o.department == "BE")) == zone_codes
