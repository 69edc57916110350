"""A demo town modelled on the Town of Greater Napanee, Ontario, and how to load it.

:func:`generate_town` is deterministic for a seed: about 300 parcels on Napanee streets
(Dundas St E/W, Centre St N/S, John St, Bridge St, Market St, Robert St, Camden Rd,
County Rd 41 …) with valid-format 19-digit assessment roll numbers under Greater Napanee's
municipality prefix ``1121``, fictional owners (property owners on the roll, not
complainants), land use and ward; four enforcement zones (Downtown, North, South, Rural)
whose polygons together cover every parcel without overlapping; and six officers of the
By-law (BE), Building (BD) and Animal Control (AC) departments with specialties and zones.

:func:`seed_demo_town` loads it through the cases gRPC API (UpsertZones,
ImportProperties streaming, UpsertOfficers). Every call is an upsert keyed on the natural
id, so a second run creates nothing new. Coordinates follow the real street layout
roughly; they are for demonstration, not survey-grade.
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import shapely
from bylaw.v1 import cases_pb2, common_pb2
from bylaw.v1.cases_pb2_grpc import CasesServiceStub
from shapely.geometry import box, mapping
from shapely.geometry.base import BaseGeometry

from services.common.grpc_client import insecure_channel

if TYPE_CHECKING:  # the async stub type exists only in the generated .pyi
    from bylaw.v1.cases_pb2_grpc import CasesServiceAsyncStub

MUNICIPALITY_PREFIX = "1121"  # Greater Napanee on the Ontario assessment roll
TOWN_CENTRE = (44.2487, -76.9516)  # (lat, lon): Dundas St at Centre St, roughly
SEED_ACTOR = "devstack-demo-seed"
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DemoProperty:
    roll_number: str
    address: str
    lat: float
    lon: float
    owner_name: str
    owner_mailing_address: str
    zone_code: str
    land_use: str
    ward: str


@dataclass(frozen=True)
class DemoZone:
    zone_code: str
    name: str
    geojson: str


@dataclass(frozen=True)
class DemoOfficer:
    officer_id: str
    display_name: str
    badge_number: str
    department: str
    specialties: tuple[str, ...]
    zone_codes: tuple[str, ...]
    active: bool = True


@dataclass(frozen=True)
class Town:
    name: str
    properties: list[DemoProperty]
    zones: list[DemoZone]
    officers: list[DemoOfficer]

    def property(self, roll_number: str) -> DemoProperty:
        for prop in self.properties:
            if prop.roll_number == roll_number:
                return prop
        raise KeyError(roll_number)


@dataclass(frozen=True)
class _Street:
    name: str
    start: tuple[float, float]  # (lat, lon)
    end: tuple[float, float]
    first_number: int
    spacing: int  # civic numbers between neighbouring parcels on one side
    parcels: int


# Laid out along the real streets' general directions from the downtown core.
STREETS: tuple[_Street, ...] = (
    _Street("Dundas St W", (44.2489, -76.9535), (44.2502, -76.9790), 2, 4, 38),
    _Street("Dundas St E", (44.2486, -76.9515), (44.2468, -76.9260), 1, 4, 38),
    _Street("Centre St N", (44.2494, -76.9531), (44.2675, -76.9556), 2, 4, 30),
    _Street("Centre St S", (44.2480, -76.9530), (44.2405, -76.9524), 3, 4, 12),
    _Street("John St", (44.2492, -76.9506), (44.2585, -76.9511), 10, 4, 20),
    _Street("Bridge St W", (44.2508, -76.9540), (44.2516, -76.9705), 5, 4, 18),
    _Street("Bridge St E", (44.2506, -76.9518), (44.2499, -76.9385), 4, 4, 14),
    _Street("Market St", (44.2484, -76.9497), (44.2472, -76.9494), 1, 2, 6),
    _Street("Robert St", (44.2510, -76.9468), (44.2605, -76.9478), 20, 4, 18),
    _Street("Graham St", (44.2522, -76.9602), (44.2602, -76.9611), 11, 4, 14),
    _Street("Simcoe St", (44.2532, -76.9442), (44.2600, -76.9447), 15, 4, 14),
    _Street("Thomas St", (44.2540, -76.9560), (44.2542, -76.9660), 8, 4, 10),
    _Street("Advance Ave", (44.2428, -76.9690), (44.2431, -76.9810), 6, 4, 12),
    _Street("Palace Rd", (44.2440, -76.9330), (44.2265, -76.9215), 100, 30, 14),
    _Street("Camden Rd", (44.2700, -76.9470), (44.2945, -76.9255), 1200, 60, 20),
    _Street("County Rd 41", (44.2760, -76.9605), (44.3290, -76.9705), 4020, 80, 22),
)

# Enforcement zones (GeoJSON is [lon, lat]). The urban area is split into a downtown core
# and north/south halves; the rest of the municipality is Rural.
_OUTER = box(-77.10, 44.18, -76.80, 44.40)
_URBAN = box(-76.985, 44.235, -76.915, 44.275)
_DOWNTOWN = box(-76.9620, 44.2455, -76.9400, 44.2530)
_SPLIT_LAT = 44.2492
ZONE_SHAPES: tuple[tuple[str, str, BaseGeometry], ...] = (
    ("DOWNTOWN", "Downtown", _DOWNTOWN),
    ("NORTH", "North Napanee", box(-76.985, _SPLIT_LAT, -76.915, 44.275).difference(_DOWNTOWN)),
    ("SOUTH", "South Napanee", box(-76.985, 44.235, -76.915, _SPLIT_LAT).difference(_DOWNTOWN)),
    ("RURAL", "Rural Greater Napanee", _OUTER.difference(_URBAN)),
)
# Roll number map areas per zone, and wards (fictional boundaries).
_MAP_AREA = {"DOWNTOWN": 10, "NORTH": 20, "SOUTH": 30, "RURAL": 40}
_WARD = {"DOWNTOWN": "Ward 1", "NORTH": "Ward 2", "SOUTH": "Ward 3"}

_LAND_USE: dict[str, tuple[tuple[str, int], ...]] = {
    "DOWNTOWN": (("commercial", 55), ("mixed-use", 20), ("residential", 17), ("institutional", 8)),
    "NORTH": (("residential", 85), ("commercial", 9), ("institutional", 6)),
    "SOUTH": (("residential", 82), ("commercial", 10), ("industrial", 8)),
    "RURAL": (("agricultural", 50), ("residential", 44), ("industrial", 6)),
}

_FIRST_NAMES = (
    "Avery", "Blake", "Carmen", "Dylan", "Elena", "Farah", "Gordon", "Hannah", "Isaac", "Jasmine",
    "Keith", "Leah", "Morgan", "Nadia", "Owen", "Paige", "Quinn", "Rosa", "Simon", "Tessa",
    "Umar", "Violet", "Wesley", "Ximena", "Yusuf", "Zoe",
)  # fmt: skip
_LAST_NAMES = (
    "Abernathy", "Beaumont", "Castellano", "Dufresne", "Ellery", "Fairbairn", "Galloway",
    "Hargreave", "Ingersoll", "Jardine", "Kowalczyk", "Lachance", "MacAlister", "Northcott",
    "Ouellette", "Pemberton", "Quennell", "Rutherford", "Sandoval", "Thibodeau", "Underhill",
    "Vanderlee", "Whitcombe", "Yardley",
)  # fmt: skip
_COMPANIES = (
    "Riverside Holdings Inc.", "Lennox Property Group Ltd.", "Quinte Commercial Realty Inc.",
    "Napanee Main Street Developments Ltd.", "Bay of Quinte Rentals Inc.", "Hastings Farm Partners",
)  # fmt: skip
_ABSENTEE = (
    "PO Box {n}, Kingston ON K7L {p}",
    "{n} Bay St, Toronto ON M5J {p}",
    "{n} Front St, Belleville ON K8N {p}",
    "{n} Rideau St, Ottawa ON K1N {p}",
)

# Officers: specialties are Service Level Matrix service codes (config/service_level_matrix.csv).
OFFICERS: tuple[DemoOfficer, ...] = (
    DemoOfficer(
        "OFF-BE-01", "Jordan Pelletier", "GN-101", "BE",
        ("yard-maintenance-extensive", "yard-maintenance-cosmetic", "grass-cutting", "garbage",
         "parking-downtown-lots-night", "bicycles-skateboards-downtown"),
        ("DOWNTOWN", "SOUTH"),
    ),
    DemoOfficer(
        "OFF-BE-02", "Priya Raman", "GN-102", "BE",
        ("noise", "parking-fire-routes-accessible", "parking-other", "littering-public-property", "taxi",
         "signs-election"),
        ("NORTH", "DOWNTOWN"),
    ),
    DemoOfficer(
        "OFF-BE-03", "Marc Arsenault", "GN-103", "BE",
        ("feeding-of-wildlife", "exotic-animals", "firearms", "sewer-use", "driveway-entrance-permit",
         "cemetery-code-of-conduct"),
        ("RURAL", "NORTH"),
    ),
    DemoOfficer(
        "OFF-BD-01", "Sarah Whitfield", "GN-201", "BD",
        ("property-standards-major-safety", "property-standards-minor-safety", "building-construct-demolish",
         "building-code-act", "pool-fence", "signs-sight-lines-safety"),
        ("DOWNTOWN", "NORTH"),
    ),
    DemoOfficer(
        "OFF-BD-02", "Daniel Okafor", "GN-202", "BD",
        ("property-standards-cosmetic", "zoning", "residential-tenancies-act", "signs-contrary-to-bylaw",
         "cannabis-production-facilities", "outdoor-restaurant-patios"),
        ("SOUTH", "RURAL"),
    ),
    DemoOfficer(
        "OFF-AC-01", "Laura Bennett", "GN-301", "AC",
        ("dog-running-at-large-dangerous", "dog-kennel-licensing", "dog-barking-pet-waste",
         "dog-owners-liability-act"),
        ("DOWNTOWN", "NORTH", "SOUTH", "RURAL"),
    ),
)  # fmt: skip


def _zones() -> list[DemoZone]:
    return [
        DemoZone(code, name, json.dumps(mapping(shapely.set_precision(geometry, 1e-6))))
        for code, name, geometry in ZONE_SHAPES
    ]


def _zone_of(lat: float, lon: float) -> str:
    point = shapely.Point(lon, lat)
    for code, _name, geometry in ZONE_SHAPES:
        if geometry.covers(point):
            return code
    raise ValueError(f"({lat}, {lon}) is outside every demo zone")


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def _postal_suffix(rng: random.Random) -> str:
    letters = "ABCEGHJKLMNPRSTVWXYZ"  # letters Canada Post uses
    return f"{rng.randint(1, 9)}{rng.choice(letters)}{rng.randint(0, 9)}"


def _owner(rng: random.Random, land_use: str) -> str:
    if land_use in ("commercial", "industrial", "mixed-use") and rng.random() < 0.6:
        return rng.choice(_COMPANIES)
    if land_use == "institutional":
        return (
            "Corporation of the Town of Greater Napanee"
            if rng.random() < 0.5
            else "Lennox and Addington County"
        )
    first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
    if rng.random() < 0.25:
        return f"{first} and {rng.choice(_FIRST_NAMES)} {last}"
    return f"{first} {last}"


def roll_number(map_area: int, map_division: int, parcel: int, suffix: int = 0) -> str:
    """``1121`` + map area (3) + map division (3) + subdivision/parcel (5) + suffix (4)."""
    return f"{MUNICIPALITY_PREFIX}{map_area:03d}{map_division:03d}{parcel:05d}{suffix:04d}"


def generate_town(seed: int = 2026) -> Town:
    rng = random.Random(seed)
    properties: list[DemoProperty] = []
    for division, street in enumerate(STREETS, start=1):
        (lat0, lon0), (lat1, lon1) = street.start, street.end
        for i in range(street.parcels):
            # Parcels alternate sides of the street: odd and even civic numbers.
            t = (i // 2 + 0.5) / ((street.parcels + 1) // 2)
            side = 1 if i % 2 == 0 else -1
            number = street.first_number + (i // 2) * street.spacing * 2 + (0 if side == 1 else 1)
            # Perpendicular set-back from the centre line, about 20 m, plus a little jitter.
            dlat, dlon = lat1 - lat0, lon1 - lon0
            length = (dlat**2 + dlon**2) ** 0.5
            offset = 0.00018 * side
            lat = lat0 + dlat * t + (-dlon / length) * offset + rng.uniform(-0.00003, 0.00003)
            lon = lon0 + dlon * t + (dlat / length) * offset + rng.uniform(-0.00003, 0.00003)
            lat, lon = round(lat, 6), round(lon, 6)
            zone = _zone_of(lat, lon)
            land_use = _pick(rng, _LAND_USE[zone])
            address = f"{number} {street.name}"
            mailing = (
                rng.choice(_ABSENTEE).format(n=rng.randint(10, 990), p=_postal_suffix(rng))
                if rng.random() < 0.2
                else f"{address}, Napanee ON K7R {_postal_suffix(rng)}"
            )
            ward = _WARD.get(zone) or ("Ward 4" if lat >= 44.275 else "Ward 5")
            properties.append(
                DemoProperty(
                    roll_number=roll_number(_MAP_AREA[zone], division, number * 10),
                    address=address,
                    lat=lat,
                    lon=lon,
                    owner_name=_owner(rng, land_use),
                    owner_mailing_address=mailing,
                    zone_code=zone,
                    land_use=land_use,
                    ward=ward,
                )
            )
    return Town("Town of Greater Napanee (demo)", properties, _zones(), list(OFFICERS))


# --- loading it through the cases API --------------------------------------------------------


def property_message(p: DemoProperty) -> cases_pb2.Property:
    return cases_pb2.Property(
        roll_number=p.roll_number,
        address=p.address,
        point=common_pb2.GeoPoint(lat=p.lat, lon=p.lon),
        owner_name=p.owner_name,
        owner_mailing_address=p.owner_mailing_address,
        zone_code=p.zone_code,
        land_use=p.land_use,
        ward=p.ward,
    )


def _summary(s: cases_pb2.ImportSummary) -> dict[str, int]:
    return {"inserted": s.inserted, "updated": s.updated, "unchanged": s.unchanged, "total": s.total}


async def seed_demo_town(
    cases_addr: str,
    *,
    progress: Progress | None = None,
    seed: int = 2026,
    rpc_timeout: float = 60.0,
) -> dict[str, Any]:
    """Load the demo town into the cases service at ``cases_addr``; idempotent.

    ``progress(stage, done, total)`` is called as each stage advances (stages: "zones",
    "properties", "officers"). Returns the import summary of each stage.
    """
    town = generate_town(seed)
    report = progress or (lambda _stage, _done, _total: None)
    actor = common_pb2.Actor(subject=SEED_ACTOR, roles=["clerk"])
    async with insecure_channel(cases_addr) as channel:
        stub = cast("CasesServiceAsyncStub", CasesServiceStub(channel))
        report("zones", 0, len(town.zones))
        zones = await stub.UpsertZones(
            cases_pb2.UpsertZonesRequest(
                zones=[
                    cases_pb2.Zone(zone_code=z.zone_code, name=z.name, geojson=z.geojson) for z in town.zones
                ],
                actor=actor,
            ),
            timeout=rpc_timeout,
            wait_for_ready=True,
        )
        report("zones", len(town.zones), len(town.zones))

        total = len(town.properties)
        report("properties", 0, total)

        async def rows() -> AsyncIterator[cases_pb2.Property]:
            for done, prop in enumerate(town.properties, start=1):
                yield property_message(prop)
                report("properties", done, total)

        properties = await stub.ImportProperties(
            rows(), metadata=(("bylaw-actor-subject", SEED_ACTOR),), timeout=rpc_timeout, wait_for_ready=True
        )

        report("officers", 0, len(town.officers))
        officers = await stub.UpsertOfficers(
            cases_pb2.UpsertOfficersRequest(
                officers=[
                    cases_pb2.Officer(
                        officer_id=o.officer_id,
                        display_name=o.display_name,
                        badge_number=o.badge_number,
                        department=o.department,
                        specialties=list(o.specialties),
                        zone_codes=list(o.zone_codes),
                        active=o.active,
                    )
                    for o in town.officers
                ],
                actor=actor,
            ),
            timeout=rpc_timeout,
            wait_for_ready=True,
        )
        report("officers", len(town.officers), len(town.officers))
    return {"zones": _summary(zones), "properties": _summary(properties), "officers": _summary(officers)}
