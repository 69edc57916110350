"""By-law-specific inspection checklists (seed spec 2.2) and the validation of an
officer's findings against them.

Checklists are data the Clerk maintains (``config/checklists/*.yaml``): an id, a title, a
version, the by-law and the matrix service codes it applies to (``"*"`` for the general
fallback), and items, each naming the by-law section it checks. A recorded inspection
answers every item once; an item found non-compliant carries a note saying what was seen,
because a notice must describe the concern and its evidence (policy 6.7.1 a). The
violation and its by-law sections follow from the non-compliant items (policy 6.7.1 b).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from services.common.errors import FieldViolation, InvalidArgument

WILDCARD = "*"
MAX_NOTE = 4000
MAX_EVIDENCE_IDS = 50

_ID = re.compile(r"^[a-z0-9][a-z0-9\-]{0,63}$")


class ChecklistError(ValueError):
    """A checklist file is malformed; raised at startup, never at request time."""


class FindingResult(StrEnum):
    COMPLIANT = "compliant"
    NON_COMPLIANT = "non_compliant"
    NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    item_id: str
    section: str
    question: str
    guidance: str = ""


@dataclass(frozen=True, slots=True)
class Checklist:
    checklist_id: str
    title: str
    version: str
    bylaw_number: str
    bylaw_title: str
    service_codes: tuple[str, ...]
    items: tuple[ChecklistItem, ...]

    @property
    def is_general(self) -> bool:
        return WILDCARD in self.service_codes

    def applies_to(self, service_code: str) -> bool:
        return self.is_general or service_code in self.service_codes

    def item(self, item_id: str) -> ChecklistItem | None:
        return next((i for i in self.items if i.item_id == item_id), None)


@dataclass(frozen=True, slots=True)
class Finding:
    item_id: str
    result: str
    note: str = ""
    evidence_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Assessment:
    """What a validated set of findings establishes."""

    findings: tuple[Finding, ...]
    violation_found: bool
    bylaw_sections: tuple[str, ...]  # of the non-compliant items, in checklist order


def parse_checklist(data: Mapping[str, Any], source: str) -> Checklist:
    """One checklist from its YAML mapping; every problem names the file and key."""

    def text(key: str, required: bool = True) -> str:
        value = data.get(key, "")
        if value is None:
            value = ""
        if not isinstance(value, str | int | float):
            raise ChecklistError(f"{source}: {key} must be text")
        if required and not str(value).strip():
            raise ChecklistError(f"{source}: {key} is required")
        return str(value).strip()

    checklist_id = text("id")
    if not _ID.match(checklist_id):
        raise ChecklistError(f"{source}: id {checklist_id!r} must be lowercase letters, digits and dashes")
    codes = data.get("service_codes")
    if not isinstance(codes, list) or not codes or not all(isinstance(c, str) and c for c in codes):
        raise ChecklistError(f"{source}: service_codes must be a non-empty list of matrix service codes")
    raw_items = data.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        raise ChecklistError(f"{source}: items must be a non-empty list")
    items: list[ChecklistItem] = []
    for index, raw in enumerate(raw_items):
        where = f"{source}: items[{index}]"
        if not isinstance(raw, Mapping):
            raise ChecklistError(f"{where} must be a mapping")
        item_id = str(raw.get("id", "")).strip()
        if not _ID.match(item_id):
            raise ChecklistError(f"{where}.id {item_id!r} must be lowercase letters, digits and dashes")
        section = str(raw.get("section", "")).strip()
        question = str(raw.get("question", "")).strip()
        if not section or not question:
            raise ChecklistError(f"{where}: section and question are required")
        items.append(ChecklistItem(item_id, section, question, str(raw.get("guidance", "") or "").strip()))
    ids = [i.item_id for i in items]
    if len(ids) != len(set(ids)):
        raise ChecklistError(f"{source}: an item id appears twice")
    return Checklist(
        checklist_id=checklist_id,
        title=text("title"),
        version=text("version"),
        bylaw_number=text("bylaw_number", required=False),
        bylaw_title=text("bylaw_title", required=False),
        service_codes=tuple(str(c).strip() for c in codes),
        items=tuple(items),
    )


class ChecklistCatalogue:
    """Every checklist, and which applies to a service code: its own, else the general one."""

    def __init__(self, checklists: Iterable[Checklist]) -> None:
        self._by_id: dict[str, Checklist] = {}
        owner: dict[str, str] = {}
        for checklist in checklists:
            if checklist.checklist_id in self._by_id:
                raise ChecklistError(f"checklist id {checklist.checklist_id!r} is used twice")
            self._by_id[checklist.checklist_id] = checklist
            for code in checklist.service_codes:
                if code != WILDCARD and code in owner:
                    raise ChecklistError(
                        f"service code {code!r} is in checklists {owner[code]!r} and "
                        f"{checklist.checklist_id!r}; each code has one checklist"
                    )
                owner[code] = checklist.checklist_id
        if sum(1 for c in self._by_id.values() if c.is_general) > 1:
            raise ChecklistError("only one checklist may be the general ('*') one")

    def all(self) -> list[Checklist]:
        return sorted(self._by_id.values(), key=lambda c: c.checklist_id)

    def get(self, checklist_id: str) -> Checklist | None:
        return self._by_id.get(checklist_id)

    def for_service_code(self, service_code: str) -> list[Checklist]:
        """The checklists an inspection of this matrix row may use: the row's own first,
        then the general one."""
        own = [c for c in self.all() if not c.is_general and service_code in c.service_codes]
        general = [c for c in self.all() if c.is_general]
        return own + general


def assess(
    checklist: Checklist, service_code: str, findings: Sequence[Finding], field: str = "findings"
) -> Assessment:
    """Validate ``findings`` against ``checklist`` for a case of ``service_code``.

    Every item answered exactly once with a known result; a non-compliant finding says
    what was observed (policy 6.7.1 a). Raises InvalidArgument naming each problem."""
    violations: list[FieldViolation] = []
    if not checklist.applies_to(service_code):
        violations.append(
            FieldViolation(
                "checklist_id",
                f"checklist {checklist.checklist_id!r} is for {', '.join(checklist.service_codes)}, "
                f"not {service_code!r}",
            )
        )
    seen: dict[str, int] = {}
    known_results = ", ".join(r.value for r in FindingResult)
    for index, finding in enumerate(findings):
        where = f"{field}[{index}]"
        if checklist.item(finding.item_id) is None:
            violations.append(
                FieldViolation(
                    f"{where}.item_id",
                    f"{finding.item_id!r} is not an item of checklist {checklist.checklist_id!r} "
                    f"v{checklist.version}",
                )
            )
        elif finding.item_id in seen:
            violations.append(FieldViolation(f"{where}.item_id", f"{finding.item_id!r} is answered twice"))
        seen.setdefault(finding.item_id, index)
        if finding.result not in {r.value for r in FindingResult}:
            violations.append(
                FieldViolation(
                    f"{where}.result", f"unknown result {finding.result!r}; one of {known_results}"
                )
            )
        elif finding.result == FindingResult.NON_COMPLIANT and not finding.note.strip():
            violations.append(
                FieldViolation(
                    f"{where}.note",
                    "a non-compliant finding describes what was observed (the evidence for a notice)",
                    "6.7.1 a",
                )
            )
        if len(finding.note) > MAX_NOTE:
            violations.append(FieldViolation(f"{where}.note", f"must be at most {MAX_NOTE} characters"))
        if len(finding.evidence_ids) > MAX_EVIDENCE_IDS:
            violations.append(
                FieldViolation(f"{where}.evidence_ids", f"at most {MAX_EVIDENCE_IDS} evidence items")
            )
    missing = [item.item_id for item in checklist.items if item.item_id not in seen]
    if missing:
        violations.append(
            FieldViolation(field, f"every checklist item is answered; missing: {', '.join(missing)}")
        )
    if violations:
        raise InvalidArgument(violations)
    ordered = sorted(findings, key=lambda f: [i.item_id for i in checklist.items].index(f.item_id))
    failed = [f for f in ordered if f.result == FindingResult.NON_COMPLIANT]
    sections: list[str] = []
    for finding in failed:
        item = checklist.item(finding.item_id)
        assert item is not None
        if item.section not in sections:
            sections.append(item.section)
    return Assessment(
        findings=tuple(
            Finding(
                f.item_id, f.result, f.note.strip(), tuple(e.strip() for e in f.evidence_ids if e.strip())
            )
            for f in ordered
        ),
        violation_found=bool(failed),
        bylaw_sections=tuple(sections),
    )
