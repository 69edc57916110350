"""Domain events of the case lifecycle (issue 4), published through the cases outbox on
``bylaw.events.case.<event>`` with the envelope of :mod:`services.cases.domain.events`.
Ids are derived from the case and the step, so a retried step publishes the same id. No
event carries complainant identity, the owner's name or free-text notes; for restricted
cases (policy 6.10) details and reasons are left out.

``case.inspection_recorded`` — an inspection's findings were recorded (seed spec 2.2).
    step_key, kind ("initial"|"reinspection"), inspected_at, officer_id, checklist_id,
    checklist_version, violation_found, bylaw_sections, service_code, priority, zone_code,
    restricted.

``case.enforcement_action_taken`` — an enforcement option of policy 6.2.2 was used
(reported monthly to Council, policy 6.5.12).
    step_key, action, number, bylaw_section, comply_by, fine_code, amount_cents,
    total_payable_cents, officer_id, deviation (bool: the usual path was departed from,
    policy 6.4.7), service_code, priority, zone_code, restricted.

``case.deadline_changed`` — a compliance deadline was set, extended, shortened or cleared.
    step_key, kind, deadline, previous_deadline, service_code, priority, zone_code, restricted.

``case.alert_raised`` — an escalation alert (overdue acknowledgement, inspection SLA
missed, re-inspection missed, order overdue).
    step_key, kind, due_at, detail ("" for restricted cases), assigned_officer_id,
    department, service_code, priority, zone_code, restricted.

``case.alert_cleared`` — the condition behind an alert was resolved.
    step_key, kind, cleared_at, service_code, priority, zone_code, restricted.
"""

from __future__ import annotations

from typing import Any

from services.cases.domain.cases import Case
from services.cases.domain.events import event_id
from services.cases.domain.lifecycle import Alert, DeadlineChange, EnforcementAction, Inspection
from services.common.events import DomainEvent

INSPECTION_RECORDED = "case.inspection_recorded"
ENFORCEMENT_ACTION_TAKEN = "case.enforcement_action_taken"
DEADLINE_CHANGED = "case.deadline_changed"
ALERT_RAISED = "case.alert_raised"
ALERT_CLEARED = "case.alert_cleared"


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _common(case: Case) -> dict[str, Any]:
    return {
        "service_code": case.service_code,
        "priority": case.priority.value,
        "zone_code": case.zone_code,
        "restricted": case.restricted,
    }


def inspection_recorded(case: Case, inspection: Inspection) -> DomainEvent:
    assert inspection.inspected_at is not None
    return DomainEvent(
        event_type=INSPECTION_RECORDED,
        case_number=case.case_number,
        event_id=event_id(case.case_number, f"inspection/{inspection.record_step_key}"),
        occurred_at=inspection.inspected_at,
        data={
            **_common(case),
            "step_key": inspection.record_step_key,
            "kind": inspection.kind.value,
            "inspected_at": _iso(inspection.inspected_at),
            "officer_id": inspection.officer_id,
            "checklist_id": inspection.checklist_id,
            "checklist_version": inspection.checklist_version,
            "violation_found": inspection.violation_found,
            "bylaw_sections": list(inspection.bylaw_sections),
        },
    )


def enforcement_action_taken(case: Case, action: EnforcementAction) -> DomainEvent:
    return DomainEvent(
        event_type=ENFORCEMENT_ACTION_TAKEN,
        case_number=case.case_number,
        event_id=event_id(case.case_number, f"action/{action.step_key}"),
        occurred_at=action.occurred_at,
        data={
            **_common(case),
            "step_key": action.step_key,
            "action": action.action.value,
            "number": action.number,
            "bylaw_section": action.bylaw_section,
            "comply_by": _iso(action.comply_by),
            "fine_code": action.fine_code,
            "amount_cents": action.amount_cents,
            "total_payable_cents": action.total_payable_cents,
            "officer_id": action.officer_id,
            "deviation": bool(action.deviation_reason),
        },
    )


def deadline_changed(case: Case, change: DeadlineChange) -> DomainEvent:
    return DomainEvent(
        event_type=DEADLINE_CHANGED,
        case_number=case.case_number,
        event_id=event_id(case.case_number, f"deadline/{change.step_key}"),
        occurred_at=change.occurred_at,
        data={
            **_common(case),
            "step_key": change.step_key,
            "kind": change.kind.value,
            "deadline": _iso(change.deadline),
            "previous_deadline": _iso(change.previous_deadline),
        },
    )


def alert_raised(case: Case, alert: Alert) -> DomainEvent:
    return DomainEvent(
        event_type=ALERT_RAISED,
        case_number=case.case_number,
        event_id=event_id(case.case_number, f"alert/{alert.step_key}"),
        occurred_at=alert.raised_at,
        data={
            **_common(case),
            "step_key": alert.step_key,
            "kind": alert.kind.value,
            "due_at": _iso(alert.due_at),
            "detail": "" if case.restricted else alert.detail,
            "assigned_officer_id": case.assigned_officer_id,
            "department": case.department,
        },
    )


def alert_cleared(case: Case, alert: Alert) -> DomainEvent:
    return DomainEvent(
        event_type=ALERT_CLEARED,
        case_number=case.case_number,
        event_id=event_id(case.case_number, f"alert-cleared/{alert.step_key}"),
        occurred_at=alert.cleared_at or alert.raised_at,
        data={
            **_common(case),
            "step_key": alert.step_key,
            "kind": alert.kind.value,
            "cleared_at": _iso(alert.cleared_at),
        },
    )
