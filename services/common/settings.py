"""Typed settings read from the environment (prefix ``BYLAW_``).

One class for the whole system so a deployment has one list of variables to set
(docker-compose and the Kubernetes manifests are checked against it). Secrets have
development defaults that are refused outside ``BYLAW_ENV=dev``/``test``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_PII_KEY = "dev-only-pii-key-change-me-0123456789abcdef"
DEV_JWT_SECRET = "dev-only-jwt-secret-change-me-0123456789"  # noqa: S105 - refused outside dev/test
DEV_S3_SECRET = "bylaw-dev-secret"  # noqa: S105 - refused outside dev/test


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BYLAW_", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    log_level: str = "INFO"
    log_json: bool = False
    # Event loop of every service process and the worker: uvloop (libuv) costs less CPU per
    # I/O wake-up than asyncio's own loop; "asyncio" is the fallback where uvloop is absent.
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"

    # Infrastructure
    database_url: str = "postgresql+psycopg://bylaw@127.0.0.1:5432/bylaw"
    db_pool_size: int = 10
    nats_url: str = "nats://127.0.0.1:4222"
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "case-lifecycle"
    # The worker runs workflow code in temporalio's sandbox, which guards against
    # non-deterministic calls and state leaking between runs. Off, each new case costs
    # the worker about 3 ms of CPU instead of 8 (tests/bench/test_intake_throughput.py):
    # for a Town at 311 volume that has run the suite, which always runs the sandbox.
    workflow_sandbox: bool = True
    s3_endpoint: str = "127.0.0.1:9000"
    s3_access_key: str = "bylaw"
    s3_secret_key: SecretStr = SecretStr(DEV_S3_SECRET)
    s3_secure: bool = False
    s3_region: str = "us-east-1"
    s3_bucket: str = "bylaw-evidence"
    # Public base URL for presigned links when the S3 endpoint seen by browsers differs.
    s3_public_endpoint: str = ""

    # gRPC: where each service listens (bind) and where clients find it (addr).
    grpc_bind_host: str = "127.0.0.1"
    intake_port: int = 50051
    cases_port: int = 50052
    evidence_port: int = 50053
    notices_port: int = 50054
    reporting_port: int = 50055
    intake_addr: str = "127.0.0.1:50051"
    cases_addr: str = "127.0.0.1:50052"
    evidence_addr: str = "127.0.0.1:50053"
    notices_addr: str = "127.0.0.1:50054"
    reporting_addr: str = "127.0.0.1:50055"

    # Gateway
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    public_base_url: str = "http://127.0.0.1:8000"
    temporal_ui_url: str = "http://127.0.0.1:8233"

    # Auth: OIDC issuer with JWKS in production; a shared HS256 secret in dev.
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_issuer: str = "bylaw-dev"
    jwt_audience: str = "bylaw"
    oidc_jwks_url: str = ""

    # Complainant vault: key for column-level encryption of identity (policy 6.3).
    pii_key: SecretStr = SecretStr(DEV_PII_KEY)

    # Intake NATS consumer. Complaints in flight at once: their statements and cases calls
    # are batched (services.common.coalesce), so many in flight means large batches, and
    # the stages of different batches overlap (tests/bench/test_intake_throughput.py:
    # 32 → 80, 128 → 108, 256 → 113 complaints/s on 2 cores; later, with OpenCases in one
    # transaction, 256 → 512 took the CPU per complaint from 15.9 to 14.0 ms in 3 rounds of
    # 1,500). The broker's max_ack_pending (1,024) caps what is fetched and unacked.
    intake_consumer_batch: int = 128
    intake_consumer_concurrency: int = 512

    municipality_name: str = "Town of Greater Napanee"
    timezone: str = "America/Toronto"

    @model_validator(mode="after")
    def _refuse_dev_secrets_outside_dev(self) -> Settings:
        if self.env in ("dev", "test"):
            return self
        offenders = [
            name
            for name, value, default in (
                ("BYLAW_PII_KEY", self.pii_key, DEV_PII_KEY),
                ("BYLAW_S3_SECRET_KEY", self.s3_secret_key, DEV_S3_SECRET),
            )
            if value.get_secret_value() == default
        ]
        if not self.oidc_jwks_url and self.jwt_secret.get_secret_value() == DEV_JWT_SECRET:
            offenders.append("BYLAW_JWT_SECRET (or set BYLAW_OIDC_JWKS_URL)")
        if offenders:
            raise ValueError(
                f"BYLAW_ENV={self.env} refuses development default secrets: {', '.join(offenders)}"
            )
        return self

    def sync_database_url(self) -> str:
        """URL for synchronous tools (Alembic); same driver, psycopg 3 does both."""
        return self.database_url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
