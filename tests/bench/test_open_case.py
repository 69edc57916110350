"""Benchmark (``make bench``; never part of ``make test``; asserts nothing about timing):
``CasesService.OpenCase`` over real gRPC against the real cases process
(``python -m services.cases``, its outbox relay publishing to NATS JetStream) on the real
PostgreSQL, with the demo town (devstack.demo_town) seeded.

Four mixes, each with CONCURRENCY requests in flight:

- ``new, address off the roll``: every complaint at its own address that matches no parcel
  (what the 311 feed mostly sends) — a new case each: the costliest path.
- ``new, parcel on the roll``: every complaint at a demo parcel's address with a service
  code no earlier complaint used there — a new case each, matched to the roll.
- ``joins over 50 parcels``: the complaints repeat over 50 parcels, so all but the first
  50 join an open case (policy 6.6.5).
- ``new, off the roll, OpenCases of N``: the first mix again, sent as intake sends it at
  volume, in OpenCases calls of N requests (one transaction each).

For each it prints OpenCase/s, latency p50/p95, and the CPU used per call by the cases
process and by the PostgreSQL server (psutil), which together show what bounds the rate.

Knobs (environment): BYLAW_BENCH_OPEN_CASES (calls per mix, default 2000),
BYLAW_BENCH_CONCURRENCY (32), BYLAW_BENCH_OPEN_CASES_BATCH (16), BYLAW_BENCH_PYSPY=<dir> to
record a py-spy profile of the cases process per mix (collapsed stacks, ``<dir>/<mix>.txt``).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, cast

import psutil
import psycopg
import pytest
from bylaw.v1 import cases_pb2, common_pb2
from bylaw.v1.cases_pb2_grpc import CasesServiceStub
from rich.console import Console
from rich.table import Table

from devstack.demo_town import generate_town, seed_demo_town
from devstack.processes import ManagedProcess, free_port
from services.common.grpc_client import insecure_channel
from services.common.healthcheck import check_grpc
from services.common.outbox import libpq_dsn
from tests import infra
from tests.bench.profiling import PYSPY_DIR, start_pyspy, stop_pyspy

if TYPE_CHECKING:  # the async stub type exists only in the generated .pyi
    from bylaw.v1.cases_pb2_grpc import CasesServiceAsyncStub

CALLS = int(os.environ.get("BYLAW_BENCH_OPEN_CASES", "2000"))
CONCURRENCY = int(os.environ.get("BYLAW_BENCH_CONCURRENCY", "32"))
BATCH = int(os.environ.get("BYLAW_BENCH_OPEN_CASES_BATCH", "16"))
WARMUP = 64
REPO = Path(__file__).resolve().parents[2]
# The cases process names its PostgreSQL connections after itself (common.runtime), so its
# backends (children of the postmaster) can be found.
APPLICATION_NAME = "cases"
DISPOSITION_PREFIX = "OPEN_CASE_DISPOSITION_"
console = Console(width=160)

# (service code, priority, enforced by) rows of the Service Level Matrix.
CODES: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("noise", common_pb2.PRIORITY_MEDIUM, ("BE",)),
    ("grass-cutting", common_pb2.PRIORITY_LOW, ("BE",)),
    ("garbage", common_pb2.PRIORITY_LOW, ("BE",)),
    ("property-standards-cosmetic", common_pb2.PRIORITY_LOW, ("BD",)),
    ("property-standards-minor-safety", common_pb2.PRIORITY_MEDIUM, ("BD",)),
    ("yard-maintenance-cosmetic", common_pb2.PRIORITY_LOW, ("BE",)),
    ("yard-maintenance-extensive", common_pb2.PRIORITY_MEDIUM, ("BE",)),
    ("zoning", common_pb2.PRIORITY_MEDIUM, ("BD",)),
    ("dog-barking-pet-waste", common_pb2.PRIORITY_LOW, ("AC",)),
    ("signs-contrary-to-bylaw", common_pb2.PRIORITY_LOW, ("BD",)),
)


@dataclass
class CasesProcess:
    process: ManagedProcess
    address: str
    database_url: str

    @property
    def pid(self) -> int:
        assert self.process.popen is not None
        return self.process.popen.pid


@pytest.fixture(scope="module")
def cases_process(
    postgres_server: infra.Postgres, nats_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CasesProcess]:
    database_url = postgres_server.create_database("bench")
    port = free_port()
    address = f"127.0.0.1:{port}"
    process = ManagedProcess(
        name="cases",
        argv=[sys.executable, "-m", "services.cases"],
        log_path=tmp_path_factory.mktemp("bench-open-case") / "cases.log",
        ready=lambda: check_grpc(address, "bylaw.v1.CasesService"),
        env={
            "BYLAW_ENV": "test",
            "BYLAW_DATABASE_URL": database_url,
            "BYLAW_NATS_URL": nats_url,
            "BYLAW_CASES_PORT": str(port),
        },
        cwd=REPO,
    )
    process.start()
    try:
        process.wait_ready(120)
        asyncio.run(seed_demo_town(address))
        yield CasesProcess(process, address, database_url)
    finally:
        process.stop()


def request(
    complaint_id: str, code: tuple[str, int, tuple[str, ...]], address: str
) -> cases_pb2.OpenCaseRequest:
    service_code, priority, enforced_by = code
    received = cases_pb2.OpenCaseRequest().received_at
    received.FromDatetime(datetime.now(UTC))
    return cases_pb2.OpenCaseRequest(
        complaint_id=complaint_id,
        service_code=service_code,
        bylaw_number="2013-0025",
        priority=priority,  # type: ignore[arg-type]
        matrix_version="2023-07-25",
        enforced_by=list(enforced_by),
        location=common_pb2.Location(address=address),
        received_at=received,
        channel="311-online",
        summary="Benchmark complaint.",
        actor=common_pb2.Actor(subject="svc-intake", roles=["intake"]),
    )


def street_name(run: str) -> str:
    """A street of its own per run, in letters: the address normaliser keeps the street
    name but drops what follows the street type (a city), so "1 Main Rd Run2" would be
    "1 MAIN RD" again."""
    return "Bench " + "".join(chr(ord("a") + ord(c) % 26) for c in run).capitalize()


def new_off_roll(n: int, run: str) -> list[cases_pb2.OpenCaseRequest]:
    street = street_name(run)
    return [request(f"{run}-{i}", CODES[0], f"{i + 1} {street} Road") for i in range(n)]


def new_on_roll(n: int, run: str, offset: int) -> list[cases_pb2.OpenCaseRequest]:
    """Each (parcel, code) pair once; ``offset`` skips pairs an earlier mix used."""
    parcels = generate_town().properties
    pairs = [(p.address, c) for c in CODES[1:] for p in parcels]
    chosen = pairs[offset : offset + n]
    return [request(f"{run}-{i}", code, address) for i, (address, code) in enumerate(chosen)]


def joins(n: int, run: str, places: int = 50) -> list[cases_pb2.OpenCaseRequest]:
    parcels = generate_town().properties[-places:]
    return [request(f"{run}-{i}", CODES[0], parcels[i % places].address) for i in range(n)]


def postmaster_pid(database_url: str) -> int:
    """The PostgreSQL server's postmaster: the parent of the cases process's backends. The
    server is the session's test server, which nothing else uses while this runs."""
    with psycopg.connect(libpq_dsn(database_url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s LIMIT 1", (APPLICATION_NAME,)
        ).fetchone()
    assert row is not None, "the cases process holds no PostgreSQL connection"
    parent = psutil.Process(int(row[0])).parent()
    assert parent is not None
    return parent.pid


def cpu_seconds(pid: int, *, with_children: bool = False) -> float:
    """User + system CPU of a process; with its children, live ones and (through the
    parent's reaped-children times) those that exited, e.g. backends of closed connections."""
    root = psutil.Process(pid)
    times = root.cpu_times()
    total = times.user + times.system
    if with_children:
        total += times.children_user + times.children_system
        for child in root.children():
            try:
                child_times = child.cpu_times()
            except psutil.NoSuchProcess:
                continue  # reaped meanwhile: now in the parent's children times
            total += child_times.user + child_times.system
    return total


def sessions(database_url: str) -> int:
    """Connections ever opened to the benchmark's database (pool churn shows here)."""
    with psycopg.connect(libpq_dsn(database_url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    assert row is not None
    return int(row[0])


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


@dataclass
class MixResult:
    name: str
    calls: int
    wall: float
    latencies: list[float]
    dispositions: Counter[str]
    cases_cpu: float
    db_cpu: float
    new_connections: int = 0


async def fire(
    stub: CasesServiceAsyncStub, requests: Sequence[cases_pb2.OpenCaseRequest], batch: int = 1
) -> MixResult:
    """CONCURRENCY requests in flight: one OpenCase each, or with ``batch`` > 1 in
    OpenCases calls of that many (as intake groups its concurrent complaints)."""
    slots = asyncio.Semaphore(max(1, CONCURRENCY // batch))
    latencies: list[float] = []
    dispositions: Counter[str] = Counter()

    async def call(chunk: Sequence[cases_pb2.OpenCaseRequest]) -> None:
        async with slots:
            begun = time.perf_counter()
            if batch == 1:
                responses = [await stub.OpenCase(chunk[0], timeout=60)]
            else:
                answer = await stub.OpenCases(cases_pb2.OpenCasesRequest(requests=chunk), timeout=60)
                assert all(r.HasField("response") for r in answer.results), answer
                responses = [r.response for r in answer.results]
            latencies.extend([time.perf_counter() - begun] * len(chunk))
            for resp in responses:
                dispositions[cases_pb2.OpenCaseDisposition.Name(resp.disposition)] += 1

    started = time.perf_counter()
    await asyncio.gather(*(call(requests[i : i + batch]) for i in range(0, len(requests), batch)))
    return MixResult("", len(requests), time.perf_counter() - started, latencies, dispositions, 0.0, 0.0)


async def run_mix(
    proc: CasesProcess,
    stub: CasesServiceAsyncStub,
    name: str,
    requests: Sequence[cases_pb2.OpenCaseRequest],
    batch: int = 1,
) -> MixResult:
    postmaster = postmaster_pid(proc.database_url)
    profiler = start_pyspy(proc.pid, name)
    sessions_before = sessions(proc.database_url)
    cases_before, db_before = cpu_seconds(proc.pid), cpu_seconds(postmaster, with_children=True)
    result = await fire(stub, requests, batch)
    # The relay publishes each call's event right after its commit; let it catch up, so
    # its CPU is counted (the wait adds idle time only).
    await asyncio.sleep(1.0)
    result.cases_cpu = cpu_seconds(proc.pid) - cases_before
    result.db_cpu = cpu_seconds(postmaster, with_children=True) - db_before
    # Less the two connections sessions() itself opened.
    result.new_connections = sessions(proc.database_url) - sessions_before - 1
    stop_pyspy(profiler)
    result.name = name
    return result


async def bench(proc: CasesProcess) -> list[MixResult]:
    async with insecure_channel(proc.address) as channel:
        stub = cast("CasesServiceAsyncStub", CasesServiceStub(channel))
        run = uuid.uuid4().hex[:8]
        # Warm-up: the connection pool fills, caches load, the first year's numbering starts.
        await fire(stub, new_off_roll(WARMUP, f"warm{run}"))
        return [
            await run_mix(proc, stub, "new, address off the roll", new_off_roll(CALLS, f"n{run}")),
            await run_mix(proc, stub, "new, parcel on the roll", new_on_roll(CALLS, f"r{run}", 0)),
            await run_mix(proc, stub, "joins over 50 parcels", joins(CALLS, f"j{run}")),
            await run_mix(
                proc,
                stub,
                f"new, off the roll, OpenCases of {BATCH}",
                new_off_roll(CALLS, f"b{run}"),
                batch=BATCH,
            ),
        ]


def test_open_case_per_second(cases_process: CasesProcess) -> None:
    results = asyncio.run(bench(cases_process))
    cores = psutil.cpu_count() or 1
    table = Table(title=f"OpenCase over gRPC, {CONCURRENCY} in flight, demo town seeded ({cores} cores)")
    for column in (
        "mix",
        "calls",
        "OpenCase/s",
        "p50 ms",
        "p95 ms",
        "cases CPU ms/call",
        "PostgreSQL CPU ms/call",
        "new DB connections",
        "dispositions",
    ):
        table.add_column(column, justify="left" if column in ("mix", "dispositions") else "right")
    for r in results:
        table.add_row(
            r.name,
            str(r.calls),
            f"{r.calls / r.wall:.0f}",
            f"{pct(r.latencies, 0.5) * 1000:.1f}",
            f"{pct(r.latencies, 0.95) * 1000:.1f}",
            f"{r.cases_cpu / r.calls * 1000:.2f}",
            f"{r.db_cpu / r.calls * 1000:.2f}",
            str(r.new_connections),
            ", ".join(f"{k.removeprefix(DISPOSITION_PREFIX).lower()} {v}" for k, v in r.dispositions.items()),
        )
    console.print(table)
    if PYSPY_DIR:
        console.print(f"py-spy profiles (collapsed stacks) in {PYSPY_DIR}")
    # Correctness, not speed: every call answered, and the mixes did what they say.
    for r in results:
        assert len(r.latencies) == r.calls
    assert results[0].dispositions["OPEN_CASE_DISPOSITION_CREATED"] == results[0].calls
    assert results[1].dispositions["OPEN_CASE_DISPOSITION_CREATED"] == results[1].calls
    assert results[2].dispositions["OPEN_CASE_DISPOSITION_JOINED"] == results[2].calls - 50
    assert results[3].dispositions["OPEN_CASE_DISPOSITION_CREATED"] == results[3].calls
