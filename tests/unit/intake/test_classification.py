"""What the policy does with a well-formed complaint before a case exists (policy 4.1,
4.10, 6.5.2, 6.5.9, 6.11.2)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.intake.domain.classification import (
    FOLLOW_UP_ANONYMOUS,
    FOLLOW_UP_COMPLAINANT_ADDRESS,
    FOLLOW_UP_WRITTEN_CONFIRMATION,
    Decision,
    Route,
    classify,
)
from services.intake.domain.model import ComplainantIdentity, ReasonCode
from services.intake.domain.validation import validate_submission
from tests.unit.intake.fakes import seed_matrix
from tests.unit.intake.test_validation import make, who

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
MATRIX = seed_matrix()
ANONYMOUS = ComplainantIdentity()


def decide(**changes: Any) -> Decision:
    return classify(validate_submission(make(**changes), MATRIX, NOW))


def test_complete_written_complaint_proceeds_without_flags() -> None:
    d = decide()
    assert d.route is Route.PROCEED
    assert d.follow_up == ()
    assert not d.anonymous and not d.written_confirmation_required


def test_opp_only_matter_is_referred_to_the_opp_policy_6_11_2() -> None:
    d = decide(service_code="off-road-vehicles")
    assert d.route is Route.REFERRED
    assert d.referred_to == "Ontario Provincial Police"
    assert d.reason_code is ReasonCode.OUT_OF_SCOPE
    assert "6.5.9" in d.reason and "Ontario Provincial Police" in d.reason


def test_smoking_is_referred_to_public_health_policy_6_5_9() -> None:
    d = decide(service_code="smoking")
    assert (d.route, d.referred_to) == (Route.REFERRED, "Public Health")


def test_referral_applies_even_to_anonymous_complaints() -> None:
    # The Town does not investigate it either way; the complainant is directed (6.5.9).
    assert decide(service_code="off-road-vehicles", complainant=ANONYMOUS).route is Route.REFERRED


def test_shared_with_the_opp_is_not_referred() -> None:
    # Noise is enforced by BE and the OPP: the Town acts.
    assert decide(service_code="noise").route is Route.PROCEED


def test_anonymous_low_priority_is_recorded_not_investigated_policy_4_1() -> None:
    d = decide(complainant=ANONYMOUS)  # grass cutting: Low
    assert d.route is Route.REJECTED
    assert d.reason_code is ReasonCode.ANONYMOUS
    assert "anonymous" in d.reason.lower() and "not investigated" in d.reason


def test_no_contact_information_is_anonymous_policy_4_1() -> None:
    d = decide(complainant=who(email="", phone=""), service_code="noise")
    assert d.route is Route.REJECTED and d.reason_code is ReasonCode.ANONYMOUS


def test_no_name_is_anonymous_policy_4_1() -> None:
    d = decide(complainant=who(first_name="", last_name=""))
    assert d.route is Route.REJECTED and d.reason_code is ReasonCode.ANONYMOUS


def test_anonymous_high_priority_proceeds_policy_4_1() -> None:
    # Pressing health or safety (a dangerous dog at large) is investigated anyway.
    d = decide(complainant=ANONYMOUS, service_code="dog-running-at-large-dangerous")
    assert d.route is Route.PROCEED
    assert d.anonymous
    assert FOLLOW_UP_ANONYMOUS in d.follow_up


def test_verbal_low_priority_is_rejected_asking_for_writing_policy_6_5_2() -> None:
    d = decide(verbal=True, channel="phone")
    assert d.route is Route.REJECTED
    assert d.reason_code is ReasonCode.VERBAL
    assert "in writing" in d.reason


def test_verbal_high_priority_proceeds_flagged_for_written_confirmation_policy_6_5_2() -> None:
    d = decide(verbal=True, channel="walk-in", service_code="pool-fence")
    assert d.route is Route.PROCEED
    assert d.written_confirmation_required
    assert FOLLOW_UP_WRITTEN_CONFIRMATION in d.follow_up


def test_missing_complainant_address_proceeds_flagged_policy_4_10() -> None:
    d = decide(complainant=who(address=""))
    assert d.route is Route.PROCEED
    assert d.follow_up == (FOLLOW_UP_COMPLAINANT_ADDRESS,)
