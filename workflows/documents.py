"""Template contexts for the documents the case lifecycle issues (issue 4), built from the
case record (address, owner from the assessment roll, officer) and the facts the workflow
passes (dates, numbers, findings). Plain Python, used by the ``issue_document`` activity;
the notices service validates each context against the template's manifest entry.

The workflow's facts never carry the owner's name or mailing address — those are read from
the cases service inside the activity, so they stay out of the workflow history — and
nothing here ever carries complainant identity (policy 6.3.4).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

# Property standards orders are made under the Building Code Act, 1992, s. 15.2 and may be
# appealed to the Property Standards Committee (s. 15.3); other by-laws' orders under the
# Municipal Act, 2001, ss. 444-445.
PROPERTY_STANDARDS_BYLAWS = frozenset({"2010-0050"})
PROPERTY_STANDARDS_AUTHORITY = "Building Code Act, 1992, s. 15.2 and Property Standards By-law 2010-0050"
MUNICIPAL_ACT_AUTHORITY = "Municipal Act, 2001, ss. 444 and 445"
AMP_PAYMENT_DAYS = 15  # a penalty is paid or disputed within 15 days (screening review window)
UNKNOWN_OWNER = "Owner / Occupant"

OUTCOME_TEXT: Mapping[str, str] = {
    "voluntary_compliance": "Resolved: the property was brought into compliance voluntarily.",
    "order_compliance": "Resolved: the order to comply was complied with.",
    "remediation": "Resolved: the Town completed the remedial work at the owner's expense.",
    "prosecution": "Concluded by charges under the Provincial Offences Act.",
    "dismissed": "Closed with no further action.",
}

INSPECTION_KIND_TEXT: Mapping[str, str] = {"initial": "Initial inspection", "reinspection": "Re-inspection"}


@dataclass(frozen=True)
class CaseFacts:
    """What the cases service knows about the case that documents print."""

    case_number: str
    property_address: str
    roll_number: str
    owner_name: str
    owner_address: str
    bylaw_number: str
    bylaw_title: str
    service_code: str
    officer_name: str
    officer_badge: str


def money(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"


def _recipient(case: CaseFacts) -> dict[str, Any]:
    if case.owner_name:
        return {
            "recipient_name": case.owner_name,
            "recipient_address": case.owner_address or case.property_address,
        }
    return {"recipient_name": UNKNOWN_OWNER, "recipient_address": case.property_address}


def _bylaw(case: CaseFacts) -> dict[str, Any]:
    return {
        "bylaw_number": case.bylaw_number,
        "bylaw_title": case.bylaw_title or f"By-law {case.bylaw_number}",
    }


def _officer(case: CaseFacts) -> dict[str, Any]:
    return {
        "officer_name": case.officer_name or "By-law Enforcement Officer",
        "officer_badge": case.officer_badge,
    }


def _property(case: CaseFacts) -> dict[str, Any]:
    return {"property_address": case.property_address, "roll_number": case.roll_number}


def _pick(facts: Mapping[str, Any], *names: str) -> dict[str, Any]:
    return {name: facts[name] for name in names if name in facts}


def build_context(template: str, case: CaseFacts, facts: Mapping[str, Any]) -> dict[str, Any]:
    """The template variables for ``template``; optional values that are empty are left out
    (the notices service refuses unknown variables and blank required ones)."""
    builder = _BUILDERS.get(template)
    if builder is None:
        raise ValueError(f"no context builder for template {template!r}")
    context = builder(case, facts)
    return {k: v for k, v in context.items() if v not in ("", None, [])}


def _education(case: CaseFacts, facts: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **_recipient(case),
        **_property(case),
        **_bylaw(case),
        **_officer(case),
        **_pick(
            facts,
            "issued_on",
            "bylaw_section",
            "contravention",
            "required_action",
            "comply_by",
            "inspection_date",
            "evidence",
            "deviation_reason",
        ),
        "notice_number": facts.get("number", ""),
    }


def _compliance_notice(case: CaseFacts, facts: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **_recipient(case),
        **_property(case),
        **_bylaw(case),
        **_officer(case),
        **_pick(
            facts,
            "issued_on",
            "bylaw_section",
            "contravention",
            "inspection_date",
            "evidence",
            "required_action",
            "comply_by",
            "deviation_reason",
        ),
    }


def _order(case: CaseFacts, facts: Mapping[str, Any]) -> dict[str, Any]:
    property_standards = case.bylaw_number in PROPERTY_STANDARDS_BYLAWS
    return {
        **_compliance_notice(case, facts),
        "order_number": facts.get("number", ""),
        "authority": PROPERTY_STANDARDS_AUTHORITY if property_standards else MUNICIPAL_ACT_AUTHORITY,
        "property_standards": property_standards,
    }


def _offence_notice(case: CaseFacts, facts: Mapping[str, Any]) -> dict[str, Any]:
    context: dict[str, Any] = {
        **_property(case),
        **_bylaw(case),
        **_officer(case),
        **_pick(facts, "issued_on", "comply_by", "deviation_reason"),
        "offence_number": facts.get("number", ""),
        "offence_date": facts.get("offence_date") or facts.get("issued_on"),
        "section": facts.get("bylaw_section", ""),
        "short_form": facts.get("fine_description", ""),
        "set_fine": money(int(facts.get("amount_cents", 0))),
        "total_payable": money(int(facts.get("total_payable_cents", 0))),
    }
    context.pop("roll_number", None)
    if case.owner_name:  # a parking ticket goes on the vehicle: no known recipient
        context.update(_recipient(case))
    return context


def _amp_notice(case: CaseFacts, facts: Mapping[str, Any]) -> dict[str, Any]:
    issued = date.fromisoformat(str(facts["issued_on"]))
    context: dict[str, Any] = {
        **_property(case),
        **_bylaw(case),
        **_officer(case),
        **_pick(facts, "issued_on", "comply_by", "deviation_reason"),
        "penalty_number": facts.get("number", ""),
        "contravention_date": facts.get("offence_date") or facts.get("issued_on"),
        "section": facts.get("bylaw_section", ""),
        "short_form": facts.get("fine_description", ""),
        "penalty_amount": money(int(facts.get("amount_cents", 0))),
        "pay_by": (issued + timedelta(days=AMP_PAYMENT_DAYS)).isoformat(),
    }
    context.pop("roll_number", None)
    if case.owner_name:
        context.update(_recipient(case))
    return context


def _inspection_report(case: CaseFacts, facts: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **_property(case),
        **_officer(case),
        "bylaw_number": case.bylaw_number if case.bylaw_number not in ("", "N/A") else "provincial statute",
        "inspection_kind": INSPECTION_KIND_TEXT.get(str(facts.get("kind", "")), str(facts.get("kind", ""))),
        **_pick(
            facts,
            "inspected_on",
            "scheduled_for",
            "checklist_title",
            "checklist_version",
            "findings",
            "violation_found",
            "bylaw_sections",
            "evidence",
            "notes",
        ),
    }


def _referral(case: CaseFacts, facts: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **_property(case),
        **_bylaw(case),
        **_officer(case),
        "owner_name": case.owner_name,
        "owner_address": case.owner_address,
        "referral_number": facts.get("number", ""),
        **_pick(
            facts,
            "issued_on",
            "bylaw_section",
            "contravention",
            "prior_actions",
            "evidence",
            "deviation_reason",
        ),
    }


def _closure(case: CaseFacts, facts: Mapping[str, Any]) -> dict[str, Any]:
    outcome = str(facts.get("outcome", ""))
    return {
        **_recipient(case),
        **_property(case),
        **_bylaw(case),
        "officer_name": case.officer_name,
        "closed_on": facts.get("closed_on"),
        "outcome_text": OUTCOME_TEXT.get(outcome, outcome.replace("_", " ").capitalize()),
        "summary": facts.get("summary", ""),
    }


_BUILDERS = {
    "education_letter": _education,
    "compliance_notice": _compliance_notice,
    "order_to_comply": _order,
    "offence_notice": _offence_notice,
    "amp_notice": _amp_notice,
    "inspection_report": _inspection_report,
    "prosecution_referral": _referral,
    "closure_letter": _closure,
}
TEMPLATES = frozenset(_BUILDERS)
