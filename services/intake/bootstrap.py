"""Wiring of the intake process: database (schema ``intake``, migrated at start), NATS,
the cases gRPC channel and the Temporal client (each opened once for the process
lifetime), the service layer, and what runs in it: the gRPC ``IntakeService``, the 311
consumer and the eraser of processed 311 requests, the outbox relay, the sweeps (unfinished
complaints; overdue acknowledgements, workflow signals and pending case closures) and the
follower of case status events.

The Service Level Matrix shipped in ``config/service_level_matrix.csv`` is loaded as the
first version when the database has none (policy 6.8.4; later versions come from the
Clerk through ``LoadServiceMatrix``). The SLA targets and the referral-only services are
read from ``config/`` (``services.intake.settings.IntakeSettings``) and checked at start: a
bad file stops the process rather than classify with it.
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
from services.intake.adapters.repository import (
    SqlComplaintRepository,
    SqlDeadLetterRepository,
    SqlMatrixRepository,
)
from services.intake.adapters.vault import VaultCipher
from services.intake.adapters.workflow_starter import TemporalWorkflowStarter
from services.intake.domain.matrix import (
    SEED_COUNCIL_RESOLUTION,
    SEED_EFFECTIVE_DATE,
    SEED_VERSION_LABEL,
    parse_matrix_csv,
)
from services.intake.domain.referral import parse_referral_services
from services.intake.domain.sla import parse_sla_targets
from services.intake.entrypoints.case_events import CaseStatusFollower
from services.intake.entrypoints.feed_log import FeedActivityLog
from services.intake.entrypoints.grpc_servicer import SERVICE_NAME, IntakeServicer
from services.intake.entrypoints.nats_consumer import DURABLE, Complaints311Consumer
from services.intake.entrypoints.open311_message import decode_311
from services.intake.entrypoints.stream_eraser import StreamEraser
from services.intake.entrypoints.sweeper import AcknowledgementSweeper, UnfinishedSweeper
from services.intake.service_layer.acknowledgements import Acknowledgements
from services.intake.service_layer.dead_letters import DeadLetters
from services.intake.service_layer.intake import IntakeService
from services.intake.service_layer.marking import Marking
from services.intake.service_layer.reference import ReferenceData
from services.intake.settings import IntakeSettings
from workflows.lifecycle_config import load_config as load_lifecycle_config

SCHEMA = "intake"
DEFAULT_MATRIX_CSV = Path(__file__).resolve().parents[2] / "config" / "service_level_matrix.csv"

BackgroundTask = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


@dataclass
class IntakeApp:
    service: IntakeService
    acknowledgements: Acknowledgements
    marking: Marking
    dead_letters: DeadLetters
    servicer: IntakeServicer
    consumer: Complaints311Consumer
    eraser: StreamEraser
    relay: OutboxRelay
    sweeper: UnfinishedSweeper
    ack_sweeper: AcknowledgementSweeper
    case_status: CaseStatusFollower
    feed_log: FeedActivityLog
    cases_channel: grpc.aio.Channel

    def registrations(self) -> list[ServiceRegistration]:
        return [
            ServiceRegistration(
                SERVICE_NAME, intake_pb2_grpc.add_IntakeServiceServicer_to_server, self.servicer
            )
        ]

    def background(self) -> list[BackgroundTask]:
        return [
            self.consumer.run,
            self.eraser.run,
            self.relay.run,
            self.sweeper.run,
            self.ack_sweeper.run,
            self.case_status.run,
            self.feed_log.run,
        ]

    async def close(self) -> None:
        await self.cases_channel.close()


async def build(
    infra: Infrastructure,
    *,
    temporal: Client | None = None,
    matrix_csv: Path = DEFAULT_MATRIX_CSV,
    intake_settings: IntakeSettings | None = None,
) -> IntakeApp:
    settings = infra.settings
    own = intake_settings or IntakeSettings()
    sessions = infra.require_sessions()
    js = infra.require_js()
    assert infra.engine is not None
    if temporal is None:
        # Lazy: intake serves reads and records complaints while Temporal is still coming
        # up; starts wait for it (the consumer naks meanwhile, the sweeper resumes).
        temporal = await Client.connect(
            settings.temporal_address, namespace=settings.temporal_namespace, lazy=True
        )
    matrix_text = await asyncio.to_thread(matrix_csv.read_text, encoding="utf-8")
    sla = parse_sla_targets(await asyncio.to_thread(own.sla_file.read_text, encoding="utf-8"))
    referrals = parse_referral_services(
        await asyncio.to_thread(own.referral_file.read_text, encoding="utf-8"),
        # Codes of the shipped matrix; a later version is checked when it is loaded.
        matrix_codes=[e.service_code for e in parse_matrix_csv(matrix_text)],
    )
    cases_channel = insecure_channel(settings.cases_addr)
    cipher = VaultCipher(settings.pii_key.get_secret_value())
    matrices = SqlMatrixRepository(sessions)
    reference = ReferenceData(matrices, settings.timezone)
    complaints = SqlComplaintRepository(infra.engine, sessions, cipher)
    workflows = TemporalWorkflowStarter(temporal, settings.temporal_task_queue)
    cases = GrpcCasesClient(cases_channel)
    service = IntakeService(
        complaints,
        matrices,
        reference,
        cases,
        workflows,
        sla=sla,
        lifecycle=await asyncio.to_thread(load_lifecycle_config, own.sla_file),
        referrals=referrals,
        timezone=settings.timezone,
    )
    await service.ensure_seed_matrix(
        matrix_text, SEED_VERSION_LABEL, SEED_EFFECTIVE_DATE, SEED_COUNCIL_RESOLUTION
    )
    await reference.refresh()
    acknowledgements = Acknowledgements(complaints, workflows)
    marking = Marking(complaints, workflows)
    dead_letters = DeadLetters(SqlDeadLetterRepository(sessions, cipher), service, decode_311)
    eraser = StreamEraser(js, DURABLE, interval=own.erase_sweep_seconds)
    consumer = Complaints311Consumer(
        js,
        service,
        dead_letters,
        eraser=eraser,
        batch=settings.intake_consumer_batch,
        concurrency=settings.intake_consumer_concurrency,
    )
    batching = {
        "complaint inserts": complaints.inserts.stats,
        "complaint finishes": complaints.finishes.stats,
        "OpenCases": cases.batches.stats,
    }
    return IntakeApp(
        service=service,
        acknowledgements=acknowledgements,
        marking=marking,
        dead_letters=dead_letters,
        servicer=IntakeServicer(service, acknowledgements, marking, dead_letters),
        consumer=consumer,
        eraser=eraser,
        relay=OutboxRelay(infra.engine, orm.outbox, js, settings.database_url),
        sweeper=UnfinishedSweeper(service),
        ack_sweeper=AcknowledgementSweeper(acknowledgements, marking, interval=own.ack_sweep_seconds),
        case_status=CaseStatusFollower(js, service),
        feed_log=FeedActivityLog(consumer.stats, batching),
        cases_channel=cases_channel,
    )


def with_pool_for_consumer(settings: Settings) -> Settings:
    """The statements every complaint runs go out in group-committed batches on a few
    connections, but a referral, a rejection or a replayed complaint takes its own short
    transaction; a pool much smaller than the number of those in flight would make the
    overflow connections open and close constantly under load. Past 32 in flight the
    batches carry the load, so the pool stops growing with the concurrency."""
    needed = min(settings.intake_consumer_concurrency, 32) + 4  # + gRPC calls, relay, sweeper
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
