"""Case rules in the domain: statuses and their recording, case numbers, the duplicate /
repeat decision (policy 6.6.3, 6.6.5), restricted visibility (6.10), queue order (6.5.4)
and automatic routing (spec 1.2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.cases.domain.addresses import normalise_address
from services.cases.domain.cases import (
    NOT_OPEN_STATUSES,
    OPEN_STATUSES,
    Case,
    CaseStatus,
    DedupeKey,
    Disposition,
    Outcome,
    Priority,
    StatusChange,
    apply_status,
    case_year,
    check_case_number,
    check_transition,
    choose_officer,
    compliance_confirmed_at,
    decide,
    dedupe_key_for,
    departments_of,
    format_case_number,
    may_see_restricted,
    queue_order_key,
    routing_shortlist,
    visible_to,
)
from services.cases.domain.geo import Point
from services.cases.domain.properties import Officer, Property, PropertyMatch
from services.common.errors import FailedPrecondition, InvalidArgument

T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
LOOKBACK = timedelta(days=180)


def make_case(status: CaseStatus = CaseStatus.RECEIVED, **kw: object) -> Case:
    fields: dict[str, object] = {
        "case_number": "BL-2026-000001",
        "status": status,
        "priority": Priority.LOW,
        "service_code": "grass-cutting",
        "bylaw_number": "2000-0066",
        "matrix_version": "2023-07-25",
        "received_at": T0,
        "updated_at": T0,
        "dedupe_key": "roll:1121010001001000000",
    }
    fields.update(kw)
    return Case(**fields)  # type: ignore[arg-type]


def change(to: CaseStatus, at: datetime = T0, step: str = "s1", outcome: str = "") -> StatusChange:
    return StatusChange("BL-2026-000001", step, "x", to, "", "worker", at, outcome)


# --- statuses -------------------------------------------------------------------------------


def test_open_statuses_exclude_exactly_closed_referred_rejected_complied() -> None:
    assert {s.value for s in NOT_OPEN_STATUSES} == {"closed", "referred", "rejected", "complied"}
    assert set(CaseStatus) == OPEN_STATUSES | NOT_OPEN_STATUSES
    assert CaseStatus.AWAITING_COUNCIL_APPROVAL in OPEN_STATUSES


def test_closing_requires_a_known_outcome() -> None:
    case = make_case(CaseStatus.AWAITING_COMPLIANCE)
    with pytest.raises(InvalidArgument) as err:
        check_transition(case, CaseStatus.CLOSED, "", "")
    assert err.value.violations[0].field == "outcome"
    with pytest.raises(InvalidArgument):
        check_transition(case, CaseStatus.CLOSED, "fixed-ish", "")
    assert check_transition(case, CaseStatus.CLOSED, "order_compliance", "") is Outcome.ORDER_COMPLIANCE


def test_outcome_only_when_closing() -> None:
    with pytest.raises(InvalidArgument) as err:
        check_transition(make_case(), CaseStatus.UNDER_INVESTIGATION, "voluntary_compliance", "")
    assert err.value.violations[0].field == "outcome"


def test_received_is_only_the_initial_status() -> None:
    with pytest.raises(InvalidArgument) as err:
        check_transition(make_case(CaseStatus.UNDER_INVESTIGATION), CaseStatus.RECEIVED, "", "")
    assert err.value.violations[0].field == "status"


@pytest.mark.parametrize(("status", "policy"), [(CaseStatus.REJECTED, "4.4"), (CaseStatus.REFERRED, "6.5.9")])
def test_rejection_and_referral_need_a_reason(status: CaseStatus, policy: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        check_transition(make_case(), status, "", "  ")
    assert err.value.violations[0].field == "reason"
    assert policy in (err.value.violations[0].policy or "")
    assert check_transition(make_case(), status, "", "civil matter (6.2.1 g)") is None


@pytest.mark.parametrize("terminal", [CaseStatus.CLOSED, CaseStatus.REFERRED, CaseStatus.REJECTED])
def test_finished_cases_are_not_reopened(terminal: CaseStatus) -> None:
    with pytest.raises(FailedPrecondition):
        check_transition(make_case(terminal), CaseStatus.UNDER_INVESTIGATION, "", "")


def test_a_closed_case_takes_no_further_status() -> None:
    with pytest.raises(FailedPrecondition):
        check_transition(make_case(CaseStatus.CLOSED), CaseStatus.CLOSED, "dismissed", "")


@pytest.mark.parametrize(
    ("status", "outcome"), [(CaseStatus.REFERRED, "referred"), (CaseStatus.REJECTED, "rejected")]
)
def test_referred_and_rejected_close_with_their_own_outcome(status: CaseStatus, outcome: str) -> None:
    case = make_case(status)
    assert check_transition(case, CaseStatus.CLOSED, outcome, "") == Outcome(outcome)
    with pytest.raises(InvalidArgument) as err:
        check_transition(case, CaseStatus.CLOSED, "dismissed", "")
    assert err.value.violations[0].field == "outcome"
    # ...and only such a case closes that way.
    with pytest.raises(InvalidArgument):
        check_transition(make_case(CaseStatus.UNDER_INVESTIGATION), CaseStatus.CLOSED, outcome, "")


def test_referral_waits_for_closing_to_set_closed_at() -> None:
    case = make_case()
    apply_status(case, change(CaseStatus.REFERRED), None)
    assert case.closed_at is None
    apply_status(case, change(CaseStatus.CLOSED, T0 + timedelta(days=1)), Outcome.REFERRED)
    assert case.closed_at == T0 + timedelta(days=1) and case.outcome == "referred"


def test_outcome_may_be_stated_as_the_reason_prefix() -> None:
    """The case workflow writes "<outcome>: <reason>"; an explicit field wins."""
    case = make_case(CaseStatus.COMPLIED)
    assert check_transition(case, CaseStatus.CLOSED, "", "order_compliance: fence repaired") is (
        Outcome.ORDER_COMPLIANCE
    )
    assert (
        check_transition(case, CaseStatus.CLOSED, "remediation", "order_compliance: x") is Outcome.REMEDIATION
    )
    with pytest.raises(InvalidArgument):
        check_transition(case, CaseStatus.CLOSED, "", "owner complied: fence repaired")


def test_complied_case_can_still_move_on() -> None:
    assert (
        check_transition(make_case(CaseStatus.COMPLIED), CaseStatus.CLOSED, "voluntary_compliance", "")
        is not None
    )


def test_apply_status_closing_sets_closed_at_outcome_and_confirmation() -> None:
    case = make_case(CaseStatus.REINSPECTION)
    at = T0 + timedelta(days=20)
    apply_status(case, change(CaseStatus.CLOSED, at, outcome="order_compliance"), Outcome.ORDER_COMPLIANCE)
    assert case.status is CaseStatus.CLOSED
    assert case.closed_at == at and case.outcome == "order_compliance"
    assert compliance_confirmed_at(case) == at


def test_closing_without_compliance_confirms_nothing() -> None:
    case = make_case(CaseStatus.UNDER_INVESTIGATION)
    apply_status(case, change(CaseStatus.CLOSED, outcome="dismissed"), Outcome.DISMISSED)
    assert case.closed_at is not None
    assert compliance_confirmed_at(case) is None


def test_complied_then_closed_keeps_the_first_confirmation() -> None:
    case = make_case(CaseStatus.REINSPECTION)
    apply_status(case, change(CaseStatus.COMPLIED, T0 + timedelta(days=1)), None)
    apply_status(case, change(CaseStatus.CLOSED, T0 + timedelta(days=5)), Outcome.VOLUNTARY_COMPLIANCE)
    assert compliance_confirmed_at(case) == T0 + timedelta(days=1)


def test_leaving_complied_withdraws_the_confirmation() -> None:
    case = make_case(CaseStatus.REINSPECTION)
    apply_status(case, change(CaseStatus.COMPLIED), None)
    assert compliance_confirmed_at(case) == T0
    apply_status(case, change(CaseStatus.REINSPECTION, T0 + timedelta(days=2)), None)
    assert case.compliance_confirmed_at is None


# --- case numbers --------------------------------------------------------------------------


def test_case_number_format() -> None:
    assert format_case_number(2026, 123) == "BL-2026-000123"
    assert check_case_number(" BL-2026-000123 ") == "BL-2026-000123"
    with pytest.raises(InvalidArgument) as err:
        check_case_number("2026-123")
    assert err.value.violations[0].field == "case_number"


def test_case_year_is_the_year_in_toronto() -> None:
    # 03:30 UTC on New Year's Day is still New Year's Eve in Napanee.
    assert case_year(datetime(2027, 1, 1, 3, 30, tzinfo=UTC), "America/Toronto") == 2026
    assert case_year(datetime(2027, 1, 1, 5, 30, tzinfo=UTC), "America/Toronto") == 2027


# --- duplicates and repeats ----------------------------------------------------------------


def test_dedupe_key_prefers_roll_then_address_then_gps() -> None:
    parcel = Property("1121010001001000000", "100 Dundas St E")
    address = normalise_address("100 Dundas Street East")
    point = Point(44.2487, -76.95)
    assert dedupe_key_for(PropertyMatch("address", parcel), address, point) == DedupeKey(
        "roll", "1121010001001000000"
    )
    assert dedupe_key_for(PropertyMatch(), address, point) == DedupeKey("address", "100 DUNDAS ST E")
    gps = dedupe_key_for(PropertyMatch(), None, point)
    assert gps is not None and gps.kind == "gps" and gps.point == point
    assert dedupe_key_for(PropertyMatch(), None, None) is None


def test_lock_names_cover_service_code_and_gps_neighbourhood() -> None:
    roll = DedupeKey("roll", "1121010001001000000")
    assert roll.lock_names("noise", 25) == ["cases-dedupe:noise:roll:1121010001001000000"]
    assert roll.lock_names("noise", 25) != roll.lock_names("grass-cutting", 25)
    gps = DedupeKey("gps", "x", Point(44.2487, -76.95))
    assert len(gps.lock_names("noise", 25)) == 9


def test_open_case_absorbs_the_complaint() -> None:  # policy 6.6.5
    open_case = make_case(CaseStatus.NOTICE_ISSUED)
    decision = decide(open_case, None, T0, LOOKBACK)
    assert decision.disposition is Disposition.JOINED and decision.case is open_case


def test_recent_confirmed_compliance_is_a_repeat() -> None:  # policy 6.6.3
    complied = make_case(CaseStatus.COMPLIED, compliance_confirmed_at=T0)
    assert decide(None, complied, T0 + timedelta(days=30), LOOKBACK).disposition is (
        Disposition.REPEAT_AFTER_COMPLIANCE
    )
    closed = make_case(CaseStatus.CLOSED, outcome="voluntary_compliance", compliance_confirmed_at=T0)
    assert decide(None, closed, T0 + timedelta(days=180), LOOKBACK).disposition is (
        Disposition.REPEAT_AFTER_COMPLIANCE
    )


def test_compliance_older_than_lookback_opens_a_new_case() -> None:
    complied = make_case(CaseStatus.COMPLIED, compliance_confirmed_at=T0)
    decision = decide(None, complied, T0 + timedelta(days=181), LOOKBACK)
    assert decision.disposition is Disposition.CREATED and decision.case is None


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (CaseStatus.CLOSED, "dismissed"),
        (CaseStatus.CLOSED, "remediation"),
        (CaseStatus.REJECTED, ""),
        (CaseStatus.REFERRED, ""),
    ],
)
def test_finished_without_confirmed_compliance_opens_a_new_case(status: CaseStatus, outcome: str) -> None:
    finished = make_case(status, outcome=outcome, compliance_confirmed_at=T0)
    assert decide(None, finished, T0 + timedelta(days=1), LOOKBACK).disposition is Disposition.CREATED


def test_nothing_before_creates() -> None:
    assert decide(None, None, T0, LOOKBACK).disposition is Disposition.CREATED


# --- restricted access (6.10) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("roles", "allowed"),
    [
        ((), False),
        (("officer",), False),
        (("officer", "clerk", "front_counter"), False),
        (("supervisor",), True),
        (("officer", "restricted_cases"), True),
        (("system",), True),
    ],
)
def test_restricted_cases_visible_only_to_supervisor_or_restricted_role(
    roles: tuple[str, ...], allowed: bool
) -> None:
    assert may_see_restricted(roles) is allowed
    assert visible_to(make_case(restricted=True), roles) is allowed
    assert visible_to(make_case(restricted=False), roles) is True


# --- queue order and routing ----------------------------------------------------------------


def test_queue_order_is_priority_then_oldest() -> None:  # policy 6.5.4
    old_low = make_case(case_number="BL-2026-000001", priority=Priority.LOW, received_at=T0)
    new_high = make_case(
        case_number="BL-2026-000002", priority=Priority.HIGH, received_at=T0 + timedelta(days=3)
    )
    old_high = make_case(case_number="BL-2026-000003", priority=Priority.HIGH, received_at=T0)
    medium = make_case(
        case_number="BL-2026-000004", priority=Priority.MEDIUM, received_at=T0 - timedelta(days=9)
    )
    ordered = sorted([old_low, new_high, old_high, medium], key=queue_order_key)
    assert [c.case_number for c in ordered] == [
        "BL-2026-000003",
        "BL-2026-000002",
        "BL-2026-000004",
        "BL-2026-000001",
    ]


def test_departments_of_matrix_entries() -> None:
    assert departments_of(["BE", " *DS", "FD ¹", "BE"]) == ["BE", "DS", "FD"]


OFFICERS = [
    Officer("BE-1", "A", department="BE", specialties=("noise",), zone_codes=("NORTH",)),
    Officer("BE-2", "B", department="BE", specialties=("grass-cutting",), zone_codes=("SOUTH",)),
    Officer("BE-3", "C", department="BE", zone_codes=("NORTH",)),
    Officer("AC-1", "D", department="AC", specialties=("dog-kennel-licensing",), zone_codes=("NORTH",)),
    Officer("BD-9", "E", department="BD", specialties=("noise",), active=False),
]


def _route(code: str, enforced_by: list[str], zone: str, load: dict[str, int] | None = None) -> str | None:
    chosen = choose_officer(
        OFFICERS,
        service_code=code,
        bylaw_number="",
        enforced_by=enforced_by,
        zone_code=zone,
        open_load=load or {},
    )
    return chosen.officer_id if chosen else None


def test_routing_prefers_specialty_over_zone() -> None:
    assert _route("noise", ["BE", "OPP"], "SOUTH") == "BE-1"


def test_routing_prefers_zone_then_lighter_load() -> None:
    assert _route("garbage", ["BE"], "NORTH") == "BE-1"
    assert _route("garbage", ["BE"], "NORTH", {"BE-1": 4, "BE-3": 1}) == "BE-3"


def test_routing_prefers_first_listed_department() -> None:
    assert _route("dog-barking-pet-waste", ["AC", "BE"], "SOUTH") == "AC-1"


def test_routing_skips_inactive_and_other_departments() -> None:
    assert _route("pool-fence", ["BD"], "NORTH") is None
    assert _route("smoking", ["PH"], "NORTH") is None


def _shortlist(code: str, enforced_by: list[str], zone: str) -> list[str]:
    chosen = routing_shortlist(
        OFFICERS, service_code=code, bylaw_number="", enforced_by=enforced_by, zone_code=zone
    )
    return [o.officer_id for o in chosen]


def test_shortlist_is_the_one_best_fit_when_caseload_cannot_matter() -> None:
    assert _shortlist("noise", ["BE", "OPP"], "SOUTH") == ["BE-1"]  # the specialist
    assert _shortlist("pool-fence", ["BD"], "NORTH") == []  # no active BD officer


def test_shortlist_holds_every_officer_caseload_could_decide_between() -> None:
    assert sorted(_shortlist("garbage", ["BE"], "NORTH")) == ["BE-1", "BE-3"]  # both cover it
    assert sorted(_shortlist("garbage", ["BE"], "DOWNTOWN")) == ["BE-1", "BE-2", "BE-3"]


@pytest.mark.parametrize("zone", ["NORTH", "SOUTH", "DOWNTOWN", ""])
@pytest.mark.parametrize(
    ("code", "enforced_by"),
    [("garbage", ["BE"]), ("noise", ["BE", "OPP"]), ("dog-barking-pet-waste", ["AC", "BE"]), ("x", [])],
)
@pytest.mark.parametrize("load", [{}, {"BE-1": 4, "BE-3": 1}, {"BE-3": 2, "AC-1": 9}])
def test_choosing_within_the_shortlist_is_choosing_among_all(
    code: str, enforced_by: list[str], zone: str, load: dict[str, int]
) -> None:
    """OpenCase reads caseloads only for the shortlist: the choice must not change."""
    shortlist = routing_shortlist(
        OFFICERS, service_code=code, bylaw_number="", enforced_by=enforced_by, zone_code=zone
    )
    among_all = choose_officer(
        OFFICERS, service_code=code, bylaw_number="", enforced_by=enforced_by, zone_code=zone, open_load=load
    )
    among_shortlist = choose_officer(
        shortlist, service_code=code, bylaw_number="", enforced_by=enforced_by, zone_code=zone, open_load=load
    )
    assert among_all == among_shortlist
