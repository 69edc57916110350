"""``python -m devstack run``: the whole system on the embedded default (what `make run` does).

Starts what the environment does not already provide, waits until the gateway reports
healthy, seeds the demo town, prints the URLs, and stops everything in order on Ctrl-C.
Data lives under ``.data/`` (``--data-dir``), so a second run keeps it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from devstack.stack import External, Stack, StackPorts

console = Console(highlight=False)


def _seed(stack: Stack) -> None:
    from devstack.demo_town import seed_demo_town

    with Progress(
        TextColumn("  seeding {task.description}"), BarColumn(), MofNCompleteColumn(), console=console
    ) as bar:
        tasks: dict[str, object] = {}

        def progress(what: str, done: int, total: int) -> None:
            if what not in tasks:
                tasks[what] = bar.add_task(what, total=total)
            bar.update(tasks[what], completed=done, total=total)  # type: ignore[arg-type]

        summary = asyncio.run(seed_demo_town(stack.env["BYLAW_CASES_ADDR"], progress=progress))
    parts = []
    for what, counts in summary.items():
        if isinstance(counts, dict):
            parts.append(f"{counts.get('total', 0)} {what} ({counts.get('inserted', 0)} new)")
    console.print("  demo town: " + ", ".join(parts))


def _dev_token(stack: Stack) -> str | None:
    try:
        from services.gateway.devtoken import mint_dev_token
    except ImportError:
        return None
    os.environ.setdefault("BYLAW_ENV", stack.env.get("BYLAW_ENV", "dev"))
    return mint_dev_token(subject="supervisor-demo", roles=["supervisor", "officer", "clerk"], hours=12)


def _print_urls(stack: Stack, started_in: float) -> None:
    env = stack.env
    gw = stack.gateway_url
    console.print(
        f"\n[bold green]Civic By-law Enforcement is up[/] ({started_in:.0f}s). Ctrl-C stops everything.\n"
    )
    rows = [
        ("Gateway", gw),
        ("API docs (OpenAPI)", f"{gw}/docs"),
        ("Open311 services", f"{gw}/open311/v2/services.json"),
        ("Health", f"{gw}/healthz"),
        ("Temporal UI", env["BYLAW_TEMPORAL_UI_URL"] if stack.temporal_ui else "(disabled)"),
        ("Temporal gRPC", env["BYLAW_TEMPORAL_ADDRESS"]),
        ("NATS", env["BYLAW_NATS_URL"]),
        ("PostgreSQL", env["BYLAW_DATABASE_URL"].replace("postgresql+psycopg", "postgresql")),
        (
            "S3 (MinIO stand-in)" if stack.external.s3_endpoint is None else "S3",
            env.get("BYLAW_S3_ENDPOINT", ""),
        ),
        ("Logs", str(stack.logs)),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        console.print(f"  {name:<{width}}  {value}")
    token = _dev_token(stack)
    if token:
        console.print("\n  Staff dev token (supervisor, officer, clerk; 12 h), for the staff API:")
        # Printed without wrapping so it can be copied in one piece.
        console.print(f"  export TOKEN={token}", soft_wrap=True)
        console.print(f'  curl -H "Authorization: Bearer $TOKEN" {gw}/api/v1/cases', soft_wrap=True)
    console.print()


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    stack = Stack(
        Path(args.data_dir),
        StackPorts.from_env(),
        external=External.from_env(),
        temporal_ui=not args.no_ui,
        progress=lambda msg: console.print(f"  {msg}"),
    )
    stop_requested = False

    def _request_stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGINT, _request_stop)
    signal.signal(signal.SIGTERM, _request_stop)
    console.print(f"[bold]Starting Civic By-law Enforcement[/] (data in {stack.data_dir})")
    try:
        stack.start()
        stack.wait_healthy(timeout=120)
        if not args.no_seed:
            _seed(stack)
        _print_urls(stack, time.monotonic() - started)
        while not stop_requested:
            dead = stack.dead()
            if dead:
                for proc in dead:
                    console.print(f"[red]{proc.name} exited[/]; last log lines:\n{proc.tail()}")
                return 1
            time.sleep(0.5)
        return 0
    finally:
        console.print("\nstopping…")
        stack.stop()
        console.print("stopped.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="start the whole system and print its URLs")
    run_p.add_argument("--data-dir", default=os.environ.get("BYLAW_DATA_DIR", ".data"))
    run_p.add_argument("--no-seed", action="store_true", help="skip seeding the demo town")
    run_p.add_argument("--no-ui", action="store_true", help="start Temporal without its Web UI")
    args = parser.parse_args(argv)
    if args.command == "run":
        return run(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
