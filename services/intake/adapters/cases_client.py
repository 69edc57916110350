"""Client of the cases service's ``OpenCase`` (protos/bylaw/v1/cases.proto).

One channel for the process lifetime (connection setup per complaint would dominate at
311 volume). Transport failures become ``Unavailable`` so callers retry later instead of
dead-lettering a good complaint.

Calls made together (the complaints of one fetched 311 batch reach this step in the same
turn of the event loop) go as one ``OpenCases`` call (services.common.coalesce), so the
per-call cost of gRPC is paid once per batch; each complaint still gets its own answer or
error. If the batch call fails because cases is unavailable, every complaint of the batch
gets ``Unavailable`` (and is retried later); if it fails otherwise (e.g. a cases service too
old to have ``OpenCases``), each complaint is sent on its own with ``OpenCase``.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from bylaw.v1 import cases_pb2, cases_pb2_grpc, common_pb2
from google.protobuf import timestamp_pb2

from services.common.coalesce import Coalescer
from services.common.errors import DomainError, Unavailable
from services.common.grpc_client import STATUS_CODE_BY_NUMBER, domain_error_from_rpc, domain_error_from_status
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
    def __init__(self, channel: grpc.aio.Channel, *, timeout: float = 10.0, max_batch: int = 64) -> None:
        self.stub = cases_pb2_grpc.CasesServiceStub(channel)
        self.timeout = timeout
        self.batches: Coalescer[OpenCaseCommand, CaseLink | Exception] = Coalescer(
            "OpenCases",
            self._open_cases,
            self._open_case,
            max_batch=max_batch,
            # Cases is down or overloaded: every complaint of the batch is retried later.
            fails_all=lambda exc: isinstance(exc, Unavailable),
        )

    async def open_case(self, command: OpenCaseCommand) -> CaseLink:
        result = await self.batches(command)
        if isinstance(result, Exception):
            raise result
        return result

    async def _open_case(self, command: OpenCaseCommand) -> CaseLink | Exception:
        try:
            resp: cases_pb2.OpenCaseResponse = await self.stub.OpenCase(
                open_case_request(command), timeout=self.timeout
            )
        except grpc.aio.AioRpcError as err:
            mapped = _client_error(err)
            if mapped is err:
                raise
            raise mapped from err
        return _case_link(resp)

    async def _open_cases(self, commands: Sequence[OpenCaseCommand]) -> list[CaseLink | Exception]:
        try:
            resp: cases_pb2.OpenCasesResponse = await self.stub.OpenCases(
                cases_pb2.OpenCasesRequest(requests=[open_case_request(c) for c in commands]),
                timeout=self.timeout,
            )
        except grpc.aio.AioRpcError as err:
            mapped = _client_error(err)
            if mapped is err:
                raise
            raise mapped from err
        if len(resp.results) != len(commands):
            raise RuntimeError(f"cases.OpenCases answered {len(resp.results)} results for {len(commands)}")
        return [_result(r) for r in resp.results]


def _client_error(err: grpc.aio.AioRpcError) -> Exception:
    if err.code() in _TRANSIENT:
        return Unavailable(f"cases service: {err.code().name}")
    domain: DomainError | None = domain_error_from_rpc(err)
    return domain if domain is not None else err


def _result(result: cases_pb2.OpenCaseResult) -> CaseLink | Exception:
    if result.HasField("response"):
        return _case_link(result.response)
    code = STATUS_CODE_BY_NUMBER.get(result.error.code, grpc.StatusCode.UNKNOWN)
    if code in _TRANSIENT:
        return Unavailable(f"cases service: {code.name}")
    domain = domain_error_from_status(result.error)
    if domain is not None:
        return domain
    return RuntimeError(f"cases.OpenCase failed: {code.name}: {result.error.message}")


def _case_link(resp: cases_pb2.OpenCaseResponse) -> CaseLink:
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
