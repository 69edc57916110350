"""The schedule of Part I set fines and administrative monetary penalties
(``config/set_fines.yaml``): what a ticket or penalty notice costs is data the Clerk
maintains, never a figure an officer types (Provincial Offences Act Part I; Municipal Act,
2001, s. 102.1). Policy 6.4.2 (proportionality) is served by the approved amounts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from services.common.errors import FieldViolation, InvalidArgument

_CODE = re.compile(r"^[A-Z0-9][A-Z0-9\-]{0,63}$")


class FineScheduleError(ValueError):
    """The set fine file is malformed; raised at startup."""


class FineKind(StrEnum):
    TICKET = "ticket"  # Part I offence notice with a set fine
    AMP = "amp"  # administrative monetary penalty


@dataclass(frozen=True, slots=True)
class SetFine:
    code: str
    kind: FineKind
    bylaw_number: str
    section: str
    short_form: str
    amount_cents: int
    surcharge_cents: int = 0
    costs_cents: int = 0

    @property
    def total_payable_cents(self) -> int:
        return self.amount_cents + self.surcharge_cents + self.costs_cents


@dataclass(frozen=True, slots=True)
class FineSchedule:
    version: str
    fines: Mapping[str, SetFine]

    def for_bylaw(self, bylaw_number: str) -> list[SetFine]:
        return sorted(
            (f for f in self.fines.values() if f.bylaw_number == bylaw_number), key=lambda f: f.code
        )

    def choose(self, code: str, kind: FineKind, bylaw_number: str, field: str = "fine_code") -> SetFine:
        """The approved fine an officer picked by code, checked against the action and the
        case's by-law; InvalidArgument names what does not fit."""
        if not code.strip():
            raise InvalidArgument(
                FieldViolation(field, f"a {kind.value} needs the code of an approved {_noun(kind)}")
            )
        fine = self.fines.get(code.strip())
        if fine is None:
            options = ", ".join(f.code for f in self.for_bylaw(bylaw_number) if f.kind is kind) or "none"
            raise InvalidArgument(
                FieldViolation(field, f"unknown code {code!r}; for by-law {bylaw_number}: {options}")
            )
        if fine.kind is not kind:
            raise InvalidArgument(
                FieldViolation(field, f"{fine.code} is a {fine.kind.value}, not a {kind.value}")
            )
        if bylaw_number and bylaw_number != "N/A" and fine.bylaw_number != bylaw_number:
            raise InvalidArgument(
                FieldViolation(
                    field,
                    f"{fine.code} is under by-law {fine.bylaw_number}; the case is by-law {bylaw_number}",
                )
            )
        return fine


def _noun(kind: FineKind) -> str:
    return "set fine" if kind is FineKind.TICKET else "administrative monetary penalty"


def _cents(raw: Any, where: str, *, required: bool) -> int:
    if raw is None and not required:
        return 0
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise FineScheduleError(f"{where} must be a whole number of cents >= 0")
    return raw


def parse_schedule(data: Mapping[str, Any], source: str = "set_fines.yaml") -> FineSchedule:
    version = str(data.get("version", "") or "").strip()
    if not version:
        raise FineScheduleError(f"{source}: version is required")
    raw_fines = data.get("fines")
    if not isinstance(raw_fines, list) or not raw_fines:
        raise FineScheduleError(f"{source}: fines must be a non-empty list")
    fines: dict[str, SetFine] = {}
    for index, raw in enumerate(raw_fines):
        where = f"{source}: fines[{index}]"
        if not isinstance(raw, Mapping):
            raise FineScheduleError(f"{where} must be a mapping")
        code = str(raw.get("code", "")).strip()
        if not _CODE.match(code):
            raise FineScheduleError(f"{where}.code {code!r} must be upper-case letters, digits and dashes")
        if code in fines:
            raise FineScheduleError(f"{where}.code {code} appears twice")
        try:
            kind = FineKind(str(raw.get("kind", "")))
        except ValueError:
            raise FineScheduleError(
                f"{where}.kind must be one of {', '.join(k.value for k in FineKind)}"
            ) from None
        fields = {k: str(raw.get(k, "") or "").strip() for k in ("bylaw_number", "section", "short_form")}
        if not all(fields.values()):
            raise FineScheduleError(f"{where}: bylaw_number, section and short_form are required")
        amount = _cents(raw.get("amount_cents"), f"{where}.amount_cents", required=True)
        if amount == 0:
            raise FineScheduleError(f"{where}.amount_cents must be more than zero")
        surcharge = _cents(raw.get("surcharge_cents"), f"{where}.surcharge_cents", required=False)
        costs = _cents(raw.get("costs_cents"), f"{where}.costs_cents", required=False)
        if kind is FineKind.AMP and (surcharge or costs):
            raise FineScheduleError(f"{where}: a penalty notice has no court surcharge or costs")
        fines[code] = SetFine(
            code, kind, surcharge_cents=surcharge, costs_cents=costs, amount_cents=amount, **fields
        )
    return FineSchedule(version, fines)


def describe_cents(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"
