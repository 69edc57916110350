"""Benchmark (``make bench``; never part of ``make test``; asserts nothing about timing):
end-to-end complaints per second through the whole embedded stack — publish on
``bylaw.311.requests`` → outcome with a case number on ``bylaw.311.updates`` — beside a
bare ``start_workflow`` loop against the same Temporal server in the same run.

Prints the rates, their ratio, p50/p95 latency, the CPU each process used during the
intake run (psutil), which shows what bounds the rate on this machine, and Temporal's
persistence operations per bare start and per complaint (its Prometheus counters; on the
dev server each goes through its one SQLite connection). Issue 3's target:
at least 100 complaints/s on 2 cores and at least 0.5x the bare rate.

Knobs (environment): BYLAW_BENCH_COMPLAINTS (default 1000), BYLAW_BENCH_WORKFLOWS (1000),
BYLAW_BENCH_CONCURRENCY for the bare loop (default: as many in flight as the intake
consumer keeps, ``Settings.intake_consumer_concurrency``),
BYLAW_BENCH_PYSPY=<dir> to record py-spy profiles of the Python processes during the
intake run (``<dir>/intake-<process>.txt``).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from temporalio.client import Client

from devstack import servers
from devstack.stack import Stack, StackPorts
from services.common.settings import Settings
from services.intake.tools.replay_311 import ReplayReport, fake_identity, replay
from tests.bench.profiling import PYSPY_DIR, start_pyspy, stop_pyspy
from workflows.contracts import WORKFLOW_TYPE, CaseLifecycleInput

COMPLAINTS = int(os.environ.get("BYLAW_BENCH_COMPLAINTS", "1000"))
WORKFLOWS = int(os.environ.get("BYLAW_BENCH_WORKFLOWS", "1000"))
CONCURRENCY = int(os.environ.get("BYLAW_BENCH_CONCURRENCY", str(Settings().intake_consumer_concurrency)))
WARMUP = 50
# The Python processes worth a profile (the servers are Go or C).
PROFILED = frozenset({"intake", "cases", "worker", "reporting", "gateway"})
console = Console()


@pytest.fixture(scope="module")
def bench_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data_dir: Path = tmp_path_factory.mktemp("bench-stack")
    s = Stack(data_dir, StackPorts.free(), temporal_ui=False, extra_env={"BYLAW_ENV": "test"})
    s.start()
    try:
        s.wait_healthy(timeout=120)
        yield s
    finally:
        s.stop()


def complaints(n: int, run: str, places: int = 0) -> list[dict[str, object]]:
    """All new cases (``places`` = 0): every complaint at its own address, the costliest
    path (a case and a workflow each). With ``places`` the complaints repeat over that many
    addresses, so most join an open case (no case number allocated, no workflow started)."""
    now = datetime.now(UTC).isoformat()
    # The run's own street, so no run's complaints join another run's open cases. Spelt in
    # letters: the address normaliser drops a token with digits, and anything after "Road".
    street = f"Benchmark {run.translate(str.maketrans('0123456789', 'ghijklmnop')).title()} Road"
    return [
        {
            "service_request_id": f"{run}-{i}",
            "requested_datetime": now,
            "channel": "311-online",
            "service_code": "noise",
            "description": "Loud music after 11 p.m. every night.",
            "address_string": f"{(i % places if places else i) + 1} {street}",
            **fake_identity(f"{run}-{i}"),
        }
        for i in range(n)
    ]


@dataclass
class CpuSample:
    name: str
    seconds: float


def cpu_by_process(stack: Stack) -> dict[str, float]:
    """CPU seconds (user + system) of each process of the stack, children included
    (PostgreSQL's backends, live and exited, the Temporal server's)."""
    used: dict[str, float] = {}
    for managed in stack.supervisor.processes:
        if managed.popen is None:
            continue
        try:
            root = psutil.Process(managed.popen.pid)
            # Children that exited count too (through the parent's reaped-children times):
            # PostgreSQL backends of connections closed during the run.
            root_times = root.cpu_times()
            total = root_times.children_user + root_times.children_system
            for proc in [root, *root.children(recursive=True)]:
                times = proc.cpu_times()
                total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
        used[managed.name] = total
    return used


def settle(stack: Stack, last: dict[str, float], quiet_cpu_seconds: float = 0.05) -> dict[str, float]:
    """CPU per process once a second passes with the stack using less than
    ``quiet_cpu_seconds`` in all (or after 60 s)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = cpu_by_process(stack)
        if sum(now.values()) - sum(last.values()) < quiet_cpu_seconds:
            return now
        last = now
    return last


def with_progress(description: str, total: int) -> tuple[Progress, object]:
    progress = Progress(
        TextColumn(description), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )
    return progress, progress.add_task(description, total=total)


