"""Wiring of the reporting service: PostgreSQL (schema ``reporting``), NATS (the durable
``reporting`` consumer of ``bylaw.events.>``) and the gRPC server on
``BYLAW_REPORTING_PORT``."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bylaw.v1 import reporting_pb2, reporting_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.grpc_server import ServiceRegistration, run_grpc_service
from services.common.runtime import infrastructure
from services.common.settings import Settings
from services.reporting.adapters.labels import load_service_labels
from services.reporting.adapters.repository import SqlUnitOfWork
from services.reporting.entrypoints.event_consumer import EventConsumer
from services.reporting.entrypoints.grpc_servicer import ReportingServicer
from services.reporting.service_layer.services import ReportingService

SERVICE_NAME = reporting_pb2.DESCRIPTOR.services_by_name["ReportingService"].full_name


def build_service(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> ReportingService:
    return ReportingService(
        uow=lambda snapshot=False: SqlUnitOfWork(sessions, snapshot=snapshot),
        service_labels=load_service_labels(),
        zone=ZoneInfo(settings.timezone),
    )


def registration(service: ReportingService) -> ServiceRegistration:
    return ServiceRegistration(
        full_name=SERVICE_NAME,
        add_to_server=reporting_pb2_grpc.add_ReportingServiceServicer_to_server,
        servicer=ReportingServicer(service),
    )


async def serve(settings: Settings) -> None:
    async with infrastructure("reporting", settings, schema="reporting") as infra:
        service = build_service(settings, infra.require_sessions())
        consumer = EventConsumer(infra.require_js(), service)
        await run_grpc_service(
            "reporting",
            [registration(service)],
            f"{settings.grpc_bind_host}:{settings.reporting_port}",
            background=[consumer.run],
        )
