"""Domain events the cases service publishes (through its outbox) on
``bylaw.events.case.<event>``. Reporting builds its read model from these; other services
may subscribe. Every event is a :class:`services.common.events.DomainEvent` envelope::

    {"event_id": uuid, "event_type": "case.<event>", "case_number": "BL-2026-000123",
     "occurred_at": ISO-8601, "data": {...}}

``event_id`` is derived from the case and the step that caused it, so the same step can
never publish two different ids. No event carries complainant identity (policy 6.3,
DESIGN.md section 3) or intake's free-text summary. For restricted cases (complaints about
Town staff or Council, policy 6.10) the parcel's roll number and status reasons are left
out, so the confidential matter cannot be located from the event stream.

``case.created`` (subject ``bylaw.events.case.created``) — a complaint opened a new case.
    complaint_id, service_code, bylaw_number, priority ("high"|"medium"|"low"),
    matrix_version, enforced_by [dept codes], status ("received"), zone_code, ward,
    property_roll_number ("" if unmatched or restricted), match_method
    ("roll_number"|"address"|"gps"|""), channel, restricted (bool),
    received_at (ISO-8601), assigned_officer_id ("" if none).

``case.complaint_joined`` — an open case absorbed another complaint (policy 6.6.5).
    complaint_id, service_code, priority, zone_code, complaint_count (after joining),
    channel, restricted, received_at.

``case.repeat_after_compliance`` — a complaint arrived about a matter whose compliance was
confirmed within the look-back period; no case was opened (policy 6.6.3).
    complaint_id, service_code, priority, zone_code, compliance_confirmed_at, channel,
    restricted, received_at.

``case.status_changed`` — the workflow recorded a lifecycle transition.
    from, to (status names), reason ("" for restricted cases), outcome (closing outcome or
    ""), step_key, service_code, priority, zone_code, restricted, received_at (of the case),
    closed_at (ISO-8601 or null).

``case.assigned`` — the responsible officer changed (automatic routing at creation is
part of ``case.created``; this is for later assignments).
    officer_id, previous_officer_id, step_key, service_code, priority, zone_code, restricted.
"""

from __future__ import annotations

import uuid
from typing import Any

from services.cases.domain.cases import Assignment, Case, StatusChange
from services.common.events import DomainEvent

CASE_CREATED = "case.created"
CASE_COMPLAINT_JOINED = "case.complaint_joined"
CASE_REPEAT_AFTER_COMPLIANCE = "case.repeat_after_compliance"
CASE_STATUS_CHANGED = "case.status_changed"
CASE_ASSIGNED = "case.assigned"

_EVENT_NAMESPACE = uuid.UUID("6f1c1a52-4a43-4b77-9d2e-0d2b8c1e6a10")


def event_id(case_number: str, cause: str) -> str:
    """Deterministic id: one step of one case is one event, however often it is retried."""
    return str(uuid.uuid5(_EVENT_NAMESPACE, f"{case_number}/{cause}"))


def _common(case: Case) -> dict[str, Any]:
    return {
        "service_code": case.service_code,
        "priority": case.priority.value,
        "zone_code": case.zone_code,
        "restricted": case.restricted,
    }


def case_created(case: Case, complaint_id: str) -> DomainEvent:
    prop = case.match.parcel
    return DomainEvent(
        event_type=CASE_CREATED,
        case_number=case.case_number,
        event_id=event_id(case.case_number, f"complaint/{complaint_id}"),
        occurred_at=case.updated_at,
        data={
            **_common(case),
            "complaint_id": complaint_id,
            "bylaw_number": case.bylaw_number,
            "matrix_version": case.matrix_version,
            "enforced_by": list(case.enforced_by),
            "status": case.status.value,
            "ward": prop.ward if prop and not case.restricted else "",
            "property_roll_number": "" if case.restricted else case.property_roll_number,
            "match_method": case.match.method,
            "channel": case.channel,
            "received_at": case.received_at.isoformat(),
            "assigned_officer_id": case.assigned_officer_id,
        },
    )


def complaint_joined(case: Case, complaint_id: str, channel: str, received_at_iso: str) -> DomainEvent:
    return DomainEvent(
        event_type=CASE_COMPLAINT_JOINED,
        case_number=case.case_number,
        event_id=event_id(case.case_number, f"complaint/{complaint_id}"),
        data={
            **_common(case),
            "complaint_id": complaint_id,
            "complaint_count": case.complaint_count,
            "channel": channel,
            "received_at": received_at_iso,
        },
    )


def repeat_after_compliance(case: Case, complaint_id: str, channel: str, received_at_iso: str) -> DomainEvent:
    confirmed = case.compliance_confirmed_at
    return DomainEvent(
        event_type=CASE_REPEAT_AFTER_COMPLIANCE,
        case_number=case.case_number,
        event_id=event_id(case.case_number, f"complaint/{complaint_id}"),
        data={
            **_common(case),
            "complaint_id": complaint_id,
            "compliance_confirmed_at": confirmed.isoformat() if confirmed else None,
            "channel": channel,
            "received_at": received_at_iso,
        },
    )


def status_changed(case: Case, change: StatusChange) -> DomainEvent:
    return DomainEvent(
        event_type=CASE_STATUS_CHANGED,
        case_number=case.case_number,
        event_id=event_id(case.case_number, f"status/{change.step_key}"),
        occurred_at=change.occurred_at,
        data={
            **_common(case),
            "from": change.from_status,
            "to": change.to_status.value,
            "reason": "" if case.restricted else change.reason,
            "outcome": change.outcome,
            "step_key": change.step_key,
            "received_at": case.received_at.isoformat(),
            "closed_at": case.closed_at.isoformat() if case.closed_at else None,
        },
    )


def case_assigned(case: Case, assignment: Assignment) -> DomainEvent:
    return DomainEvent(
        event_type=CASE_ASSIGNED,
        case_number=case.case_number,
        event_id=event_id(case.case_number, f"assign/{assignment.step_key}"),
        occurred_at=assignment.occurred_at,
        data={
            **_common(case),
            "officer_id": assignment.officer_id,
            "previous_officer_id": assignment.previous_officer_id,
            "step_key": assignment.step_key,
        },
    )