async def run_intake(stack: Stack, n: int, run: str, places: int = 0) -> ReplayReport:
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    with progress:
        tasks = {
            "published": progress.add_task(f"intake {run}: published", total=n),
            "answered": progress.add_task(f"intake {run}: outcomes", total=n),
        }
        return await replay(
            complaints(n, run, places),
            stack.env["BYLAW_NATS_URL"],
            wait_seconds=600,
            window=256,
            on_progress=lambda phase, k: progress.advance(tasks[phase], k),
        )


async def run_bare(stack: Stack, n: int) -> tuple[float, list[float]]:
    """``start_workflow`` as fast as CONCURRENCY callers can, on a task queue no worker
    polls (so the rate is Temporal's own start rate)."""
    client = await Client.connect(stack.env["BYLAW_TEMPORAL_ADDRESS"])
    run = uuid.uuid4().hex[:6]
    latencies: list[float] = []
    slots = asyncio.Semaphore(CONCURRENCY)
    progress, task = with_progress("bare start_workflow", n)

    async def start(i: int) -> None:
        async with slots:
            begun = time.perf_counter()
            await client.start_workflow(
                WORKFLOW_TYPE,
                CaseLifecycleInput(
                    case_number=f"BENCH-{run}-{i}",
                    service_code="noise",
                    bylaw_number="2013-0025",
                    priority="medium",
                    matrix_version="bench",
                    received_at=datetime.now(UTC),
                ),
                id=f"bench-bare-{run}-{i}",
                task_queue="bench-bare-no-worker",
            )
            latencies.append(time.perf_counter() - begun)
            progress.advance(task)  # type: ignore[arg-type]

    with progress:
        started = time.perf_counter()
        await asyncio.gather(*(start(i) for i in range(n)))
        elapsed = time.perf_counter() - started
    return n / elapsed, latencies


def persistence_requests(stack: Stack) -> Counter[str]:
    return servers.temporal_persistence_requests("127.0.0.1", stack.ports.temporal_metrics)


