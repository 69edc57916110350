"""Client of the cases service's ``OpenCase`` (protos/bylaw/v1/cases.proto).

One channel for the process lifetime (connection setup per complaint would dominate at
311 volume). Transport failures become ``Unavailable`` so callers retry later instead of
dead-lettering a good complaint.
"""

from __future__ import annotations

import grpc
from bylaw.v1 import cases_pb2, cases_pb2_grpc, common_pb2
from google.protobuf import timestamp_pb2

from services.common.errors import DomainError, Unavailable
from services.common.grpc_client import domain_error_from_rpc
from services.intake.domain.model import CaseDisposition, Location, Priority
from services.intake.service_layer.ports import CaseLink, OpenCaseCommand

PRIORITY_TO_PROTO = {
    Priority.HIGH: common_pb2.PRIORITY_HIGH,
    Priority.MEDIUM: common_pb2.PRIORITY_MEDIUM,
    Priority.LOW: common_pb2.PRIORITY_LOW,
}
_DISPOSITIONS = {
    cases_pb2.OPEN_CASE_DISPOSITION_CREATED: CaseDisposition.CREATED,
    cases_pb2.OPEN_CASE_DISPOSITION_JOINED: CaseDisposition.JOINED,
    cases_pb2.OPEN_CASE_DISPOSITION_REPEAT_AFTER_COMPLIANCE: CaseDisposition.REPEAT_AFTER_COMPLIANCE,
}
# Codes worth retrying later: the service is restarting, overloaded or slow.
_TRANSIENT = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ABORTED,
}
INTAKE_ACTOR = "service:intake"


def location_to_proto(loc: Location) -> common_pb2.Location:
    msg = common_pb2.Location(address=loc.address, address_id=loc.address_id, postal_code=loc.postal_code)
    if loc.lat is not None and loc.lon is not None:
        msg.point.CopyFrom(common_pb2.GeoPoint(lat=loc.lat, lon=loc.lon))
    return msg


def open_case_request(cmd: OpenCaseCommand) -> cases_pb2.OpenCaseRequest:
    received = timestamp_pb2.Timestamp()
    received.FromDatetime(cmd.received_at)
    return cases_pb2.OpenCaseRequest(
        complaint_id=cmd.complaint_id,
        service_code=cmd.service_code,
        bylaw_number=cmd.bylaw_number,
        priority=PRIORITY_TO_PROTO[cmd.priority],
        matrix_version=cmd.matrix_version,
        enforced_by=list(cmd.enforced_by),
        location=location_to_proto(cmd.location),
        received_at=received,
        channel=cmd.channel,
        restricted=cmd.restricted,
        summary=cmd.summary,
        actor=common_pb2.Actor(subject=cmd.actor_subject or INTAKE_ACTOR, roles=["intake"]),
    )


class GrpcCasesClient:
    def __init__(self, channel: grpc.aio.Channel, *, timeout: float = 10.0) -> None:
        self.stub = cases_pb2_grpc.CasesServiceStub(channel)
        self.timeout = timeout

    async def open_case(self, command: OpenCaseCommand) -> CaseLink:
        try:
            resp: cases_pb2.OpenCaseResponse = await self.stub.OpenCase(
                open_case_request(command), timeout=self.timeout
            )
        except grpc.aio.AioRpcError as err:
            if err.code() in _TRANSIENT:
                raise Unavailable(f"cases service: {err.code().name}") from err
            domain: DomainError | None = domain_error_from_rpc(err)
            if domain is not None:
                raise domain from err
            raise
        disposition = _DISPOSITIONS.get(resp.disposition)
        if disposition is None or not resp.case.case_number:
            raise RuntimeError(f"cases.OpenCase answered without a disposition/case ({resp.disposition})")
        match = resp.property_match if resp.HasField("property_match") else resp.case.property_match
        return CaseLink(
            disposition=disposition,
            case_number=resp.case.case_number,
            zone=resp.case.zone_code,
            property_roll_number=match.property.roll_number if match.matched else "",
            assigned_officer=resp.case.assigned_officer_id,
            department=resp.case.department,
        )
