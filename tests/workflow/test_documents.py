"""The lifecycle's documents: the contexts ``workflows.documents`` builds from the case
record and the workflow's facts pass the notices service's own validation for every
template, and render with the content the policy asks of them (6.4.7, 6.7.1, 6.7.4, 6.7.9)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from markupsafe import escape

from services.notices.adapters.renderer import SandboxedHtmlRenderer
from services.notices.adapters.template_store import DEFAULT_TEMPLATES_DIR, load_catalogue
from services.notices.domain.templates import check_context
from workflows.documents import TEMPLATES, CaseFacts, build_context
from workflows.enforcement_rules import TEMPLATE

CATALOGUE = load_catalogue(DEFAULT_TEMPLATES_DIR)
RENDERER = SandboxedHtmlRenderer(
    DEFAULT_TEMPLATES_DIR, CATALOGUE, municipality="Town of Greater Napanee", today=lambda: date(2037, 11, 24)
)

POOL = CaseFacts(
    case_number="BL-2037-000123",
    property_address="12 John St",
    roll_number="1121010002000120000",
    owner_name="A. Example",
    owner_address="PO Box 4, Kingston ON K7L 1A1",
    bylaw_number="2010-0049",
    bylaw_title="Pool Fence",
    service_code="pool-fence",
    officer_name="Sarah Whitfield",
    officer_badge="GN-201",
)
PROPERTY_STANDARDS = CaseFacts(
    **{**POOL.__dict__, "bylaw_number": "2010-0050", "bylaw_title": "Property Standards"}
)
PARKING = CaseFacts(
    **{**POOL.__dict__, "owner_name": "", "owner_address": "", "roll_number": "", "bylaw_number": "2014-0062"}
)

ACTION_FACTS: dict[str, Any] = {
    "number": "BL-2037-000123-O1",
    "issued_on": "2037-11-24",
    "offence_date": "2037-11-23",
    "bylaw_section": "5.1",
    "contravention": "The gate of the pool enclosure does not close and latch by itself.",
    "required_action": "Repair the gate so that it self-closes and self-latches.",
    "comply_by": "2037-12-18",
    "inspection_date": "2037-11-23",
    "evidence": ["section 5.1: gate stays open when released (photo 2)"],
    "deviation_reason": "Children were seen in the pool area; the risk cannot wait for a warning letter.",
    "amount_cents": 20000,
    "total_payable_cents": 25500,
    "fine_description": "Fail to equip a pool enclosure gate with a self-closing, self-latching device",
    "prior_actions": [
        "BL-2037-000123-N1: Notice issued 2037-11-24",
        "BL-2037-000123-O1: Order issued 2037-12-21",
    ],
}
FACTS: dict[str, dict[str, Any]] = {
    "education_letter": ACTION_FACTS,
    "compliance_notice": ACTION_FACTS,
    "order_to_comply": ACTION_FACTS,
    "offence_notice": ACTION_FACTS,
    "amp_notice": ACTION_FACTS,
    "prosecution_referral": ACTION_FACTS,
    "inspection_report": {
        "kind": "initial",
        "inspected_on": "2037-11-23",
        "scheduled_for": "2037-11-23",
        "checklist_title": "Pool Enclosure Inspection",
        "checklist_version": "2026.1",
        "findings": [
            "Every gate is self-closing and self-latching. (s. 5.1): non compliant — gate stays open"
        ],
        "violation_found": True,
        "bylaw_sections": ["5.1"],
        "notes": "Owner not home; photos from the lane.",
    },
    "closure_letter": {"closed_on": "2038-01-08", "outcome": "order_compliance", "summary": "Gate repaired."},
}


def _render(template: str, case: CaseFacts, facts: dict[str, Any]) -> str:
    spec = CATALOGUE.get(template)
    values = check_context(spec, build_context(template, case, facts))
    return RENDERER.render(spec, case.case_number, values)


def test_every_action_with_a_document_has_a_builder_and_a_template() -> None:
    assert set(TEMPLATE.values()) <= TEMPLATES
    assert set(CATALOGUE.templates) >= TEMPLATES


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_context_passes_the_template_and_renders(template: str) -> None:
    html = _render(template, POOL, FACTS[template])
    assert "BL-2037-000123" in html
    assert "12 John St" in html
    for reference in CATALOGUE.get(template).legal_references:
        # Statute citations come from the manifest (template data), HTML-escaped.
        assert str(escape(reference)) in html


def test_a_departure_from_the_usual_path_is_explained_in_the_document() -> None:
    # Policy 6.4.7: the reason is given to the person affected, in the notice itself.
    for template in (
        "education_letter",
        "compliance_notice",
        "order_to_comply",
        "offence_notice",
        "amp_notice",
    ):
        assert "Children were seen in the pool area" in _render(template, POOL, ACTION_FACTS), template
    without = {k: v for k, v in ACTION_FACTS.items() if k != "deviation_reason"}
    assert "Why this approach" not in _render("order_to_comply", POOL, without)


def test_order_cites_its_authority_remedial_work_and_the_right_appeal() -> None:
    pool = _render("order_to_comply", POOL, ACTION_FACTS)
    assert "Municipal Act, 2001, ss. 444 and 445" in pool
    assert "at the owner&#39;s expense" in pool and "tax roll" in pool  # 6.7.9, s.446
    assert "Property Standards Committee by sending" not in pool
    standards = _render("order_to_comply", PROPERTY_STANDARDS, ACTION_FACTS)
    assert "Building Code Act, 1992, s. 15.2" in standards
    assert "Property Standards Committee by sending a notice of appeal" in standards  # s.15.3
    assert "December 18, 2037" in standards and "No further enforcement action" in standards  # 6.7.5


def test_ticket_prints_the_set_fine_and_a_parking_ticket_has_no_addressee() -> None:
    ticket = _render("offence_notice", POOL, ACTION_FACTS)
    assert "$200.00" in ticket and "$255.00" in ticket
    assert "A. Example" in ticket
    parking = build_context("offence_notice", PARKING, ACTION_FACTS)
    assert "recipient_name" not in parking and "roll_number" not in parking
    assert _render("offence_notice", PARKING, ACTION_FACTS)


def test_penalty_notice_gives_fifteen_days_to_pay_or_dispute() -> None:
    context = build_context("amp_notice", POOL, ACTION_FACTS)
    assert context["pay_by"] == "2037-12-09" and context["penalty_amount"] == "$200.00"


def test_documents_carry_no_complainant_identity_and_the_referral_names_the_owner() -> None:
    for template in TEMPLATES:
        context = build_context(template, POOL, FACTS[template])
        assert not any(key.startswith(("complainant", "requestor")) for key in context), template
    referral = _render("prosecution_referral", POOL, ACTION_FACTS)
    assert "A. Example" in referral and "BL-2037-000123-N1" in referral
    assert "six months" in referral  # Provincial Offences Act s.76


def test_unknown_owner_is_addressed_to_the_owner_or_occupant() -> None:
    letter = build_context("closure_letter", PARKING, FACTS["closure_letter"])
    assert letter["recipient_name"] == "Owner / Occupant" and letter["recipient_address"] == "12 John St"
    assert "order to comply was complied with" in letter["outcome_text"]
