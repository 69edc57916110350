"""`make run` uses PostgreSQL, NATS and Temporal given by the environment instead of
starting its own (issue 2, DESIGN.md section 5)."""

from __future__ import annotations

from pathlib import Path

import httpx

from devstack.stack import External, Stack, StackPorts
from tests.infra import Postgres


def test_stack_uses_servers_from_the_environment(
    tmp_path: Path, postgres_server: Postgres, nats_url: str, temporal_address: str
) -> None:
    external = External(
        database_url=postgres_server.create_database("ext"),
        nats_url=nats_url,
        temporal_address=temporal_address,
    )
    stack = Stack(
        tmp_path, StackPorts.free(), external=external, temporal_ui=False, extra_env={"BYLAW_ENV": "test"}
    )
    try:
        stack.start()
        started = {p.name for p in stack.supervisor.processes}
        assert not started & {"postgres", "nats", "temporal"}, started
        assert "s3" in started  # not given, so the embedded stand-in runs
        assert stack.env["BYLAW_DATABASE_URL"] == external.database_url
        assert stack.env["BYLAW_NATS_URL"] == nats_url
        assert stack.env["BYLAW_TEMPORAL_ADDRESS"] == temporal_address
        stack.wait_healthy(timeout=90)
        services = httpx.get(f"{stack.gateway_url}/open311/v2/services.json", timeout=10).json()
        assert len(services) == 40
        assert not (tmp_path / "postgres").exists()
        assert not (tmp_path / "nats").exists()
    finally:
        stack.stop()