def print_persistence(title: str, before: Counter[str], after: Counter[str], per: int) -> None:
    delta = after - before
    table = Table(title=title)
    table.add_column("operation")
    table.add_column("per item", justify="right")
    for op, n in delta.most_common(12):
        table.add_row(op, f"{n / per:.2f}")
    table.add_row("all", f"{sum(delta.values()) / per:.2f}")
    console.print(table)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def test_end_to_end_complaints_per_second_beside_bare_workflow_starts(bench_stack: Stack) -> None:
    console.print(
        f"[bold]machine[/bold]: {psutil.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB"
    )
    asyncio.run(run_intake(bench_stack, WARMUP, f"warm{uuid.uuid4().hex[:4]}"))
    # Each measured run starts on a quiet stack: a run started while the previous one's work
    # is still settling (workflow tasks, Temporal's own task and visibility queues, which
    # share the dev server's one SQLite connection with new starts) would be understated.
    settle(bench_stack, cpu_by_process(bench_stack))
    bare_before = cpu_by_process(bench_stack)
    bare_ops_before = persistence_requests(bench_stack)
    bare_rate, bare_latencies = asyncio.run(run_bare(bench_stack, WORKFLOWS))
    bare_temporal_ms = 1000 * (cpu_by_process(bench_stack)["temporal"] - bare_before["temporal"]) / WORKFLOWS
    settle(bench_stack, cpu_by_process(bench_stack))
    bare_ops = persistence_requests(bench_stack)

    profilers = [
        start_pyspy(m.popen.pid, f"intake-{m.name}")
        for m in bench_stack.supervisor.processes
        if m.popen is not None and m.name in PROFILED
    ]
    before = cpu_by_process(bench_stack)
    load_before = sum(psutil.Process().cpu_times()[:2])
    started = time.perf_counter()
    report = asyncio.run(run_intake(bench_stack, COMPLAINTS, f"b{uuid.uuid4().hex[:6]}"))
    wall = time.perf_counter() - started
    after = cpu_by_process(bench_stack)
    load_cpu = sum(psutil.Process().cpu_times()[:2]) - load_before
    # Some of a complaint's work comes after its outcome (the worker's first workflow task,
    # the read model, the outbox): wait for the stack to go quiet and count that too.
    settled = settle(bench_stack, after)
    settled_ops = persistence_requests(bench_stack)
    for profiler in profilers:
        stop_pyspy(profiler)
    if PYSPY_DIR:
        console.print(f"py-spy profiles (collapsed stacks) in {PYSPY_DIR}")
    # The same volume repeating over 50 places: mostly joins, which allocate no case
    # number and start no workflow. The gap between the two rates is what creating a
    # case costs (see the report for where that time goes).
    joins = asyncio.run(run_intake(bench_stack, COMPLAINTS, f"j{uuid.uuid4().hex[:6]}", places=50))
    join_rate = joins.accounted / joins.total_seconds if joins.total_seconds else 0.0

    with_case = sum(1 for u in report.updates.values() if u.get("case_number"))
    rate = with_case / report.total_seconds if report.total_seconds else 0.0
    table = Table(title=f"intake end to end: {COMPLAINTS} complaints, all new cases")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("outcomes with a case number", f"{with_case} / {COMPLAINTS}")
    table.add_row("  of which new cases", f"{report.outcomes['new_case']}")
    table.add_row("dead letters / unanswered", f"{report.dead_letters} / {len(report.missing)}")
    table.add_row("complaints/s (publish → outcome)", f"{rate:.1f}")
    table.add_row(
        "latency p50 / p95",
        f"{pct(report.latencies, 0.5) * 1000:.0f} / {pct(report.latencies, 0.95) * 1000:.0f} ms",
    )
    table.add_row(f"bare start_workflow/s ({CONCURRENCY} in flight)", f"{bare_rate:.1f}")
    table.add_row(
        "bare start latency p50 / p95",
        f"{pct(bare_latencies, 0.5) * 1000:.0f} / {pct(bare_latencies, 0.95) * 1000:.0f} ms",
    )
    table.add_row("Temporal CPU per bare start", f"{bare_temporal_ms:.1f} ms")
    table.add_row("ratio intake / bare", f"{rate / bare_rate:.2f}" if bare_rate else "-")
    table.add_row("complaints/s, repeats over 50 places (mostly joins)", f"{join_rate:.1f}")
    table.add_row(
        "  their latency p50 / p95",
        f"{pct(joins.latencies, 0.5) * 1000:.0f} / {pct(joins.latencies, 0.95) * 1000:.0f} ms",
    )
    console.print(table)

    cpu = Table(title=f"CPU during the intake run ({wall:.1f} s wall, {psutil.cpu_count()} cores)")
    cpu.add_column("process")
    cpu.add_column("CPU s", justify="right")
    cpu.add_column("% of one core", justify="right")
    cpu.add_column("ms per complaint", justify="right")
    cpu.add_column("with settling", justify="right")
    used = {name: after.get(name, 0.0) - before.get(name, 0.0) for name in after}
    all_told = {name: settled.get(name, 0.0) - before.get(name, 0.0) for name in settled}
    for name, seconds in sorted(used.items(), key=lambda kv: -kv[1]):
        per_complaint = f"{1000 * seconds / COMPLAINTS:.1f}"
        with_settling = f"{1000 * all_told.get(name, 0.0) / COMPLAINTS:.1f}"
        cpu.add_row(name, f"{seconds:.1f}", f"{100 * seconds / wall:.0f}%", per_complaint, with_settling)
    total = sum(used.values())
    cpu.add_row(
        "all",
        f"{total:.1f}",
        f"{100 * total / wall:.0f}% ({100 * total / wall / (psutil.cpu_count() or 1):.0f}% of the machine)",
        f"{1000 * total / COMPLAINTS:.1f}",
        f"{1000 * sum(all_told.values()) / COMPLAINTS:.1f}",
    )
    console.print(cpu)
    print_persistence(
        "Temporal persistence requests per bare start (settled)", bare_ops_before, bare_ops, WORKFLOWS
    )
    # Counted once the stack is quiet, so the new cases' first workflow tasks are included.
    print_persistence("... per complaint (settled)", bare_ops, settled_ops, COMPLAINTS)
    # The 311 side (publisher, outcome listener, progress bars) runs in this process, on the
    # same two cores: what it takes is not available to the stack.
    share = f"{100 * load_cpu / wall:.0f}% of a core"
    console.print(f"the load generator (this process) used {load_cpu:.1f} CPU s ({share})")
    settled_ms = 1000 * sum(all_told.values()) / COMPLAINTS
    if settled_ms:
        # The outcome goes out before the worker has run the new case's first workflow task;
        # a feed that never pauses pays for that too, so this bounds the sustained rate.
        cores = psutil.cpu_count() or 1
        console.print(
            f"sustained ceiling: {cores} cores / {settled_ms:.1f} ms of CPU per complaint (with settling)"
            f" = {1000 * cores / settled_ms:.0f} complaints/s"
        )
    if report.latencies:
        console.print(f"mean latency {statistics.fmean(report.latencies) * 1000:.0f} ms")
    # Correctness, not speed: every complaint was answered.
    assert report.missing == [] and with_case == COMPLAINTS
    assert report.outcomes["new_case"] == COMPLAINTS, report.outcomes  # the costliest path, as labelled
