"""The case lifecycle through the staff API (issue 4): reassignment, inspections (schedule,
record, re-inspect) on the by-law's checklist, the pre-inspection packet, enforcement
actions, compliance deadline extensions and shortening, closure and dismissal, escalation
alerts, department queues, and the case's state, timeline and summary.

Staff actions are validated *updates* of the case's ``CaseLifecycleWorkflow`` (which applies
the policy's rules and answers with the new state); reads come from the cases service (the
system of record) or the workflow's queries. Every request first reads the case as the
caller, so a restricted case (policy 6.10) is "not found" for staff without the need to
know, exactly as on ``GET /cases/{case_number}``. Nothing here returns complainant identity
(policy 6.3.4); the owner of record comes from the public assessment roll.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Annotated, Any, Literal

from bylaw.v1 import cases_pb2, common_pb2, evidence_pb2
from fastapi import APIRouter, Depends, Path, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from services.common.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Unavailable,
)
from services.gateway.api.deps import CaseReader, ClientsDep, require_roles
from services.gateway.api.models import CaseOut, _when
from services.gateway.clients import READ_TIMEOUT, GatewayClients
from services.gateway.errors import rpc
from services.gateway.security import Principal, Role
from workflows.contracts import (
    QUERY_STATE,
    QUERY_SUMMARY,
    QUERY_TIMELINE,
    UPDATE_ASSIGN_OFFICER,
    UPDATE_CLOSE_CASE,
    UPDATE_EXTEND_DEADLINE,
    UPDATE_RECORD_INSPECTION,
    UPDATE_SCHEDULE_INSPECTION,
    UPDATE_SHORTEN_DEADLINE,
    UPDATE_TAKE_ENFORCEMENT_ACTION,
    AssignOfficerRequest,
    CaseLifecycleResult,
    CaseLifecycleState,
    CaseSummary,
    CloseCaseRequest,
    EnforcementActionRequest,
    ExtendDeadlineRequest,
    InspectionFinding,
    RecordInspectionRequest,
    ScheduleInspectionRequest,
    ShortenDeadlineRequest,
    TimelineEntry,
    WorkOrderRequest,
    workflow_id,
)

router = APIRouter(tags=["lifecycle"])

CASE_NUMBER_PATTERN = r"^BL-\d{4}-\d{6}$"
CaseNumber = Annotated[str, Path(pattern=CASE_NUMBER_PATTERN, examples=["BL-2026-000123"])]
# An accepted update normally answers within seconds; one still rendering documents after
# this long answers 202 and finishes in the workflow (it is durable).
UPDATE_WAIT_SECONDS = 30.0
PHOTO_KINDS = ("photo", "video")

# Who may do what (DESIGN.md section 1): officers work their cases in the field,
# supervisors direct the work and may act on any case; reading is for case readers.
FieldStaff = Annotated[Principal, Depends(require_roles(Role.OFFICER, Role.SUPERVISOR))]
Supervisor = Annotated[Principal, Depends(require_roles(Role.SUPERVISOR))]

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "invalid request: each error names the field, the rule and the policy section"},
    403: {"description": "the caller's role may not do this"},
    404: {"description": "no such case (or restricted, policy 6.10)"},
    409: {"description": "the case's status does not allow this now (e.g. policy 6.7.5)"},
    503: {"description": "a service or Temporal is unavailable; retry"},
}


# --- documents -------------------------------------------------------------------------------


class _FromState(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ScheduledOut(_FromState):
    step_key: str
    kind: str
    scheduled_for: datetime
    officer_id: str


class InspectionOut(_FromState):
    step_key: str
    kind: str
    inspected_at: datetime
    violation_found: bool
    bylaw_sections: list[str]
    checklist_id: str
    report_document_id: str


class ActionOut(_FromState):
    seq: int
    action: str
    number: str
    occurred_at: datetime
    comply_by: str
    amount_cents: int
    total_payable_cents: int
    document_id: str
    deviation: bool = Field(description="departs from the usual path; its reason is in the document (6.4.7)")


class DeadlineOut(_FromState):
    due_on: str
    due_at: datetime
    number: str
    issued_on: str
    changes: int
    expired: bool


class AlertOut(_FromState):
    kind: str
    due_at: datetime
    raised_at: datetime
    detail: str
    cleared_at: datetime | None


class RemediationOut(_FromState):
    work_order_seq: int
    workflow_id: str
    case_status: str
    detail: str
    outcome: str
    running: bool


class ClosureSummaryOut(_FromState):
    outcome: str
    closed_at: datetime
    days_since_complaint: int
    days_since_order: int
    business_days_open: int
    closure_document_id: str


class LifecycleStateOut(_FromState):
    """The case as its workflow holds it (what the ``state`` query answers)."""

    case_number: str
    status: str
    priority: str
    service_code: str
    bylaw_number: str
    zone: str
    assigned_officer: str
    department: str
    current_details: str
    acknowledged_at: datetime | None
    inspection_due: datetime | None
    scheduled: ScheduledOut | None
    inspections: list[InspectionOut]
    violation_identified: bool
    violation_sections: list[str]
    recorded_risk: str
    actions: list[ActionOut]
    deadline: DeadlineOut | None
    reinspection_due: datetime | None
    order_followup_due: datetime | None
    alerts: list[AlertOut]
    remediation: RemediationOut | None
    outcome: str
    closed_at: datetime | None
    closure: ClosureSummaryOut | None


class TimelineOut(_FromState):
    at: datetime
    event: str
    status: str
    note: str
    actor: str


class SummaryOut(_FromState):
    case_number: str
    status: str
    outcome: str
    received_at: datetime
    closed_at: datetime | None
    days_since_complaint: int
    days_since_order: int = Field(description="-1 when no order to comply was issued")
    business_days_open: int
    compliance_deadline: str
    open_alerts: list[str]
    next_usual_action: str
    actions: list[str]


class Accepted(BaseModel):
    status: Literal["accepted"] = "accepted"
    detail: str


class AssignIn(BaseModel):
    officer_id: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=1000)


class ScheduleIn(BaseModel):
    kind: Literal["initial", "reinspection"] = "initial"
    scheduled_for: datetime = Field(description="ISO-8601 with time zone")
    officer_id: str = Field(default="", max_length=64)
    reason: str = Field(default="", max_length=1000, description="required after the target (policy 6.5.4)")


class FindingIn(BaseModel):
    item_id: str = Field(min_length=1, max_length=64)
    result: Literal["compliant", "non_compliant", "not_applicable"]
    note: str = Field(
        default="", max_length=4000, description="what was observed (required when non-compliant)"
    )
    evidence_ids: list[str] = Field(default_factory=list, max_length=50)


class InspectionIn(BaseModel):
    inspected_at: datetime
    checklist_id: str = Field(min_length=1, max_length=64)
    findings: list[FindingIn] = Field(min_length=1, max_length=100)
    notes: str = Field(default="", max_length=4000)
    health_safety_risk: str = Field(
        default="", max_length=2000, description="a risk to life, health or safety observed (policy 6.2.4 c)"
    )


class WorkOrderIn(BaseModel):
    work_description: str = Field(min_length=10, max_length=2000)
    estimate_cents: int = Field(ge=0, le=10_000_000_000)
    contractor: str = Field(min_length=1, max_length=200)
    private_land: bool = True


class ActionIn(BaseModel):
    action: Literal[
        "education",
        "compliance_notice",
        "order_to_comply",
        "ticket",
        "amp",
        "prosecution_referral",
        "direct_enforcement",
        "no_action",
    ]
    details: str = Field(max_length=2000, description="how the by-law is contravened; for no_action, why")
    required_action: str = Field(default="", max_length=2000, description="what must be done (policy 6.7.4)")
    comply_by: date | None = Field(default=None, description="the compliance date (policy 6.7.4 b)")
    fine_code: str = Field(default="", max_length=64, description="config/set_fines.yaml code (ticket, amp)")
    bylaw_section: str = Field(default="", max_length=64)
    deviation_reason: str = Field(
        default="",
        max_length=2000,
        description="given to the person when the usual path is departed from (6.4.7)",
    )
    justification: Literal[
        "", "health_and_safety", "history_of_non_compliance", "severity", "circumstances"
    ] = ""
    work_order: WorkOrderIn | None = Field(default=None, description="direct_enforcement only")


class ExtensionIn(BaseModel):
    new_date: date
    reason: str = Field(min_length=1, max_length=2000)
    written_request_on: date = Field(description="extension requests are made in writing (policy 6.7.8)")


class ShorteningIn(BaseModel):
    new_date: date
    reason: str = Field(min_length=1, max_length=2000, description="the extraordinary circumstances (6.7.7)")
    contact_attempted_at: datetime = Field(description="when contact with the resident was attempted (6.7.7)")
    contact_method: str = Field(default="", max_length=200)


class CloseIn(BaseModel):
    outcome: Literal["voluntary_compliance", "order_compliance", "remediation", "prosecution", "dismissed"]
    reason: str = Field(min_length=1, max_length=1000)


class DismissIn(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)


class ResultOut(_FromState):
    case_number: str
    outcome: str
    closed_at: datetime
    days_open: int
    transitions: int
    days_since_order: int
    business_days_open: int


class ChecklistItemOut(BaseModel):
    item_id: str
    section: str
    question: str
    guidance: str


class ChecklistOut(BaseModel):
    checklist_id: str
    title: str
    version: str
    bylaw_number: str
    bylaw_title: str
    service_codes: list[str]
    items: list[ChecklistItemOut]

    @classmethod
    def from_proto(cls, c: cases_pb2.Checklist) -> ChecklistOut:
        return cls(
            checklist_id=c.checklist_id,
            title=c.title,
            version=c.version,
            bylaw_number=c.bylaw_number,
            bylaw_title=c.bylaw_title,
            service_codes=list(c.service_codes),
            items=[
                ChecklistItemOut(
                    item_id=i.item_id, section=i.section, question=i.question, guidance=i.guidance
                )
                for i in c.items
            ],
        )


class FindingOut(BaseModel):
    item_id: str
    result: str
    note: str
    evidence_ids: list[str]


class RecordedInspectionOut(BaseModel):
    step_key: str
    kind: str
    state: str
    scheduled_for: datetime | None
    due_by: datetime | None
    inspected_at: datetime | None
    officer_id: str
    checklist_id: str
    checklist_version: str
    findings: list[FindingOut]
    violation_found: bool
    bylaw_sections: list[str]
    notes: str
    report_document_id: str

    @classmethod
    def from_proto(cls, i: cases_pb2.Inspection) -> RecordedInspectionOut:
        return cls(
            step_key=i.step_key,
            kind=i.kind,
            state=i.state,
            scheduled_for=_when(i.scheduled_for, i.HasField("scheduled_for")),
            due_by=_when(i.due_by, i.HasField("due_by")),
            inspected_at=_when(i.inspected_at, i.HasField("inspected_at")),
            officer_id=i.officer_id,
            checklist_id=i.checklist_id,
            checklist_version=i.checklist_version,
            findings=[
                FindingOut(item_id=f.item_id, result=f.result, note=f.note, evidence_ids=list(f.evidence_ids))
                for f in i.findings
            ],
            violation_found=i.violation_found,
            bylaw_sections=list(i.bylaw_sections),
            notes=i.notes,
            report_document_id=i.report_document_id,
        )


class RecordedActionOut(BaseModel):
    seq: int
    action: str
    number: str
    bylaw_section: str
    comply_by: datetime | None
    fine_code: str
    amount_cents: int
    total_payable_cents: int
    fine_description: str
    deviation_reason: str
    justification: str
    details: str
    document_id: str
    officer_id: str
    occurred_at: datetime | None

    @classmethod
    def from_proto(cls, a: cases_pb2.EnforcementAction) -> RecordedActionOut:
        return cls(
            seq=a.seq,
            action=a.action,
            number=a.number,
            bylaw_section=a.bylaw_section,
            comply_by=_when(a.comply_by, a.HasField("comply_by")),
            fine_code=a.fine_code,
            amount_cents=a.amount_cents,
            total_payable_cents=a.total_payable_cents,
            fine_description=a.fine_description,
            deviation_reason=a.deviation_reason,
            justification=a.justification,
            details=a.details,
            document_id=a.document_id,
            officer_id=a.officer_id,
            occurred_at=_when(a.occurred_at, a.HasField("occurred_at")),
        )


class DeadlineChangeOut(BaseModel):
    kind: str
    deadline: datetime | None
    previous_deadline: datetime | None
    reason: str
    written_request_on: datetime | None
    contact_attempted_at: datetime | None
    actor_subject: str
    occurred_at: datetime | None

    @classmethod
    def from_proto(cls, c: cases_pb2.DeadlineChange) -> DeadlineChangeOut:
        return cls(
            kind=c.kind,
            deadline=_when(c.deadline, c.HasField("deadline")),
            previous_deadline=_when(c.previous_deadline, c.HasField("previous_deadline")),
            reason=c.reason,
            written_request_on=_when(c.written_request_on, c.HasField("written_request_on")),
            contact_attempted_at=_when(c.contact_attempted_at, c.HasField("contact_attempted_at")),
            actor_subject=c.actor_subject,
            occurred_at=_when(c.occurred_at, c.HasField("occurred_at")),
        )


class CaseAlertOut(BaseModel):
    case_number: str
    kind: str
    due_at: datetime | None
    raised_at: datetime | None
    detail: str
    cleared_at: datetime | None
    cleared_reason: str
    assigned_officer_id: str
    department: str

    @classmethod
    def from_proto(cls, a: cases_pb2.Alert) -> CaseAlertOut:
        return cls(
            case_number=a.case_number,
            kind=a.kind,
            due_at=_when(a.due_at, a.HasField("due_at")),
            raised_at=_when(a.raised_at, a.HasField("raised_at")),
            detail=a.detail,
            cleared_at=_when(a.cleared_at, a.HasField("cleared_at")),
            cleared_reason=a.cleared_reason,
            assigned_officer_id=a.assigned_officer_id,
            department=a.department,
        )


class AlertPage(BaseModel):
    items: list[CaseAlertOut]
    next_page_token: str | None


class QueueItem(BaseModel):
    case: CaseOut
    department: str


class QueuePage(BaseModel):
    department: str
    items: list[QueueItem]
    next_page_token: str | None
    total: int


class PropertyOut(BaseModel):
    roll_number: str
    address: str
    owner_name: str
    owner_mailing_address: str
    zone_code: str
    land_use: str
    ward: str


class PriorCaseOut(BaseModel):
    case_number: str
    service_code: str
    status: str
    outcome: str
    received_at: datetime | None
    closed_at: datetime | None
    actions: list[str]


class PhotoOut(BaseModel):
    evidence_id: str
    case_number: str
    kind: str
    content_type: str
    caption: str
    captured_at: datetime | None
    latitude: float | None
    longitude: float | None


class OfficerOut(BaseModel):
    officer_id: str
    display_name: str
    badge_number: str
    department: str


class PacketOut(BaseModel):
    """Seed spec 2.1: what the officer reads before the visit."""

    case: CaseOut
    department: str
    property: PropertyOut | None
    prior_cases: list[PriorCaseOut]
    inspections: list[RecordedInspectionOut]
    checklists: list[ChecklistOut]
    officer: OfficerOut | None
    photos: list[PhotoOut] = Field(
        description="photos and video of this case and of prior cases at the property"
    )


class ClosureOut(BaseModel):
    case_number: str
    outcome: str
    received_at: datetime | None
    closed_at: datetime | None
    first_order_at: datetime | None
    days_since_complaint: int
    days_since_order: int
    business_days_open: int
    enforcement_actions: int
    inspections: int
    reason: str
    closure_document_id: str
    timeline: list[dict[str, Any]]


# --- helpers -------------------------------------------------------------------------------


async def _visible_case(clients: GatewayClients, case_number: str, principal: Principal) -> cases_pb2.Case:
    """The case as the caller may see it: a restricted case is 404 (policy 6.10)."""
    return await rpc(
        "cases",
        clients.cases.GetCase(
            cases_pb2.GetCaseRequest(case_number=case_number, actor=principal.to_actor()),
            timeout=READ_TIMEOUT,
        ),
    )


async def _workflow(clients: GatewayClients, case_number: str) -> WorkflowHandle[Any, Any]:
    try:
        client = await clients.temporal.client()
    except Exception as err:  # noqa: BLE001 - any failure to reach Temporal is an outage
        raise Unavailable(f"Temporal is unavailable: {err}") from None
    return client.get_workflow_handle(workflow_id(case_number))


def _rejection(error: ApplicationError) -> Exception:
    """A workflow refusal as the domain error the gateway maps to HTTP (400/404/409)."""
    violations = [
        FieldViolation(str(d.get("field", "request")), str(d.get("rule", error.message)), d.get("policy"))
        for d in error.details
        if isinstance(d, dict)
    ]
    kind = error.type or ""
    if kind == "InvalidArgument":
        return InvalidArgument(violations or [FieldViolation("request", error.message)])
    if kind == "NotFound":
        return NotFound(error.message)
    if kind in ("InvalidTransition", "FailedPrecondition", "NotSupported", "AlreadyExists"):
        return FailedPrecondition(error.message)
    return Unavailable(error.message)


def _temporal_error(err: RPCError, case_number: str) -> Exception:
    if err.status == RPCStatusCode.NOT_FOUND:
        return FailedPrecondition(f"case {case_number} has no running lifecycle (closed, or never started)")
    return Unavailable(f"Temporal: {err.message}")


async def _update(
    clients: GatewayClients, case_number: str, name: str, request: object, result_type: type[Any]
) -> Any:
    handle = await _workflow(clients, case_number)
    try:
        pending = await handle.start_update(
            name, request, wait_for_stage=WorkflowUpdateStage.ACCEPTED, result_type=result_type
        )
        try:
            return await asyncio.wait_for(pending.result(), UPDATE_WAIT_SECONDS)
        except TimeoutError:
            return JSONResponse(
                Accepted(
                    detail="accepted; the case workflow is still completing this step (rendering documents)"
                ).model_dump(),
                status_code=status.HTTP_202_ACCEPTED,
            )
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError):
            raise _rejection(cause) from None
        raise Unavailable(f"the case workflow did not answer: {cause}") from None
    except RPCError as err:
        raise _temporal_error(err, case_number) from None


async def _query(clients: GatewayClients, case_number: str, name: str, result_type: type[Any]) -> Any:
    handle = await _workflow(clients, case_number)
    try:
        return await handle.query(name, result_type=result_type)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise NotFound(f"case {case_number} has no lifecycle workflow") from None
        raise Unavailable(f"Temporal: {err.message}") from None


def _state(state: CaseLifecycleState | JSONResponse) -> LifecycleStateOut | JSONResponse:
    if isinstance(state, JSONResponse):
        return state
    return LifecycleStateOut.model_validate(state)


# --- assignment and queues -----------------------------------------------------------------


@router.post(
    "/cases/{case_number}/assignment",
    summary="Reassign the case to another officer (spec 1.2)",
    description="Supervisors only. The case joins the new officer's department queue.",
    response_model=LifecycleStateOut,
    responses={**ERRORS, 202: {"model": Accepted}},
)
async def reassign(
    case_number: CaseNumber, body: AssignIn, clients: ClientsDep, principal: Supervisor
) -> LifecycleStateOut | JSONResponse:
    await _visible_case(clients, case_number, principal)
    request = AssignOfficerRequest(officer_id=body.officer_id, reason=body.reason, actor=principal.subject)
    return _state(await _update(clients, case_number, UPDATE_ASSIGN_OFFICER, request, CaseLifecycleState))


@router.get(
    "/queues/{department}",
    summary="A department's work queue (BE, BD, AC, FD, PH ...), by priority then age (policy 6.5.4)",
    description="Matrix rows enforced by another department land in that department's queue.",
    response_model=QueuePage,
    responses=ERRORS,
)
async def department_queue(
    department: Annotated[str, Path(pattern=r"^[A-Za-z]{2,3}$", examples=["BD"])],
    clients: ClientsDep,
    principal: CaseReader,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    page_token: Annotated[str | None, Query(max_length=500)] = None,
) -> QueuePage:
    reply = await rpc(
        "cases",
        clients.cases.ListCases(
            cases_pb2.ListCasesRequest(
                department=department.upper(),
                statuses=[
                    s
                    for s in common_pb2.CaseStatus.values()
                    if s
                    not in (
                        common_pb2.CASE_STATUS_UNSPECIFIED,
                        common_pb2.CASE_STATUS_CLOSED,
                        common_pb2.CASE_STATUS_REFERRED,
                        common_pb2.CASE_STATUS_REJECTED,
                    )
                ],
                page=common_pb2.PageRequest(page_size=page_size, page_token=page_token or ""),
                actor=principal.to_actor(),
            ),
            timeout=READ_TIMEOUT,
        ),
    )
    return QueuePage(
        department=department.upper(),
        items=[QueueItem(case=CaseOut.from_proto(c), department=c.department) for c in reply.cases],
        next_page_token=reply.next_page_token or None,
        total=reply.total,
    )


# --- investigation -------------------------------------------------------------------------


@router.get(
    "/checklists",
    summary="By-law-specific inspection checklists (seed spec 2.2), kept as data",
    response_model=list[ChecklistOut],
)
async def checklists(
    clients: ClientsDep,
    principal: CaseReader,
    service_code: Annotated[str | None, Query(max_length=100, description="only those that apply")] = None,
) -> list[ChecklistOut]:
    reply = await rpc(
        "cases",
        clients.cases.ListChecklists(
            cases_pb2.ListChecklistsRequest(service_code=service_code or ""), timeout=READ_TIMEOUT
        ),
    )
    return [ChecklistOut.from_proto(c) for c in reply.checklists]


@router.get(
    "/cases/{case_number}/pre-inspection-packet",
    summary="Pre-inspection packet (seed spec 2.1)",
    description=(
        "Complaint details without complainant identity, the property record from the assessment "
        "roll, prior cases at the property with their enforcement, photos of this and prior cases, "
        "and the checklists that apply."
    ),
    response_model=PacketOut,
    responses=ERRORS,
)
async def pre_inspection_packet(
    case_number: CaseNumber, clients: ClientsDep, principal: FieldStaff
) -> PacketOut:
    packet = await rpc(
        "cases",
        clients.cases.GetPreInspectionPacket(
            cases_pb2.GetPreInspectionPacketRequest(case_number=case_number, actor=principal.to_actor()),
            timeout=READ_TIMEOUT,
        ),
    )
    photos: list[PhotoOut] = []
    for number in [case_number, *(p.case_number for p in packet.prior_cases)]:
        listed = await rpc(
            "evidence",
            clients.evidence.ListEvidence(
                evidence_pb2.ListEvidenceRequest(case_number=number), timeout=READ_TIMEOUT
            ),
        )
        for item in listed.items:
            if item.kind not in PHOTO_KINDS:
                continue
            point = item.captured_point if item.HasField("captured_point") else None
            photos.append(
                PhotoOut(
                    evidence_id=item.evidence_id,
                    case_number=item.case_number,
                    kind=item.kind,
                    content_type=item.content_type,
                    caption=item.caption,
                    captured_at=_when(item.captured_at, item.HasField("captured_at")),
                    latitude=point.lat if point else None,
                    longitude=point.lon if point else None,
                )
            )
    prop = packet.property if packet.HasField("property") else None
    officer = packet.officer if packet.HasField("officer") else None
    return PacketOut(
        case=CaseOut.from_proto(packet.case),
        department=packet.case.department,
        property=PropertyOut(
            roll_number=prop.roll_number,
            address=prop.address,
            owner_name=prop.owner_name,
            owner_mailing_address=prop.owner_mailing_address,
            zone_code=prop.zone_code,
            land_use=prop.land_use,
            ward=prop.ward,
        )
        if prop is not None
        else None,
        prior_cases=[
            PriorCaseOut(
                case_number=p.case_number,
                service_code=p.service_code,
                status=common_pb2.CaseStatus.Name(p.status).removeprefix("CASE_STATUS_").lower(),
                outcome=p.outcome,
                received_at=_when(p.received_at, p.HasField("received_at")),
                closed_at=_when(p.closed_at, p.HasField("closed_at")),
                actions=list(p.actions),
            )
            for p in packet.prior_cases
        ],
        inspections=[RecordedInspectionOut.from_proto(i) for i in packet.inspections],
        checklists=[ChecklistOut.from_proto(c) for c in packet.checklists],
        officer=OfficerOut(
            officer_id=officer.officer_id,
            display_name=officer.display_name,
            badge_number=officer.badge_number,
            department=officer.department,
        )
        if officer is not None
        else None,
        photos=photos,
    )


@router.post(
    "/cases/{case_number}/inspections/schedule",
    summary="Schedule an inspection within the priority's target (policy 6.5.4, 6.8.6)",
    response_model=LifecycleStateOut,
    responses={**ERRORS, 202: {"model": Accepted}},
)
async def schedule_inspection(
    case_number: CaseNumber, body: ScheduleIn, clients: ClientsDep, principal: FieldStaff
) -> LifecycleStateOut | JSONResponse:
    await _visible_case(clients, case_number, principal)
    request = ScheduleInspectionRequest(
        kind=body.kind,
        scheduled_for=body.scheduled_for,
        officer_id=body.officer_id,
        reason=body.reason,
        actor=principal.subject,
    )
    return _state(
        await _update(clients, case_number, UPDATE_SCHEDULE_INSPECTION, request, CaseLifecycleState)
    )


async def _record_inspection(
    clients: GatewayClients, case_number: str, kind: str, body: InspectionIn, principal: Principal
) -> LifecycleStateOut | JSONResponse:
    await _visible_case(clients, case_number, principal)
    request = RecordInspectionRequest(
        kind=kind,
        inspected_at=body.inspected_at,
        checklist_id=body.checklist_id,
        findings=[
            InspectionFinding(
                item_id=f.item_id, result=f.result, note=f.note, evidence_ids=list(f.evidence_ids)
            )
            for f in body.findings
        ],
        notes=body.notes,
        health_safety_risk=body.health_safety_risk,
        actor=principal.subject,
    )
    return _state(await _update(clients, case_number, UPDATE_RECORD_INSPECTION, request, CaseLifecycleState))


@router.post(
    "/cases/{case_number}/inspections",
    summary="Record the inspection's findings on the by-law's checklist (seed spec 2.2)",
    description=(
        "Every checklist item is answered; a non-compliant finding says what was seen (policy "
        "6.7.1 a). The violation and its by-law sections follow from the non-compliant items, and "
        "an inspection report is rendered."
    ),
    response_model=LifecycleStateOut,
    responses={**ERRORS, 202: {"model": Accepted}},
)
async def record_inspection(
    case_number: CaseNumber, body: InspectionIn, clients: ClientsDep, principal: FieldStaff
) -> LifecycleStateOut | JSONResponse:
    return await _record_inspection(clients, case_number, "initial", body, principal)


@router.post(
    "/cases/{case_number}/reinspections",
    summary="Record the re-inspection at the compliance deadline (seed spec 1.3)",
    description=(
        "Compliant: the case closes (order or voluntary compliance). Not compliant after the "
        "deadline: the case is escalated for the next action; before it, only recorded (6.7.5)."
    ),
    response_model=LifecycleStateOut,
    responses={**ERRORS, 202: {"model": Accepted}},
)
async def record_reinspection(
    case_number: CaseNumber, body: InspectionIn, clients: ClientsDep, principal: FieldStaff
) -> LifecycleStateOut | JSONResponse:
    return await _record_inspection(clients, case_number, "reinspection", body, principal)


@router.get(
    "/cases/{case_number}/inspections",
    summary="The case's inspections as recorded",
    response_model=list[RecordedInspectionOut],
    responses=ERRORS,
)
async def list_inspections(
    case_number: CaseNumber, clients: ClientsDep, principal: CaseReader
) -> list[RecordedInspectionOut]:
    reply = await rpc(
        "cases",
        clients.cases.ListInspections(
            cases_pb2.ListInspectionsRequest(case_number=case_number, actor=principal.to_actor()),
            timeout=READ_TIMEOUT,
        ),
    )
    return [RecordedInspectionOut.from_proto(i) for i in reply.inspections]


# --- enforcement ----------------------------------------------------------------------------


@router.post(
    "/cases/{case_number}/enforcement-actions",
    summary="Take an enforcement action (policy 6.2.2)",
    description=(
        "Progressive enforcement is the usual path: education, compliance notice, order to comply, "
        "ticket or administrative monetary penalty, prosecution (6.2.3-6.2.4). A step beyond the "
        "usual one needs a reason given to the person (6.4.7) and a justification; punitive action "
        "without a notice first only for health and safety (6.2.4 c). Parking is ticketed directly "
        "(6.2.5). No action before a compliance deadline expires (6.7.5). Ticket and penalty amounts "
        "come from config/set_fines.yaml. Direct enforcement starts municipal remediation."
    ),
    response_model=LifecycleStateOut,
    responses={**ERRORS, 202: {"model": Accepted}},
)
async def take_action(
    case_number: CaseNumber, body: ActionIn, clients: ClientsDep, principal: FieldStaff
) -> LifecycleStateOut | JSONResponse:
    await _visible_case(clients, case_number, principal)
    order = body.work_order
    request = EnforcementActionRequest(
        action=body.action,
        details=body.details,
        required_action=body.required_action,
        comply_by=body.comply_by.isoformat() if body.comply_by else "",
        fine_code=body.fine_code,
        bylaw_section=body.bylaw_section,
        deviation_reason=body.deviation_reason,
        justification=body.justification,
        work_order=WorkOrderRequest(
            order.work_description, order.estimate_cents, order.contractor, order.private_land
        )
        if order
        else None,
        actor=principal.subject,
    )
    return _state(
        await _update(clients, case_number, UPDATE_TAKE_ENFORCEMENT_ACTION, request, CaseLifecycleState)
    )


@router.get(
    "/cases/{case_number}/enforcement-actions",
    summary="The case's enforcement actions, numbers, fines and documents",
    response_model=list[RecordedActionOut],
    responses=ERRORS,
)
async def list_actions(
    case_number: CaseNumber, clients: ClientsDep, principal: CaseReader
) -> list[RecordedActionOut]:
    reply = await rpc(
        "cases",
        clients.cases.ListEnforcementActions(
            cases_pb2.ListEnforcementActionsRequest(case_number=case_number, actor=principal.to_actor()),
            timeout=READ_TIMEOUT,
        ),
    )
    return [RecordedActionOut.from_proto(a) for a in reply.actions]


# --- deadlines ------------------------------------------------------------------------------


@router.post(
    "/cases/{case_number}/deadline/extensions",
    summary="Extend the compliance deadline on a written request (policy 6.7.6, 6.7.8)",
    response_model=LifecycleStateOut,
    responses={**ERRORS, 202: {"model": Accepted}},
)
async def extend_deadline(
    case_number: CaseNumber, body: ExtensionIn, clients: ClientsDep, principal: FieldStaff
) -> LifecycleStateOut | JSONResponse:
    await _visible_case(clients, case_number, principal)
    request = ExtendDeadlineRequest(
        new_date=body.new_date.isoformat(),
        reason=body.reason,
        written_request_on=body.written_request_on.isoformat(),
        actor=principal.subject,
    )
    return _state(await _update(clients, case_number, UPDATE_EXTEND_DEADLINE, request, CaseLifecycleState))


@router.post(
    "/cases/{case_number}/deadline/shortening",
    summary="Shorten the compliance deadline: extraordinary circumstances only (policy 6.7.7)",
    description="Needs the recorded extraordinary reason and the attempted contact with the resident.",
    response_model=LifecycleStateOut,
    responses={**ERRORS, 202: {"model": Accepted}},
)
async def shorten_deadline(
    case_number: CaseNumber, body: ShorteningIn, clients: ClientsDep, principal: FieldStaff
) -> LifecycleStateOut | JSONResponse:
    await _visible_case(clients, case_number, principal)
    request = ShortenDeadlineRequest(
        new_date=body.new_date.isoformat(),
        reason=body.reason,
        contact_attempted_at=body.contact_attempted_at,
        contact_method=body.contact_method,
        actor=principal.subject,
    )
    return _state(await _update(clients, case_number, UPDATE_SHORTEN_DEADLINE, request, CaseLifecycleState))


@router.get(
    "/cases/{case_number}/deadline",
    summary="The compliance deadline's history: set, extended, shortened, cleared",
    response_model=list[DeadlineChangeOut],
    responses=ERRORS,
)
async def deadline_history(
    case_number: CaseNumber, clients: ClientsDep, principal: CaseReader
) -> list[DeadlineChangeOut]:
    reply = await rpc(
        "cases",
        clients.cases.ListDeadlineChanges(
            cases_pb2.ListDeadlineChangesRequest(case_number=case_number, actor=principal.to_actor()),
            timeout=READ_TIMEOUT,
        ),
    )
    return [DeadlineChangeOut.from_proto(c) for c in reply.changes]


# --- closure --------------------------------------------------------------------------------


@router.post(
    "/cases/{case_number}/close",
    summary="Close the case with its outcome (seed journey, close step)",
    response_model=ResultOut,
    responses={**ERRORS, 202: {"model": Accepted}},
)
async def close_case(
    case_number: CaseNumber, body: CloseIn, clients: ClientsDep, principal: FieldStaff
) -> ResultOut | JSONResponse:
    await _visible_case(clients, case_number, principal)
    request = CloseCaseRequest(outcome=body.outcome, reason=body.reason, actor=principal.subject)
    result = await _update(clients, case_number, UPDATE_CLOSE_CASE, request, CaseLifecycleResult)
    return result if isinstance(result, JSONResponse) else ResultOut.model_validate(result)


@router.post(
    "/cases/{case_number}/dismiss",
    summary="Dismiss the case: no action (policy 6.2.2 g)",
    response_model=ResultOut,
    responses={**ERRORS, 202: {"model": Accepted}},
)
async def dismiss_case(
    case_number: CaseNumber, body: DismissIn, clients: ClientsDep, principal: FieldStaff
) -> ResultOut | JSONResponse:
    await _visible_case(clients, case_number, principal)
    request = CloseCaseRequest(outcome="dismissed", reason=body.reason, actor=principal.subject)
    result = await _update(clients, case_number, UPDATE_CLOSE_CASE, request, CaseLifecycleResult)
    return result if isinstance(result, JSONResponse) else ResultOut.model_validate(result)


@router.get(
    "/cases/{case_number}/closure",
    summary="The recorded closure: outcome, total timeline, days since complaint and order",
    response_model=ClosureOut,
    responses=ERRORS,
)
async def closure(case_number: CaseNumber, clients: ClientsDep, principal: CaseReader) -> ClosureOut:
    c = await rpc(
        "cases",
        clients.cases.GetClosure(
            cases_pb2.GetClosureRequest(case_number=case_number, actor=principal.to_actor()),
            timeout=READ_TIMEOUT,
        ),
    )
    return ClosureOut(
        case_number=c.case_number,
        outcome=c.outcome,
        received_at=_when(c.received_at, c.HasField("received_at")),
        closed_at=_when(c.closed_at, c.HasField("closed_at")),
        first_order_at=_when(c.first_order_at, c.HasField("first_order_at")),
        days_since_complaint=c.days_since_complaint,
        days_since_order=c.days_since_order,
        business_days_open=c.business_days_open,
        enforcement_actions=c.enforcement_actions,
        inspections=c.inspections,
        reason=c.reason,
        closure_document_id=c.closure_document_id,
        timeline=[
            {
                "step_key": e.step_key,
                "to_status": common_pb2.CaseStatus.Name(e.to_status).removeprefix("CASE_STATUS_").lower(),
                "outcome": e.outcome,
                "occurred_at": _when(e.occurred_at, e.HasField("occurred_at")),
            }
            for e in c.timeline
        ],
    )


# --- alerts ---------------------------------------------------------------------------------


@router.get(
    "/alerts",
    summary="Escalation alerts: acknowledgement overdue, inspection or re-inspection missed, order overdue",
    response_model=AlertPage,
)
async def list_alerts(
    clients: ClientsDep,
    principal: FieldStaff,
    open_only: bool = True,
    kind: Annotated[
        Literal["acknowledgement_overdue", "inspection_sla_missed", "reinspection_missed", "order_overdue"]
        | None,
        Query(),
    ] = None,
    department: Annotated[str | None, Query(max_length=3)] = None,
    officer: Annotated[str | None, Query(max_length=64, description="assigned officer id")] = None,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    page_token: Annotated[str | None, Query(max_length=500)] = None,
) -> AlertPage:
    reply = await rpc(
        "cases",
        clients.cases.ListAlerts(
            cases_pb2.ListAlertsRequest(
                open_only=open_only,
                kind=kind or "",
                department=department or "",
                assigned_officer_id=officer or "",
                page=common_pb2.PageRequest(page_size=page_size, page_token=page_token or ""),
                actor=principal.to_actor(),
            ),
            timeout=READ_TIMEOUT,
        ),
    )
    return AlertPage(
        items=[CaseAlertOut.from_proto(a) for a in reply.alerts],
        next_page_token=reply.next_page_token or None,
    )


@router.get(
    "/cases/{case_number}/alerts",
    summary="The case's escalation alerts, open and cleared",
    response_model=list[CaseAlertOut],
    responses=ERRORS,
)
async def case_alerts(
    case_number: CaseNumber, clients: ClientsDep, principal: CaseReader
) -> list[CaseAlertOut]:
    reply = await rpc(
        "cases",
        clients.cases.ListAlerts(
            cases_pb2.ListAlertsRequest(case_number=case_number, actor=principal.to_actor()),
            timeout=READ_TIMEOUT,
        ),
    )
    return [CaseAlertOut.from_proto(a) for a in reply.alerts]


# --- the workflow's view --------------------------------------------------------------------


@router.get(
    "/cases/{case_number}/state",
    summary="The case's lifecycle state from its workflow (state query)",
    response_model=LifecycleStateOut,
    responses=ERRORS,
)
async def lifecycle_state(
    case_number: CaseNumber, clients: ClientsDep, principal: CaseReader
) -> LifecycleStateOut:
    await _visible_case(clients, case_number, principal)
    state: CaseLifecycleState = await _query(clients, case_number, QUERY_STATE, CaseLifecycleState)
    return LifecycleStateOut.model_validate(state)


@router.get(
    "/cases/{case_number}/timeline",
    summary="Every dated step of the case (spec 1.3; policy 6.5.10 f)",
    response_model=list[TimelineOut],
    responses=ERRORS,
)
async def timeline(case_number: CaseNumber, clients: ClientsDep, principal: CaseReader) -> list[TimelineOut]:
    await _visible_case(clients, case_number, principal)
    entries: list[TimelineEntry] = await _query(clients, case_number, QUERY_TIMELINE, list[TimelineEntry])
    return [TimelineOut.model_validate(e) for e in entries]


@router.get(
    "/cases/{case_number}/summary",
    summary="Days since complaint and since order, business days open, next usual step",
    response_model=SummaryOut,
    responses=ERRORS,
)
async def summary(case_number: CaseNumber, clients: ClientsDep, principal: CaseReader) -> SummaryOut:
    await _visible_case(clients, case_number, principal)
    result: CaseSummary = await _query(clients, case_number, QUERY_SUMMARY, CaseSummary)
    return SummaryOut.model_validate(result)
