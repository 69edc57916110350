"""The pure lifecycle rules the workflow's update validators apply."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import holidays
import pytest

from workflows import lifecycle_rules as rules
from workflows.lifecycle_rules import CaseStatus as S
from workflows.lifecycle_rules import ClosureOutcome as O

TORONTO = ZoneInfo("America/Toronto")


def test_every_status_has_a_row_and_closed_is_reached_only_by_closing() -> None:
    assert set(rules.ALLOWED_TRANSITIONS) == set(S)
    assert all(S.CLOSED not in targets for targets in rules.ALLOWED_TRANSITIONS.values())
    assert set(rules.CLOSURE_FROM) == set(O)


@pytest.mark.parametrize("target", list(S))
def test_closed_is_terminal(target: S) -> None:
    with pytest.raises(rules.RuleViolation, match="closed"):
        rules.check_transition(S.CLOSED, target, "reason")


@pytest.mark.parametrize("target", [S.REFERRED, S.REJECTED])
@pytest.mark.parametrize("current", [s for s in S if s not in (S.RECEIVED, S.CLOSED)])
def test_referral_and_rejection_only_from_received(current: S, target: S) -> None:
    # policy 6.5.9 / 4.4: the decision is taken on intake, before any investigation.
    with pytest.raises(rules.RuleViolation) as caught:
        rules.check_transition(current, target, "a reason")
    assert caught.value.field == "status"


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.RECEIVED, S.UNDER_INVESTIGATION),
        (S.RECEIVED, S.REFERRED),
        (S.RECEIVED, S.REJECTED),
        (S.UNDER_INVESTIGATION, S.NOTICE_ISSUED),
        (S.UNDER_INVESTIGATION, S.COMPLIED),
        (S.NOTICE_ISSUED, S.AWAITING_COMPLIANCE),
        (S.AWAITING_COMPLIANCE, S.REINSPECTION),
        (S.REINSPECTION, S.COMPLIED),
        (S.REINSPECTION, S.ESCALATED),
        (S.REINSPECTION, S.AWAITING_COMPLIANCE),
        (S.ESCALATED, S.NOTICE_ISSUED),
        (S.ESCALATED, S.AWAITING_COUNCIL_APPROVAL),
        (S.ESCALATED, S.REMEDIATION),
        (S.AWAITING_COUNCIL_APPROVAL, S.REMEDIATION),
        (S.AWAITING_COUNCIL_APPROVAL, S.ESCALATED),
        (S.REMEDIATION, S.COMPLIED),
    ],
)
def test_lifecycle_edges_are_allowed(current: S, target: S) -> None:
    rules.check_transition(current, target, "recorded reason")


@pytest.mark.parametrize(
    ("current", "target", "policy"),
    [
        # No enforcement before the compliance time expires (6.7.5).
        (S.AWAITING_COMPLIANCE, S.ESCALATED, "6.2.3"),
        (S.AWAITING_COMPLIANCE, S.COMPLIED, None),
        # Remediation over $5,000 is not reached without escalation first (6.5.13).
        (S.UNDER_INVESTIGATION, S.REMEDIATION, "6.5.13"),
        (S.RECEIVED, S.NOTICE_ISSUED, None),
        (S.COMPLIED, S.ESCALATED, "6.2.3"),
    ],
)
def test_illegal_edges_are_refused_with_the_options(current: S, target: S, policy: str | None) -> None:
    with pytest.raises(rules.RuleViolation) as caught:
        rules.check_transition(current, target, "reason")
    assert f"cannot move from {current.value} to {target.value}" in str(caught.value)
    assert "allowed next:" in str(caught.value)
    assert caught.value.policy == policy


def test_same_status_and_closing_by_transition_are_refused() -> None:
    with pytest.raises(rules.RuleViolation, match="already received"):
        rules.check_transition(S.RECEIVED, S.RECEIVED, "")
    with pytest.raises(rules.RuleViolation, match="close_case"):
        rules.check_transition(S.COMPLIED, S.CLOSED, "done")


@pytest.mark.parametrize(
    ("current", "target", "policy"),
    [
        (S.RECEIVED, S.REFERRED, "6.5.9"),
        (S.RECEIVED, S.REJECTED, "4.4"),
        (S.UNDER_INVESTIGATION, S.ESCALATED, "6.4.7"),
    ],
)
def test_reason_required(current: S, target: S, policy: str) -> None:
    with pytest.raises(rules.RuleViolation) as caught:
        rules.check_transition(current, target, "   ")
    assert caught.value.field == "reason" and caught.value.policy == policy
    rules.check_transition(current, target, "the recorded reason")


def test_escalation_after_reinspection_follows_the_usual_path_without_a_reason() -> None:
    rules.check_transition(S.REINSPECTION, S.ESCALATED, "")


def test_reason_length_is_bounded() -> None:
    with pytest.raises(rules.RuleViolation, match="at most 1000"):
        rules.check_transition(S.RECEIVED, S.UNDER_INVESTIGATION, "x" * 1001)


@pytest.mark.parametrize(
    ("current", "outcome", "ok"),
    [
        (S.COMPLIED, O.VOLUNTARY_COMPLIANCE, True),
        (S.COMPLIED, O.ORDER_COMPLIANCE, True),
        (S.REMEDIATION, O.REMEDIATION, True),
        (S.ESCALATED, O.PROSECUTION, True),
        (S.RECEIVED, O.DISMISSED, True),
        (S.REFERRED, O.REFERRED, True),
        (S.REJECTED, O.REJECTED, True),
        (S.RECEIVED, O.VOLUNTARY_COMPLIANCE, False),
        (S.COMPLIED, O.DISMISSED, False),
        (S.REFERRED, O.DISMISSED, False),
        (S.RECEIVED, O.REFERRED, False),
        (S.AWAITING_COMPLIANCE, O.PROSECUTION, False),
    ],
)
def test_closure_outcome_must_fit_the_status(current: S, outcome: O, ok: bool) -> None:
    if ok:
        rules.check_closure(current, outcome, "reason")
    else:
        with pytest.raises(rules.RuleViolation) as caught:
            rules.check_closure(current, outcome, "reason")
        assert caught.value.field == "outcome"


def test_closure_needs_a_reason_and_an_open_case() -> None:
    with pytest.raises(rules.RuleViolation, match=r"6\.5\.10 f"):
        rules.check_closure(S.COMPLIED, O.VOLUNTARY_COMPLIANCE, "")
    with pytest.raises(rules.RuleViolation, match="already closed"):
        rules.check_closure(S.CLOSED, O.DISMISSED, "again")


def test_parsers_name_the_field_and_the_choices() -> None:
    with pytest.raises(rules.RuleViolation, match="one of high, medium, low") as caught:
        rules.parse_priority("urgent")
    assert caught.value.policy == "Appendix A"
    with pytest.raises(rules.RuleViolation, match="unknown status 'open'"):
        rules.parse_status("open")
    with pytest.raises(rules.RuleViolation, match="unknown outcome"):
        rules.parse_outcome("won")
    with pytest.raises(rules.RuleViolation, match="town_timezone"):
        rules.town_zone("Mars/Olympus")


# ------------------------------------------------------------------ business days (4.2)


def test_ontario_holidays_match_the_holidays_package_for_a_century() -> None:
    for year in range(2000, 2100):
        reference = {d for d in holidays.country_holidays("CA", subdiv="ON", years=year) if d.year == year}
        assert rules.ontario_holidays([year]) == reference, year


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (date(2026, 11, 20), 2, date(2026, 11, 24)),  # Friday -> Tuesday
        (date(2026, 11, 21), 2, date(2026, 11, 24)),  # Saturday -> Tuesday
        (date(2026, 11, 23), 2, date(2026, 11, 25)),  # Monday -> Wednesday
        (date(2026, 12, 24), 2, date(2026, 12, 30)),  # Christmas, weekend, Boxing Day observed
        (date(2026, 12, 31), 2, date(2027, 1, 5)),  # New Year's Day on a Friday
        (date(2026, 4, 2), 1, date(2026, 4, 6)),  # Good Friday; Easter Monday is a working day
    ],
)
def test_add_business_days(start: date, days: int, expected: date) -> None:
    assert rules.add_business_days(start, days) == expected


def test_declared_closure_days_are_skipped() -> None:
    snow_day = date(2026, 11, 23)
    assert rules.add_business_days(date(2026, 11, 20), 2, [snow_day]) == date(2026, 11, 25)


def test_acknowledgement_due_is_end_of_the_second_local_business_day() -> None:
    # 2026-11-21 03:00 UTC is still Friday evening in Toronto.
    due = rules.acknowledgement_due(datetime(2026, 11, 21, 3, 0, tzinfo=UTC), TORONTO)
    assert due == datetime(2026, 11, 24, 23, 59, 59, tzinfo=TORONTO)


# ------------------------------------------------------------------ current details


def _facts(status: S, **extra: object) -> rules.DetailsFacts:
    values: dict[str, object] = {
        "status": status,
        "priority": "high",
        "service_code": "pool-fence",
        "bylaw_number": "2010-0049",
        "received_on": date(2026, 11, 22),
        "acknowledgement_due_on": date(2026, 11, 24),
    }
    values.update(extra)
    return rules.DetailsFacts(**values)  # type: ignore[arg-type]


def test_details_sentences() -> None:
    assert rules.current_details(_facts(S.RECEIVED)) == (
        "Received 2026-11-22; acknowledgement due 2026-11-24; awaiting assignment "
        "(priority high, pool-fence, by-law 2010-0049)"
    )
    assert rules.current_details(_facts(S.AWAITING_COUNCIL_APPROVAL, assigned_officer="officer-7")) == (
        "Received 2026-11-22; waiting for a Council decision on remediation over $5,000; officer officer-7 "
        "(priority high, pool-fence, by-law 2010-0049)"
    )
    assert rules.current_details(
        _facts(S.CLOSED, outcome="voluntary_compliance", closed_on=date(2026, 12, 1), bylaw_number="N/A")
    ) == (
        "Received 2026-11-22; closed 2026-12-01 as voluntary compliance "
        "(priority high, pool-fence, provincial statute)"
    )


@pytest.mark.parametrize("status", list(S))
def test_every_status_has_a_sentence(status: S) -> None:
    sentence = rules.current_details(_facts(status, outcome="dismissed", closed_on=date(2026, 12, 1)))
    assert sentence.startswith("Received 2026-11-22; ") and "\n" not in sentence
