"""``bylaw.v1.IntakeService`` over gRPC: thin translation to the service layer. Domain
errors propagate to ``services.common.grpc_server.DomainErrorInterceptor``, which turns
them into status codes (INVALID_ARGUMENT with BadRequest field violations, ...).

Method names are the RPC names the generated base class defines (hence noqa: N802).
"""

from __future__ import annotations

from typing import Any

from bylaw.v1 import intake_pb2, intake_pb2_grpc

from services.intake.entrypoints import grpc_codec as codec
from services.intake.service_layer.intake import IntakeService

SERVICE_NAME = "bylaw.v1.IntakeService"


class IntakeServicer(intake_pb2_grpc.IntakeServiceServicer):
    def __init__(self, service: IntakeService) -> None:
        self.service = service

    async def SubmitComplaint(  # noqa: N802 - gRPC method names
        self, request: intake_pb2.SubmitComplaintRequest, context: Any
    ) -> intake_pb2.ComplaintOutcome:
        caller = codec.caller(request.actor)
        result = await self.service.submit(codec.submission(request.submission), caller)
        return codec.outcome(result)

    async def GetComplaint(  # noqa: N802 - gRPC method names
        self, request: intake_pb2.GetComplaintRequest, context: Any
    ) -> intake_pb2.PublicComplaint:
        return codec.public_complaint(await self.service.get_public(request.service_request_id))

    async def ListComplaints(  # noqa: N802 - gRPC method names
        self, request: intake_pb2.ListComplaintsRequest, context: Any
    ) -> intake_pb2.ListComplaintsResponse:
        views = await self.service.list_public(codec.complaint_query(request))
        return intake_pb2.ListComplaintsResponse(complaints=[codec.public_complaint(v) for v in views])

    async def ListServices(  # noqa: N802 - gRPC method names
        self, request: intake_pb2.ListServicesRequest, context: Any
    ) -> intake_pb2.ListServicesResponse:
        as_of = codec.from_timestamp(request, "as_of")
        matrix = await self.service.matrix_in_force(
            as_of.astimezone(self.service.tz).date() if as_of is not None else None
        )
        return intake_pb2.ListServicesResponse(
            services=[codec.matrix_entry(e, matrix.label) for e in matrix.entries.values()],
            matrix_version=matrix.label,
        )

    async def GetService(  # noqa: N802 - gRPC method names
        self, request: intake_pb2.GetServiceRequest, context: Any
    ) -> intake_pb2.ServiceDefinition:
        definition = await self.service.service_definition(request.service_code)
        return intake_pb2.ServiceDefinition(
            service=codec.matrix_entry(definition.entry, definition.matrix_version),
            attributes=[codec.service_attribute(a) for a in definition.attributes],
        )

    async def LoadServiceMatrix(  # noqa: N802 - gRPC method names
        self, request: intake_pb2.LoadServiceMatrixRequest, context: Any
    ) -> intake_pb2.LoadServiceMatrixResponse:
        version, created = await self.service.load_matrix(
            request.csv,
            request.version_label,
            request.effective_date,
            request.council_resolution,
            codec.caller(request.actor),
        )
        return intake_pb2.LoadServiceMatrixResponse(
            matrix_version=version.label, services=len(version.entries), created=created
        )

    async def DeclareClosureDay(  # noqa: N802 - gRPC method names
        self, request: intake_pb2.DeclareClosureDayRequest, context: Any
    ) -> intake_pb2.ClosureDay:
        day = await self.service.declare_closure_day(
            request.date, request.reason, codec.caller(request.actor)
        )
        return codec.closure_day(day)

    async def ListClosureDays(  # noqa: N802 - gRPC method names
        self, request: intake_pb2.ListClosureDaysRequest, context: Any
    ) -> intake_pb2.ListClosureDaysResponse:
        days = await self.service.closure_days(request.from_date, request.to_date)
        return intake_pb2.ListClosureDaysResponse(days=[codec.closure_day(d) for d in days])

    async def GetComplainant(  # noqa: N802 - gRPC method names
        self, request: intake_pb2.GetComplainantRequest, context: Any
    ) -> intake_pb2.ComplainantRecord:
        read = await self.service.reveal_complainant(
            request.service_request_id, request.purpose, codec.caller(request.actor)
        )
        return intake_pb2.ComplainantRecord(
            service_request_id=read.record.service_request_id,
            identity=codec.complainant_identity(read.identity),
            description=read.description,
        )
