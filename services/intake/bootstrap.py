"""Wiring of the intake process: database (schema ``intake``, migrated at start), NATS,
the cases gRPC channel and the Temporal client (each opened once for the process
lifetime), the service layer, and what runs in it: the gRPC ``IntakeService``, the 311
consumer, the outbox relay, the sweep of unfinished complaints and the follower of case
status events.

The Service Level Matrix shipped in ``config/service_level_matrix.csv`` is loaded as the
first version when the database has none (policy 6.8.4; later versions come from the
Clerk through ``LoadServiceMatrix``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from bylaw.v1 import intake_pb2_grpc
from temporalio.client import Client

from services.common.grpc_client import insecure_channel
from services.common.grpc_server import ServiceRegistration, run_grpc_service
from services.common.outbox import OutboxRelay
from services.common.runtime import Infrastructure, infrastructure
from services.common.settings import Settings
from services.intake.adapters import orm
from services.intake.adapters.cases_client import GrpcCasesClient
from services.intake.adapters.repository import SqlComplaintRepository, SqlMatrixRepository
from services.intake.adapters.vault import VaultCipher
from services.intake.adapters.workflow_starter import TemporalWorkflowStarter
from services.intake.domain.matrix import SEED_COUNCIL_RESOLUTION, SEED_EFFECTIVE_DATE, SEED_VERSION_LABEL
from services.intake.entrypoints.case_events import CaseStatusFollower
from services.intake.entrypoints.grpc_servicer import SERVICE_NAME, IntakeServicer
from services.intake.entrypoints.nats_consumer import Complaints311Consumer
from services.intake.entrypoints.sweeper import UnfinishedSweeper
from services.intake.service_layer.intake import IntakeService
from services.intake.service_layer.reference import ReferenceData

SCHEMA = "intake"
DEFAULT_MATRIX_CSV = Path(__file__).resolve().parents[2] / "config" / "service_level_matrix.csv"

BackgroundTask = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


@dataclass
class IntakeApp:
    service: IntakeService
    servicer: IntakeServicer
    consumer: Complaints311Consumer
    relay: OutboxRelay
    sweeper: UnfinishedSweeper
    case_status: CaseStatusFollower
    cases_channel: grpc.aio.Channel

    def registrations(self) -> list[ServiceRegistration]:
        return [
            ServiceRegistration(
                SERVICE_NAME, intake_pb2_grpc.add_IntakeServiceServicer_to_server, self.servicer
            )
        ]

    def background(self) -> list[BackgroundTask]:
        return [self.consumer.run, self.relay.run, self.sweeper.run, self.case_status.run]

    async def close(self) -> None:
        await self.cases_channel.close()


async def build(
    infra: Infrastructure,
    *,
    temporal: Client | None = None,
    matrix_csv: Path = DEFAULT_MATRIX_CSV,
) -> IntakeApp:
    settings = infra.settings
    sessions = infra.require_sessions()
    js = infra.require_js()
    assert infra.engine is not None
    if temporal is None:
        # Lazy: intake serves reads and records complaints while Temporal is still coming
        # up; starts wait for it (the consumer naks meanwhile, the sweeper resumes).
        temporal = await Client.connect(
            settings.temporal_address, namespace=settings.temporal_namespace, lazy=True
        )
    cases_channel = insecure_channel(settings.cases_addr)
    matrices = SqlMatrixRepository(sessions)
    reference = ReferenceData(matrices, settings.timezone)
    service = IntakeService(
        SqlComplaintRepository(infra.engine, sessions, VaultCipher(settings.pii_key.get_secret_value())),
        matrices,
        reference,
        GrpcCasesClient(cases_channel),
        TemporalWorkflowStarter(temporal, settings.temporal_task_queue),
        timezone=settings.timezone,
    )
    await service.ensure_seed_matrix(
        await asyncio.to_thread(matrix_csv.read_text, encoding="utf-8"),
        SEED_VERSION_LABEL,
        SEED_EFFECTIVE_DATE,
        SEED_COUNCIL_RESOLUTION,
    )
    await reference.refresh()
    return IntakeApp(
        service=service,
        servicer=IntakeServicer(service),
        consumer=Complaints311Consumer(
            js,
            service,
            batch=settings.intake_consumer_batch,
            concurrency=settings.intake_consumer_concurrency,
        ),
        relay=OutboxRelay(infra.engine, orm.outbox, js, settings.database_url),
        sweeper=UnfinishedSweeper(service),
        case_status=CaseStatusFollower(js, service),
        cases_channel=cases_channel,
    )


def with_pool_for_consumer(settings: Settings) -> Settings:
    """Each complaint in flight holds a database connection for its short transactions;
    a pool smaller than the consumer's concurrency makes the overflow connections open
    and close constantly under load (measured: most of the 311 path's time)."""
    needed = settings.intake_consumer_concurrency + 4  # + gRPC calls, relay, sweeper
    if settings.db_pool_size >= needed:
        return settings
    return settings.model_copy(update={"db_pool_size": needed})


async def serve(settings: Settings) -> None:
    settings = with_pool_for_consumer(settings)
    async with infrastructure("intake", settings, schema=SCHEMA) as infra:
        app = await build(infra)
        await run_grpc_service(
            "intake",
            app.registrations(),
            f"{settings.grpc_bind_host}:{settings.intake_port}",
            background=app.background(),
            on_stop=app.close,
        )
