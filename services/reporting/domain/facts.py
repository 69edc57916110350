"""How a domain event becomes facts in the reporting read model.

Reporting reads only events (DESIGN.md section 2). The payloads are those the cases service
documents in ``services/cases/domain/events.py``; ``inspection.*`` and ``enforcement.*``
events are read generically so they count as soon as a service publishes them. Events are
order-independent facts keyed by their event id: the outbox relay may publish a batch in
any order, and a redelivery must change nothing. An event this service does not model is
still recorded (with a note) and acknowledged, never silently dropped.

No event carries complainant identity; summaries are built only from codes and statuses,
and say nothing about a restricted case (complaints about staff or Council, policy 6.10).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.common.events import DomainEvent

# Inspection events that mean an inspection was carried out (not merely scheduled).
INSPECTION_DONE = frozenset({"completed", "recorded", "conducted", "performed"})

# Enforcement methods (policy 6.2.2) and the other tools the product names.
METHOD_LABELS = {
    "warning": "Warning / education (6.2.2 a)",
    "education": "Warning / education (6.2.2 a)",
    "prosecution": "Prosecution under the Provincial Offences Act (6.2.2 b)",
    "ticket": "Municipal ticket / Part I offence notice (6.2.2 c)",
    "compliance_notice": "Notice of Violation (6.2.2 d)",
    "notice": "Notice of Violation (6.2.2 d)",
    "order": "Order to Comply (6.2.2 d)",
    "order_to_comply": "Order to Comply (6.2.2 d)",
    "direct_enforcement": "Direct enforcement / remedial work (6.2.2 e)",
    "remediation": "Direct enforcement / remedial work (6.2.2 e)",
    "civil_proceedings": "Civil proceedings (6.2.2 f)",
    "no_action": "No action (6.2.2 g)",
    "amp": "Administrative monetary penalty",
    "administrative_monetary_penalty": "Administrative monetary penalty",
}

_METHOD_SUFFIXES = ("_issued", "_served", "_taken", "_recorded", "_laid", "_imposed", "_started", "_used")

# Column sizes of the read model; longer values are cut rather than failing the batch.
_CODE = 64
_TEXT = 500


@dataclass(frozen=True, slots=True)
class CaseFacts:
    case_number: str
    service_code: str
    priority: str
    zone_code: str
    received_at: datetime | None
    restricted: bool


@dataclass(frozen=True, slots=True)
class Complaint:
    event_id: str
    complaint_id: str
    case_number: str
    service_code: str
    # "new_case" | "joined" | "repeat_after_compliance" (cases), or "referred" | "rejected"
    # for a complaint that ended at intake without a case.
    kind: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class StatusChange:
    event_id: str
    case_number: str
    from_status: str
    to_status: str
    outcome: str
    occurred_at: datetime
    service_code: str
    case_received_at: datetime | None


@dataclass(frozen=True, slots=True)
class Inspection:
    event_id: str
    case_number: str
    kind: str
    inspected_at: datetime


@dataclass(frozen=True, slots=True)
class EnforcementAction:
    event_id: str
    case_number: str
    method: str
    service_code: str
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class EmergencyAction:
    """Action taken under policy 6.5.14 (no time for Council), reported at the next report."""

    event_id: str
    case_number: str
    occurred_at: datetime
    description: str


@dataclass(frozen=True, slots=True)
class ProcessedEvent:
    """The ledger entry of one event: applied (with facts) or recorded only."""

    event_id: str
    event_type: str
    case_number: str
    occurred_at: datetime
    handled: bool
    summary: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Interpretation:
    handled: bool
    summary: str
    note: str = ""
    case: CaseFacts | None = None
    complaint: Complaint | None = None
    status_change: StatusChange | None = None
    inspection: Inspection | None = None
    enforcement: EnforcementAction | None = None
    emergency: EmergencyAction | None = None


class _Malformed(ValueError):
    pass


def merge_case_facts(facts: list[CaseFacts]) -> list[CaseFacts]:
    """One entry per case: the first known value of each field wins (the events of one
    case agree on them; some just carry less), restricted if any event says so."""
    merged: dict[str, CaseFacts] = {}
    for fact in facts:
        old = merged.get(fact.case_number)
        merged[fact.case_number] = (
            fact
            if old is None
            else CaseFacts(
                case_number=fact.case_number,
                service_code=old.service_code or fact.service_code,
                priority=old.priority or fact.priority,
                zone_code=old.zone_code or fact.zone_code,
                received_at=old.received_at or fact.received_at,
                restricted=old.restricted or fact.restricted,
            )
        )
    return list(merged.values())


def _cut(value: Any, size: int = _CODE) -> str:
    return str(value if value is not None else "")[:size]


def _when(value: Any, field: str) -> datetime:
    if not isinstance(value, str) or not value:
        raise _Malformed(f"{field} missing")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _Malformed(f"{field} is not ISO-8601: {value[:40]!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _via(data: Mapping[str, Any]) -> str:
    """ " via <channel>" for a summary, or nothing when the channel is unknown."""
    channel = _cut(data.get("channel"), 32)
    return f" via {channel}" if channel else ""


def _optional_when(value: Any, field: str) -> datetime | None:
    return _when(value, field) if value else None


def method_of(event_name: str, data: Mapping[str, Any]) -> str:
    """``enforcement.ticket_issued`` → ``ticket``; an explicit ``data.method`` wins."""
    explicit = data.get("method") or data.get("action")
    if isinstance(explicit, str) and explicit.strip():
        return explicit.strip().lower()[:_CODE]
    for suffix in _METHOD_SUFFIXES:
        if event_name.endswith(suffix) and len(event_name) > len(suffix):
            return event_name[: -len(suffix)][:_CODE]
    return event_name[:_CODE]


def method_label(method: str) -> str:
    return METHOD_LABELS.get(method, method.replace("_", " ").capitalize())


def interpret(event: DomainEvent, service_labels: Mapping[str, str]) -> Interpretation:
    """The facts ``event`` contributes; never raises for a well-formed envelope."""
    try:
        return _interpret(event, service_labels)
    except _Malformed as exc:
        return Interpretation(
            handled=False, summary=f"{event.event_type} (not readable)", note=f"malformed payload: {exc}"
        )


def _interpret(event: DomainEvent, labels: Mapping[str, str]) -> Interpretation:
    data = event.data
    case_number = _cut(event.case_number)
    aggregate, _, name = event.event_type.partition(".")
    restricted = bool(data.get("restricted"))
    service_code = _cut(data.get("service_code"))
    service = labels.get(service_code, service_code or "case")

    def facts(received_at: datetime | None) -> CaseFacts:
        return CaseFacts(
            case_number=case_number,
            service_code=service_code,
            priority=_cut(data.get("priority"), 16),
            zone_code=_cut(data.get("zone_code") or data.get("zone")),
            received_at=received_at,
            restricted=restricted,
        )

    def say(text: str) -> str:
        # A restricted matter (policy 6.10) shows only that something happened.
        return "Restricted case updated" if restricted else text

    emergency = _emergency(event, case_number, data)

    if event.event_type in ("case.created", "case.complaint_joined", "case.repeat_after_compliance"):
        if not case_number:
            raise _Malformed("case_number missing")
        received = _when(data.get("received_at") or event.occurred_at.isoformat(), "received_at")
        kind = {
            "case.created": "new_case",
            "case.complaint_joined": "joined",
            "case.repeat_after_compliance": "repeat_after_compliance",
        }[event.event_type]
        complaint = Complaint(
            event_id=event.event_id,
            complaint_id=_cut(data.get("complaint_id")),
            case_number=case_number,
            service_code=service_code,
            kind=kind,
            received_at=received,
        )
        via = _via(data)
        if kind == "new_case":
            priority = _cut(data.get("priority"), 16)
            summary = say(
                f"Complaint received{via}: {service}" + (f" ({priority} priority)" if priority else "")
            )
            return Interpretation(
                True, summary, case=facts(received), complaint=complaint, emergency=emergency
            )
        if kind == "joined":
            count = data.get("complaint_count")
            summary = say(
                f"Further complaint joined the case{via}: {service}"
                + (f" ({count} complaints)" if count else "")
            )
            return Interpretation(True, summary, case=facts(None), complaint=complaint, emergency=emergency)
        summary = say(f"Repeat complaint after compliance{via}: {service}; no new case (policy 6.6.3)")
        return Interpretation(True, summary, complaint=complaint, emergency=emergency)

    if event.event_type == "complaint.received":
        return _complaint_received(event, case_number, data, service, say)

    if event.event_type == "case.status_changed":
        if not case_number:
            raise _Malformed("case_number missing")
        to_status = _cut(data.get("to"), 32)
        if not to_status:
            raise _Malformed("to missing")
        from_status = _cut(data.get("from"), 32)
        outcome = _cut(data.get("outcome"), 32)
        occurred = _when(data.get("occurred_at") or event.occurred_at.isoformat(), "occurred_at")
        case_received = _optional_when(data.get("received_at"), "received_at")
        change = StatusChange(
            event_id=event.event_id,
            case_number=case_number,
            from_status=from_status,
            to_status=to_status,
            outcome=outcome,
            occurred_at=occurred,
            service_code=service_code,
            case_received_at=case_received,
        )
        label = to_status.replace("_", " ")
        summary = say(
            f"{service}: {from_status.replace('_', ' ') or 'new'} → {label}"
            + (f" ({outcome.replace('_', ' ')})" if outcome else "")
        )
        return Interpretation(
            True, summary, case=facts(case_received), status_change=change, emergency=emergency
        )

    if event.event_type == "case.assigned":
        return Interpretation(True, say(f"{service}: officer assigned"), emergency=emergency)

    if aggregate == "inspection":
        if name in INSPECTION_DONE:
            when = _when(data.get("inspected_at") or event.occurred_at.isoformat(), "inspected_at")
            inspection = Inspection(event.event_id, case_number, name[:_CODE], when)
            return Interpretation(
                True, say(f"Inspection {name}: {service}"), inspection=inspection, emergency=emergency
            )
        return Interpretation(
            True, say(f"Inspection {name.replace('_', ' ')}: {service}"), emergency=emergency
        )

    if aggregate == "enforcement":
        method = method_of(name, data)
        when = _when(data.get("occurred_at") or event.occurred_at.isoformat(), "occurred_at")
        action = EnforcementAction(event.event_id, case_number, method, service_code, when)
        return Interpretation(
            True, say(f"{method_label(method)}: {service}"), enforcement=action, emergency=emergency
        )

    if aggregate == "remediation":
        # Municipal remediation (issue 4 item 6): readable in the activity feed; the
        # emergency approval also lands in the monthly report through ``emergency``.
        return Interpretation(True, say(_remediation_summary(name, data, service)), emergency=emergency)

    if emergency is not None:
        return Interpretation(True, say(f"Emergency action: {service}"), emergency=emergency)
    return Interpretation(
        handled=False,
        summary=say(event.event_type),
        note="no read model for this event type; recorded only",
    )


# Intake's outcomes that end a complaint without a case (policy 6.5.9, 6.11.2, 4.1, 6.5.2).
CLOSED_AT_INTAKE = frozenset({"referred", "rejected"})


def _complaint_received(
    event: DomainEvent, case_number: str, data: Mapping[str, Any], service: str, say: Callable[[str], str]
) -> Interpretation:
    """Intake's ``complaint.received``: every complaint, whatever became of it.

    A complaint on a case (new, joined, or a repeat after compliance) is counted from the
    cases service's own event, so here it adds nothing and stays out of the activity feed
    (an empty summary), which already shows that event. A complaint that ended at intake
    without a case, referred elsewhere or not acted on, exists only here: it is received
    and closed at once, and counts in the monthly report's complaints received and closed
    by type (policy 6.5.11)."""
    outcome = _cut(data.get("outcome"), 32)
    if case_number or data.get("related_case_number") or outcome not in CLOSED_AT_INTAKE:
        return Interpretation(True, "")
    received = _when(data.get("received_at") or event.occurred_at.isoformat(), "received_at")
    complaint = Complaint(
        event_id=event.event_id,
        complaint_id=_cut(data.get("service_request_id")),
        case_number="",
        service_code=_cut(data.get("service_code")),
        kind=outcome,
        received_at=received,
    )
    via = _via(data)
    if outcome == "referred":
        agency = _cut(data.get("referred_to"), 200)
        to = f" to {agency}" if agency else ""
        summary = f"Complaint received{via} and referred{to}: {service}"
    else:
        reason = _cut(data.get("reason_code"), 32).replace("_", " ")
        why = f" ({reason})" if reason else ""
        summary = f"Complaint received{via}, not acted on{why}: {service}"
    return Interpretation(True, say(summary), complaint=complaint)


_REMEDIATION_SUMMARIES = {
    "council_decision_recorded": "Council decision on remedial work",
    "emergency_approved": "Remedial work approved as an emergency (policy 6.5.14)",
    "work_scheduled": "Remedial work scheduled",
    "costs_recorded": "Remediation costs recorded",
    "work_completed": "Remedial work completed",
    "work_order_cancelled": "Remedial work called off",
    "invoice_issued": "Remediation costs invoiced to the owner",
    "payment_recorded": "Remediation invoice payment received",
    "added_to_tax_roll": "Unpaid remediation costs added to the tax roll",
}


def _remediation_summary(name: str, data: Mapping[str, Any], service: str) -> str:
    """``remediation.*`` events (published by cases) as one line for the activity feed."""
    if name == "work_order_created":
        gated = " — over $5,000 on private land, awaiting Council (policy 6.5.13)"
        return f"Remedial work ordered: {service}" + (gated if data.get("council_approval_required") else "")
    if name == "council_decision_recorded" and data.get("decision") in ("approved", "refused"):
        return f"Council {data['decision']} remedial work: {service}"
    return f"{_REMEDIATION_SUMMARIES.get(name, name.replace('_', ' ').capitalize())}: {service}"


def _emergency(event: DomainEvent, case_number: str, data: Mapping[str, Any]) -> EmergencyAction | None:
    """Emergency approvals (policy 6.5.14): flagged ``data.emergency`` or named so."""
    if not (data.get("emergency") is True or "emergency" in event.event_type):
        return None
    when = _when(data.get("occurred_at") or event.occurred_at.isoformat(), "occurred_at")
    approver = data.get("approved_by_role") or data.get("approver_role") or data.get("approved_by") or ""
    what = data.get("description") or data.get("action") or event.event_type
    if data.get("restricted"):
        what = "emergency action on a restricted matter (policy 6.10)"
    description = f"{case_number or 'no case'}: {_cut(what, 200)}" + (
        f", approved by {_cut(approver)}" if approver else ""
    )
    return EmergencyAction(event.event_id, case_number, when, description[:_TEXT])
