"""The pure rules of enforcement, deadlines and closure (workflows.enforcement_rules), and
the worker's reading of the service-level targets (workflows.lifecycle_activities)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import workflows.enforcement_rules as rules
from workflows.lifecycle_config import (
    DEFAULT_ORDER_FOLLOWUP_BUSINESS_DAYS,
    DEFAULT_REINSPECTION_BUSINESS_DAYS,
    load_config,
)
from workflows.lifecycle_rules import CaseStatus, ClosureOutcome, DetailsFacts, RuleViolation, current_details

S = CaseStatus
TORONTO = ZoneInfo("America/Toronto")
TODAY = date(2037, 11, 24)
FACTS = rules.ActionFacts(
    status=S.UNDER_INVESTIGATION,
    priority="medium",
    service_code="yard-maintenance-extensive",
    violation_identified=True,
    recorded_risk="",
    taken=(),
    deadline_on=None,
    remediation_running=False,
    today=TODAY,
)
EXPLAINED = "Explained at length to the owner on site."


def choice(action: str, **kwargs: str | bool) -> rules.ActionChoice:
    values: dict[str, str | bool] = {"action": action, "details": "Refuse and debris across the back yard."}
    if action in ("education", "compliance_notice", "order_to_comply"):
        values |= {"required_action": "Remove the refuse and debris.", "comply_by": "2037-12-08"}
    values.update(kwargs)
    return rules.ActionChoice(**values)  # type: ignore[arg-type]


def violation(facts: rules.ActionFacts, made: rules.ActionChoice) -> RuleViolation:
    with pytest.raises(RuleViolation) as caught:
        rules.check_action(facts, made)
    return caught.value


@pytest.mark.parametrize(
    ("taken", "usual"),
    [
        ((), "education"),
        (("education",), "compliance_notice"),
        (("education", "compliance_notice"), "order_to_comply"),
        (("order_to_comply",), "ticket"),
        (("education", "ticket"), "prosecution_referral"),
        (("direct_enforcement",), "prosecution_referral"),
        (("prosecution_referral",), "prosecution_referral"),
    ],
)
def test_progressive_enforcement_ladder(taken: tuple[str, ...], usual: str) -> None:
    # Policy 6.2.3-6.2.4: education -> notice -> order -> ticket/AMP -> prosecution.
    assert rules.usual_next(taken).value == usual


def test_the_usual_step_needs_no_reason_and_a_lower_one_is_no_deviation() -> None:
    decision = rules.check_action(FACTS, choice("education"))
    assert decision.action is rules.Action.EDUCATION and not decision.deviation
    assert decision.comply_by == date(2037, 12, 8)
    after_order = replace(
        FACTS, status=S.ESCALATED, taken=("education", "compliance_notice", "order_to_comply")
    )
    assert not rules.check_action(after_order, choice("compliance_notice")).deviation


def test_skipping_a_step_needs_a_reason_given_to_the_person_and_a_justification() -> None:
    # Policy 6.4.7.
    assert violation(FACTS, choice("order_to_comply")).field == "deviation_reason"
    missing = violation(FACTS, choice("order_to_comply", deviation_reason=EXPLAINED))
    assert (missing.field, missing.policy) == ("justification", "6.4.7")
    assert "usual next step is education" in missing.rule
    unknown = violation(FACTS, choice("order_to_comply", deviation_reason=EXPLAINED, justification="mood"))
    assert unknown.field == "justification"
    decision = rules.check_action(
        FACTS,
        choice("order_to_comply", deviation_reason=EXPLAINED, justification="history_of_non_compliance"),
    )
    assert decision.deviation and decision.usual is rules.Action.EDUCATION


def test_punitive_action_first_only_for_health_and_safety_on_high_priority_or_recorded_risk() -> None:
    ticket = choice("ticket", fine_code="YARD-REFUSE", deviation_reason=EXPLAINED, justification="severity")
    assert violation(FACTS, ticket).policy == "6.2.4 c"
    hs = replace(ticket, justification="health_and_safety")
    refused = violation(FACTS, hs)  # medium priority, no risk recorded
    assert refused.policy == "6.2.4 c" and "recorded risk" in refused.rule
    assert rules.check_action(replace(FACTS, priority="high"), hs).deviation
    assert rules.check_action(replace(FACTS, recorded_risk="rats seen near a daycare"), hs).deviation
    # With a notice on record, a ticket skipping only the order needs a reason, not H&S.
    after_notice = replace(FACTS, status=S.ESCALATED, taken=("education", "compliance_notice"))
    assert rules.check_action(after_notice, ticket).deviation


def test_parking_is_ticketed_directly() -> None:
    # Policy 6.2.5: parking infractions do not fall under progressive enforcement.
    parking = replace(FACTS, service_code="parking-other")
    decision = rules.check_action(parking, choice("ticket", fine_code="PARK-PROHIBITED"))
    assert not decision.deviation
    assert rules.is_parking("parking-fire-routes-accessible") and not rules.is_parking("pool-fence")


@pytest.mark.parametrize(
    ("facts", "field", "policy"),
    [
        (replace(FACTS, status=S.AWAITING_COMPLIANCE, deadline_on=date(2037, 12, 1)), "action", "6.7.5"),
        (replace(FACTS, status=S.REINSPECTION), "action", "6.2.1 f"),
        (replace(FACTS, status=S.RECEIVED), "status", "6.2.1 f"),
        (replace(FACTS, violation_identified=False), "action", "6.2.1 f"),
        (replace(FACTS, remediation_running=True), "status", "6.5.13"),
        (replace(FACTS, status=S.AWAITING_COUNCIL_APPROVAL), "status", "6.5.13"),
    ],
)
def test_when_no_enforcement_may_be_taken(facts: rules.ActionFacts, field: str, policy: str) -> None:
    refused = violation(facts, choice("education"))
    assert (refused.field, refused.policy) == (field, policy)


def test_no_action_is_always_open_but_says_why() -> None:
    waiting = replace(FACTS, status=S.AWAITING_COMPLIANCE, deadline_on=date(2037, 12, 1))
    assert rules.check_action(
        waiting, choice("no_action", details="Owner died; estate settling.")
    ).action.value == ("no_action")
    assert violation(FACTS, choice("no_action", details="")).policy == "6.2.2 g"


@pytest.mark.parametrize(
    ("made", "field", "fragment"),
    [
        (choice("education", comply_by=""), "comply_by", "reasonable time to comply"),
        (choice("education", comply_by="2037-11-24"), "comply_by", "lies after today"),
        (choice("education", comply_by="2039-01-01"), "comply_by", "at most 366 days"),
        (choice("education", comply_by="soon"), "comply_by", "must be a date"),
        (choice("education", required_action=""), "required_action", "is required"),
        (choice("education", details="x"), "details", "is required"),
        (choice("prosecution_referral", comply_by="2037-12-08"), "comply_by", "sets no compliance deadline"),
        (choice("ticket"), "fine_code", "approved set fine"),
        (choice("education", fine_code="YARD-REFUSE"), "fine_code", "carries no fine"),
        (choice("direct_enforcement"), "work_order", "needs the work order"),
        (choice("education", has_work_order=True), "work_order", "only direct enforcement"),
        (choice("demolish"), "action", "unknown enforcement action"),
    ],
)
def test_what_each_action_needs(made: rules.ActionChoice, field: str, fragment: str) -> None:
    refused = violation(replace(FACTS, status=S.ESCALATED, taken=("order_to_comply",)), made)
    assert refused.field == field and fragment in refused.rule


def test_extension_rules() -> None:
    # Policy 6.7.6 and 6.7.8.
    base = {
        "status": S.AWAITING_COMPLIANCE,
        "current": date(2037, 12, 8),
        "new": date(2037, 12, 22),
        "today": TODAY,
        "written_request_on": "2037-11-24",
        "issued_on": date(2037, 11, 20),
        "reason": "Owner in hospital until mid-December.",
    }
    assert rules.check_extension(**base) == date(2037, 11, 24)  # type: ignore[arg-type]
    for change, field, policy in (
        ({"status": S.ESCALATED}, "status", "6.7.6"),
        ({"new": date(2037, 12, 8)}, "new_date", "6.7.6"),
        ({"written_request_on": ""}, "written_request_on", "6.7.8"),
        ({"written_request_on": "2037-11-25"}, "written_request_on", "6.7.8"),
        ({"written_request_on": "2037-11-19"}, "written_request_on", "6.7.8"),
        ({"reason": "more time"}, "reason", "6.7.8"),
    ):
        with pytest.raises(RuleViolation) as caught:
            rules.check_extension(**{**base, **change})  # type: ignore[arg-type]
        assert (caught.value.field, caught.value.policy) == (field, policy), change
    # After the date passed, before re-inspection, more time may still be given.
    assert rules.check_extension(**{**base, "status": S.REINSPECTION})  # type: ignore[arg-type]


def test_shortening_rules() -> None:
    # Policy 6.7.7: extraordinary circumstances, recorded, after attempting contact.
    now = datetime(2037, 11, 24, 15, tzinfo=UTC)
    base = {
        "status": S.AWAITING_COMPLIANCE,
        "current": date(2037, 12, 8),
        "new": date(2037, 11, 27),
        "today": TODAY,
        "contact_attempted_at": now - timedelta(hours=2),
        "set_at": now - timedelta(days=4),
        "now": now,
        "reason": "Pool gate open beside a playground.",
    }
    rules.check_shortening(**base)  # type: ignore[arg-type]
    for change, field in (
        ({"contact_attempted_at": None}, "contact_attempted_at"),
        ({"contact_attempted_at": now + timedelta(hours=1)}, "contact_attempted_at"),
        ({"contact_attempted_at": now - timedelta(days=5)}, "contact_attempted_at"),
        ({"reason": ""}, "reason"),
        ({"new": date(2037, 12, 9)}, "new_date"),
        ({"new": TODAY}, "new_date"),
        ({"status": S.REINSPECTION}, "status"),
    ):
        with pytest.raises(RuleViolation) as caught:
            rules.check_shortening(**{**base, **change})  # type: ignore[arg-type]
        assert (caught.value.field, caught.value.policy) == (field, "6.7.7"), change


def test_business_day_targets_skip_weekends_holidays_and_closures() -> None:
    # After Wednesday Dec 23: Thursday counts, then Christmas (Fri), the weekend and Boxing
    # Day observed Monday do not (4.2).
    assert rules.close_of_business_after(date(2037, 12, 23), 2, TORONTO) == datetime(
        2037, 12, 29, 16, 30, tzinfo=TORONTO
    )
    # A declared snow day moves the target too.
    assert rules.close_of_business_after(date(2037, 12, 23), 2, TORONTO, [date(2037, 12, 29)]) == datetime(
        2037, 12, 30, 16, 30, tzinfo=TORONTO
    )
    assert rules.business_days_between(date(2037, 11, 20), date(2037, 12, 24)) == 24
    assert rules.business_days_between(date(2037, 12, 24), date(2037, 12, 24)) == 0
    # The compliance date runs to the end of that day in the Town.
    assert rules.end_of_day(date(2037, 12, 23), TORONTO) == datetime(
        2037, 12, 23, 23, 59, 59, 999999, tzinfo=TORONTO
    )


def test_closure_outcomes_and_figures() -> None:
    assert rules.outcome_after_compliance(["education"]) is ClosureOutcome.VOLUNTARY_COMPLIANCE
    assert rules.outcome_after_compliance(["education", "order_to_comply"]) is ClosureOutcome.ORDER_COMPLIANCE
    with pytest.raises(RuleViolation, match="ticket, penalty or prosecution referral"):
        rules.check_closure_basis(ClosureOutcome.PROSECUTION, ["education"], False)
    rules.check_closure_basis(ClosureOutcome.PROSECUTION, ["amp"], False)
    with pytest.raises(RuleViolation, match="remediation work completed"):
        rules.check_closure_basis(ClosureOutcome.REMEDIATION, ["direct_enforcement"], False)
    with pytest.raises(RuleViolation, match="close as order compliance"):
        rules.check_closure_basis(ClosureOutcome.VOLUNTARY_COMPLIANCE, ["order_to_comply"], False)
    figures = rules.closure_figures(date(2037, 11, 20), date(2038, 1, 8), date(2037, 12, 21))
    assert (figures.days_since_complaint, figures.days_since_order) == (49, 18)
    assert rules.closure_figures(date(2037, 11, 20), date(2037, 11, 20), None).days_since_order == -1


def test_current_details_of_the_lifecycle() -> None:
    base = DetailsFacts(
        status=S.AWAITING_COMPLIANCE,
        priority="high",
        service_code="pool-fence",
        bylaw_number="2010-0049",
        received_on=date(2037, 11, 20),
        acknowledgement_due_on=date(2037, 11, 24),
        assigned_officer="OFF-BD-01",
        compliance_due_on=date(2038, 1, 15),
        deadline_document="Order BL-2037-000123-O1",
        alerts=("order overdue",),
    )
    # DESIGN.md section 3's example sentence, with the case's tail.
    assert current_details(base) == (
        "Received 2037-11-20; waiting for compliance deadline 2038-01-15, Order BL-2037-000123-O1; "
        "officer OFF-BD-01; ALERT: order overdue (priority high, pool-fence, by-law 2010-0049)"
    )
    escalated = replace(base, status=S.ESCALATED, next_step="prosecution_referral", alerts=())
    assert "escalated; next usual step: prosecution referral; officer OFF-BD-01" in current_details(escalated)


def test_targets_come_from_sla_targets_yaml_with_defaults(tmp_path: Path) -> None:
    shipped = load_config()
    assert (
        shipped.inspection_business_days["high"] == 1 and shipped.bylaw_titles["pool-fence"] == "Pool Fence"
    )
    custom = tmp_path / "sla.yaml"
    custom.write_text(
        "version: v9\ntargets:\n  low: {first_inspection_business_days: 15}\n"
        "lifecycle: {reinspection_business_days: 3, order_followup_business_days: 7}\n"
    )
    config = load_config(custom, tmp_path / "no-matrix.csv")
    assert config.sla_version == "v9" and config.inspection_business_days == {
        "high": 1,
        "medium": 5,
        "low": 15,
    }
    assert (config.reinspection_business_days, config.order_followup_business_days) == (3, 7)
    missing = load_config(tmp_path / "absent.yaml", tmp_path / "no-matrix.csv")
    assert missing.sla_version == "defaults"
    assert (missing.reinspection_business_days, missing.order_followup_business_days) == (
        DEFAULT_REINSPECTION_BUSINESS_DAYS,
        DEFAULT_ORDER_FOLLOWUP_BUSINESS_DAYS,
    )
    custom.write_text("targets:\n  low: {first_inspection_business_days: 0}\n")
    with pytest.raises(ValueError, match="whole number of days"):
        load_config(custom)
