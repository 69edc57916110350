"""An in-process evidence service on real PostgreSQL and S3, for integration tests of the
evidence service itself and of services that store through it (notices)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import grpc
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from bylaw.v1 import evidence_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pydantic import SecretStr
from sqlalchemy import MetaData, create_engine
from sqlalchemy.pool import NullPool

from services.common import db
from services.common.grpc_client import insecure_channel
from services.common.grpc_server import build_server
from services.common.settings import Settings
from services.evidence.bootstrap import build_service, registration
from services.evidence.service_layer.services import EvidenceService
from tests import infra


def evidence_settings(database_url: str, s3: infra.S3, **overrides: object) -> Settings:
    return Settings(
        env="test",
        database_url=database_url,
        s3_endpoint=s3.endpoint,
        s3_access_key=s3.access_key,
        s3_secret_key=SecretStr(s3.secret_key),
        s3_secure=False,
        **overrides,  # type: ignore[arg-type]
    )


@dataclass
class RunningEvidence:
    address: str
    stub: evidence_pb2_grpc.EvidenceServiceStub
    service: EvidenceService
    settings: Settings


@asynccontextmanager
async def running_evidence(settings: Settings) -> AsyncIterator[RunningEvidence]:
    """Migrate, ensure the bucket and serve the evidence gRPC API on a free local port."""
    await db.migrate("evidence", settings.database_url)
    engine = db.make_engine(settings.database_url, pool_size=4, application_name="evidence-test")
    service = build_service(settings, db.make_session_factory(engine))
    await service.store.ensure_bucket()
    server, _, port = await build_server([registration(service)], "127.0.0.1:0")
    await server.start()
    address = f"127.0.0.1:{port}"
    channel: grpc.aio.Channel = insecure_channel(address)
    try:
        yield RunningEvidence(address, evidence_pb2_grpc.EvidenceServiceStub(channel), service, settings)
    finally:
        await channel.close()
        await server.stop(None)
        await engine.dispose()


def migration_drift(schema: str, metadata: MetaData, database_url: str) -> list[object]:
    """Differences between a service's models and its migrated schema (empty when the
    migrations create exactly what the ORM declares)."""
    db.migrate_sync(schema, database_url)
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "include_schemas": True,
                    "include_name": lambda name, type_, parent: (
                        name == schema if type_ == "schema" else name != "alembic_version"
                    ),
                    "compare_type": True,
                },
            )
            diffs = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    return list(diffs)


def wait_serving(address: str, service: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{service} not serving at {address}")
            time.sleep(0.2)
