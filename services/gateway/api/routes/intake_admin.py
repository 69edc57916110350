"""Staff administration of intake (``/api/v1/intake``): the Service Level Matrix versions
(Clerk, policy 6.8.4), Town closure days (policy 4.2), acknowledgements (policy 6.5.5),
frivolous/vexatious markings (policy 4.4, 4.11), the complainant's identity for staff who
need to know it (policy 6.3.4, audited), and the 311 feed's dead letters.

Every call carries the staff member to intake as an Actor; intake checks the roles again
(defence in depth) and audits the reads of identity. Responses that carry identity are
marked ``Cache-Control: no-store``.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Annotated, Literal

from bylaw.v1 import intake_pb2
from fastapi import APIRouter, Depends, File, Form, Path, Query, Response, UploadFile, status
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel, Field

from services.common.errors import FieldViolation, InvalidArgument
from services.gateway.api.deps import COMPLAINT_TAKERS, ClientsDep, ComplaintTaker, require_roles
from services.gateway.api.models import ComplaintOutcomeOut
from services.gateway.clients import READ_TIMEOUT, WRITE_TIMEOUT
from services.gateway.errors import rpc
from services.gateway.security import Principal, Role

router = APIRouter(prefix="/intake", tags=["intake administration"])

SERVICE_REQUEST_ID = r"^SR-\d{4}-\d{7}$"
DEAD_LETTER_ID = r"^[0-9a-fA-F-]{36}$"
MAX_MATRIX_BYTES = 512 * 1024  # Appendix A is a few kilobytes

Clerk = Annotated[Principal, Depends(require_roles(Role.CLERK))]
ClosureDeclarer = Annotated[Principal, Depends(require_roles(Role.CLERK, Role.SUPERVISOR))]
Supervisor = Annotated[Principal, Depends(require_roles(Role.SUPERVISOR))]
# Need to know (policy 6.3.4): those who investigate or administer the complaint.
IdentityReader = Annotated[Principal, Depends(require_roles(Role.OFFICER, Role.SUPERVISOR, Role.CLERK))]
DeadLetterHandler = Annotated[Principal, Depends(require_roles(Role.SUPERVISOR, Role.CLERK))]
QueueReader = Annotated[Principal, Depends(require_roles(*COMPLAINT_TAKERS))]

ServiceRequestId = Annotated[str, Path(pattern=SERVICE_REQUEST_ID, examples=["SR-2026-0000042"])]
Purpose = Annotated[
    str,
    Query(min_length=5, max_length=500, description="why you need to know; recorded in the audit (6.3.4)"),
]
NO_STORE = {"Cache-Control": "no-store"}
ERRORS: dict[int | str, dict[str, object]] = {
    400: {"description": "a field was refused: {detail, errors: [{field, rule, policy}]}"},
    403: {"description": "the role does not allow it"},
    404: {"description": "no such complaint or dead letter"},
    409: {"description": "not possible in the complaint's current state"},
}


def _when(ts: Timestamp, present: bool) -> datetime | None:
    return ts.ToDatetime(tzinfo=UTC) if present else None


# ---------------------------------------------------------------------- models


class MatrixVersionOut(BaseModel):
    matrix_version: str
    services: int
    created: bool = Field(description="false when this version label was already loaded from this file")


class ClosureDayIn(BaseModel):
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", examples=["2027-01-15"])
    reason: str = Field(min_length=1, max_length=200, examples=["Office closed: snowstorm"])


class ClosureDayOut(BaseModel):
    date: str
    reason: str
    declared_by: str

    @classmethod
    def from_proto(cls, d: intake_pb2.ClosureDay) -> ClosureDayOut:
        return cls(date=d.date, reason=d.reason, declared_by=d.declared_by)


class AcknowledgementIn(BaseModel):
    method: Literal["phone", "email", "mail", "in-person"] = Field(description="how it was sent (6.5.5)")
    sent_at: datetime | None = Field(None, description="when it was sent; default now")


class AcknowledgementOut(BaseModel):
    service_request_id: str
    case_number: str | None
    due: datetime | None = Field(description="2 business days after receipt (policy 4.2, 6.5.5)")
    sent_at: datetime | None
    method: str | None
    recorded_by: str | None
    overdue: bool
    alerted: bool = Field(description="the overdue alert event was published")
    channel: str
    priority: str

    @classmethod
    def from_proto(cls, a: intake_pb2.AcknowledgementStatus) -> AcknowledgementOut:
        return cls(
            service_request_id=a.service_request_id,
            case_number=a.case_number or None,
            due=_when(a.due, a.HasField("due")),
            sent_at=_when(a.sent_at, a.HasField("sent_at")),
            method=a.method or None,
            recorded_by=a.recorded_by or None,
            overdue=a.overdue,
            alerted=a.alerted,
            channel=a.channel,
            priority=a.priority,
        )


class IntakeOutcomeOut(ComplaintOutcomeOut):
    """The outcome with the service-level targets and the acknowledgement."""

    first_inspection_due: datetime | None = Field(None, description="service target (policy 6.8.5)")
    resolution_due: datetime | None = Field(None, description="service target (policy 6.8.5)")
    sla_version: str | None = None
    acknowledged_at: datetime | None = Field(None, description="when the acknowledgement went out")

    @classmethod
    def from_intake(cls, o: intake_pb2.ComplaintOutcome) -> IntakeOutcomeOut:
        base = ComplaintOutcomeOut.from_proto(o).model_dump()
        return cls(
            **base,
            first_inspection_due=_when(o.first_inspection_due, o.HasField("first_inspection_due")),
            resolution_due=_when(o.resolution_due, o.HasField("resolution_due")),
            sla_version=o.sla_version or None,
            acknowledged_at=_when(o.acknowledged_at, o.HasField("acknowledged_at")),
        )


class MarkingIn(BaseModel):
    kind: Literal["frivolous", "vexatious"] = Field(description="policy 4.4 / 4.11")
    reason: str = Field(min_length=10, max_length=1000, description="the staff's reasons; not public")


class MarkingOut(BaseModel):
    outcome: IntakeOutcomeOut
    case_action: str = Field(
        description=(
            "closed: the case rested on this complaint alone and was closed through its workflow; "
            "kept: other complaints keep it open; pending: retried in the background; refused: the "
            "case's rules refused closing it, staff decide; none: no case to close"
        )
    )
    replayed: bool


class ComplainantOut(BaseModel):
    service_request_id: str
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    address: str | None
    preferred_contact: str | None
    description: str = Field(description="the written complaint (not public: policy 6.3.4)")


class DeadLetterOut(BaseModel):
    id: str
    external_request_id: str | None
    reason: str
    stream_sequence: int | None
    deliveries: int
    failed_at: datetime | None
    status: str
    resubmitted_as: str | None
    resubmitted_by: str | None
    size_bytes: int
    sha256: str

    @classmethod
    def from_proto(cls, d: intake_pb2.DeadLetter) -> DeadLetterOut:
        return cls(
            id=d.id,
            external_request_id=d.external_request_id or None,
            reason=d.reason,
            stream_sequence=d.stream_sequence or None,
            deliveries=d.deliveries,
            failed_at=_when(d.failed_at, d.HasField("failed_at")),
            status=d.status,
            resubmitted_as=d.resubmitted_as or None,
            resubmitted_by=d.resubmitted_by or None,
            size_bytes=d.size_bytes,
            sha256=d.sha256,
        )


class DeadLetterOriginalOut(BaseModel):
    dead_letter: DeadLetterOut
    body: str | None = Field(description="the original message (UTF-8), identity included")
    body_base64: str | None = Field(None, description="set instead of body when it is not UTF-8")
    headers: dict[str, str]


class ResubmitIn(BaseModel):
    corrections: dict[str, str] = Field(
        default_factory=dict,
        description='top-level fields of the 311 body to replace first, e.g. {"service_code": "noise"}',
    )


class ResubmitOut(BaseModel):
    dead_letter: DeadLetterOut
    outcome: IntakeOutcomeOut


# ---------------------------------------------------------------------- matrix and calendar


@router.post(
    "/matrix-versions",
    summary="Load a new Council-approved version of the Service Level Matrix (Clerk, policy 6.8.4)",
    response_model=MatrixVersionOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        **ERRORS,
        200: {"model": MatrixVersionOut, "description": "this label was already loaded from the same file"},
        400: {"description": "refused: each problem names the row (1 = first data row) and the reason"},
    },
)
async def load_matrix_version(
    response: Response,
    clients: ClientsDep,
    principal: Clerk,
    file: Annotated[UploadFile, File(description="CSV with the columns of config/service_level_matrix.csv")],
    version_label: Annotated[str, Form(min_length=1, max_length=64, examples=["2027-07-13 #250/27"])],
    effective_date: Annotated[str, Form(pattern=r"^\d{4}-\d{2}-\d{2}$", examples=["2027-07-13"])],
    council_resolution: Annotated[str, Form(min_length=1, max_length=64, examples=["#250/27"])],
) -> MatrixVersionOut:
    raw = await file.read(MAX_MATRIX_BYTES + 1)
    if len(raw) > MAX_MATRIX_BYTES:
        raise InvalidArgument(
            FieldViolation("file", f"must be at most {MAX_MATRIX_BYTES // 1024} KiB", "6.8")
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidArgument(FieldViolation("file", "must be UTF-8 CSV", "6.8")) from None
    reply = await rpc(
        "intake",
        clients.intake.LoadServiceMatrix(
            intake_pb2.LoadServiceMatrixRequest(
                csv=text,
                version_label=version_label,
                effective_date=effective_date,
                council_resolution=council_resolution,
                actor=principal.to_actor(),
            ),
            timeout=WRITE_TIMEOUT,
        ),
    )
    if not reply.created:
        response.status_code = status.HTTP_200_OK
    return MatrixVersionOut(
        matrix_version=reply.matrix_version, services=reply.services, created=reply.created
    )


@router.post(
    "/closure-days",
    summary="Declare a day the Town office is closed (not a business day, policy 4.2)",
    description="Acknowledgements still pending whose due date is on or after it move out by a day.",
    response_model=ClosureDayOut,
    responses=ERRORS,
)
async def declare_closure_day(
    body: ClosureDayIn, clients: ClientsDep, principal: ClosureDeclarer
) -> ClosureDayOut:
    day = await rpc(
        "intake",
        clients.intake.DeclareClosureDay(
            intake_pb2.DeclareClosureDayRequest(
                date=body.date, reason=body.reason, actor=principal.to_actor()
            ),
            timeout=WRITE_TIMEOUT,
        ),
    )
    return ClosureDayOut.from_proto(day)


@router.get("/closure-days", summary="Declared closure days", response_model=list[ClosureDayOut])
async def list_closure_days(
    clients: ClientsDep,
    principal: QueueReader,
    from_date: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$")] = None,
    to_date: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$")] = None,
) -> list[ClosureDayOut]:
    reply = await rpc(
        "intake",
        clients.intake.ListClosureDays(
            intake_pb2.ListClosureDaysRequest(from_date=from_date or "", to_date=to_date or ""),
            timeout=READ_TIMEOUT,
        ),
    )
    return [ClosureDayOut.from_proto(d) for d in reply.days]


# ---------------------------------------------------------------------- acknowledgements


@router.get(
    "/acknowledgements/overdue",
    summary="Valid complaints past their acknowledgement due time without one (policy 6.5.5)",
    response_model=list[AcknowledgementOut],
    responses=ERRORS,
)
async def list_overdue_acknowledgements(
    clients: ClientsDep,
    principal: QueueReader,
    limit: Annotated[int, Query(ge=1, le=500)] = 500,
) -> list[AcknowledgementOut]:
    reply = await rpc(
        "intake",
        clients.intake.ListOverdueAcknowledgements(
            intake_pb2.ListOverdueAcknowledgementsRequest(limit=limit, actor=principal.to_actor()),
            timeout=READ_TIMEOUT,
        ),
    )
    return [AcknowledgementOut.from_proto(a) for a in reply.acknowledgements]


@router.post(
    "/complaints/{service_request_id}/acknowledgement",
    summary="Record that the acknowledgement was sent (phone, walk-in, letter, Council referral)",
    description=(
        "Portal, 311 and email complaints are acknowledged at once. The first recording stands; "
        "recording tells the case workflow (signal acknowledgement_recorded)."
    ),
    response_model=AcknowledgementOut,
    responses=ERRORS,
)
async def record_acknowledgement(
    service_request_id: ServiceRequestId,
    body: AcknowledgementIn,
    clients: ClientsDep,
    principal: ComplaintTaker,
) -> AcknowledgementOut:
    request = intake_pb2.RecordAcknowledgementRequest(
        service_request_id=service_request_id, method=body.method, actor=principal.to_actor()
    )
    if body.sent_at is not None:
        if body.sent_at.tzinfo is None:
            raise InvalidArgument(FieldViolation("sent_at", "must include a time zone"))
        request.sent_at.FromDatetime(body.sent_at.astimezone(UTC))
    reply = await rpc("intake", clients.intake.RecordAcknowledgement(request, timeout=WRITE_TIMEOUT))
    return AcknowledgementOut.from_proto(reply)


# ---------------------------------------------------------------------- frivolous / vexatious


@router.post(
    "/complaints/{service_request_id}/marking",
    summary="Mark a complaint frivolous (policy 4.4) or vexatious (policy 4.11) — supervisors",
    description=(
        "The complaint ends rejected with the reason on record (staff only); the complainant is told "
        "(6.6.3, 6.6.4; for 311 an update on bylaw.311.updates); a case resting on it alone is closed "
        "through its workflow."
    ),
    response_model=MarkingOut,
    responses=ERRORS,
)
async def mark_complaint(
    service_request_id: ServiceRequestId, body: MarkingIn, clients: ClientsDep, principal: Supervisor
) -> MarkingOut:
    reply = await rpc(
        "intake",
        clients.intake.MarkComplaint(
            intake_pb2.MarkComplaintRequest(
                service_request_id=service_request_id,
                kind=body.kind,
                reason=body.reason,
                actor=principal.to_actor(),
            ),
            timeout=WRITE_TIMEOUT,
        ),
    )
    return MarkingOut(
        outcome=IntakeOutcomeOut.from_intake(reply.outcome),
        case_action=reply.case_action,
        replayed=reply.replayed,
    )


# ---------------------------------------------------------------------- identity (need to know)


@router.get(
    "/complaints/{service_request_id}/complainant",
    summary="The complainant's identity, for staff who need to know it (policy 6.3.4; audited)",
    response_model=ComplainantOut,
    responses=ERRORS,
)
async def read_complainant(
    service_request_id: ServiceRequestId,
    purpose: Purpose,
    response: Response,
    clients: ClientsDep,
    principal: IdentityReader,
) -> ComplainantOut:
    record = await rpc(
        "intake",
        clients.intake.GetComplainant(
            intake_pb2.GetComplainantRequest(
                service_request_id=service_request_id, purpose=purpose, actor=principal.to_actor()
            ),
            timeout=READ_TIMEOUT,
        ),
    )
    response.headers.update(NO_STORE)
    who = record.identity
    return ComplainantOut(
        service_request_id=record.service_request_id,
        first_name=who.first_name or None,
        last_name=who.last_name or None,
        email=who.email or None,
        phone=who.phone or None,
        address=who.address or None,
        preferred_contact=who.preferred_contact or None,
        description=record.description,
    )


# ---------------------------------------------------------------------- dead letters


@router.get(
    "/dead-letters",
    summary="311 messages that could not be processed (no identity in this list)",
    response_model=list[DeadLetterOut],
    responses=ERRORS,
)
async def list_dead_letters(
    clients: ClientsDep,
    principal: DeadLetterHandler,
    status_filter: Annotated[Literal["open", "resubmitted"] | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DeadLetterOut]:
    reply = await rpc(
        "intake",
        clients.intake.ListDeadLetters(
            intake_pb2.ListDeadLettersRequest(
                status=status_filter or "", limit=limit, actor=principal.to_actor()
            ),
            timeout=READ_TIMEOUT,
        ),
    )
    return [DeadLetterOut.from_proto(d) for d in reply.dead_letters]


@router.get(
    "/dead-letters/{dead_letter_id}",
    summary="A dead letter's full original, identity included (policy 6.3.4; audited)",
    response_model=DeadLetterOriginalOut,
    responses=ERRORS,
)
async def read_dead_letter(
    dead_letter_id: Annotated[str, Path(pattern=DEAD_LETTER_ID)],
    purpose: Purpose,
    response: Response,
    clients: ClientsDep,
    principal: DeadLetterHandler,
) -> DeadLetterOriginalOut:
    original = await rpc(
        "intake",
        clients.intake.GetDeadLetter(
            intake_pb2.GetDeadLetterRequest(id=dead_letter_id, purpose=purpose, actor=principal.to_actor()),
            timeout=READ_TIMEOUT,
        ),
    )
    response.headers.update(NO_STORE)
    return DeadLetterOriginalOut(
        dead_letter=DeadLetterOut.from_proto(original.dead_letter),
        body=original.body or None,
        body_base64=base64.b64encode(original.body_bytes).decode() if original.body_bytes else None,
        headers=dict(original.headers),
    )


@router.post(
    "/dead-letters/{dead_letter_id}/resubmit",
    summary="Submit a dead letter again, optionally with corrected fields (audited)",
    description="Idempotent on the 311 id: resubmitting twice is still one complaint.",
    response_model=ResubmitOut,
    responses=ERRORS,
)
async def resubmit_dead_letter(
    dead_letter_id: Annotated[str, Path(pattern=DEAD_LETTER_ID)],
    body: ResubmitIn,
    clients: ClientsDep,
    principal: DeadLetterHandler,
) -> ResubmitOut:
    reply = await rpc(
        "intake",
        clients.intake.ResubmitDeadLetter(
            intake_pb2.ResubmitDeadLetterRequest(
                id=dead_letter_id, corrections=body.corrections, actor=principal.to_actor()
            ),
            timeout=WRITE_TIMEOUT,
        ),
    )
    return ResubmitOut(
        dead_letter=DeadLetterOut.from_proto(reply.dead_letter),
        outcome=IntakeOutcomeOut.from_intake(reply.outcome),
    )
