"""The Service Level Matrix (policy 6.8, Appendix A) as versioned, Council-approved data.

Each version carries its label, the date it takes effect and the Council resolution that
approved it (policy 6.8.4: reviewed yearly, changed only by Council). ``parse_matrix_csv``
is the one gate every file passes: it refuses a file with missing or unknown columns,
unknown priorities, duplicate codes or bad values, naming the row and the reason.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from services.common.errors import FieldViolation, InvalidArgument, NotFound
from services.intake.domain.model import Priority

# Department codes of Appendix A's legend.
DEPARTMENTS: Mapping[str, str] = {
    "BE": "By-law Enforcement",
    "BD": "Building Department",
    "AC": "Animal Control",
    "FD": "Fire Department",
    "OPP": "Ontario Provincial Police",
    "PH": "Public Health",
    "*DS": "Department Staff Patrol",
}
# Agencies that are not Town departments: a matter only they enforce is outside the
# Town's by-law jurisdiction and is referred to them (policy 6.5.9, 6.11.2).
OUTSIDE_AGENCIES = frozenset({"OPP", "PH"})

COLUMNS = (
    "service_code",
    "bylaw_short_title",
    "infraction",
    "bylaw_number",
    "legislative",
    "patrol",
    "proactive",
    "reactive",
    "priority",
    "enforced_by",
    "footnote",
)
_SERVICE_CODE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_BYLAW_NUMBER = re.compile(r"^\d{4}-\d{4}$")
_BOOLEANS = {"yes": True, "no": False}
_PRIORITIES = {"high": Priority.HIGH, "medium": Priority.MEDIUM, "low": Priority.LOW}
MAX_TEXT = 200

# The matrix appended to policy LS-2023-01 as revised by Council on 25 July 2023.
SEED_VERSION_LABEL = "2023-07-25 #406/23"
SEED_EFFECTIVE_DATE = date(2023, 7, 25)
SEED_COUNCIL_RESOLUTION = "#406/23"


@dataclass(frozen=True, slots=True)
class MatrixEntry:
    """One row of Appendix A."""

    service_code: str
    bylaw_short_title: str
    infraction: str
    bylaw_number: str  # "N/A" for provincial statutes
    legislative: bool
    patrol: bool
    proactive: bool
    reactive: bool
    priority: Priority
    enforced_by: tuple[str, ...]
    footnote: str = ""

    @property
    def service_name(self) -> str:
        return f"{self.bylaw_short_title}: {self.infraction}" if self.infraction else self.bylaw_short_title

    @property
    def town_departments(self) -> tuple[str, ...]:
        return tuple(code for code in self.enforced_by if code not in OUTSIDE_AGENCIES)

    @property
    def referral_agency(self) -> str:
        """The outside agency to refer to when no Town department enforces this row, else
        empty (policy 6.5.9, 6.11.2; e.g. off-road vehicles → OPP, smoking → Public Health)."""
        if self.town_departments:
            return ""
        return " / ".join(DEPARTMENTS[code] for code in self.enforced_by)

    @property
    def responsible_departments(self) -> str:
        return responsible_departments(self.enforced_by)


def responsible_departments(enforced_by: Sequence[str]) -> str:
    """Who acts on a complaint, by name: the Town departments of the row, or the outside
    agency when no Town department enforces it."""
    town = [code for code in enforced_by if code not in OUTSIDE_AGENCIES]
    return ", ".join(DEPARTMENTS.get(code, code) for code in town or enforced_by)


@dataclass(frozen=True, slots=True)
class MatrixVersion:
    label: str
    effective_date: date
    council_resolution: str
    entries: Mapping[str, MatrixEntry]  # by service_code, in file order

    def get(self, service_code: str) -> MatrixEntry | None:
        return self.entries.get(service_code)

    def require(self, service_code: str) -> MatrixEntry:
        entry = self.entries.get(service_code)
        if entry is None:
            raise NotFound(f"service_code {service_code!r} is not in Service Level Matrix {self.label}")
        return entry


class MatrixCatalog:
    """All loaded versions; the one in force on a day is the latest effective on or before
    it (policy 6.8.4: a new Council-approved matrix replaces the old from its date)."""

    def __init__(self, versions: Iterable[MatrixVersion]) -> None:
        # Stable: for equal dates the later-loaded version (later in the input) wins.
        self.versions: tuple[MatrixVersion, ...] = tuple(sorted(versions, key=lambda v: v.effective_date))

    def in_force(self, on: date) -> MatrixVersion:
        current: MatrixVersion | None = None
        for version in self.versions:
            if version.effective_date <= on:
                current = version
        if current is None:
            raise NotFound(f"no Service Level Matrix is in force on {on.isoformat()}")
        return current

    def by_label(self, label: str) -> MatrixVersion | None:
        return next((v for v in self.versions if v.label == label), None)


def _violation(row: int, code: str, column: str, rule: str) -> FieldViolation:
    where = f"row {row}" + (f" ({code})" if code else "")
    return FieldViolation(f"{where}.{column}", rule, "6.8")


def parse_matrix_csv(text: str) -> list[MatrixEntry]:
    """Parse and check a matrix file. Raises ``InvalidArgument`` listing every problem,
    each naming the row (1 = first data row after the header) and the reason."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    unknown = [h for h in header if h not in COLUMNS]
    if missing or unknown:
        problems = []
        if missing:
            problems.append(FieldViolation("header", f"missing columns: {', '.join(missing)}", "6.8"))
        if unknown:
            problems.append(FieldViolation("header", f"unknown columns: {', '.join(unknown)}", "6.8"))
        raise InvalidArgument(problems)
    reader.fieldnames = header

    entries: list[MatrixEntry] = []
    violations: list[FieldViolation] = []
    first_row_of: dict[str, int] = {}
    for number, raw in enumerate(reader, start=1):
        if None in raw:  # more cells than columns
            violations.append(_violation(number, "", "row", f"has more than {len(COLUMNS)} cells"))
            continue
        row = {k: (v or "").strip() for k, v in raw.items()}
        entry, row_violations = _parse_row(number, row)
        code = row["service_code"]
        if code and code in first_row_of:
            row_violations.append(
                _violation(
                    number,
                    code,
                    "service_code",
                    f"duplicate service_code (first on row {first_row_of[code]})",
                )
            )
        elif code:
            first_row_of[code] = number
        violations.extend(row_violations)
        if entry is not None and not row_violations:
            entries.append(entry)
    if not violations and not entries:
        violations.append(FieldViolation("file", "has no rows", "6.8"))
    if violations:
        raise InvalidArgument(violations)
    return entries


