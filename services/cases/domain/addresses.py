"""Civic address normalisation, so a complaint's free-text location can be matched to the
assessment roll and two complaints about the same place share a dedupe key (policy 6.6.5).

Canada Post style: upper case, no punctuation, street types and directions abbreviated
(``Street`` → ``ST``, ``East`` → ``E``), the unit moved after the street line
(``4-12 John Street`` and ``12 John St, Unit 4`` both become ``12 JOHN ST UNIT 4``), and
the municipality, province and postal code dropped (everything on the roll is in town).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STREET_TYPES: dict[str, str] = {
    "STREET": "ST",
    "STR": "ST",
    "AVENUE": "AVE",
    "AV": "AVE",
    "ROAD": "RD",
    "DRIVE": "DR",
    "DRV": "DR",
    "CRESCENT": "CRES",
    "CRESC": "CRES",
    "COURT": "CRT",
    "CT": "CRT",
    "BOULEVARD": "BLVD",
    "BOUL": "BLVD",
    "PLACE": "PL",
    "TERRACE": "TERR",
    "CIRCLE": "CIR",
    "PARKWAY": "PKY",
    "HIGHWAY": "HWY",
    "SQUARE": "SQ",
    "LANE": "LANE",
    "LN": "LANE",
    "TRAIL": "TRAIL",
    "TR": "TRAIL",
    "LINE": "LINE",
    "CONCESSION": "CONC",
    "SIDEROAD": "SDRD",
    "GARDENS": "GDNS",
    "HEIGHTS": "HTS",
    "POINT": "PT",
}

DIRECTIONS: dict[str, str] = {
    "NORTH": "N",
    "SOUTH": "S",
    "EAST": "E",
    "WEST": "W",
    "NORTHEAST": "NE",
    "NORTHWEST": "NW",
    "SOUTHEAST": "SE",
    "SOUTHWEST": "SW",
}

# Words that only ever designate a unit within a civic address.
UNIT_WORDS = frozenset({"UNIT", "APT", "APARTMENT", "SUITE", "STE", "SUITE#", "UNIT#", "APT#", "RM", "ROOM"})

# Trailing parts of a full mailing address that do not identify a parcel in town.
PROVINCES = frozenset({"ON", "ONT", "ONTARIO", "CANADA", "CA"})
_POSTAL_CODE = re.compile(r"\b[A-Z]\d[A-Z]\s*\d[A-Z]\d\b")
# "4-12" (unit 4 at civic 12, the Canadian convention) and "12A" style civic numbers.
_UNIT_CIVIC = re.compile(r"^([A-Z0-9]+)-(\d+[A-Z]?)$")
_CIVIC = re.compile(r"^\d+[A-Z]?$")


@dataclass(frozen=True, slots=True)
class NormalisedAddress:
    """A civic address reduced to the parts that identify a place."""

    street_line: str  # "12 JOHN ST"
    unit: str = ""  # "4"

    @property
    def key(self) -> str:
        """The full normalised form, unit included (a unit is a separate complaint place)."""
        return f"{self.street_line} UNIT {self.unit}" if self.unit else self.street_line

    def __str__(self) -> str:
        return self.key


def _clean(segment: str) -> str:
    segment = segment.upper()
    # Apostrophes and periods join ("St. Mary's" → "ST MARYS"); other punctuation separates.
    segment = re.sub("['\u2019.]", "", segment)
    segment = segment.replace("#", " # ")
    segment = re.sub(r"[^A-Z0-9#\- ]", " ", segment)
    segment = re.sub(r"\s*-\s*", "-", segment)
    return re.sub(r"\s+", " ", segment).strip()


def _is_unit_segment(tokens: list[str]) -> bool:
    return bool(tokens) and (tokens[0] in UNIT_WORDS or tokens[0] == "#")


def _take_unit(tokens: list[str]) -> tuple[list[str], str]:
    """Remove a unit designator (``UNIT 4``, ``APT 4``, ``# 4``) from the tokens."""
    for i, word in enumerate(tokens):
        if (word in UNIT_WORDS or word == "#") and i + 1 < len(tokens):
            value = tokens[i + 1]
            if value == "#" and i + 2 < len(tokens):  # "UNIT # 4"
                return tokens[:i] + tokens[i + 3 :], tokens[i + 2]
            return tokens[:i] + tokens[i + 2 :], value
    return tokens, ""


def _abbreviate(tokens: list[str]) -> list[str]:
    out: list[str] = []
    for index, token in enumerate(tokens):
        if index == 0 and _CIVIC.match(token):
            out.append(token)
            continue
        token = STREET_TYPES.get(token, token)
        out.append(DIRECTIONS.get(token, token))
    return out


def normalise_address(raw: str) -> NormalisedAddress | None:
    """The normalised form of ``raw``, or None when nothing address-like remains."""
    text = _POSTAL_CODE.sub(" ", raw.upper())
    segments = [_clean(s) for s in text.split(",")]
    segments = [s for s in segments if s]
    unit = ""
    street: list[str] | None = None
    for segment in segments:
        tokens = segment.split(" ")
        if _is_unit_segment(tokens):
            rest, found = _take_unit(tokens)
            unit = unit or found
            # "Apt 4 12 John St": the street line follows the unit in the same segment.
            if street is None and rest and _CIVIC.match(rest[0]):
                street = rest
            continue
        if street is None and (_CIVIC.match(tokens[0]) or _UNIT_CIVIC.match(tokens[0])):
            street = tokens
    if street is None:
        # No civic number anywhere (e.g. "Market Square"): use the first non-unit segment.
        candidates = [s.split(" ") for s in segments if not _is_unit_segment(s.split(" "))]
        if not candidates:
            return None
        street = candidates[0]
    street, found = _take_unit(street)
    unit = unit or found
    if street and street[0] == "#" and len(street) > 2:  # "#4 12 JOHN ST"
        unit = unit or street[1]
        street = street[2:]
    if street and (m := _UNIT_CIVIC.match(street[0])):
        unit = unit or m.group(1)
        street = [m.group(2), *street[1:]]
    # A trailing province token can survive when the address had no commas.
    while len(street) > 2 and street[-1] in PROVINCES:
        street = street[:-1]
    street = [t for t in street if t not in ("#", "-")]
    if not street:
        return None
    return NormalisedAddress(" ".join(_trim_locality(_abbreviate(street))), unit.lstrip("#"))


_TYPE_ABBREVIATIONS = frozenset(STREET_TYPES.values())
_DIRECTION_ABBREVIATIONS = frozenset(DIRECTIONS.values())


def _trim_locality(tokens: list[str]) -> list[str]:
    """Drop a municipality written without commas ("12 JOHN ST NAPANEE ON").

    Everything after the street type, an optional route number ("COUNTY RD 41") and an
    optional direction is locality. The type is searched from the third token on, so a
    leading "ST" ("12 ST LAWRENCE ST") is read as Saint, not Street.
    """
    for index in range(2, len(tokens)):
        if tokens[index] in _TYPE_ABBREVIATIONS:
            end = index + 1
            if end < len(tokens) and tokens[end].isdigit():
                end += 1
            if end < len(tokens) and tokens[end] in _DIRECTION_ABBREVIATIONS:
                end += 1
            return tokens[:end]
    return tokens
