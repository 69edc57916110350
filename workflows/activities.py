"""Activities of the case workflow: thin gRPC calls to the cases service.

One ``CaseActivities`` object holds the cases stub for the worker's lifetime (the
samples-python pattern of activities as methods on a class holding their clients). Each
activity takes and returns one dataclass. A business refusal from the service (not found,
invalid argument, failed precondition, already exists) becomes a non-retryable
``ApplicationError`` so the workflow sees it at once; anything else (the service restarting,
a network fault) is retried by Temporal's retry policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import grpc
from bylaw.v1 import cases_pb2, common_pb2
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio import activity
from temporalio.exceptions import ApplicationError

from services.common.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)
from services.common.grpc_client import domain_error_from_rpc

if TYPE_CHECKING:  # the async stub type exists only in the generated .pyi
    from bylaw.v1.cases_pb2_grpc import CasesServiceAsyncStub

RECORD_STATUS = "record_status"
GET_CASE = "get_case"

SYSTEM_ACTOR = "system:case-lifecycle"
RPC_TIMEOUT_SECONDS = 15.0

# Deterministic refusals: retrying cannot change the answer.
_BUSINESS_ERRORS: tuple[type[DomainError], ...] = (
    NotFound,
    InvalidArgument,
    FailedPrecondition,
    AlreadyExists,
)


@dataclass
class RecordStatusInput:
    case_number: str
    status: str  # workflows.lifecycle_rules.CaseStatus value
    step_key: str  # "<case_number>:<seq>:<status>": a retry records the step once
    occurred_at: datetime
    reason: str = ""
    actor: str = ""
    outcome: str = ""  # closure outcome, only with status "closed"


@dataclass
class RecordStatusResult:
    case_number: str
    status: str


@dataclass
class GetCaseInput:
    case_number: str


@dataclass
class CaseSnapshot:
    """The parts of the case record the workflow uses (no location, no complainant)."""

    case_number: str
    status: str
    priority: str
    service_code: str
    bylaw_number: str
    zone_code: str
    assigned_officer_id: str
    restricted: bool
    department: str = ""  # the queue the case is in (issue 4)


def status_to_proto(status: str) -> common_pb2.CaseStatus.ValueType:
    try:
        return common_pb2.CaseStatus.Value(f"CASE_STATUS_{status.upper()}")
    except ValueError:
        raise ApplicationError(
            f"status: unknown case status {status!r}", type="InvalidArgument", non_retryable=True
        ) from None


def status_from_proto(value: common_pb2.CaseStatus.ValueType) -> str:
    return common_pb2.CaseStatus.Name(value).removeprefix("CASE_STATUS_").lower()


def priority_from_proto(value: common_pb2.Priority.ValueType) -> str:
    return common_pb2.Priority.Name(value).removeprefix("PRIORITY_").lower()


def application_error(err: grpc.aio.AioRpcError | grpc.RpcError) -> BaseException:
    """The error an activity raises for a failed RPC: non-retryable for business refusals,
    the original (retryable) error for everything else."""
    domain = domain_error_from_rpc(err)
    if isinstance(domain, _BUSINESS_ERRORS):
        details: list[object] = []
        if isinstance(domain, InvalidArgument):
            details = [{"field": v.field, "rule": v.rule, "policy": v.policy} for v in domain.violations]
        return ApplicationError(domain.message, *details, type=type(domain).__name__, non_retryable=True)
    return err


class CaseActivities:
    def __init__(self, cases: CasesServiceAsyncStub) -> None:
        self._cases = cases

    @activity.defn(name=RECORD_STATUS)
    async def record_status(self, request: RecordStatusInput) -> RecordStatusResult:
        occurred_at = Timestamp()
        occurred_at.FromDatetime(request.occurred_at)
        try:
            case = await self._cases.RecordStatus(
                cases_pb2.RecordStatusRequest(
                    case_number=request.case_number,
                    status=status_to_proto(request.status),
                    step_key=request.step_key,
                    reason=request.reason,
                    outcome=request.outcome,
                    actor=_actor(request.actor),
                    occurred_at=occurred_at,
                ),
                timeout=RPC_TIMEOUT_SECONDS,
            )
        except grpc.RpcError as err:
            raise application_error(err) from None
        return RecordStatusResult(case_number=case.case_number, status=status_from_proto(case.status))

    @activity.defn(name=GET_CASE)
    async def get_case(self, request: GetCaseInput) -> CaseSnapshot:
        try:
            case = await self._cases.GetCase(
                cases_pb2.GetCaseRequest(case_number=request.case_number, actor=_actor("")),
                timeout=RPC_TIMEOUT_SECONDS,
            )
        except grpc.RpcError as err:
            raise application_error(err) from None
        return CaseSnapshot(
            case_number=case.case_number,
            status=status_from_proto(case.status),
            priority=priority_from_proto(case.priority),
            service_code=case.service_code,
            bylaw_number=case.bylaw_number,
            zone_code=case.zone_code,
            assigned_officer_id=case.assigned_officer_id,
            restricted=case.restricted,
            department=case.department,
        )


def _actor(subject: str) -> common_pb2.Actor:
    # The workflow calls on its own authority (it validated the transition), so the role
    # is "system"; the subject is the staff member who asked, for the audit trail, or the
    # workflow itself for its own steps.
    return common_pb2.Actor(subject=subject or SYSTEM_ACTOR, roles=["system"], display_name="case workflow")
