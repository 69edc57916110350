"""Reporting on real PostgreSQL and NATS JetStream: events published on bylaw.events.>
are consumed by the durable consumer, applied once, and the dashboard and monthly report
reflect them; redelivery and replays do not double count."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import psycopg
import pytest
from bylaw.v1 import reporting_pb2, reporting_pb2_grpc
from google.protobuf.timestamp_pb2 import Timestamp
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from services.common import db, messaging
from services.common.events import DomainEvent
from services.common.grpc_client import insecure_channel
from services.common.grpc_server import build_server
from services.common.outbox import libpq_dsn
from services.common.settings import Settings
from services.reporting.adapters.orm import metadata
from services.reporting.adapters.repository import SqlUnitOfWork
from services.reporting.bootstrap import build_service, registration
from services.reporting.entrypoints.event_consumer import EventConsumer
from tests import infra
from tests.integration.evidence.harness import migration_drift
from tests.unit.reporting import scenario


@pytest.fixture(scope="module")
def events_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A NATS server of this module's own: the read-model figures must count only the
    events these tests publish, not those other suites left in BYLAW_EVENTS."""
    with infra.nats(tmp_path_factory.mktemp("reporting-nats")) as url:
        yield url


@dataclass
class Running:
    stub: reporting_pb2_grpc.ReportingServiceStub
    js: JetStreamContext
    consumer: EventConsumer
    database_url: str


@pytest.fixture
async def running(database_url: str, events_nats: str) -> AsyncIterator[Running]:
    settings = Settings(env="test", database_url=database_url, nats_url=events_nats)
    nc: NatsClient = await messaging.connect(events_nats, "reporting-test")
    await messaging.ensure_streams(nc)
    js = nc.jetstream()
    # Each test starts from an empty stream (this module's own server).
    await js.purge_stream(messaging.STREAM_EVENTS)
    global RUN
    RUN = os.urandom(4).hex()
    await db.migrate("reporting", database_url)
    engine = db.make_engine(database_url, pool_size=4, application_name="reporting-test")
    service = build_service(settings, db.make_session_factory(engine))
    consumer = EventConsumer(js, service, durable=f"reporting-{os.urandom(4).hex()}", fetch_timeout=0.2)
    stop = asyncio.Event()
    consuming = asyncio.create_task(consumer.run(stop))
    server, _, port = await build_server([registration(service)], "127.0.0.1:0")
    await server.start()
    channel = insecure_channel(f"127.0.0.1:{port}")
    try:
        yield Running(reporting_pb2_grpc.ReportingServiceStub(channel), js, consumer, database_url)
    finally:
        stop.set()
        await consuming
        await channel.close()
        await server.stop(None)
        await nc.drain()
        await engine.dispose()


# JetStream drops a message id it saw in the last two minutes, even after a purge; the
# tests publish the same scenario, so each run's message ids get their own prefix.
RUN = os.urandom(4).hex()


async def publish(js: JetStreamContext, events: list[DomainEvent], *, msg_id_suffix: str = "") -> None:
    for event in events:
        await js.publish(
            event.subject,
            json.dumps(event.to_json()).encode(),
            headers={"Nats-Msg-Id": f"{RUN}-{event.event_id}{msg_id_suffix}"},
        )


def as_of(moment: object = scenario.AS_OF) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)  # type: ignore[arg-type]
    return stamp


async def dashboard_when(running: Running, applied: int, wait: float = 30.0) -> reporting_pb2.Dashboard:
    """The dashboard once ``applied`` events are in (or after ``wait`` seconds)."""
    deadline = time.monotonic() + wait
    while True:
        dashboard: reporting_pb2.Dashboard = await running.stub.GetDashboard(
            reporting_pb2.GetDashboardRequest(as_of=as_of())
        )
        if dashboard.events_applied >= applied or time.monotonic() > deadline:
            return dashboard
        await asyncio.sleep(0.1)


def figures(dashboard: reporting_pb2.Dashboard) -> dict[str, tuple[float, float]]:
    return {
        name: (round(getattr(dashboard, name).value, 1), round(getattr(dashboard, name).previous, 1))
        for name in scenario.DASHBOARD
    }