def _parse_row(number: int, row: Mapping[str, str]) -> tuple[MatrixEntry | None, list[FieldViolation]]:
    code = row["service_code"]
    problems: list[FieldViolation] = []

    def bad(column: str, rule: str) -> None:
        problems.append(_violation(number, code if _SERVICE_CODE.match(code) else "", column, rule))

    if not code:
        bad("service_code", "is required")
    elif not _SERVICE_CODE.match(code) or len(code) > 64:
        bad("service_code", "must be lower-case words joined by hyphens, at most 64 characters")
    if not row["bylaw_short_title"]:
        bad("bylaw_short_title", "is required")
    for column in ("bylaw_short_title", "infraction", "footnote"):
        if len(row[column]) > MAX_TEXT:
            bad(column, f"must be at most {MAX_TEXT} characters")
    bylaw = row["bylaw_number"]
    if bylaw != "N/A" and not _BYLAW_NUMBER.match(bylaw):
        bad("bylaw_number", "must be a by-law number like 2014-0062, or N/A for a provincial statute")
    flags: dict[str, bool] = {}
    for column in ("legislative", "patrol", "proactive", "reactive"):
        value = _BOOLEANS.get(row[column].lower())
        if value is None:
            bad(column, "must be yes or no")
        else:
            flags[column] = value
    if len(flags) == 4 and not any(flags.values()):
        bad("reactive", "at least one service level (legislative, patrol, proactive, reactive) must be yes")
    priority = _PRIORITIES.get(row["priority"].lower())
    if priority is None:
        bad("priority", f"unknown priority {row['priority']!r}: must be High, Medium or Low")
    enforced_by = tuple(part.strip() for part in row["enforced_by"].split(",") if part.strip())
    unknown = [part for part in enforced_by if part not in DEPARTMENTS]
    if not enforced_by:
        bad("enforced_by", "is required (department codes such as BE, BD, AC, FD, OPP, PH, *DS)")
    elif unknown:
        bad("enforced_by", f"unknown department codes: {', '.join(unknown)}")
    elif len(set(enforced_by)) != len(enforced_by):
        bad("enforced_by", "lists a department twice")
    if problems or priority is None:
        return None, problems
    return (
        MatrixEntry(
            service_code=code,
            bylaw_short_title=row["bylaw_short_title"],
            infraction=row["infraction"],
            bylaw_number=bylaw,
            legislative=flags["legislative"],
            patrol=flags["patrol"],
            proactive=flags["proactive"],
            reactive=flags["reactive"],
            priority=priority,
            enforced_by=enforced_by,
            footnote=row["footnote"],
        ),
        problems,
    )


def build_version(
    label: str, effective_date: date, council_resolution: str, entries: Sequence[MatrixEntry]
) -> MatrixVersion:
    """Check the version's own metadata (policy 6.8.4: a version is Council-approved)."""
    problems = []
    if not label.strip() or len(label) > 64:
        problems.append(FieldViolation("version_label", "is required, at most 64 characters", "6.8.4"))
    if not council_resolution.strip() or len(council_resolution) > 64:
        problems.append(
            FieldViolation("council_resolution", "is required: the matrix is approved by Council", "6.8.4")
        )
    if problems:
        raise InvalidArgument(problems)
    return MatrixVersion(
        label=label.strip(),
        effective_date=effective_date,
        council_resolution=council_resolution.strip(),
        entries={e.service_code: e for e in entries},
    )
