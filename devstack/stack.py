"""The whole system on one machine: infrastructure servers (unless provided by the
environment), the five gRPC services, the Temporal worker and the gateway.

Used by ``make run`` (``python -m devstack run``) and by the end-to-end tests, which start
it on free ports in a temporary directory.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from devstack import servers
from devstack.processes import ManagedProcess, Supervisor, free_port, port_open
from services.common.healthcheck import check_grpc, check_http, worker_polling
from workflows.contracts import TASK_QUEUE

GRPC_SERVICES = ("cases", "intake", "evidence", "notices", "reporting")
GRPC_SERVICE_NAMES = {
    "cases": "bylaw.v1.CasesService",
    "intake": "bylaw.v1.IntakeService",
    "evidence": "bylaw.v1.EvidenceService",
    "notices": "bylaw.v1.NoticesService",
    "reporting": "bylaw.v1.ReportingService",
}


@dataclass
class StackPorts:
    """Defaults are DESIGN.md section 3's; tests use ``StackPorts.free()``."""

    postgres: int = 5432
    nats: int = 4222
    nats_monitor: int = 8222
    temporal: int = 7233
    temporal_ui: int = 8233
    temporal_http: int = 7243
    temporal_metrics: int = 7244
    s3: int = 9000
    gateway: int = 8000
    grpc: dict[str, int] = field(
        default_factory=lambda: {
            "intake": 50051,
            "cases": 50052,
            "evidence": 50053,
            "notices": 50054,
            "reporting": 50055,
        }
    )

    @classmethod
    def free(cls) -> StackPorts:
        return cls(
            postgres=free_port(),
            nats=free_port(),
            nats_monitor=free_port(),
            temporal=free_port(),
            temporal_ui=free_port(),
            temporal_http=free_port(),
            temporal_metrics=free_port(),
            s3=free_port(),
            gateway=free_port(),
            grpc={name: free_port() for name in GRPC_SERVICES},
        )

    @classmethod
    def from_env(cls) -> StackPorts:
        """Defaults, overridable with BYLAW_<NAME>_PORT for the embedded servers."""
        ports = cls()
        for name in ("postgres", "nats", "nats_monitor", "temporal", "temporal_ui", "s3", "gateway"):
            if value := os.environ.get(f"BYLAW_EMBEDDED_{name.upper()}_PORT"):
                setattr(ports, name, int(value))
        if value := os.environ.get("BYLAW_GATEWAY_PORT"):
            ports.gateway = int(value)
        for name in GRPC_SERVICES:
            if value := os.environ.get(f"BYLAW_{name.upper()}_PORT"):
                ports.grpc[name] = int(value)
        return ports


@dataclass
class External:
    """Infrastructure the environment already provides (used instead of starting one)."""

    database_url: str | None = None
    nats_url: str | None = None
    temporal_address: str | None = None
    s3_endpoint: str | None = None

    @classmethod
    def from_env(cls) -> External:
        return cls(
            database_url=os.environ.get("BYLAW_DATABASE_URL"),
            nats_url=os.environ.get("BYLAW_NATS_URL"),
            temporal_address=os.environ.get("BYLAW_TEMPORAL_ADDRESS"),
            s3_endpoint=os.environ.get("BYLAW_S3_ENDPOINT"),
        )


def _grpc_serving(address: str, service: str) -> bool:
    return check_grpc(address, service)


def _worker_polling(address: str, namespace: str = "default") -> bool:
    """Ready once a worker polls the case-lifecycle workflow task queue."""
    return asyncio.run(worker_polling(address, namespace, TASK_QUEUE))


def _http_ok(url: str) -> bool:
    try:
        return check_http(url)
    except (urllib.error.URLError, OSError):
        return False


Progress = Callable[[str], None]


