"""Client side of the gRPC contracts: channels with retry policy, and turning a rich
status back into domain errors so callers (gateway, workflows) can act on them."""

from __future__ import annotations

import json
from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from services.common.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)

# Transparent retries for transient failures (a service restarting) on idempotent calls;
# every RPC in our contracts is idempotent or keyed.
_SERVICE_CONFIG = json.dumps(
    {
        "methodConfig": [
            {
                "name": [{}],
                "retryPolicy": {
                    "maxAttempts": 5,
                    "initialBackoff": "0.1s",
                    "maxBackoff": "2s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ]
    }
)


def insecure_channel(address: str) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(
        address,
        options=[
            ("grpc.service_config", _SERVICE_CONFIG),
            ("grpc.enable_retries", 1),
            ("grpc.max_receive_message_length", 32 * 1024 * 1024),
            ("grpc.keepalive_time_ms", 30_000),
        ],
    )


_ERROR_BY_CODE: dict[grpc.StatusCode, type[DomainError]] = {
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
}

STATUS_CODE_BY_NUMBER: dict[int, grpc.StatusCode] = {c.value[0]: c for c in grpc.StatusCode}


def domain_error_from_rpc(err: grpc.aio.AioRpcError | grpc.RpcError) -> DomainError | None:
    """The domain error a server raised, or None for transport/internal failures."""
    code: Any = err.code()
    status = rpc_status.from_call(err) if code == grpc.StatusCode.INVALID_ARGUMENT else None
    return _domain_error(code, err.details() or "", status)


def domain_error_from_status(status: status_pb2.Status) -> DomainError | None:
    """The same for a ``google.rpc.Status`` carried in a message (a batch call's result)."""
    code = STATUS_CODE_BY_NUMBER.get(status.code, grpc.StatusCode.UNKNOWN)
    return _domain_error(code, status.message, status)


def _domain_error(
    code: grpc.StatusCode, message: str, status: status_pb2.Status | None
) -> DomainError | None:
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        violations: list[FieldViolation] = []
        for detail in status.details if status is not None else ():
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                for fv in bad.field_violations:
                    policy = fv.reason.removeprefix("policy ") if fv.reason else None
                    violations.append(FieldViolation(fv.field, fv.description, policy))
        if not violations:
            violations = [FieldViolation("request", message or "invalid")]
        return InvalidArgument(violations)
    cls = _ERROR_BY_CODE.get(code)
    return cls(message or code.name) if cls else None
