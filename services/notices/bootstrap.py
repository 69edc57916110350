"""Wiring of the notices service: PostgreSQL (schema ``notices``), the template catalogue
(verified at startup), the renderers, the evidence client and the gRPC server on
``BYLAW_NOTICES_PORT``."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import grpc
from bylaw.v1 import notices_pb2, notices_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.grpc_client import insecure_channel
from services.common.grpc_server import ServiceRegistration, run_grpc_service
from services.common.runtime import infrastructure
from services.common.settings import Settings
from services.notices.adapters.evidence_client import GrpcEvidenceStore
from services.notices.adapters.renderer import SandboxedHtmlRenderer, WeasyPdfRenderer
from services.notices.adapters.repository import SqlUnitOfWork
from services.notices.adapters.template_store import DEFAULT_TEMPLATES_DIR, load_catalogue
from services.notices.entrypoints.grpc_servicer import NoticesServicer
from services.notices.service_layer.services import NoticesService

SERVICE_NAME = notices_pb2.DESCRIPTOR.services_by_name["NoticesService"].full_name


def build_service(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    evidence_channel: grpc.aio.Channel,
    templates_dir: Path = DEFAULT_TEMPLATES_DIR,
) -> NoticesService:
    zone = ZoneInfo(settings.timezone)

    def today() -> date:
        # Letters are dated in the municipality's time zone, not the server's.
        return datetime.now(zone).date()

    catalogue = load_catalogue(templates_dir)
    html = SandboxedHtmlRenderer(
        templates_dir, catalogue, municipality=settings.municipality_name, today=today
    )
    html.verify()
    return NoticesService(
        uow=lambda: SqlUnitOfWork(sessions),
        catalogue=catalogue,
        html_renderer=html,
        pdf_renderer=WeasyPdfRenderer(),
        evidence=GrpcEvidenceStore(evidence_channel),
    )


def registration(service: NoticesService) -> ServiceRegistration:
    return ServiceRegistration(
        full_name=SERVICE_NAME,
        add_to_server=notices_pb2_grpc.add_NoticesServiceServicer_to_server,
        servicer=NoticesServicer(service),
    )


async def serve(settings: Settings) -> None:
    async with infrastructure("notices", settings, schema="notices", use_nats=False) as infra:
        channel = insecure_channel(settings.evidence_addr)
        service = build_service(settings, infra.require_sessions(), channel)
        await run_grpc_service(
            "notices",
            [registration(service)],
            f"{settings.grpc_bind_host}:{settings.notices_port}",
            on_stop=channel.close,
        )
