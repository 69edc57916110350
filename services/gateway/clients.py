"""The gateway's connections: one ``grpc.aio`` channel and stub per service, their health
stubs, and a lazily connected Temporal client for staff actions (signals, updates, queries).

``create_app`` builds these from settings at startup; tests pass their own instance
pointing at in-process fake servers.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol, cast

import grpc
from bylaw.v1 import (
    cases_pb2_grpc,
    evidence_pb2_grpc,
    intake_pb2_grpc,
    notices_pb2_grpc,
    reporting_pb2_grpc,
)
from grpc_health.v1 import health_pb2_grpc
from temporalio.client import Client as TemporalClient

from services.common.grpc_client import insecure_channel
from services.common.settings import Settings

if TYPE_CHECKING:
    from bylaw.v1.cases_pb2_grpc import CasesServiceAsyncStub
    from bylaw.v1.evidence_pb2_grpc import EvidenceServiceAsyncStub
    from bylaw.v1.intake_pb2_grpc import IntakeServiceAsyncStub
    from bylaw.v1.notices_pb2_grpc import NoticesServiceAsyncStub
    from bylaw.v1.reporting_pb2_grpc import ReportingServiceAsyncStub

# The gRPC services the gateway needs, by the name /healthz reports, with the fully
# qualified name each server registers with grpc.health.v1.
GRPC_SERVICES: dict[str, str] = {
    "intake": "bylaw.v1.IntakeService",
    "cases": "bylaw.v1.CasesService",
    "evidence": "bylaw.v1.EvidenceService",
    "notices": "bylaw.v1.NoticesService",
    "reporting": "bylaw.v1.ReportingService",
}

# Per-call deadlines (seconds). Submissions start a workflow behind the scenes, so they get longer.
READ_TIMEOUT = 10.0
WRITE_TIMEOUT = 20.0


class TemporalAccess(Protocol):
    """What the gateway needs from Temporal: a client for staff actions and a probe."""

    async def client(self) -> TemporalClient: ...

    async def check(self, within: float) -> None:
        """Return when Temporal answers its health check; raise otherwise."""


class TemporalConnector:
    """Connects to Temporal on first use, so the gateway starts (and reports itself
    unhealthy) while Temporal is still coming up instead of failing to boot."""

    def __init__(self, address: str, namespace: str) -> None:
        self.address = address
        self.namespace = namespace
        self._client: TemporalClient | None = None
        self._lock = asyncio.Lock()

    async def client(self) -> TemporalClient:
        async with self._lock:
            if self._client is None:
                self._client = await TemporalClient.connect(self.address, namespace=self.namespace)
            return self._client

    async def check(self, within: float) -> None:
        try:
            client = await asyncio.wait_for(self.client(), within)
            ok = await client.service_client.check_health(timeout=timedelta(seconds=within), retry=False)
        except BaseException:
            # Forget a client whose connection failed so the next call dials afresh.
            self._client = None
            raise
        if not ok:
            raise RuntimeError("Temporal reports itself not serving")


@dataclass
class GatewayClients:
    intake: IntakeServiceAsyncStub
    cases: CasesServiceAsyncStub
    evidence: EvidenceServiceAsyncStub
    notices: NoticesServiceAsyncStub
    reporting: ReportingServiceAsyncStub
    # grpc.health.v1 stubs keyed like GRPC_SERVICES.
    health: dict[str, health_pb2_grpc.HealthStub]
    temporal: TemporalAccess
    channels: list[grpc.aio.Channel] = field(default_factory=list)

    @classmethod
    def from_addresses(
        cls,
        *,
        intake: str,
        cases: str,
        evidence: str,
        notices: str,
        reporting: str,
        temporal: TemporalAccess,
    ) -> GatewayClients:
        """Channels to each service address. Must be called inside the event loop that
        will use them (grpc.aio binds a channel to its loop)."""
        addresses = {
            "intake": intake,
            "cases": cases,
            "evidence": evidence,
            "notices": notices,
            "reporting": reporting,
        }
        channels = {name: insecure_channel(addr) for name, addr in addresses.items()}
        # The generated stubs are typed for sync channels; with a grpc.aio channel every
        # method returns an awaitable (the *AsyncStub view).
        intake_stub = cast("IntakeServiceAsyncStub", intake_pb2_grpc.IntakeServiceStub(channels["intake"]))
        cases_stub = cast("CasesServiceAsyncStub", cases_pb2_grpc.CasesServiceStub(channels["cases"]))
        evidence_stub = cast(
            "EvidenceServiceAsyncStub", evidence_pb2_grpc.EvidenceServiceStub(channels["evidence"])
        )
        notices_stub = cast(
            "NoticesServiceAsyncStub", notices_pb2_grpc.NoticesServiceStub(channels["notices"])
        )
        reporting_stub = cast(
            "ReportingServiceAsyncStub", reporting_pb2_grpc.ReportingServiceStub(channels["reporting"])
        )
        return cls(
            intake=intake_stub,
            cases=cases_stub,
            evidence=evidence_stub,
            notices=notices_stub,
            reporting=reporting_stub,
            health={name: health_pb2_grpc.HealthStub(ch) for name, ch in channels.items()},
            temporal=temporal,
            channels=list(channels.values()),
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> GatewayClients:
        return cls.from_addresses(
            intake=settings.intake_addr,
            cases=settings.cases_addr,
            evidence=settings.evidence_addr,
            notices=settings.notices_addr,
            reporting=settings.reporting_addr,
            temporal=TemporalConnector(settings.temporal_address, settings.temporal_namespace),
        )

    async def close(self, grace: float = 5.0) -> None:
        """Close the channels, letting in-flight calls finish for ``grace`` seconds."""
        for channel in self.channels:
            with contextlib.suppress(Exception):
                await channel.close(grace)
