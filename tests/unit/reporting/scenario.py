"""A month and a half of events in the cases service's payload format
(``services/cases/domain/events.py``), with the dashboard and report figures they must
produce. Shared by the unit tests (in-memory read model) and the integration tests
(PostgreSQL through NATS), so both implementations are held to the same numbers.

All times are UTC; the dashboard is taken at 2026-03-20 19:00Z = 15:00 EDT in Toronto.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from services.common.events import DomainEvent

AS_OF = datetime(2026, 3, 20, 19, 0, tzinfo=UTC)

A, B, C, D, E, F, G, H, J = (f"BL-2026-000{n}" for n in range(101, 110))

SERVICE = {
    A: "grass-cutting",
    B: "noise",
    C: "dog-barking-pet-waste",
    D: "grass-cutting",
    E: "garbage",
    F: "yard-maintenance-cosmetic",
    G: "property-standards-major-safety",
    H: "noise",
    J: "loitering",
}
_received: dict[str, str] = {}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _id(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


def created(case: str, received: str, *, restricted: bool = False, priority: str = "low") -> DomainEvent:
    _received[case] = received
    return DomainEvent(
        event_type="case.created",
        case_number=case,
        event_id=_id(case, "created"),
        occurred_at=at(received),
        data={
            "service_code": SERVICE[case],
            "priority": priority,
            "zone_code": "Z1",
            "restricted": restricted,
            "complaint_id": f"SR-{case}",
            "bylaw_number": "2000-0066",
            "matrix_version": "2024",
            "enforced_by": ["BE"],
            "status": "received",
            "ward": "1",
            "property_roll_number": "1121000000000000000",
            "match_method": "address",
            "channel": "311-online",
            "received_at": received,
            "assigned_officer_id": "",
        },
    )


def status(case: str, from_status: str, to_status: str, when: str, outcome: str = "") -> DomainEvent:
    return DomainEvent(
        event_type="case.status_changed",
        case_number=case,
        event_id=_id(case, "status", to_status, when),
        occurred_at=at(when),
        data={
            "service_code": SERVICE[case],
            "priority": "low",
            "zone_code": "Z1",
            "restricted": False,
            "from": from_status,
            "to": to_status,
            "reason": "recorded by the case workflow",
            "outcome": outcome,
            "step_key": f"{to_status}-{when}",
            "received_at": _received[case],
            "closed_at": when if to_status in ("closed", "referred", "rejected") else None,
        },
    )


def joined(case: str, when: str) -> DomainEvent:
    return DomainEvent(
        event_type="case.complaint_joined",
        case_number=case,
        event_id=_id(case, "joined", when),
        occurred_at=at(when),
        data={
            "service_code": SERVICE[case],
            "priority": "medium",
            "zone_code": "Z1",
            "restricted": False,
            "complaint_id": f"SR-join-{when}",
            "complaint_count": 2,
            "channel": "311-phone",
            "received_at": when,
        },
    )


def repeat(case: str, when: str) -> DomainEvent:
    return DomainEvent(
        event_type="case.repeat_after_compliance",
        case_number=case,
        event_id=_id(case, "repeat", when),
        occurred_at=at(when),
        data={
            "service_code": SERVICE[case],
            "priority": "low",
            "zone_code": "Z1",
            "restricted": False,
            "complaint_id": f"SR-repeat-{when}",
            "compliance_confirmed_at": "2026-02-20T15:00:00+00:00",
            "channel": "311-online",
            "received_at": when,
        },
    )


def received_at_intake(
    request: str, service_code: str, when: str, outcome: str, case: str = "", **data: Any
) -> DomainEvent:
    """Intake's ``complaint.received`` (services/intake/service_layer/intake.py), which it
    publishes for every complaint, with or without a case."""
    return DomainEvent(
        event_type="complaint.received",
        case_number=case or None,
        event_id=_id(request, "received"),
        occurred_at=at(when),
        data={
            "service_request_id": request,
            "service_code": service_code,
            "priority": "low",
            "channel": "311-online",
            "outcome": outcome,
            "received_at": when,
            "restricted": False,
            "referred_to": None,
            "reason_code": None,
            "related_case_number": None,
            **data,
        },
    )


def event(event_type: str, case: str, when: str, **data: Any) -> DomainEvent:
    return DomainEvent(
        event_type=event_type,
        case_number=case,
        event_id=_id(case, event_type, when),
        occurred_at=at(when),
        data={"service_code": SERVICE.get(case, ""), **data},
    )


def events() -> list[DomainEvent]:
    return [
        # February
        created(A, "2026-02-02T15:00:00+00:00"),
        status(A, "received", "notice_issued", "2026-02-05T15:00:00+00:00"),
        event("enforcement.compliance_notice_issued", A, "2026-02-05T15:00:00+00:00"),
        event("inspection.completed", A, "2026-02-04T15:00:00+00:00"),
        event("inspection.completed", A, "2026-02-20T14:00:00+00:00"),
        status(A, "awaiting_compliance", "complied", "2026-02-20T15:00:00+00:00"),
        status(A, "complied", "closed", "2026-02-21T15:00:00+00:00", "order_compliance"),
        created(B, "2026-02-10T14:00:00+00:00"),
        event("inspection.completed", B, "2026-02-11T14:00:00+00:00"),
        status(B, "under_investigation", "notice_issued", "2026-02-12T14:00:00+00:00"),
        event("enforcement.compliance_notice_issued", B, "2026-02-12T14:00:00+00:00"),
        status(B, "reinspection", "escalated", "2026-02-25T14:00:00+00:00"),
        event("enforcement.ticket_issued", B, "2026-02-26T14:00:00+00:00"),
        created(C, "2026-02-27T17:00:00+00:00"),
        event("inspection.completed", C, "2026-02-26T18:00:00+00:00"),
        created(H, "2026-02-03T15:00:00+00:00"),
        status(H, "under_investigation", "notice_issued", "2026-02-06T15:00:00+00:00"),
        event("enforcement.compliance_notice_issued", H, "2026-02-06T15:00:00+00:00"),
        status(H, "awaiting_compliance", "closed", "2026-02-16T15:00:00+00:00", "order_compliance"),
        # A police matter referred to the OPP (6.11.2) in February, closed as referred in March.
        created(J, "2026-02-26T15:00:00+00:00"),
        status(J, "received", "referred", "2026-02-27T15:00:00+00:00"),
        status(J, "referred", "closed", "2026-03-02T15:00:00+00:00", "referred"),
        # March
        created(D, "2026-03-02T13:00:00+00:00"),
        status(D, "under_investigation", "notice_issued", "2026-03-03T13:00:00+00:00"),
        event("enforcement.compliance_notice_issued", D, "2026-03-03T13:00:00+00:00"),
        status(D, "reinspection", "complied", "2026-03-10T13:00:00+00:00"),
        status(D, "complied", "closed", "2026-03-12T13:00:00+00:00", "order_compliance"),
        joined(B, "2026-03-04T12:00:00+00:00"),
        created(E, "2026-03-05T15:00:00+00:00"),
        status(E, "received", "rejected", "2026-03-06T15:00:00+00:00"),
        status(E, "rejected", "closed", "2026-03-07T15:00:00+00:00", "rejected"),
        repeat(A, "2026-03-08T12:00:00+00:00"),
        # Intake's own record of each complaint. One on a case adds nothing (the case's
        # events count it); one that ended at intake with no case counts once, received and
        # closed on arrival: a matter for the police, an anonymous low-priority complaint.
        received_at_intake("SR-D", SERVICE[D], "2026-03-02T13:00:00+00:00", "new_case", case=D),
        received_at_intake(
            "SR-A-again",
            SERVICE[A],
            "2026-03-08T12:00:00+00:00",
            "rejected",
            reason_code="repeat_after_compliance",
            related_case_number=A,
        ),
        received_at_intake(
            "SR-301",
            "loitering",
            "2026-03-11T15:00:00+00:00",
            "referred",
            referred_to="Ontario Provincial Police",
            reason_code="out_of_scope",
        ),
        received_at_intake(
            "SR-302",
            "dog-barking-pet-waste",
            "2026-03-12T15:00:00+00:00",
            "rejected",
            reason_code="anonymous",
        ),
        created(F, "2026-03-09T15:00:00+00:00"),
        status(F, "received", "under_investigation", "2026-03-10T15:00:00+00:00"),
        status(F, "under_investigation", "closed", "2026-03-15T15:00:00+00:00", "voluntary_compliance"),
        created(G, "2026-03-15T12:00:00+00:00", priority="high"),
        status(G, "under_investigation", "notice_issued", "2026-03-16T12:00:00+00:00"),
        event("enforcement.compliance_notice_issued", G, "2026-03-16T12:00:00+00:00"),
        status(G, "reinspection", "escalated", "2026-03-18T12:00:00+00:00"),
        event(
            "enforcement.remediation_started",
            G,
            "2026-03-19T16:00:00+00:00",
            emergency=True,
            approved_by_role="cao",
            description="unsafe structure secured by contractor",
        ),
        event("inspection.completed", D, "2026-03-20T14:00:00+00:00"),  # 10:00 EDT today
        event("inspection.completed", G, "2026-03-20T13:00:00+00:00"),  # 09:00 EDT today
        event("inspection.completed", G, "2026-03-20T03:30:00+00:00"),  # 23:30 EDT yesterday
        event("inspection.completed", C, "2026-03-21T02:00:00+00:00"),  # today local, after as_of
        event("inspection.scheduled", C, "2026-03-20T12:00:00+00:00"),  # not carried out
        event("officer.updated", "", "2026-03-20T11:00:00+00:00"),  # no read model: recorded only
    ]


# The figures the events above must produce (dashboard at AS_OF, reports by month).
DASHBOARD = {
    "open_cases": (3.0, 2.0),  # B, C, G now; B, C at the start of March
    "average_resolution_days": (8.0, 16.0),  # D 10, F 6 (not E, J: rejected/referred) | A 19, H 13
    "inspections_today": (2.0, 0.2),  # D and G today | 4 in February / 20 weekdays
    "order_compliance": (50.0, 66.7),  # D vs G | A and H vs B
}
SAMPLE_SIZES = {
    "open_cases": (3, 2),
    "average_resolution_days": (2, 2),
    "inspections_today": (2, 4),
    "order_compliance": (2, 3),
}
MARCH_RECEIVED = {
    "grass-cutting": 2,
    "garbage": 1,
    "yard-maintenance-cosmetic": 1,
    "property-standards-major-safety": 1,
    "noise": 1,
    "loitering": 1,  # SR-301, referred at intake
    "dog-barking-pet-waste": 1,  # SR-302, not acted on at intake
}
# E once; SR-301 and SR-302 on arrival.
MARCH_CLOSED = {
    "grass-cutting": 2,
    "garbage": 1,
    "yard-maintenance-cosmetic": 1,
    "loitering": 1,
    "dog-barking-pet-waste": 1,
}
MARCH_METHODS = {"compliance_notice": 2, "remediation": 1}
FEBRUARY_RECEIVED = {"noise": 2, "grass-cutting": 1, "dog-barking-pet-waste": 1, "loitering": 1}
FEBRUARY_CLOSED = {"grass-cutting": 1, "noise": 1, "loitering": 1}  # J when referred, not again
FEBRUARY_METHODS = {"compliance_notice": 3, "ticket": 1}
