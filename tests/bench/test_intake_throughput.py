"""Benchmark (``make bench``; never part of ``make test``; asserts nothing about timing):
end-to-end complaints per second through the whole embedded stack — publish on
``bylaw.311.requests`` → outcome with a case number on ``bylaw.311.updates`` — beside a
bare ``start_workflow`` loop against the same Temporal server in the same run.

The bare loop and the intake run alternate for BYLAW_BENCH_ROUNDS rounds (default 3): the
host gives this machine more or less at different times (the bare rate alone moves by a
fifth between runs), so each round's ratio compares like with like, and the median of the
rounds is the figure. The bare workflows are terminated after each round, so every round
meets the same server. Prints, per round, the rates, the ratio and the CPU per complaint of
each process (psutil; a round slower than the others shows whether the host or the stack
was), then p50/p95 latency, the CPU over all rounds with and without the work that follows
each outcome, and Temporal's persistence operations per bare start and per complaint (its
Prometheus counters; on the dev server each goes through its one SQLite connection).
Issue 3's target: at least 100 complaints/s on 2 cores and at least 0.5x the bare rate.

Knobs (environment): BYLAW_BENCH_COMPLAINTS (per round, default 1000), BYLAW_BENCH_WORKFLOWS (1000),
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
ROUNDS = int(os.environ.get("BYLAW_BENCH_ROUNDS", "3"))
WARMUP = 50
# The Python processes worth a profile (the servers are Go or C).
PROFILED = frozenset({"intake", "cases", "worker", "reporting", "gateway"})
console = Console(width=170)


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


async def run_bare(stack: Stack, n: int) -> tuple[float, list[float], list[str]]:
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
    return n / elapsed, latencies, [f"bench-bare-{run}-{i}" for i in range(n)]


async def terminate_bare(stack: Stack, workflow_ids: list[str]) -> None:
    """The bare workflows go again once measured, so the server is the same for the next
    round (each round would otherwise leave another backlog of tasks no worker takes)."""
    client = await Client.connect(stack.env["BYLAW_TEMPORAL_ADDRESS"])
    slots = asyncio.Semaphore(CONCURRENCY)

    async def terminate(workflow_id: str) -> None:
        async with slots:
            await client.get_workflow_handle(workflow_id).terminate("benchmark round over")

    await asyncio.gather(*(terminate(w) for w in workflow_ids))


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


@dataclass
class Round:
    """One bare loop and one intake run after it, each on a quiet stack."""

    bare_rate: float
    bare_latencies: list[float]
    bare_temporal_ms: float
    report: ReplayReport
    wall: float
    with_case: int
    cpu_before: dict[str, float]
    cpu_after: dict[str, float]
    cpu_settled: dict[str, float]
    load_cpu: float
    # Before and after the bare loop (settled), before and after intake (settled).
    ops: tuple[Counter[str], Counter[str], Counter[str], Counter[str]]

    @property
    def rate(self) -> float:
        return self.with_case / self.report.total_seconds if self.report.total_seconds else 0.0

    @property
    def ratio(self) -> float:
        return self.rate / self.bare_rate if self.bare_rate else 0.0


def measure_round(stack: Stack, profile: bool) -> Round:
    # Each measured run starts on a quiet stack: a run started while the previous one's work
    # is still settling (workflow tasks, Temporal's own task and visibility queues, which
    # share the dev server's one SQLite connection with new starts) would be understated.
    settle(stack, cpu_by_process(stack))
    bare_before = cpu_by_process(stack)
    bare_ops_before = persistence_requests(stack)
    bare_rate, bare_latencies, bare_ids = asyncio.run(run_bare(stack, WORKFLOWS))
    bare_temporal_ms = 1000 * (cpu_by_process(stack)["temporal"] - bare_before["temporal"]) / WORKFLOWS
    settle(stack, cpu_by_process(stack))
    bare_ops = persistence_requests(stack)
    asyncio.run(terminate_bare(stack, bare_ids))
    settle(stack, cpu_by_process(stack))
    intake_ops_before = persistence_requests(stack)

    profilers = (
        [
            start_pyspy(m.popen.pid, f"intake-{m.name}")
            for m in stack.supervisor.processes
            if m.popen is not None and m.name in PROFILED
        ]
        if profile
        else []
    )
    before = cpu_by_process(stack)
    load_before = sum(psutil.Process().cpu_times()[:2])
    started = time.perf_counter()
    report = asyncio.run(run_intake(stack, COMPLAINTS, f"b{uuid.uuid4().hex[:6]}"))
    wall = time.perf_counter() - started
    after = cpu_by_process(stack)
    load_cpu = sum(psutil.Process().cpu_times()[:2]) - load_before
    # Some of a complaint's work comes after its outcome (the worker's first workflow task,
    # the read model, the outbox): wait for the stack to go quiet and count that too.
    settled = settle(stack, after)
    settled_ops = persistence_requests(stack)
    for profiler in profilers:
        stop_pyspy(profiler)
    with_case = sum(1 for u in report.updates.values() if u.get("case_number"))
    return Round(
        bare_rate,
        bare_latencies,
        bare_temporal_ms,
        report,
        wall,
        with_case,
        before,
        after,
        settled,
        load_cpu,
        (bare_ops_before, bare_ops, intake_ops_before, settled_ops),
    )


def print_rounds(rounds: list[Round]) -> None:
    """Rates and ratio per round, and the CPU per complaint of the intake run by process
    (which shows whether a later round is slower because the host is, or the stack)."""
    names = sorted(
        rounds[0].cpu_after, key=lambda n: rounds[0].cpu_before.get(n, 0.0) - rounds[0].cpu_after[n]
    )
    shown = [n for n in names if rounds[0].cpu_after[n] - rounds[0].cpu_before.get(n, 0.0) > 0.05]
    table = Table(title=f"{len(rounds)} rounds: a bare loop, then intake ({COMPLAINTS} new cases)")
    columns = ["round", f"bare start_workflow/s ({CONCURRENCY} in flight)", "complaints/s", "ratio"]
    for column in [*columns, "Temporal ms per bare start", *(f"{n} ms" for n in shown)]:
        table.add_column(column, justify="right")
    for i, r in enumerate(rounds, 1):
        per_complaint = [1000 * (r.cpu_after[n] - r.cpu_before.get(n, 0.0)) / COMPLAINTS for n in shown]
        table.add_row(
            str(i),
            f"{r.bare_rate:.1f}",
            f"{r.rate:.1f}",
            f"{r.ratio:.2f}",
            f"{r.bare_temporal_ms:.1f}",
            *(f"{ms:.1f}" for ms in per_complaint),
        )
    table.add_row(
        "median",
        f"{statistics.median(r.bare_rate for r in rounds):.1f}",
        f"{statistics.median(r.rate for r in rounds):.1f}",
        f"{statistics.median(r.ratio for r in rounds):.2f}",
    )
    console.print(table)


def print_cpu(rounds: list[Round]) -> None:
    """CPU per process over every round's intake run, per complaint."""
    n = COMPLAINTS * len(rounds)
    wall = sum(r.wall for r in rounds)
    used: dict[str, float] = {}
    all_told: dict[str, float] = {}
    for r in rounds:
        for name in r.cpu_after:
            used[name] = used.get(name, 0.0) + r.cpu_after[name] - r.cpu_before.get(name, 0.0)
            all_told[name] = (
                all_told.get(name, 0.0) + r.cpu_settled.get(name, 0.0) - r.cpu_before.get(name, 0.0)
            )
    cores = psutil.cpu_count() or 1
    cpu = Table(title=f"CPU during the intake runs ({wall:.1f} s wall in all, {cores} cores)")
    cpu.add_column("process")
    cpu.add_column("CPU s", justify="right")
    cpu.add_column("% of one core", justify="right")
    cpu.add_column("ms per complaint", justify="right")
    cpu.add_column("with settling", justify="right")
    for name, seconds in sorted(used.items(), key=lambda kv: -kv[1]):
        per_complaint = f"{1000 * seconds / n:.1f}"
        with_settling = f"{1000 * all_told.get(name, 0.0) / n:.1f}"
        cpu.add_row(name, f"{seconds:.1f}", f"{100 * seconds / wall:.0f}%", per_complaint, with_settling)
    total = sum(used.values())
    cpu.add_row(
        "all",
        f"{total:.1f}",
        f"{100 * total / wall:.0f}% ({100 * total / wall / cores:.0f}% of the machine)",
        f"{1000 * total / n:.1f}",
        f"{1000 * sum(all_told.values()) / n:.1f}",
    )
    console.print(cpu)
    # The 311 side (publisher, outcome listener, progress bars) runs in this process, on the
    # same two cores: what it takes is not available to the stack.
    load_cpu = sum(r.load_cpu for r in rounds)
    share = f"{100 * load_cpu / wall:.0f}% of a core"
    console.print(f"the load generator (this process) used {load_cpu:.1f} CPU s ({share})")
    settled_ms = 1000 * sum(all_told.values()) / n
    if settled_ms:
        # The outcome goes out before the worker has run the new case's first workflow task;
        # a feed that never pauses pays for that too, so this bounds the sustained rate.
        console.print(
            f"sustained ceiling: {cores} cores / {settled_ms:.1f} ms of CPU per complaint (with settling)"
            f" = {1000 * cores / settled_ms:.0f} complaints/s"
        )


