"""Turning failures into HTTP answers: domain errors raised by services (carried over gRPC
as rich statuses), validation at the edge, and dependency outages.

Open311 paths answer in the GeoReport v2 error format (``[{"code": 400, "description":
"lat: must be a number (policy 4.10)"}]``, or ``<errors>`` for ``.xml``); the staff API
answers ``{"detail": ..., "errors": [{"field", "rule", "policy"}]}``. Neither ever echoes
what the caller sent: a rejected field may hold complainant identity (policy 6.3).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Sequence
from typing import TypeVar

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

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
from services.common.grpc_client import domain_error_from_rpc
from services.gateway.open311 import xml as open311_xml

log = logging.getLogger(__name__)

OPEN311_PREFIX = "/open311/"

T = TypeVar("T")

_STATUS_BY_ERROR: tuple[tuple[type[DomainError], int], ...] = (
    (InvalidArgument, 400),
    (Unauthenticated, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (AlreadyExists, 409),
    (FailedPrecondition, 409),
    (Unavailable, 503),
)


def http_status_for(error: DomainError) -> int:
    for cls, status in _STATUS_BY_ERROR:
        if isinstance(error, cls):
            return status
    return 502  # a service failed in a way it did not explain: not the caller's fault


class UpstreamError(Exception):
    """A call to one of the services failed; carries which service and the domain error."""

    def __init__(self, service: str, error: DomainError) -> None:
        super().__init__(f"{service}: {error.message}")
        self.service = service
        self.error = error

    @classmethod
    def from_rpc(cls, service: str, exc: grpc.aio.AioRpcError) -> UpstreamError:
        error = domain_error_from_rpc(exc)
        if error is None:
            code = exc.code()
            if code in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED):
                error = Unavailable(f"{service} did not answer in time")
            else:
                error = DomainError(f"{service} failed ({code.name.lower()})")
        elif isinstance(error, Unavailable):
            error = Unavailable(f"{service} is unavailable; try again shortly")
        return cls(service, error)


async def rpc(service: str, call: Awaitable[T]) -> T:
    """Await a gRPC call, turning its failure into an :class:`UpstreamError` that names
    the service (so a 503 says which dependency is down)."""
    try:
        return await call
    except grpc.aio.AioRpcError as exc:
        raise UpstreamError.from_rpc(service, exc) from None


def is_open311(request: Request) -> bool:
    return request.url.path.startswith(OPEN311_PREFIX)


def wants_xml(request: Request) -> bool:
    return request.url.path.endswith(".xml")


def open311_error_response(status: int, descriptions: Sequence[str], *, xml: bool) -> Response:
    items = [{"code": status, "description": d} for d in descriptions]
    if xml:
        return Response(open311_xml.errors(items), status_code=status, media_type="application/xml")
    return JSONResponse(items, status_code=status)


def violation_json(v: FieldViolation) -> dict[str, str | None]:
    return {"field": v.field, "rule": v.rule, "policy": v.policy}


def error_response(request: Request, status: int, error: DomainError) -> Response:
    violations = error.violations if isinstance(error, InvalidArgument) else []
    if is_open311(request):
        descriptions = [v.describe() for v in violations] or [error.message]
        return open311_error_response(status, descriptions, xml=wants_xml(request))
    body: dict[str, object] = {"detail": error.message}
    if violations:
        body["errors"] = [violation_json(v) for v in violations]
    headers = {"Retry-After": "5"} if status == 503 else None
    return JSONResponse(body, status_code=status, headers=headers)


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return error_response(request, http_status_for(exc), exc)


async def _upstream_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, UpstreamError)
    status = http_status_for(exc.error)
    if status >= 500:
        # Which service and how; never the request (it may carry complainant identity).
        log.warning(
            "upstream failure",
            extra={"service": exc.service, "status": status, "path": request.url.path},
        )
    return error_response(request, status, exc.error)


def _location(loc: Sequence[int | str]) -> str:
    # ("body", "complainant", "email") -> "complainant.email"; ("query", "page_size") -> "page_size"
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    return ".".join(parts) or "request"


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    # FastAPI's default body echoes each offending "input"; ours never does, because the
    # input may be a complainant's name, email or phone number (policy 6.3.4).
    errors = [
        {"field": _location(err.get("loc", ())), "rule": str(err.get("msg", "invalid")), "policy": None}
        for err in exc.errors()
    ]
    if is_open311(request):
        return open311_error_response(
            400, [f"{e['field']}: {e['rule']}" for e in errors], xml=wants_xml(request)
        )
    return JSONResponse({"detail": "request is not valid", "errors": errors}, status_code=422)


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if is_open311(request):
        return open311_error_response(exc.status_code, [str(exc.detail)], xml=wants_xml(request))
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(UpstreamError, _upstream_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
