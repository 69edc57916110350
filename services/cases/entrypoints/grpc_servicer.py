"""``bylaw.v1.CasesService`` over gRPC: a thin translation between protobuf and the use
cases in :mod:`services.cases.service_layer.services`. Domain errors propagate to the
shared interceptor, which maps them to status codes with field violations."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
from bylaw.v1 import cases_pb2, cases_pb2_grpc, common_pb2
from google.rpc import code_pb2, status_pb2

from services.cases.domain.properties import Property
from services.cases.entrypoints import convert
from services.cases.service_layer.commands import (
    Actor,
    AssignCase,
    ListCases,
    OpenCase,
    OpenCaseResult,
    RecordStatus,
)
from services.cases.service_layer.services import CasesService
from services.common.errors import DomainError, FieldViolation, InvalidArgument
from services.common.grpc_server import status_for

log = logging.getLogger(__name__)

# ImportProperties is client-streaming (no request envelope), so its caller names itself
# in call metadata for the audit trail.
ACTOR_SUBJECT_METADATA = "bylaw-actor-subject"
MAX_OPEN_CASES = 256  # requests per OpenCases call


def _metadata_subject(context: Any) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == ACTOR_SUBJECT_METADATA and isinstance(value, str):
            return value.strip()
    return ""


def _actor(actor: common_pb2.Actor | None, context: Any) -> Actor:
    """The request's actor; its subject falls back to the call metadata."""
    resolved = convert.actor_from_proto(actor) if actor is not None else Actor()
    if resolved.subject:
        return resolved
    return Actor(subject=_metadata_subject(context), roles=resolved.roles)


def _open_case_command(
    request: cases_pb2.OpenCaseRequest, context: grpc.aio.ServicerContext[Any, Any]
) -> OpenCase:
    return OpenCase(
        complaint_id=request.complaint_id.strip(),
        service_code=request.service_code.strip(),
        priority=convert.priority_from_proto(request.priority),
        location=convert.location_from_proto(request.location),
        bylaw_number=request.bylaw_number.strip(),
        matrix_version=request.matrix_version.strip(),
        enforced_by=tuple(e.strip() for e in request.enforced_by if e.strip()),
        received_at=convert.timestamp_or_none(request.received_at, request.HasField("received_at")),
        channel=request.channel.strip(),
        restricted=request.restricted,
        summary=request.summary,
        actor=_actor(request.actor, context),
    )


def _open_case_response(result: OpenCaseResult) -> cases_pb2.OpenCaseResponse:
    return cases_pb2.OpenCaseResponse(
        case=convert.case_to_proto(result.case),
        disposition=convert.disposition_to_proto(result.disposition),
        property_match=convert.match_to_proto(result.match),
    )


def _open_case_result(answer: OpenCaseResult | Exception) -> cases_pb2.OpenCaseResult:
    if isinstance(answer, DomainError):
        return cases_pb2.OpenCaseResult(error=status_for(answer))
    if isinstance(answer, Exception):
        # As the interceptor does for OpenCase: logged, INTERNAL.
        log.error("unhandled error in OpenCases", exc_info=answer)
        return cases_pb2.OpenCaseResult(
            error=status_pb2.Status(code=code_pb2.INTERNAL, message="internal error in OpenCase")
        )
    return cases_pb2.OpenCaseResult(response=_open_case_response(answer))