async def test_dashboard_reflects_published_events(running: Running) -> None:
    events = scenario.events()
    await publish(running.js, events)
    dashboard = await dashboard_when(running, len(events))
    assert dashboard.events_applied == len(events)
    assert figures(dashboard) == scenario.DASHBOARD
    assert dashboard.timezone == "America/Toronto"
    assert dashboard.order_compliance.unit == "percent"
    assert dashboard.order_compliance.sample_size == 2
    assert dashboard.recent_activity[0].summary.startswith("Inspection completed")

    march = await running.stub.GetMonthlyReport(reporting_pb2.GetMonthlyReportRequest(year=2026, month=3))
    assert {c.key: c.count for c in march.complaints_received} == scenario.MARCH_RECEIVED
    assert {c.key: c.count for c in march.complaints_closed} == scenario.MARCH_CLOSED
    assert {c.key: c.count for c in march.enforcement_methods} == scenario.MARCH_METHODS
    assert len(march.emergency_actions) == 1 and "approved by cao" in march.emergency_actions[0]
    february = await running.stub.GetMonthlyReport(reporting_pb2.GetMonthlyReportRequest(year=2026, month=2))
    assert {c.key: c.count for c in february.complaints_closed} == scenario.FEBRUARY_CLOSED


async def test_redelivered_and_replayed_events_are_not_counted_twice(running: Running) -> None:
    events = scenario.events()
    await publish(running.js, events)
    await dashboard_when(running, len(events))
    # The same events again under new message ids (past JetStream's dedupe window, as a
    # relay republishing after a crash would): the ledger skips every one.
    await publish(running.js, events, msg_id_suffix="-again")
    marker = scenario.event("officer.updated", "", "2026-03-20T11:30:00+00:00")
    await publish(running.js, [marker])
    dashboard = await dashboard_when(running, len(events) + 1)
    assert dashboard.events_applied == len(events) + 1
    assert figures(dashboard) == scenario.DASHBOARD

    # A fresh durable consumer replays the whole stream from the start (a new replica, or
    # a consumer recreated after loss): still nothing counted twice.
    replay = EventConsumer(
        running.js, running.consumer.service, durable="reporting-replay", fetch_timeout=0.2
    )
    sub = await replay.subscribe()
    replayed = 0
    while replayed < 2 * len(events) + 1:
        msgs = await sub.fetch(500, timeout=5)
        await replay.process_batch(msgs)
        replayed += len(msgs)
    assert replayed == 2 * len(events) + 1
    assert replay.applied == 0
    assert figures(await dashboard_when(running, 0)) == scenario.DASHBOARD


async def test_unreadable_messages_are_recorded_and_do_not_block(running: Running) -> None:
    await running.js.publish("bylaw.events.case.created", b"{not json", headers={"Nats-Msg-Id": "bad-1"})
    good = scenario.created(scenario.C, "2026-02-27T17:00:00+00:00")
    await publish(running.js, [good])
    dashboard = await dashboard_when(running, 2)
    assert dashboard.events_applied == 2
    assert dashboard.open_cases.value == 1.0
    with psycopg.connect(libpq_dsn(running.database_url)) as conn:
        row = conn.execute(
            "SELECT event_type, handled, note FROM reporting.processed_events WHERE event_id LIKE 'nats-%'"
        ).fetchone()
    assert row is not None
    assert row[0] == "case.created" and row[1] is False and "not a domain event" in row[2]


async def test_throughput(running: Running) -> None:
    count = 2000
    events = []
    for n in range(count // 2):
        case = f"BL-2026-{n:06d}"
        scenario.SERVICE[case] = "garbage"
        events.append(scenario.created(case, "2026-03-02T13:00:00+00:00"))
        events.append(scenario.status(case, "received", "under_investigation", "2026-03-03T13:00:00+00:00"))
    started = time.monotonic()
    await publish(running.js, events)
    published = time.monotonic() - started
    dashboard = await dashboard_when(running, count, wait=120)
    elapsed = time.monotonic() - started
    assert dashboard.events_applied == count
    assert dashboard.open_cases.value == count // 2
    print(
        f"reporting applied {count} events in {elapsed:.2f}s ({count / elapsed:.0f}/s; "
        f"publishing them took {published:.2f}s of that)"
    )


async def test_dashboard_queries_share_one_snapshot(database_url: str) -> None:
    # The consumer commits while a dashboard is being computed; every query of one
    # dashboard must see the same moment.
    await db.migrate("reporting", database_url)
    engine = db.make_engine(database_url, pool_size=2, application_name="reporting-test")
    sessions = db.make_session_factory(engine)
    service = build_service(Settings(env="test", database_url=database_url), sessions)
    try:
        async with SqlUnitOfWork(sessions, snapshot=True) as reading:
            assert await reading.read_model.open_cases_at(scenario.AS_OF) == 0
            await service.apply([scenario.created(scenario.C, "2026-02-27T17:00:00+00:00")])
            assert await reading.read_model.events_applied() == 0
            assert await reading.read_model.open_cases_at(scenario.AS_OF) == 0
        async with SqlUnitOfWork(sessions, snapshot=True) as later:
            assert await later.read_model.events_applied() == 1
            assert await later.read_model.open_cases_at(scenario.AS_OF) == 1
    finally:
        await engine.dispose()


def test_migrations_match_models(database_url: str) -> None:
    assert migration_drift("reporting", metadata, database_url) == []
