"""``python -m services.intake.tools.replay_311 FILE.csv [--rate N] [--map MAP.yaml]``
(``make replay-311 FILE=... [RATE=...]``): replay a CSV of 311 service requests (the NYC
Open Data 311 export's columns) onto ``bylaw.311.requests``, then wait for every one to
be accounted for (an outcome on ``bylaw.311.updates`` or an entry on ``bylaw.311.dlq``)
and report outcomes by kind, dead letters, throughput and latency.

Each row becomes the DESIGN.md section 3 message: ``service_request_id`` and the
``Nats-Msg-Id`` header are the row's ``unique_key``; ``service_code`` comes from the
complaint-type map (a type the map leaves out is sent under its own name, which intake
refuses, so it ends in the DLQ with the reason); the channel from
``open_data_channel_type``. The export has no complainant, so each row gets a
deterministic, obviously fictional identity (names from a short list, ``example.invalid``
addresses, 555-01xx numbers) so that intake treats it as a named, contactable complaint.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import hashlib
import json
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import nats
import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.common.messaging import SUBJECT_311_DLQ, SUBJECT_311_REQUESTS, SUBJECT_311_UPDATES

NYC = ZoneInfo("America/New_York")
CHANNELS = {"PHONE": "311-phone", "ONLINE": "311-online", "MOBILE": "311-mobile", "UNKNOWN": "311-other"}
FIRST_NAMES = ("Alex", "Bea", "Cyrus", "Dana", "Eli", "Fern", "Gus", "Hana", "Ivo", "Jude", "Kit", "Lior")
LAST_NAMES = ("Fictive", "Placeholder", "Testperson", "Madeup", "Sampleton", "Nobody", "Imaginary", "Dummy")
MAX_DESCRIPTION = 4000


@dataclass(frozen=True)
class ComplaintTypeMap:
    codes: Mapping[str, str]
    unmapped: frozenset[str]

    @classmethod
    def load(cls, path: Path) -> ComplaintTypeMap:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return cls(
            codes={str(k): str(v) for k, v in (data.get("map") or {}).items()},
            unmapped=frozenset(str(t) for t in data.get("unmapped") or ()),
        )

    def service_code(self, complaint_type: str) -> str:
        # An unmapped type keeps its own name: not one of our codes, so intake refuses it.
        return self.codes.get(complaint_type, complaint_type)


def fake_identity(key: str) -> dict[str, str]:
    """A deterministic, clearly fictional complainant for a row (the export has none)."""
    digest = int(hashlib.sha256(key.encode()).hexdigest(), 16)
    first = FIRST_NAMES[digest % len(FIRST_NAMES)]
    last = LAST_NAMES[(digest // 97) % len(LAST_NAMES)]
    return {
        "first_name": first,
        "last_name": last,
        "email": f"{first}.{last}.{key}@example.invalid".lower(),
        # 555-0100 to 555-0199 are reserved for fiction in North American numbering.
        "phone": f"613-555-01{digest % 100:02d}",
        "complainant_address": f"{digest % 900 + 100} Fictional Lane, Example Town",
    }


def _address(row: Mapping[str, str]) -> str:
    if row.get("incident_address"):
        return " ".join(row["incident_address"].split())
    one, two = row.get("intersection_street_1", ""), row.get("intersection_street_2", "")
    if one and two:
        return f"{' '.join(one.split())} & {' '.join(two.split())}"
    return " ".join((row.get("street_name") or "").split())


def message_from_row(row: Mapping[str, str], types: ComplaintTypeMap, id_prefix: str = "") -> dict[str, Any]:
    key = f"{id_prefix}{row['unique_key']}"
    created = datetime.fromisoformat(row["created_date"])
    if created.tzinfo is None:
        created = created.replace(tzinfo=NYC)
    parts = [row.get("complaint_type", ""), row.get("descriptor", ""), row.get("location_type", "")]
    description = " / ".join(p.strip() for p in parts if p and p.strip())
    body: dict[str, Any] = {
        "service_request_id": key,
        "requested_datetime": created.isoformat(),
        "channel": CHANNELS.get(row.get("open_data_channel_type", "").upper(), "311-other"),
        "service_code": types.service_code(row.get("complaint_type", "")),
        "description": description[:MAX_DESCRIPTION],
        "address_string": _address(row),
        "zipcode": row.get("incident_zip", ""),
        **fake_identity(key),
    }
    if row.get("latitude") and row.get("longitude"):
        body["lat"] = float(row["latitude"])
        body["long"] = float(row["longitude"])
    return body


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return [dict(r) for r in csv.DictReader(f)]


@dataclass
class ReplayReport:
    published: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    dead_letters: int = 0
    dead_letter_reasons: Counter[str] = field(default_factory=Counter)
    missing: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # seconds, publish → answer
    publish_seconds: float = 0.0
    total_seconds: float = 0.0
    updates: dict[str, dict[str, Any]] = field(default_factory=dict)  # by external id
    dlq: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def accounted(self) -> int:
        return sum(self.outcomes.values()) + self.dead_letters

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def throughput(self) -> float:
        return self.accounted / self.total_seconds if self.total_seconds else 0.0


Tick = Callable[[str, int], None]


async def replay(
    messages: Sequence[dict[str, Any]],
    nats_url: str,
    *,
    rate: float = 0.0,
    wait_seconds: float = 600.0,
    window: int = 64,
    on_progress: Tick | None = None,
) -> ReplayReport:
    """Publish ``messages`` and wait until each is answered or ``wait_seconds`` pass."""
    tick = on_progress or (lambda phase, n: None)
    report = ReplayReport()
    ids = [m["service_request_id"] for m in messages]
    waiting = set(ids)
    sent_at: dict[str, float] = {}
    all_done = asyncio.Event()
    nc = await nats.connect(nats_url, name="replay-311", max_reconnect_attempts=-1)

    def settle(external_id: str) -> None:
        waiting.discard(external_id)
        if external_id in sent_at:
            report.latencies.append(time.perf_counter() - sent_at[external_id])
        tick("answered", 1)
        if not waiting:
            all_done.set()

    async def on_update(msg: Any) -> None:
        body = json.loads(msg.data)
        external_id = body.get("external_request_id")
        if external_id in waiting:
            report.updates[external_id] = body
            report.outcomes[str(body.get("outcome") or "unknown")] += 1
            settle(external_id)

    async def on_dlq(msg: Any) -> None:
        body = json.loads(msg.data)
        external_id = body.get("external_request_id")
        if external_id in waiting:
            report.dlq[external_id] = body
            report.dead_letters += 1
            violations = body.get("violations") or [{}]
            report.dead_letter_reasons[str(violations[0].get("field") or "message")] += 1
            settle(external_id)

    try:
        await nc.subscribe(SUBJECT_311_UPDATES, cb=on_update)
        await nc.subscribe(SUBJECT_311_DLQ, cb=on_dlq)
        await nc.flush()
        js = nc.jetstream()
        start = time.perf_counter()
        interval = 1.0 / rate if rate > 0 else 0.0
        for offset in range(0, len(messages), window):
            chunk = messages[offset : offset + window]
            for message in chunk:
                sent_at[message["service_request_id"]] = time.perf_counter()
            await asyncio.gather(
                *(
                    js.publish(
                        SUBJECT_311_REQUESTS,
                        json.dumps(m).encode(),
                        headers={"Nats-Msg-Id": m["service_request_id"]},
                    )
                    for m in chunk
                )
            )
            report.published += len(chunk)
            tick("published", len(chunk))
            if interval:
                # Hold the requested rate: the next chunk starts when this one is due.
                await asyncio.sleep(max(0.0, start + report.published * interval - time.perf_counter()))
        report.publish_seconds = time.perf_counter() - start
        if waiting:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(all_done.wait(), timeout=wait_seconds)
        report.total_seconds = time.perf_counter() - start
        report.missing = [i for i in ids if i in waiting]
    finally:
        await nc.close()
    return report


def print_report(report: ReplayReport, console: Console) -> None:
    table = Table(title="311 replay")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("published", str(report.published))
    for kind, n in sorted(report.outcomes.items()):
        table.add_row(f"outcome: {kind}", str(n))
    table.add_row("dead letters (bylaw.311.dlq)", str(report.dead_letters))
    for reason, n in report.dead_letter_reasons.most_common():
        table.add_row(f"  dead letter field: {reason}", str(n))
    table.add_row("accounted for", f"{report.accounted} / {report.published}")
    table.add_row("unanswered", str(len(report.missing)))
    table.add_row(
        "publish rate",
        f"{report.published / report.publish_seconds:.1f} msg/s" if report.publish_seconds else "-",
    )
    table.add_row("end-to-end throughput", f"{report.throughput:.1f} answers/s")
    table.add_row("latency p50", f"{report.percentile(0.50) * 1000:.0f} ms")
    table.add_row("latency p95", f"{report.percentile(0.95) * 1000:.0f} ms")
    if report.latencies:
        table.add_row("latency mean", f"{statistics.fmean(report.latencies) * 1000:.0f} ms")
    console.print(table)


def build_messages(
    rows: Iterable[Mapping[str, str]], types: ComplaintTypeMap, id_prefix: str = ""
) -> list[dict[str, Any]]:
    return [message_from_row(row, types, id_prefix) for row in rows]


DEFAULT_MAP = (
    Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "nyc311" / "complaint_type_map.yaml"
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.intake.tools.replay_311", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("file", type=Path, help="CSV of 311 requests (NYC Open Data columns)")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="messages per second (default: as fast as possible)"
    )
    parser.add_argument("--map", type=Path, default=DEFAULT_MAP, help="complaint type → service code YAML")
    parser.add_argument("--nats-url", default=os.environ.get("BYLAW_NATS_URL", "nats://127.0.0.1:4222"))
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the last answer")
    parser.add_argument(
        "--id-prefix",
        default="",
        help="prefix for the 311 ids, to replay the same file again as new requests",
    )
    args = parser.parse_args(argv)
    console = Console(stderr=False)
    messages = build_messages(read_rows(args.file), ComplaintTypeMap.load(args.map), args.id_prefix)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        tasks = {
            "published": progress.add_task("publishing", total=len(messages)),
            "answered": progress.add_task("answered (outcome or DLQ)", total=len(messages)),
        }
        report = asyncio.run(
            replay(
                messages,
                args.nats_url,
                rate=args.rate,
                wait_seconds=args.timeout,
                on_progress=lambda phase, n: progress.advance(tasks[phase], n),
            )
        )
    print_report(report, console)
    if report.missing:
        console.print(f"[red]{len(report.missing)} requests got no answer within {args.timeout:.0f}s[/red]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
