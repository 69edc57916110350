"""Wiring of the cases service: database (migrated at startup), unit of work, use cases,
gRPC servicer and the outbox relay that publishes ``bylaw.events.case.*`` to JetStream.

``serve`` is what ``python -m services.cases`` runs; ``CasesApp`` is the same wiring for
callers that host the servicer themselves (the integration tests).
"""

from __future__ import annotations

from dataclasses import dataclass

from bylaw.v1 import cases_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.cases.adapters.lifecycle_repository import SqlLifecycleUnitOfWork
from services.cases.adapters.orm import outbox
from services.cases.adapters.reference import load_reference
from services.cases.adapters.remediation_repository import SqlRemediationUnitOfWork
from services.cases.adapters.repository import SqlUnitOfWork
from services.cases.config import CasesSettings
from services.cases.entrypoints.grpc_servicer import CasesServicer
from services.cases.entrypoints.lifecycle_servicer import LifecycleRpcs
from services.cases.entrypoints.remediation_servicer import CasesServicerWithRemediation
from services.cases.service_layer.lifecycle import LifecycleService
from services.cases.service_layer.remediation import RemediationService
from services.cases.service_layer.services import CasesService
from services.common.grpc_server import ServiceRegistration, run_grpc_service
from services.common.outbox import OutboxRelay
from services.common.runtime import Infrastructure, infrastructure
from services.common.settings import Settings

SERVICE_NAME = "bylaw.v1.CasesService"


@dataclass
class CasesApp:
    service: CasesService
    servicer: CasesServicer
    relay: OutboxRelay
    remediation: RemediationService
    lifecycle: LifecycleService

    @property
    def registration(self) -> ServiceRegistration:
        return ServiceRegistration(
            SERVICE_NAME, cases_pb2_grpc.add_CasesServiceServicer_to_server, self.servicer
        )


def build_service(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cases_settings: CasesSettings | None = None,
) -> CasesService:
    policy = (cases_settings or CasesSettings()).policy(settings.timezone)
    return CasesService(lambda: SqlUnitOfWork(sessions), policy)


def build_remediation_service(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cases_settings: CasesSettings | None = None,
) -> RemediationService:
    policy = (cases_settings or CasesSettings()).remediation_policy(settings.timezone)
    return RemediationService(lambda: SqlRemediationUnitOfWork(sessions), policy)


def build_lifecycle_service(
    sessions: async_sessionmaker[AsyncSession], cases_settings: CasesSettings | None = None
) -> LifecycleService:
    config = cases_settings or CasesSettings()
    # Checklists and set fines are read (and checked) once, at startup.
    reference = load_reference(config.checklists_dir, config.set_fines_file)
    return LifecycleService(lambda: SqlLifecycleUnitOfWork(sessions), reference)


class CasesGrpcServicer(LifecycleRpcs, CasesServicerWithRemediation):
    """Every RPC of ``bylaw.v1.CasesService``: the case, remediation and lifecycle ones."""

    def __init__(
        self, service: CasesService, remediation: RemediationService, lifecycle: LifecycleService
    ) -> None:
        super().__init__(service, remediation)
        self.lifecycle = lifecycle


def build_app(infra: Infrastructure, cases_settings: CasesSettings | None = None) -> CasesApp:
    service = build_service(infra.require_sessions(), infra.settings, cases_settings)
    engine: AsyncEngine | None = infra.engine
    assert engine is not None
    relay = OutboxRelay(engine, outbox, infra.require_js(), infra.settings.database_url)
    remediation = build_remediation_service(infra.require_sessions(), infra.settings, cases_settings)
    lifecycle = build_lifecycle_service(infra.require_sessions(), cases_settings)
    servicer = CasesGrpcServicer(service, remediation, lifecycle)
    return CasesApp(service, servicer, relay, remediation, lifecycle)


async def serve(settings: Settings) -> None:
    async with infrastructure("cases", settings, schema="cases") as infra:
        app = build_app(infra)
        await run_grpc_service(
            "cases",
            [app.registration],
            f"{settings.grpc_bind_host}:{settings.cases_port}",
            background=[app.relay.run],
        )
