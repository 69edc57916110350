"""Referral-only services (policy 6.2.1 g, 6.5.9, 6.11.2): matters the Town does not act
on as by-law contraventions, offered so a complaint about them is recorded and answered
with the agency named instead of refused.

They live in ``config/referral_services.yaml``, not in the Council-approved Service Level
Matrix (that file says why). A complaint about one ends REFERRED at once: no case, no
investigation, whoever complains and however.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import yaml

from services.common.errors import FieldViolation, InvalidArgument
from services.intake.domain.matrix import MatrixEntry
from services.intake.domain.model import Priority, ReasonCode

REFERRAL_BYLAW = "N/A"  # no by-law: nothing the Town enforces


class ReferralKind(StrEnum):
    CIVIL = "civil"  # policy 6.2.1 g
    OUT_OF_SCOPE = "out_of_scope"  # policy 6.5.9, 6.11.2


@dataclass(frozen=True, slots=True)
class ReferralService:
    service_code: str
    service_name: str
    kind: ReferralKind
    agency: str
    policy: str
    description: str

    @property
    def reason_code(self) -> ReasonCode:
        return ReasonCode.CIVIL_MATTER if self.kind is ReferralKind.CIVIL else ReasonCode.OUT_OF_SCOPE

    def reason(self) -> str:
        """What the complainant is told (policy 6.5.9: advised and directed)."""
        if self.kind is ReferralKind.CIVIL:
            return (
                f"{self.description} By-law Enforcement Officers do not act on civil matters "
                f"(policy {self.policy}); you may pursue it through {self.agency}."
            )
        return (
            f"{self.description} This is not within the scope of a Town by-law; it has been "
            f"referred to {self.agency}, the agency responsible (policy {self.policy}, 6.5.9). "
            f"Contact them directly about this matter; in an emergency call 911."
        )

    def as_entry(self) -> MatrixEntry:
        """The complaint is recorded like any other; this is the row it is recorded
        against (no by-law, no department, no service level)."""
        return MatrixEntry(
            service_code=self.service_code,
            bylaw_short_title="Referral",
            infraction=self.service_name,
            bylaw_number=REFERRAL_BYLAW,
            legislative=False,
            patrol=False,
            proactive=False,
            reactive=False,
            priority=Priority.LOW,
            enforced_by=(),
        )


def parse_referral_services(text: str, matrix_codes: Iterable[str] = ()) -> dict[str, ReferralService]:
    """Parse and check the file; codes may not be matrix service codes."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidArgument(FieldViolation("file", f"is not valid YAML ({type(exc).__name__})")) from None
    items = data.get("services") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise InvalidArgument(FieldViolation("services", "must be a non-empty list"))
    taken = set(matrix_codes)
    problems: list[FieldViolation] = []
    services: dict[str, ReferralService] = {}
    for number, raw in enumerate(items, start=1):
        where = f"services[{number}]"
        if not isinstance(raw, Mapping):
            problems.append(FieldViolation(where, "must be a mapping"))
            continue
        fields = {
            k: " ".join(str(raw.get(k) or "").split())
            for k in ("service_code", "service_name", "kind", "agency", "policy", "description")
        }
        for name, value in fields.items():
            if not value:
                problems.append(FieldViolation(f"{where}.{name}", "is required"))
        code = fields["service_code"]
        if code in taken:
            problems.append(
                FieldViolation(
                    f"{where}.service_code", "is a Service Level Matrix code or listed twice", "6.8"
                )
            )
        if fields["kind"] and fields["kind"] not in {k.value for k in ReferralKind}:
            problems.append(FieldViolation(f"{where}.kind", "must be civil or out_of_scope", "6.5.9"))
        if problems:
            continue
        taken.add(code)
        services[code] = ReferralService(
            service_code=code,
            service_name=fields["service_name"],
            kind=ReferralKind(fields["kind"]),
            agency=fields["agency"],
            policy=fields["policy"],
            description=fields["description"],
        )
    if problems:
        raise InvalidArgument(problems)
    return services
