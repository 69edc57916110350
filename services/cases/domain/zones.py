"""Enforcement zones: GeoJSON polygons officers are assigned to (spec 1.2 routes cases by
geographic zone). Validation says which zone is wrong and why; :class:`ZoneIndex` answers
"which zone contains this point" for cases whose location matched no parcel."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.prepared import PreparedGeometry, prep
from shapely.validation import explain_validity

from services.cases.domain.geo import Point
from services.cases.domain.properties import Zone, zone_code_problem
from services.common.errors import FieldViolation

POLYGON_TYPES = ("Polygon", "MultiPolygon")


def parse_zone_geometry(geojson: str) -> BaseGeometry:
    """The polygon of a zone's GeoJSON (a geometry or a Feature wrapping one).

    Raises ValueError with a human reason when it is not a valid (Multi)Polygon.
    """
    if not geojson.strip():
        raise ValueError("GeoJSON is required")
    try:
        data: Any = json.loads(geojson)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    if isinstance(data, dict) and data.get("type") == "Feature":
        data = data.get("geometry")
    if not isinstance(data, dict) or data.get("type") not in POLYGON_TYPES:
        kind = data.get("type") if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"geometry must be a Polygon or MultiPolygon; got {kind}")
    try:
        geometry = shape(data)
    except (ValueError, TypeError, KeyError, IndexError, shapely.errors.GEOSException) as exc:
        raise ValueError(f"malformed {data['type']} coordinates: {exc}") from exc
    if geometry.is_empty:
        raise ValueError(f"{data['type']} is empty")
    if not geometry.is_valid:
        raise ValueError(f"invalid {data['type']}: {explain_validity(geometry)}")
    minx, miny, maxx, maxy = geometry.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise ValueError("coordinates must be WGS84 [longitude, latitude] pairs")
    return geometry


def zone_violations(index: int, zone: Zone) -> list[FieldViolation]:
    prefix = f"zones[{index}]"
    label = zone.zone_code or f"#{index}"
    out: list[FieldViolation] = []
    if (problem := zone_code_problem(zone.zone_code)) is not None:
        out.append(FieldViolation(f"{prefix}.zone_code", problem))
    if not zone.name.strip():
        out.append(FieldViolation(f"{prefix}.name", f"zone {label}: name is required"))
    try:
        parse_zone_geometry(zone.geojson)
    except ValueError as exc:
        out.append(FieldViolation(f"{prefix}.geojson", f"zone {label}: {exc}"))
    return out


@dataclass(frozen=True)
class _IndexedZone:
    zone_code: str
    geometry: BaseGeometry
    prepared: PreparedGeometry


class ZoneIndex:
    """Point-in-polygon over every zone. Zones should not overlap; if they do, the
    smallest containing zone wins (a downtown core inside a wider district is the
    more specific answer), then the zone code, so the answer is deterministic."""

    def __init__(self, zones: Iterable[Zone]) -> None:
        items: list[_IndexedZone] = []
        for zone in zones:
            geometry = parse_zone_geometry(zone.geojson)
            items.append(_IndexedZone(zone.zone_code, geometry, prep(geometry)))
        self._zones = sorted(items, key=lambda z: (z.geometry.area, z.zone_code))

    def __len__(self) -> int:
        return len(self._zones)

    def zone_of(self, point: Point) -> str:
        candidate = shapely.Point(point.lon, point.lat)  # GeoJSON order: x = lon, y = lat
        for zone in self._zones:
            if zone.prepared.covers(candidate):
                return zone.zone_code
        return ""