class CasesServicer(cases_pb2_grpc.CasesServiceServicer):
    def __init__(self, service: CasesService) -> None:
        self.service = service

    async def OpenCase(  # noqa: N802 - gRPC method names
        self, request: cases_pb2.OpenCaseRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> cases_pb2.OpenCaseResponse:
        return _open_case_response(await self.service.open_case(_open_case_command(request, context)))

    async def OpenCases(  # noqa: N802 - gRPC method names
        self, request: cases_pb2.OpenCasesRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> cases_pb2.OpenCasesResponse:
        """Each request answered in place, as OpenCase would answer it on its own."""
        if len(request.requests) > MAX_OPEN_CASES:
            raise InvalidArgument(FieldViolation("requests", f"at most {MAX_OPEN_CASES} per call"))
        commands = [_open_case_command(r, context) for r in request.requests]
        answers = await self.service.open_cases(commands)
        return cases_pb2.OpenCasesResponse(results=[_open_case_result(a) for a in answers])

    async def GetCase(  # noqa: N802 - gRPC method names
        self, request: cases_pb2.GetCaseRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> cases_pb2.Case:
        case = await self.service.get_case(request.case_number, _actor(request.actor, context))
        return convert.case_to_proto(case)

    async def ListCases(  # noqa: N802 - gRPC method names
        self, request: cases_pb2.ListCasesRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> cases_pb2.ListCasesResponse:
        page = await self.service.list_cases(
            ListCases(
                statuses=convert.statuses_from_proto(request.statuses),
                priority=convert.priority_from_proto(request.priority),
                zone_code=request.zone_code.strip(),
                assigned_officer_id=request.assigned_officer_id.strip(),
                service_code=request.service_code.strip(),
                page_size=request.page.page_size,
                page_token=request.page.page_token,
                actor=_actor(request.actor, context),
                department=request.department.strip().upper(),
            )
        )
        return cases_pb2.ListCasesResponse(
            cases=[convert.case_to_proto(c) for c in page.cases],
            next_page_token=page.next_page_token,
            total=page.total,
        )

    async def RecordStatus(  # noqa: N802 - gRPC method names
        self, request: cases_pb2.RecordStatusRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> cases_pb2.Case:
        case = await self.service.record_status(
            RecordStatus(
                case_number=request.case_number,
                status=convert.status_from_proto(request.status),
                step_key=request.step_key.strip(),
                reason=request.reason,
                outcome=request.outcome,
                occurred_at=convert.timestamp_or_none(request.occurred_at, request.HasField("occurred_at")),
                actor=_actor(request.actor, context),
            )
        )
        return convert.case_to_proto(case)

    async def AssignCase(  # noqa: N802 - gRPC method names
        self, request: cases_pb2.AssignCaseRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> cases_pb2.Case:
        case = await self.service.assign_case(
            AssignCase(
                case_number=request.case_number,
                officer_id=request.officer_id.strip(),
                step_key=request.step_key.strip(),
                reason=request.reason,
                occurred_at=convert.timestamp_or_none(request.occurred_at, request.HasField("occurred_at")),
                actor=_actor(request.actor, context),
            )
        )
        return convert.case_to_proto(case)

    async def ListStatusHistory(  # noqa: N802 - gRPC method names
        self, request: cases_pb2.ListStatusHistoryRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> cases_pb2.ListStatusHistoryResponse:
        history = await self.service.history(request.case_number, _actor(request.actor, context))
        return cases_pb2.ListStatusHistoryResponse(
            entries=[convert.history_entry_to_proto(c) for c in history]
        )

    async def LookupProperty(  # noqa: N802 - gRPC method names
        self, request: cases_pb2.LookupPropertyRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> cases_pb2.LookupPropertyResponse:
        match = await self.service.lookup_property(convert.location_from_proto(request.location))
        return cases_pb2.LookupPropertyResponse(match=convert.match_to_proto(match))

    async def ImportProperties(  # noqa: N802 - gRPC method names
        self, request_iterator: AsyncIterator[cases_pb2.Property], context: grpc.aio.ServicerContext[Any, Any]
    ) -> cases_pb2.ImportSummary:
        async def rows() -> AsyncIterator[Property]:
            async for message in request_iterator:
                yield convert.property_from_proto(message)

        counts = await self.service.import_properties(rows(), _actor(None, context))
        return convert.summary_to_proto(counts)

    async def UpsertOfficers(  # noqa: N802 - gRPC method names
        self, request: cases_pb2.UpsertOfficersRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> cases_pb2.ImportSummary:
        counts = await self.service.upsert_officers(
            [convert.officer_from_proto(o) for o in request.officers], _actor(request.actor, context)
        )
        return convert.summary_to_proto(counts)

    async def UpsertZones(  # noqa: N802 - gRPC method names
        self, request: cases_pb2.UpsertZonesRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> cases_pb2.ImportSummary:
        counts = await self.service.upsert_zones(
            [convert.zone_from_proto(z) for z in request.zones], _actor(request.actor, context)
        )
        return convert.summary_to_proto(counts)

    async def GetTownSummary(  # noqa: N802 - gRPC method names
        self, request: cases_pb2.GetTownSummaryRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> cases_pb2.TownSummary:
        return convert.town_summary_to_proto(await self.service.town_summary())