def test_end_to_end_complaints_per_second_beside_bare_workflow_starts(bench_stack: Stack) -> None:
    console.print(
        f"[bold]machine[/bold]: {psutil.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB"
    )
    asyncio.run(run_intake(bench_stack, WARMUP, f"warm{uuid.uuid4().hex[:4]}"))
    # Bare loop and intake alternate, so a change in what the host gives this machine (the
    # bare rate alone moves by a fifth between runs here) shows in both sides of a round.
    rounds = [measure_round(bench_stack, profile=i == ROUNDS - 1) for i in range(ROUNDS)]
    if PYSPY_DIR:
        console.print(f"py-spy profiles (collapsed stacks, last round) in {PYSPY_DIR}")
    # The same volume repeating over 50 places: mostly joins, which allocate no case
    # number and start no workflow. The gap between the two rates is what creating a
    # case costs (see the report for where that time goes).
    joins = asyncio.run(run_intake(bench_stack, COMPLAINTS, f"j{uuid.uuid4().hex[:6]}", places=50))
    join_rate = joins.accounted / joins.total_seconds if joins.total_seconds else 0.0

    print_rounds(rounds)
    last = rounds[-1]
    latencies = [x for r in rounds for x in r.report.latencies]
    bare_latencies = [x for r in rounds for x in r.bare_latencies]
    table = Table(title=f"intake end to end: {COMPLAINTS} complaints per round, all new cases")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("outcomes with a case number", " + ".join(f"{r.with_case}" for r in rounds))
    table.add_row("  of which new cases", " + ".join(f"{r.report.outcomes['new_case']}" for r in rounds))
    table.add_row(
        "dead letters / unanswered",
        f"{sum(r.report.dead_letters for r in rounds)} / {sum(len(r.report.missing) for r in rounds)}",
    )
    table.add_row(
        "latency p50 / p95", f"{pct(latencies, 0.5) * 1000:.0f} / {pct(latencies, 0.95) * 1000:.0f} ms"
    )
    table.add_row(
        "bare start latency p50 / p95",
        f"{pct(bare_latencies, 0.5) * 1000:.0f} / {pct(bare_latencies, 0.95) * 1000:.0f} ms",
    )
    table.add_row("complaints/s, repeats over 50 places (mostly joins)", f"{join_rate:.1f}")
    table.add_row(
        "  their latency p50 / p95",
        f"{pct(joins.latencies, 0.5) * 1000:.0f} / {pct(joins.latencies, 0.95) * 1000:.0f} ms",
    )
    if latencies:
        table.add_row("mean latency", f"{statistics.fmean(latencies) * 1000:.0f} ms")
    console.print(table)
    print_cpu(rounds)
    bare_ops_before, bare_ops, intake_ops_before, settled_ops = last.ops
    print_persistence(
        "Temporal persistence requests per bare start (settled, last round)",
        bare_ops_before,
        bare_ops,
        WORKFLOWS,
    )
    # Counted once the stack is quiet, so the new cases' first workflow tasks are included.
    print_persistence("... per complaint (settled, last round)", intake_ops_before, settled_ops, COMPLAINTS)
    # Correctness, not speed: every complaint was answered, each as a new case.
    for r in rounds:
        assert r.report.missing == [] and r.with_case == COMPLAINTS
        assert r.report.outcomes["new_case"] == COMPLAINTS, r.report.outcomes  # the costliest path
