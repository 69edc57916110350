"""Small-distance geometry on WGS84 points: great-circle distance, the lat/lon bounding
box an index can search before the exact distance check, and the grid cells used to
serialise duplicate detection between nearby GPS-only complaints (policy 6.6.5)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from services.common.errors import FieldViolation

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG)
METRES_PER_DEGREE_LAT = math.pi * EARTH_RADIUS_M / 180.0


@dataclass(frozen=True, slots=True)
class Point:
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class BoundingBox:
    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float

    def contains(self, point: Point) -> bool:
        return self.min_lat <= point.lat <= self.max_lat and self.min_lon <= point.lon <= self.max_lon


def point_violations(point: Point, field: str) -> list[FieldViolation]:
    out: list[FieldViolation] = []
    if not (math.isfinite(point.lat) and -90.0 <= point.lat <= 90.0):
        out.append(FieldViolation(f"{field}.lat", "latitude must be between -90 and 90"))
    if not (math.isfinite(point.lon) and -180.0 <= point.lon <= 180.0):
        out.append(FieldViolation(f"{field}.lon", "longitude must be between -180 and 180"))
    return out


def haversine_m(a: Point, b: Point) -> float:
    """Great-circle distance in metres; accurate to well under a metre at town scale."""
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dphi = phi2 - phi1
    dlmb = math.radians(b.lon - a.lon)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def bounding_box(center: Point, radius_m: float) -> BoundingBox:
    """A box that contains every point within ``radius_m`` of ``center`` (and a little
    more at the corners; callers confirm with :func:`haversine_m`)."""
    dlat = radius_m / METRES_PER_DEGREE_LAT
    # Longitude degrees shrink with latitude; clamp so the poles do not divide by zero.
    cos_lat = max(math.cos(math.radians(center.lat)), 1e-6)
    dlon = radius_m / (METRES_PER_DEGREE_LAT * cos_lat)
    return BoundingBox(center.lat - dlat, center.lat + dlat, center.lon - dlon, center.lon + dlon)


def within(a: Point, b: Point, radius_m: float) -> bool:
    return haversine_m(a, b) <= radius_m


# Longitude cells are sized for this latitude, so they are wide enough (in degrees) for
# every latitude closer to the equator. Sizing by the point's own latitude would not do:
# measured from Greenwich, a few metres of latitude shift a column index by a whole cell.
GRID_LATITUDE_LIMIT = 75.0


def grid_cell(point: Point, cell_m: float) -> tuple[int, int]:
    """The (row, column) of the lock grid cell holding ``point``: rows ``cell_m`` tall,
    columns at least ``cell_m`` wide anywhere within ``GRID_LATITUDE_LIMIT`` degrees."""
    lat_deg = cell_m / METRES_PER_DEGREE_LAT
    lon_deg = cell_m / (METRES_PER_DEGREE_LAT * math.cos(math.radians(GRID_LATITUDE_LIMIT)))
    return math.floor(point.lat / lat_deg), math.floor(point.lon / lon_deg)


def neighbourhood_cells(point: Point, radius_m: float) -> list[tuple[int, int]]:
    """The 3x3 block of grid cells (side ``radius_m``) around ``point``'s cell, sorted.

    Two points within ``radius_m`` of each other lie in the same or adjacent cells, so each
    one's block contains the other's cell. Locking every cell of the block, in sorted order
    (no deadlock), makes two such complaints wait for one another.
    """
    row, col = grid_cell(point, radius_m)
    return sorted((row + dr, col + dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1))