class Stack:
    def __init__(
        self,
        data_dir: Path,
        ports: StackPorts,
        *,
        external: External | None = None,
        temporal_ui: bool = True,
        extra_env: dict[str, str] | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.ports = ports
        self.external = external or External()
        self.temporal_ui = temporal_ui
        self.extra_env = extra_env or {}
        self.progress = progress or (lambda msg: None)
        self.supervisor = Supervisor()
        self.env: dict[str, str] = {}
        self.logs = self.data_dir / "logs"

    # ------------------------------------------------------------ infrastructure

    def _check_ports_free(self, wanted: dict[str, int]) -> None:
        taken = {name: port for name, port in wanted.items() if port_open("127.0.0.1", port, timeout=0.2)}
        if taken:
            detail = ", ".join(f"{name} port {port}" for name, port in taken.items())
            raise SystemExit(
                f"cannot start: {detail} already in use (another `make run`?). "
                "Stop it, or choose other ports with BYLAW_EMBEDDED_<NAME>_PORT / BYLAW_<SERVICE>_PORT."
            )

    def start_infrastructure(self) -> None:
        ext = self.external
        to_start: list[ManagedProcess] = []
        wanted: dict[str, int] = {}
        pg_cfg = None
        if ext.database_url is None:
            pg_cfg = servers.PostgresConfig(self.data_dir / "postgres", self.ports.postgres)
            to_start.append(servers.postgres(pg_cfg, self.logs / "postgres.log"))
            wanted["postgres"] = self.ports.postgres
        if ext.nats_url is None:
            nats_cfg = servers.NatsConfig(self.data_dir / "nats", self.ports.nats, self.ports.nats_monitor)
            to_start.append(servers.nats(nats_cfg, self.logs / "nats.log"))
            wanted |= {"nats": self.ports.nats, "nats monitor": self.ports.nats_monitor}
        if ext.temporal_address is None:
            t_cfg = servers.TemporalConfig(
                self.data_dir / "temporal" / "temporal.db",
                self.ports.temporal,
                self.ports.temporal_ui,
                self.ports.temporal_http,
                self.ports.temporal_metrics,
                ui=self.temporal_ui,
            )
            to_start.append(servers.temporal(t_cfg, self.logs / "temporal.log"))
            wanted |= {"temporal": self.ports.temporal, "temporal http": self.ports.temporal_http}
            if self.temporal_ui:
                wanted["temporal ui"] = self.ports.temporal_ui
        s3_secret = None
        if ext.s3_endpoint is None:
            s3_secret = self._embedded_s3_secret()
            s3_cfg = servers.S3Config(self.data_dir / "s3", self.ports.s3, "bylaw", s3_secret)
            to_start.append(servers.s3(s3_cfg, self.logs / "s3.log"))
            wanted["s3"] = self.ports.s3
        wanted["gateway"] = self.ports.gateway
        wanted |= {f"{name} gRPC": port for name, port in self.ports.grpc.items()}
        self._check_ports_free(wanted)
        if to_start:
            self.progress("starting " + ", ".join(p.name for p in to_start))
            self.supervisor.start_many(to_start, timeout=120)
        if pg_cfg is not None:
            servers.ensure_database(pg_cfg)

        env: dict[str, str] = {
            "BYLAW_ENV": os.environ.get("BYLAW_ENV", "dev"),
            "BYLAW_DATABASE_URL": ext.database_url or (pg_cfg.url if pg_cfg else ""),
            "BYLAW_NATS_URL": ext.nats_url or f"nats://127.0.0.1:{self.ports.nats}",
            "BYLAW_TEMPORAL_ADDRESS": ext.temporal_address or f"127.0.0.1:{self.ports.temporal}",
            "BYLAW_TEMPORAL_UI_URL": os.environ.get(
                "BYLAW_TEMPORAL_UI_URL", f"http://127.0.0.1:{self.ports.temporal_ui}"
            ),
            "BYLAW_GATEWAY_PORT": str(self.ports.gateway),
            "BYLAW_PUBLIC_BASE_URL": os.environ.get(
                "BYLAW_PUBLIC_BASE_URL", f"http://127.0.0.1:{self.ports.gateway}"
            ),
        }
        if ext.s3_endpoint is None:
            assert s3_secret is not None
            env |= {
                "BYLAW_S3_ENDPOINT": f"127.0.0.1:{self.ports.s3}",
                "BYLAW_S3_ACCESS_KEY": "bylaw",
                "BYLAW_S3_SECRET_KEY": s3_secret,
                "BYLAW_S3_SECURE": "false",
            }
        for name, port in self.ports.grpc.items():
            env[f"BYLAW_{name.upper()}_PORT"] = str(port)
            env[f"BYLAW_{name.upper()}_ADDR"] = f"127.0.0.1:{port}"
        self.env = env | self.extra_env

    def _embedded_s3_secret(self) -> str:
        """Stable per data directory, so a second run reads the same objects."""
        path = self.data_dir / "s3-secret"
        if env_secret := os.environ.get("BYLAW_S3_SECRET_KEY"):
            return env_secret
        if not path.exists():
            import secrets

            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(20))
            path.chmod(0o600)
        return path.read_text().strip()

    # ------------------------------------------------------------ our processes

    def _python(self, name: str, module: str, ready: Callable[[], bool]) -> ManagedProcess:
        return ManagedProcess(
            name=name,
            argv=[sys.executable, "-m", module],
            log_path=self.logs / f"{name}.log",
            ready=ready,
            env=self.env,
            cwd=Path(__file__).resolve().parent.parent,
        )

    def start_services(self) -> None:
        grpc_procs = []
        for name in GRPC_SERVICES:
            address = f"127.0.0.1:{self.ports.grpc[name]}"
            service = GRPC_SERVICE_NAMES[name]
            grpc_procs.append(
                self._python(name, f"services.{name}", functools.partial(_grpc_serving, address, service))
            )
        self.progress("starting services: " + ", ".join(GRPC_SERVICES))
        self.supervisor.start_many(grpc_procs, timeout=120)
        self.progress("starting Temporal worker and gateway")
        worker = self._python(
            "worker", "workflows.worker", lambda: _worker_polling(self.env["BYLAW_TEMPORAL_ADDRESS"])
        )
        gateway = self._python("gateway", "services.gateway", lambda: _http_ok(f"{self.gateway_url}/healthz"))
        self.supervisor.start_many([worker, gateway], timeout=120)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.start_infrastructure()
            self.start_services()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        self.supervisor.stop_all()

    def dead(self) -> list[ManagedProcess]:
        return self.supervisor.dead()

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.gateway}"

    def health(self) -> dict[str, object]:
        with urllib.request.urlopen(f"{self.gateway_url}/healthz", timeout=5) as resp:  # noqa: S310
            return dict(json.loads(resp.read()))

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _http_ok(f"{self.gateway_url}/healthz"):
                return
            time.sleep(0.5)
        raise TimeoutError(f"gateway not healthy after {timeout}s")
