"""Open311 GeoReport v2 (``/open311/v2``): the Service Level Matrix as services, complaints
as service requests, JSON and XML. Public: residents and the 311 system need no token."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from bylaw.v1 import intake_pb2
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from services.common.errors import NotFound
from services.gateway.api.deps import ClientsDep, TimezoneDep
from services.gateway.clients import READ_TIMEOUT, WRITE_TIMEOUT
from services.gateway.errors import rpc
from services.gateway.open311 import xml as open311_xml
from services.gateway.open311.convert import (
    created_from_outcome,
    definition_from_proto,
    request_from_public,
    service_from_entry,
)
from services.gateway.open311.form import FORM_FIELD_LIMITS, request_filters, submission_from_form
from services.gateway.open311.models import (
    Open311ErrorItem,
    Open311Request,
    Open311RequestCreated,
    Open311Service,
    Open311ServiceDefinition,
    Open311Token,
)

router = APIRouter(prefix="/open311/v2", tags=["open311"])

# The Open311 convention: at most 1000 requests per query.
LIST_LIMIT = 1000
# A complaint form is a few kilobytes; these bound what a client can make us parse.
MAX_FORM_BYTES = 128 * 1024
MAX_FORM_FIELDS = 200
FORMATS = ("json", "xml")
XmlRenderer = Callable[[Any], bytes]


def _check_format(response_format: str) -> None:
    if response_format not in FORMATS:
        raise NotFound(f"format {response_format!r} is not offered; use .json or .xml")


def _render(response_format: str, payload: Any, to_xml: XmlRenderer) -> Response:
    if response_format == "xml":
        return Response(to_xml(payload), media_type="application/xml")
    return JSONResponse(payload)


def _dump(models: Sequence[BaseModel]) -> list[dict[str, Any]]:
    return [m.model_dump(mode="json") for m in models]


def _responses(model: Any) -> dict[int | str, dict[str, Any]]:
    return {
        200: {"model": model, "content": {"application/xml": {}}},
        400: {"model": list[Open311ErrorItem], "description": "invalid input: field, rule, policy"},
        404: {"model": list[Open311ErrorItem], "description": "unknown id, code or format"},
        503: {"model": list[Open311ErrorItem], "description": "a service is unavailable"},
    }


@router.get(
    "/services.{response_format}",
    summary="List service types (the Service Level Matrix)",
    responses=_responses(list[Open311Service]),
)
async def list_services(response_format: str, clients: ClientsDep) -> Response:
    _check_format(response_format)
    reply = await rpc(
        "intake", clients.intake.ListServices(intake_pb2.ListServicesRequest(), timeout=READ_TIMEOUT)
    )
    services = _dump([service_from_entry(entry) for entry in reply.services])
    return _render(response_format, services, open311_xml.services)


@router.get(
    "/services/{service_code}.{response_format}",
    summary="Service definition: the attributes a complaint of this type asks for",
    responses=_responses(Open311ServiceDefinition),
)
async def get_service_definition(service_code: str, response_format: str, clients: ClientsDep) -> Response:
    _check_format(response_format)
    definition = await rpc(
        "intake",
        clients.intake.GetService(
            intake_pb2.GetServiceRequest(service_code=service_code), timeout=READ_TIMEOUT
        ),
    )
    body = definition_from_proto(definition).model_dump(mode="json")
    return _render(response_format, body, open311_xml.service_definition)


@router.get(
    "/requests.{response_format}",
    summary="Search complaints (status, case number, neutral note; no complainant identity)",
    responses=_responses(list[Open311Request]),
)
async def list_requests(
    response_format: str,
    clients: ClientsDep,
    tz: TimezoneDep,
    service_request_id: Annotated[
        str | None, Query(description="comma-separated ids; overrides every other filter")
    ] = None,
    service_code: str | None = None,
    start_date: Annotated[str | None, Query(description="ISO-8601 date-time")] = None,
    end_date: Annotated[
        str | None, Query(description="ISO-8601 date-time; at most 90 days after start")
    ] = None,
    status: Annotated[list[str] | None, Query(description="open, closed or both (comma-separated)")] = None,
) -> Response:
    _check_format(response_format)
    filters = request_filters(
        service_request_id=service_request_id,
        service_code=service_code,
        start_date=start_date,
        end_date=end_date,
        status=status or [],
        tz=tz,
        now=datetime.now(UTC),
    )
    query = intake_pb2.ListComplaintsRequest(
        service_request_ids=filters.service_request_ids,
        service_code=filters.service_code,
        status=filters.status,
        limit=LIST_LIMIT,
    )
    if filters.start is not None:
        query.start_date.FromDatetime(filters.start)
    if filters.end is not None:
        query.end_date.FromDatetime(filters.end)
    reply = await rpc("intake", clients.intake.ListComplaints(query, timeout=READ_TIMEOUT))
    requests = _dump([request_from_public(pc, tz) for pc in reply.complaints])
    return _render(response_format, requests, open311_xml.service_requests)


_FORM_FIELDS: dict[str, Any] = {
    name: {"type": "string", "maxLength": size} for name, size in FORM_FIELD_LIMITS.items()
}
_FORM_FIELDS["lat"] = {"type": "number", "minimum": -90, "maximum": 90}
_FORM_FIELDS["long"] = {"type": "number", "minimum": -180, "maximum": 180}
_FORM_FIELDS["attribute[complainant_address]"] = {
    "type": "string",
    "description": "the complainant's own address (policy 6.5.3); kept confidential (policy 6.3)",
}


@router.post(
    "/requests.{response_format}",
    summary="Submit a complaint (form-encoded, Open311 fields and attribute[code]=value)",
    description=(
        "Creates one complaint through intake on the `portal` channel. The answer carries the "
        "`service_request_id` at once (no token round trip) and the extension `case_number` "
        "(null when the complaint was referred or rejected; `service_notice` then says why)."
    ),
    responses=_responses(list[Open311RequestCreated]),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["service_code"],
                        "properties": _FORM_FIELDS,
                        "additionalProperties": {"type": "string"},
                    }
                }
            },
        }
    },
)
async def create_request(response_format: str, request: Request, clients: ClientsDep) -> Response:
    _check_format(response_format)
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_FORM_BYTES:
        raise HTTPException(413, f"request: the form may be at most {MAX_FORM_BYTES // 1024} KiB")
    # One file is parsed only so it can be refused by name (submission_from_form).
    form = await request.form(max_fields=MAX_FORM_FIELDS, max_files=1)
    try:
        submission = submission_from_form(form, received_at=datetime.now(UTC))
    finally:
        await form.close()
    outcome = await rpc(
        "intake",
        clients.intake.SubmitComplaint(
            intake_pb2.SubmitComplaintRequest(submission=submission), timeout=WRITE_TIMEOUT
        ),
    )
    created = _dump([created_from_outcome(outcome)])
    return _render(response_format, created, open311_xml.service_requests)


@router.get(
    "/requests/{service_request_id}.{response_format}",
    summary="One complaint (an array of one, as the spec has it)",
    responses=_responses(list[Open311Request]),
)
async def get_request(
    service_request_id: str, response_format: str, clients: ClientsDep, tz: TimezoneDep
) -> Response:
    _check_format(response_format)
    complaint = await rpc(
        "intake",
        clients.intake.GetComplaint(
            intake_pb2.GetComplaintRequest(service_request_id=service_request_id), timeout=READ_TIMEOUT
        ),
    )
    return _render(response_format, _dump([request_from_public(complaint, tz)]), open311_xml.service_requests)


@router.get(
    "/tokens/{token}.{response_format}",
    summary="Resolve a token to its service_request_id",
    description=(
        "Complaints are created synchronously, so POST answers with the id and a null token; "
        "a client that kept the id as its token resolves it here."
    ),
    responses=_responses(list[Open311Token]),
)
async def get_token(token: str, response_format: str, clients: ClientsDep) -> Response:
    _check_format(response_format)
    complaint = await rpc(
        "intake",
        clients.intake.GetComplaint(
            intake_pb2.GetComplaintRequest(service_request_id=token), timeout=READ_TIMEOUT
        ),
    )
    body = _dump([Open311Token(service_request_id=complaint.service_request_id, token=token)])
    return _render(response_format, body, open311_xml.service_requests)
