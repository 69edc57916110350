"""Readiness probing of everything the gateway needs: each gRPC service through
``grpc.health.v1`` and Temporal through its own health check, all at once with short
deadlines so ``/healthz`` answers quickly even when something hangs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2

from services.gateway.clients import GRPC_SERVICES, GatewayClients

GRPC_PROBE_TIMEOUT = 1.0
# Temporal's first probe may also have to dial and handshake.
TEMPORAL_PROBE_TIMEOUT = 2.0


@dataclass(frozen=True, slots=True)
class DependencyState:
    name: str
    up: bool
    detail: str  # "serving", or why not (status name / error), never a payload
    latency_ms: float


async def _timed(name: str, probe: Callable[[], Awaitable[str]], within: float) -> DependencyState:
    started = time.perf_counter()
    try:
        detail = await asyncio.wait_for(probe(), within)
        up = detail == "serving"
    except grpc.aio.AioRpcError as exc:
        up, detail = False, exc.code().name.lower()
    except TimeoutError:
        up, detail = False, f"no answer within {within:g}s"
    except Exception as exc:  # noqa: BLE001 - a probe reports any failure as "down"
        up, detail = False, type(exc).__name__
    return DependencyState(name, up, detail, round((time.perf_counter() - started) * 1000, 1))


async def probe_dependencies(
    clients: GatewayClients,
    *,
    grpc_timeout: float = GRPC_PROBE_TIMEOUT,
    temporal_timeout: float = TEMPORAL_PROBE_TIMEOUT,
) -> list[DependencyState]:
    def grpc_probe(name: str) -> Callable[[], Awaitable[str]]:
        async def probe() -> str:
            reply = await clients.health[name].Check(
                health_pb2.HealthCheckRequest(service=GRPC_SERVICES[name]), timeout=grpc_timeout
            )
            return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)).lower()

        return probe

    async def temporal_probe() -> str:
        await clients.temporal.check(temporal_timeout)
        return "serving"

    probes = [_timed(name, grpc_probe(name), grpc_timeout + 0.5) for name in GRPC_SERVICES]
    probes.append(_timed("temporal", temporal_probe, temporal_timeout + 0.5))
    return list(await asyncio.gather(*probes))
