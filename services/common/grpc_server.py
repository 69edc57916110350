"""The ``grpc.aio`` server every service runs: health, reflection, error mapping, and a
graceful stop on SIGTERM/SIGINT (in-flight calls get ``grace`` seconds to finish)."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status

from services.common.errors import DomainError, InvalidArgument

log = logging.getLogger(__name__)

_STATUS_BY_KIND: dict[str, tuple[grpc.StatusCode, int]] = {
    "invalid_argument": (grpc.StatusCode.INVALID_ARGUMENT, code_pb2.INVALID_ARGUMENT),
    "not_found": (grpc.StatusCode.NOT_FOUND, code_pb2.NOT_FOUND),
    "already_exists": (grpc.StatusCode.ALREADY_EXISTS, code_pb2.ALREADY_EXISTS),
    "failed_precondition": (grpc.StatusCode.FAILED_PRECONDITION, code_pb2.FAILED_PRECONDITION),
    "permission_denied": (grpc.StatusCode.PERMISSION_DENIED, code_pb2.PERMISSION_DENIED),
    "unauthenticated": (grpc.StatusCode.UNAUTHENTICATED, code_pb2.UNAUTHENTICATED),
    "unavailable": (grpc.StatusCode.UNAVAILABLE, code_pb2.UNAVAILABLE),
    "internal": (grpc.StatusCode.INTERNAL, code_pb2.INTERNAL),
}


def status_for(error: DomainError) -> status_pb2.Status:
    """Rich gRPC status (google.rpc.Status) for a domain error; validation errors carry
    ``google.rpc.BadRequest`` field violations whose description is "rule (policy x.y)"."""
    _, code = _STATUS_BY_KIND.get(error.kind, _STATUS_BY_KIND["internal"])
    status = status_pb2.Status(code=code, message=error.message)
    if isinstance(error, InvalidArgument):
        detail = any_pb2.Any()
        detail.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=v.field,
                        description=v.rule,
                        reason=f"policy {v.policy}" if v.policy else "",
                    )
                    for v in error.violations
                ]
            )
        )
        status.details.append(detail)
    return status


class DomainErrorInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Maps ``DomainError`` raised by servicer methods to gRPC status codes with details,
    and logs anything else as an internal error (without request payloads: they may hold
    complainant identity)."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method

        async def _abort(context: grpc.aio.ServicerContext[Any, Any], exc: BaseException) -> None:
            if isinstance(exc, DomainError):
                await context.abort_with_status(rpc_status.to_status(status_for(exc)))
            log.exception("unhandled error in %s", method, exc_info=exc)
            await context.abort(grpc.StatusCode.INTERNAL, f"internal error in {method}")

        if handler.unary_unary:
            inner_uu = handler.unary_unary

            async def unary_unary(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
                try:
                    return await inner_uu(request, context)
                except grpc.aio.AbortError:
                    raise
                except Exception as exc:  # noqa: BLE001 - mapped to a status, never swallowed
                    await _abort(context, exc)

            return grpc.unary_unary_rpc_method_handler(
                unary_unary,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_unary:
            inner_su = handler.stream_unary

            async def stream_unary(request_iterator: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
                try:
                    return await inner_su(request_iterator, context)
                except grpc.aio.AbortError:
                    raise
                except Exception as exc:  # noqa: BLE001
                    await _abort(context, exc)

            return grpc.stream_unary_rpc_method_handler(
                stream_unary,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            inner_us = handler.unary_stream

            async def unary_stream(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
                try:
                    async for item in inner_us(request, context):
                        yield item
                except grpc.aio.AbortError:
                    raise
                except Exception as exc:  # noqa: BLE001
                    await _abort(context, exc)

            return grpc.unary_stream_rpc_method_handler(
                unary_stream,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler


@dataclass(frozen=True)
class ServiceRegistration:
    """One gRPC service to host: its fully-qualified name and how to add it."""

    full_name: str  # e.g. "bylaw.v1.CasesService"
    add_to_server: Callable[[Any, grpc.aio.Server], None]
    servicer: Any


async def build_server(
    registrations: Sequence[ServiceRegistration], bind: str
) -> tuple[grpc.aio.Server, health.aio.HealthServicer, int]:
    server = grpc.aio.server(
        interceptors=[DomainErrorInterceptor()],
        options=[
            ("grpc.max_receive_message_length", 32 * 1024 * 1024),
            ("grpc.so_reuseport", 0),
        ],
    )
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for reg in registrations:
        reg.add_to_server(reg.servicer, server)
    names = [reg.full_name for reg in registrations]
    reflection.enable_server_reflection([*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    port = server.add_insecure_port(bind)
    if port == 0:
        raise RuntimeError(f"could not bind gRPC server to {bind}")
    return server, health_servicer, port


async def set_serving(
    health_servicer: health.aio.HealthServicer, names: Iterable[str], serving: bool
) -> None:
    status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
    for name in ["", *names]:
        await health_servicer.set(name, status)


def install_stop_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


async def run_grpc_service(
    name: str,
    registrations: Sequence[ServiceRegistration],
    bind: str,
    *,
    background: Sequence[Callable[[asyncio.Event], Coroutine[Any, Any, None]]] = (),
    on_stop: Callable[[], Awaitable[None]] | None = None,
    grace: float = 10.0,
) -> None:
    """Serve until SIGTERM/SIGINT. ``background`` tasks (consumers, relays) get the stop
    event and are awaited after the server stops accepting calls."""
    stop = asyncio.Event()
    install_stop_signals(stop)
    server, health_servicer, port = await build_server(registrations, bind)
    await server.start()
    await set_serving(health_servicer, [r.full_name for r in registrations], True)
    tasks: list[asyncio.Task[None]] = [
        asyncio.create_task(task(stop), name=f"{name}-bg-{i}") for i, task in enumerate(background)
    ]
    log.info("%s gRPC listening", name, extra={"bind": bind, "port": port})
    waiter = asyncio.create_task(stop.wait())
    pending = {waiter, *tasks}
    # A background task that dies is fatal: the process exits and its supervisor restarts it
    # rather than serving with a dead consumer.
    done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    failed = [t for t in done if t is not waiter and t.exception() is not None]
    stop.set()
    log.info("%s stopping", name)
    await set_serving(health_servicer, [r.full_name for r in registrations], False)
    await server.stop(grace)
    for task in tasks:
        if not task.done():
            try:
                await asyncio.wait_for(task, timeout=grace)
            except TimeoutError:
                task.cancel()
    if on_stop is not None:
        await on_stop()
    log.info("%s stopped", name)
    if failed:
        raise RuntimeError(f"{name}: background task failed") from failed[0].exception()
