"""The embedded Temporal dev server as `make run` starts it (devstack.servers.temporal).

Every persistence operation of the dev server goes through its one SQLite connection, so an
operation it need not do is time every new case waits for (issue 3's throughput)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from devstack import servers
from devstack.processes import Supervisor, free_port
from workflows.contracts import CASE_NUMBER, CASE_PRIORITY, CASE_STATUS, SERVICE_CODE

STARTS = 40
METADATA_READS = ("GetCurrentClusterMetadata", "GetNamespace")


@pytest.fixture(scope="module")
def stack_temporal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.TemporalConfig]:
    workdir: Path = tmp_path_factory.mktemp("dev-temporal")
    cfg = servers.TemporalConfig(
        workdir / "temporal.db", free_port(), free_port(), free_port(), free_port(), ui=False
    )
    supervisor = Supervisor()
    try:
        supervisor.start(servers.temporal(cfg, workdir / "temporal.log"), timeout=90)
        yield cfg
    finally:
        supervisor.stop_all()


def counters_once_published(cfg: servers.TemporalConfig, before: Counter[str], creates: int) -> Counter[str]:
    """The counters once the server has published at least ``creates`` new starts (it
    publishes its metrics every few seconds)."""
    deadline = time.monotonic() + 30
    while True:
        now = servers.temporal_persistence_requests(cfg.host, cfg.metrics_port)
        if (now - before)["CreateWorkflowExecution"] >= creates or time.monotonic() > deadline:
            return now
        time.sleep(0.5)


async def start_cases(address: str, namespace: str, n: int, task_queue: str = "no-worker") -> None:
    client = await Client.connect(address, namespace=namespace)
    run = uuid.uuid4().hex[:6]
    for i in range(n):
        await client.start_workflow(
            "CaseLifecycle",
            id=f"sa-cache-{run}-{i}",
            task_queue=task_queue,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(CASE_NUMBER, f"BL-TEST-{run}-{i}"),
                    SearchAttributePair(CASE_STATUS, "received"),
                    SearchAttributePair(CASE_PRIORITY, "medium"),
                    SearchAttributePair(SERVICE_CODE, "noise"),
                ]
            ),
        )


def test_starts_with_search_attributes_read_no_metadata_from_sqlite(
    stack_temporal: servers.TemporalConfig,
) -> None:
    """The stack's search attributes are registered at start-up, so the server keeps them
    cached; with the dev server's default (refresh on every read) each start would read the
    cluster metadata and the namespace from SQLite."""
    cfg = stack_temporal
    asyncio.run(start_cases(cfg.address, cfg.namespace, 1))  # the first start fills the caches
    time.sleep(3.0)  # and the server publishes what start-up and it cost
    before = servers.temporal_persistence_requests(cfg.host, cfg.metrics_port)
    asyncio.run(start_cases(cfg.address, cfg.namespace, STARTS))
    after = counters_once_published(cfg, before, STARTS)
    delta = after - before
    assert delta["CreateWorkflowExecution"] >= STARTS, delta  # the counters are being read
    # The server refreshes its cluster metadata now and then on its own; refreshing on read
    # costs four reads per start (measured: 3 cluster metadata + 1 namespace).
    metadata_reads = sum(delta[op] for op in METADATA_READS)
    assert metadata_reads < STARTS / 4, delta


def test_a_task_queue_has_one_partition(stack_temporal: servers.TemporalConfig) -> None:
    """Partitions spread a queue over matching hosts; on the one-process dev server they
    only forward tasks between themselves and keep a backlog each in SQLite. With the
    default four, the workflow tasks of a queue no worker polls land in all four."""
    cfg = stack_temporal
    before = servers.temporal_persistence_requests(cfg.host, cfg.metrics_port)
    asyncio.run(start_cases(cfg.address, cfg.namespace, STARTS, task_queue=f"fresh-{uuid.uuid4().hex[:6]}"))
    delta = counters_once_published(cfg, before, STARTS) - before
    assert delta["CreateWorkflowExecution"] >= STARTS, delta
    # Measured: 2 task queue records with one partition, 8 with the default four.
    assert delta["CreateTaskQueue"] <= 2, delta
