"""Wiring of the evidence service: PostgreSQL (schema ``evidence``), the S3 bucket, the
use cases and the gRPC server on ``BYLAW_EVIDENCE_PORT``."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bylaw.v1 import evidence_pb2, evidence_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.grpc_server import ServiceRegistration, run_grpc_service
from services.common.runtime import infrastructure
from services.common.settings import Settings
from services.evidence.adapters.exif_reader import PillowExifReader
from services.evidence.adapters.object_store import MinioObjectStore
from services.evidence.adapters.repository import SqlUnitOfWork
from services.evidence.entrypoints.grpc_servicer import EvidenceServicer
from services.evidence.service_layer.services import EvidenceService

SERVICE_NAME = evidence_pb2.DESCRIPTOR.services_by_name["EvidenceService"].full_name


def build_service(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> EvidenceService:
    return EvidenceService(
        uow=lambda: SqlUnitOfWork(sessions),
        store=MinioObjectStore(settings),
        read_photo_metadata=PillowExifReader(ZoneInfo(settings.timezone)),
    )


def registration(service: EvidenceService) -> ServiceRegistration:
    return ServiceRegistration(
        full_name=SERVICE_NAME,
        add_to_server=evidence_pb2_grpc.add_EvidenceServiceServicer_to_server,
        servicer=EvidenceServicer(service),
    )


async def serve(settings: Settings) -> None:
    async with infrastructure("evidence", settings, schema="evidence", use_nats=False) as infra:
        service = build_service(settings, infra.require_sessions())
        await service.store.ensure_bucket()
        await run_grpc_service(
            "evidence",
            [registration(service)],
            f"{settings.grpc_bind_host}:{settings.evidence_port}",
        )
