"""Complaints taken by staff (``/api/v1/complaints``): phone, email, walk-in and Council
referrals, entered at the counter or by an officer and sent to intake with the staff
member as the Actor (for the audit trail)."""

from __future__ import annotations

from datetime import UTC, datetime

from bylaw.v1 import intake_pb2
from fastapi import APIRouter, Response, status

from services.gateway.api.deps import ClientsDep, ComplaintTaker
from services.gateway.api.models import ComplaintIn, ComplaintOutcomeOut
from services.gateway.clients import WRITE_TIMEOUT
from services.gateway.errors import rpc

router = APIRouter(prefix="/complaints", tags=["complaints"])


@router.post(
    "",
    summary="Enter a complaint received by phone, email, at the counter or from Council",
    response_model=ComplaintOutcomeOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": ComplaintOutcomeOut, "description": "the same submission was already recorded"},
        400: {"description": "intake rejected a field: {detail, errors: [{field, rule, policy}]}"},
    },
)
async def submit_complaint(
    body: ComplaintIn, response: Response, clients: ClientsDep, principal: ComplaintTaker
) -> ComplaintOutcomeOut:
    request = intake_pb2.SubmitComplaintRequest(
        submission=body.to_proto(now=datetime.now(UTC)), actor=principal.to_actor()
    )
    outcome = await rpc("intake", clients.intake.SubmitComplaint(request, timeout=WRITE_TIMEOUT))
    if outcome.replayed:
        response.status_code = status.HTTP_200_OK
    return ComplaintOutcomeOut.from_proto(outcome)
