"""Benchmark (``make bench``; never part of ``make test``; asserts no timing): the footprint
of 10,000 open cases, each waiting on its durable compliance deadline timer (and its
acknowledgement timer), on the embedded Temporal dev server (SQLite, as ``make run``
starts it).

Every case is started as intake starts it, inspected (violation found) and sent a warning
letter with a compliance date two months out: the real ``CaseLifecycleWorkflow`` on a worker
process with lean in-memory activities (tests/bench/lifecycle_worker.py). Prints progress,
then the worker's and the Temporal server's resident memory and the SQLite database's size
on disk, after the load and again after the worker is restarted (its cache empty: what a
quiet night with 10,000 open cases costs).

Knobs (environment): BYLAW_BENCH_CASES (default 10000), BYLAW_BENCH_CASE_CONCURRENCY (64).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psutil
import pytest
from rich.console import Console
from rich.table import Table
from temporalio.client import Client

from devstack import servers
from devstack.processes import ManagedProcess, Supervisor, free_port
from workflows.case_lifecycle import CaseLifecycleWorkflow
from workflows.contracts import (
    UPDATE_RECORD_INSPECTION,
    UPDATE_TAKE_ENFORCEMENT_ACTION,
    CaseLifecycleInput,
    EnforcementActionRequest,
    InspectionFinding,
    RecordInspectionRequest,
    workflow_id,
)

CASES = int(os.environ.get("BYLAW_BENCH_CASES", "10000"))
CONCURRENCY = int(os.environ.get("BYLAW_BENCH_CASE_CONCURRENCY", "64"))
PROGRESS_EVERY = max(1, CASES // 20)
REPO = Path(__file__).resolve().parents[2]
TORONTO = ZoneInfo("America/Toronto")
QUEUE = "case-lifecycle"
console = Console()


@dataclass
class Server:
    address: str
    process: ManagedProcess
    db_file: Path

    def rss(self) -> int:
        assert self.process.popen is not None
        return _rss_tree(self.process.popen.pid)

    def disk_bytes(self) -> int:
        files = [self.db_file, Path(f"{self.db_file}-wal"), Path(f"{self.db_file}-shm")]
        return sum(f.stat().st_size for f in files if f.exists())


def _rss_tree(pid: int) -> int:
    root = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])


@pytest.fixture(scope="module")
def temporal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("footprint")
    cfg = servers.TemporalConfig(
        workdir / "temporal.db", free_port(), free_port(), free_port(), free_port(), ui=False
    )
    supervisor = Supervisor()
    try:
        process = supervisor.start(servers.temporal(cfg, workdir / "temporal.log"), timeout=90)
        yield Server(cfg.address, process, cfg.db_file)
    finally:
        supervisor.stop_all()


async def _start_worker(address: str) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "BYLAW_TEMPORAL_ADDRESS": address,
        "BYLAW_TEMPORAL_NAMESPACE": "default",
        "BYLAW_TEMPORAL_TASK_QUEUE": QUEUE,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.bench.lifecycle_worker",
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    async with asyncio.timeout(60):
        while b"worker started" not in await process.stderr.readline():
            assert process.returncode is None, "the benchmark worker exited"

    async def drain() -> None:
        assert process.stderr is not None
        while await process.stderr.readline():
            pass

    asyncio.get_running_loop().create_task(drain())
    return process


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        await asyncio.wait_for(process.wait(), 60)


FINDINGS = [
    InspectionFinding("enclosure-complete", "compliant"),
    InspectionFinding("gate-self-closing", "non_compliant", "Gate stays open when released"),
    InspectionFinding("condition", "compliant"),
]


async def _open_case(client: Client, number: str, comply_by: date) -> None:
    now = datetime.now(UTC)
    handle = await client.start_workflow(
        CaseLifecycleWorkflow.run,
        CaseLifecycleInput(
            case_number=number,
            service_code="pool-fence",
            bylaw_number="2010-0049",
            priority="high",
            matrix_version="2023-07-25",
            received_at=now,
            enforced_by=["BD"],
            zone="DOWNTOWN",
        ),
        id=workflow_id(number),
        task_queue=QUEUE,
    )
    await handle.execute_update(
        UPDATE_RECORD_INSPECTION,
        RecordInspectionRequest(
            kind="initial", inspected_at=now, checklist_id="pool-fence", findings=FINDINGS
        ),
    )
    await handle.execute_update(
        UPDATE_TAKE_ENFORCEMENT_ACTION,
        EnforcementActionRequest(
            action="education",
            details="The gate of the pool enclosure does not close by itself.",
            required_action="Repair the gate so that it self-closes and self-latches.",
            comply_by=comply_by.isoformat(),
        ),
    )


def _mib(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB"


@pytest.mark.timeout(4 * 3600)  # about 10 cases/s on 2 cores: 10,000 take a quarter of an hour
async def test_ten_thousand_open_cases_with_pending_deadline_timers(temporal: Server) -> None:
    client = await Client.connect(temporal.address)
    comply_by = datetime.now(TORONTO).date() + timedelta(days=60)
    run = uuid.uuid4().hex[:4].upper()
    baseline = {"server": temporal.rss(), "disk": temporal.disk_bytes()}
    worker = await _start_worker(temporal.address)
    worker_baseline = _rss_tree(worker.pid)
    console.print(
        f"[bold]Opening {CASES:,} cases[/] (inspection + warning letter each; {CONCURRENCY} at a time) "
        f"on {temporal.address}"
    )
    started = time.monotonic()
    done = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(CASES):
        queue.put_nowait(i)

    async def driver() -> None:
        nonlocal done
        while not queue.empty():
            i = queue.get_nowait()
            await _open_case(client, f"BL-2099-{run}{i:06d}", comply_by)
            done += 1
            if done % PROGRESS_EVERY == 0 or done == CASES:
                elapsed = time.monotonic() - started
                console.print(
                    f"  {done:>7,}/{CASES:,} cases open  {done / elapsed:6.1f}/s  "
                    f"worker {_mib(_rss_tree(worker.pid))}  server {_mib(temporal.rss())}  "
                    f"sqlite {_mib(temporal.disk_bytes())}"
                )

    try:
        await asyncio.gather(*(driver() for _ in range(CONCURRENCY)))
        elapsed = time.monotonic() - started
        # Visibility catches up a moment after the last update.
        deadline = time.monotonic() + 60
        while (waiting := await client.count_workflows('CaseStatus = "awaiting_compliance"')).count < CASES:
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
        loaded = {"worker": _rss_tree(worker.pid), "server": temporal.rss(), "disk": temporal.disk_bytes()}
        # A restarted worker holds no cached case: the cost of open cases while they wait.
        await _stop(worker)
        worker = await _start_worker(temporal.address)
        await asyncio.sleep(5)
        idle = {"worker": _rss_tree(worker.pid), "server": temporal.rss(), "disk": temporal.disk_bytes()}
    finally:
        await _stop(worker)

    table = Table(title=f"{CASES:,} open cases, each with a pending compliance deadline timer")
    table.add_column("")
    table.add_column("before", justify="right")
    table.add_column("after opening", justify="right")
    table.add_column("worker restarted", justify="right")
    table.add_column("per case", justify="right")
    table.add_row("worker RSS", _mib(worker_baseline), _mib(loaded["worker"]), _mib(idle["worker"]), "")
    table.add_row(
        "Temporal server RSS",
        _mib(baseline["server"]),
        _mib(loaded["server"]),
        _mib(idle["server"]),
        f"{(loaded['server'] - baseline['server']) / CASES / 1024:,.1f} KiB",
    )
    table.add_row(
        "SQLite on disk",
        _mib(baseline["disk"]),
        _mib(loaded["disk"]),
        _mib(idle["disk"]),
        f"{(loaded['disk'] - baseline['disk']) / CASES / 1024:,.1f} KiB",
    )
    console.print(table)
    console.print(
        f"opened in {elapsed:,.0f} s ({CASES / elapsed:,.1f} cases/s); visibility counts "
        f"{waiting.count:,} awaiting compliance until {comply_by.isoformat()}"
    )
    assert waiting.count == CASES
