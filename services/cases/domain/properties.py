"""The assessment roll as the cases service sees it: parcels keyed by their Ontario
assessment roll number, the officers and enforcement zones, and the validation of what
an import brings in (bad rows are named by field so a clerk can fix the file).

An Ontario roll number has 19 digits, printed ``CCMM-MMM-MMM-PPPPP-SSSS``: county and
municipality (Greater Napanee is ``1121``), map area, map division, map subdivision and
parcel, and the primary/subordinate suffix. Separators are accepted on input and stripped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from services.cases.domain.addresses import normalise_address
from services.cases.domain.geo import Point, point_violations
from services.cases.domain.validation import too_long
from services.common.errors import FieldViolation

ROLL_NUMBER_DIGITS = 19
_SEPARATORS = re.compile(r"[\s\-.]")

# Department codes from the Service Level Matrix legend (policy Appendix A); "*DS" is
# written "DS" here.
DEPARTMENTS = frozenset({"BE", "BD", "AC", "FD", "OPP", "PH", "DS"})

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


def canonical_roll_number(raw: str) -> str:
    return _SEPARATORS.sub("", raw.strip())


def roll_number_problem(raw: str) -> str | None:
    """Why ``raw`` is not an Ontario assessment roll number, or None when it is one."""
    digits = canonical_roll_number(raw)
    if not digits:
        return "is required (19-digit Ontario assessment roll number)"
    if not digits.isdigit():
        return f"must contain only digits and separators; got {raw!r}"
    if len(digits) != ROLL_NUMBER_DIGITS:
        return f"must have {ROLL_NUMBER_DIGITS} digits (Ontario assessment roll number); got {len(digits)}"
    return None


def is_roll_number(raw: str) -> bool:
    return roll_number_problem(raw) is None


@dataclass(frozen=True, slots=True)
class Property:
    roll_number: str
    address: str
    point: Point | None = None
    owner_name: str = ""
    owner_mailing_address: str = ""
    zone_code: str = ""
    land_use: str = ""
    ward: str = ""

    @property
    def address_key(self) -> str:
        normalised = normalise_address(self.address)
        return normalised.key if normalised else ""

    @property
    def street_line(self) -> str:
        normalised = normalise_address(self.address)
        return normalised.street_line if normalised else ""


@dataclass(frozen=True, slots=True)
class Officer:
    officer_id: str
    display_name: str
    badge_number: str = ""
    department: str = ""
    specialties: tuple[str, ...] = ()
    zone_codes: tuple[str, ...] = ()
    active: bool = True


@dataclass(frozen=True, slots=True)
class Zone:
    zone_code: str
    name: str
    geojson: str


@dataclass(frozen=True, slots=True)
class PropertyMatch:
    """How a complaint location was tied to a parcel on the roll."""

    method: str = ""  # "roll_number" | "address" | "gps" | ""
    parcel: Property | None = None  # the matched parcel on the roll
    distance_m: float = 0.0

    @property
    def matched(self) -> bool:
        return self.parcel is not None


@dataclass(frozen=True, slots=True)
class ImportCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged


@dataclass
class PropertyBatchValidator:
    """Validates a streamed import row by row; duplicates within one import are errors
    because an upsert cannot apply two different rows to one parcel."""

    max_reported: int = 25
    violations: list[FieldViolation] = field(default_factory=list)
    total_violations: int = 0
    _seen: dict[str, int] = field(default_factory=dict)

    def check(self, index: int, prop: Property) -> Property:
        """Returns the property with its roll number in canonical form."""
        prefix = f"properties[{index}]"
        problems: list[FieldViolation] = []
        if (problem := roll_number_problem(prop.roll_number)) is not None:
            problems.append(FieldViolation(f"{prefix}.roll_number", problem))
        roll = canonical_roll_number(prop.roll_number)
        if not problems:
            if roll in self._seen:
                problems.append(
                    FieldViolation(
                        f"{prefix}.roll_number",
                        f"duplicate of properties[{self._seen[roll]}].roll_number ({roll})",
                    )
                )
            else:
                self._seen[roll] = index
        if normalise_address(prop.address) is None:
            problems.append(FieldViolation(f"{prefix}.address", "is required (civic address of the parcel)"))
        if prop.point is not None:
            problems.extend(point_violations(prop.point, f"{prefix}.point"))
        if prop.zone_code and not _CODE.match(prop.zone_code):
            problems.append(
                FieldViolation(f"{prefix}.zone_code", "must be a short code (letters, digits, -_.)")
            )
        problems += too_long(
            [(f"{prefix}.land_use", "land_use", prop.land_use), (f"{prefix}.ward", "ward", prop.ward)]
        )
        self.total_violations += len(problems)
        room = self.max_reported - len(self.violations)
        self.violations.extend(problems[: max(room, 0)])
        return Property(
            roll_number=roll,
            address=prop.address.strip(),
            point=prop.point,
            owner_name=prop.owner_name.strip(),
            owner_mailing_address=prop.owner_mailing_address.strip(),
            zone_code=prop.zone_code.strip(),
            land_use=prop.land_use.strip().lower(),
            ward=prop.ward.strip(),
        )

    def outcome(self) -> list[FieldViolation]:
        if self.total_violations > len(self.violations):
            more = self.total_violations - len(self.violations)
            return [*self.violations, FieldViolation("properties", f"{more} more problems not listed")]
        return list(self.violations)


def officer_violations(index: int, officer: Officer) -> list[FieldViolation]:
    prefix = f"officers[{index}]"
    out: list[FieldViolation] = []
    if not _CODE.match(officer.officer_id):
        out.append(FieldViolation(f"{prefix}.officer_id", "is required: a short id (letters, digits, -_.)"))
    if not officer.display_name.strip():
        out.append(FieldViolation(f"{prefix}.display_name", "is required"))
    out += too_long([(f"{prefix}.badge_number", "badge_number", officer.badge_number)])
    if officer.department not in DEPARTMENTS:
        allowed = ", ".join(sorted(DEPARTMENTS))
        out.append(
            FieldViolation(
                f"{prefix}.department",
                f"must be one of the matrix departments ({allowed}); got {officer.department!r}",
                "Appendix A",
            )
        )
    return out


def zone_code_problem(code: str) -> str | None:
    if not _CODE.match(code):
        return "is required: a short code (letters, digits, -_.)"
    return None
