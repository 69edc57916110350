"""``bylaw.v1.IntakeService`` over gRPC: thin translation to the service layer. Domain
errors propagate to ``services.common.grpc_server.DomainErrorInterceptor``, which turns
them into status codes (INVALID_ARGUMENT with BadRequest field violations, ...).

Method names are the RPC names the generated base class defines (hence noqa: N802).
"""

from __future__ import annotations

from typing import Any

from bylaw.v1 import intake_pb2, intake_pb2_grpc

from services.intake.entrypoints import grpc_codec as codec
from services.intake.service_layer.acknowledgements import Acknowledgements
from services.intake.service_layer.dead_letters import DeadLetters
from services.intake.service_layer.intake import IntakeService
from services.intake.service_layer.marking import Marking

SERVICE_NAME = "bylaw.v1.IntakeService"


class IntakeServicer(intake_pb2_grpc.IntakeServiceServicer):
    def __init__(
        self,
        service: IntakeService,
        acknowledgements: Acknowledgements,
        marking: Marking,
        dead_letters: DeadLetters,
    ) -> None:
        self.service = service
        self.acknowledgements = acknowledgements
        self.marking = marking
        self.dead_letters = dead_letters

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
            referral_services=[
                codec.referral_service(r)
                for code, r in self.service.referrals.items()
                if code not in matrix.entries
            ],
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

    async def RecordAcknowledgement(  # noqa: N802 - gRPC method names
        self, request: intake_pb2.RecordAcknowledgementRequest, context: Any
    ) -> intake_pb2.AcknowledgementStatus:
        record, _created = await self.acknowledgements.record(
            request.service_request_id,
            request.method,
            codec.from_timestamp(request, "sent_at"),
            codec.caller(request.actor),
        )
        return codec.acknowledgement(record, self.acknowledgements.clock())

    async def ListOverdueAcknowledgements(  # noqa: N802 - gRPC method names
        self, request: intake_pb2.ListOverdueAcknowledgementsRequest, context: Any
    ) -> intake_pb2.ListOverdueAcknowledgementsResponse:
        records = await self.acknowledgements.overdue(codec.caller(request.actor), request.limit)
        now = self.acknowledgements.clock()
        return intake_pb2.ListOverdueAcknowledgementsResponse(
            acknowledgements=[codec.acknowledgement(r, now) for r in records]
        )

    async def MarkComplaint(  # noqa: N802 - gRPC method names
        self, request: intake_pb2.MarkComplaintRequest, context: Any
    ) -> intake_pb2.MarkComplaintResponse:
        result = await self.marking.mark(
            request.service_request_id, request.kind, request.reason, codec.caller(request.actor)
        )
        return intake_pb2.MarkComplaintResponse(
            outcome=codec.outcome(result.record.to_outcome(replayed=result.replayed)),
            case_action=result.case_action,
            replayed=result.replayed,
        )

    async def ListDeadLetters(  # noqa: N802 - gRPC method names
        self, request: intake_pb2.ListDeadLettersRequest, context: Any
    ) -> intake_pb2.ListDeadLettersResponse:
        letters = await self.dead_letters.list(request.status, request.limit, codec.caller(request.actor))
        return intake_pb2.ListDeadLettersResponse(dead_letters=[codec.dead_letter(d) for d in letters])

    async def GetDeadLetter(  # noqa: N802 - gRPC method names
        self, request: intake_pb2.GetDeadLetterRequest, context: Any
    ) -> intake_pb2.DeadLetterOriginal:
        original = await self.dead_letters.read(request.id, request.purpose, codec.caller(request.actor))
        return codec.dead_letter_original(original)

    async def ResubmitDeadLetter(  # noqa: N802 - gRPC method names
        self, request: intake_pb2.ResubmitDeadLetterRequest, context: Any
    ) -> intake_pb2.ResubmitDeadLetterResponse:
        letter, result = await self.dead_letters.resubmit(
            request.id, dict(request.corrections), codec.caller(request.actor)
        )
        return intake_pb2.ResubmitDeadLetterResponse(
            dead_letter=codec.dead_letter(letter), outcome=codec.outcome(result)
        )
