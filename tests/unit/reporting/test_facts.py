"""How events become read-model facts."""

from __future__ import annotations

from datetime import UTC, datetime

from services.common.events import DomainEvent
from services.reporting.domain.facts import interpret, method_label, method_of
from tests.unit.reporting import scenario

LABELS = {"grass-cutting": "Grass Cutting"}


def test_case_created_is_a_case_and_a_complaint() -> None:
    meaning = interpret(scenario.created(scenario.A, "2026-02-02T15:00:00+00:00"), LABELS)
    assert meaning.handled
    assert meaning.case is not None and meaning.case.service_code == "grass-cutting"
    assert meaning.case.received_at == datetime(2026, 2, 2, 15, tzinfo=UTC)
    assert meaning.complaint is not None and meaning.complaint.kind == "new_case"
    assert meaning.summary == "Complaint received via 311-online: Grass Cutting (low priority)"


def test_status_change_carries_the_case_received_time() -> None:
    scenario.created(scenario.D, "2026-03-02T13:00:00+00:00")
    meaning = interpret(
        scenario.status(scenario.D, "complied", "closed", "2026-03-12T13:00:00+00:00", "order_compliance"),
        LABELS,
    )
    change = meaning.status_change
    assert change is not None
    assert (change.from_status, change.to_status, change.outcome) == (
        "complied",
        "closed",
        "order_compliance",
    )
    assert change.case_received_at == datetime(2026, 3, 2, 13, tzinfo=UTC)
    assert meaning.summary == "Grass Cutting: complied → closed (order compliance)"


def test_restricted_cases_say_nothing_in_activity() -> None:
    meaning = interpret(scenario.created(scenario.B, "2026-02-10T14:00:00+00:00", restricted=True), LABELS)
    assert meaning.summary == "Restricted case updated"  # policy 6.10
    assert meaning.case is not None and meaning.case.restricted


def test_inspections_count_only_when_carried_out() -> None:
    done = interpret(scenario.event("inspection.completed", scenario.A, "2026-02-04T15:00:00+00:00"), LABELS)
    planned = interpret(
        scenario.event("inspection.scheduled", scenario.A, "2026-02-04T15:00:00+00:00"), LABELS
    )
    assert done.inspection is not None
    assert planned.handled and planned.inspection is None


def test_enforcement_method_from_the_event_name_or_data() -> None:
    assert method_of("ticket_issued", {}) == "ticket"
    assert method_of("compliance_notice_issued", {}) == "compliance_notice"
    assert method_of("action_recorded", {"method": "Order_To_Comply"}) == "order_to_comply"
    assert method_label("ticket").startswith("Municipal ticket")
    assert method_label("stop_work") == "Stop work"


def test_emergency_actions_are_recorded_for_council() -> None:
    meaning = interpret(
        scenario.event(
            "enforcement.remediation_started",
            scenario.G,
            "2026-03-19T16:00:00+00:00",
            emergency=True,
            approved_by_role="fire_chief",
        ),
        LABELS,
    )
    assert meaning.enforcement is not None and meaning.enforcement.method == "remediation"
    assert meaning.emergency is not None
    assert meaning.emergency.description.endswith("approved by fire_chief")


def test_unknown_events_are_recorded_not_dropped() -> None:
    meaning = interpret(scenario.event("officer.updated", "", "2026-03-20T11:00:00+00:00"), LABELS)
    assert not meaning.handled
    assert meaning.note == "no read model for this event type; recorded only"


def test_malformed_known_event_is_recorded_with_the_reason() -> None:
    event = DomainEvent("case.status_changed", "BL-2026-000001", {"from": "received"}, "e-1")
    meaning = interpret(event, LABELS)
    assert not meaning.handled
    assert meaning.note == "malformed payload: to missing"
    bad_time = DomainEvent("case.created", "BL-2026-000001", {"received_at": "yesterday"}, "e-2")
    assert "received_at is not ISO-8601" in interpret(bad_time, LABELS).note
