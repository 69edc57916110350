"""Transactional outbox: a service writes the messages it must publish in the same
transaction as its state change, and a relay publishes them to JetStream afterwards.

A crash between commit and publish loses nothing (the row stays until published) and
re-publishing is harmless: each message carries ``Nats-Msg-Id`` = its outbox id, so
JetStream drops the duplicate inside its window and consumers dedupe by event id beyond
it. LISTEN/NOTIFY wakes the relay at once; a 1-second poll covers missed notifications.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from nats.js import JetStreamContext
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    MetaData,
    String,
    Table,
    Text,
    cast,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.common.events import DomainEvent

log = logging.getLogger(__name__)


def outbox_table(metadata: MetaData) -> Table:
    return Table(
        "outbox",
        metadata,
        Column("seq", BigInteger, Identity(), primary_key=True),
        Column("msg_id", UUID(as_uuid=False), nullable=False, unique=True),
        Column("subject", String(200), nullable=False),
        Column("payload", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True)),
        Index("ix_outbox_unpublished", "seq", postgresql_where=text("published_at IS NULL")),
    )


def notify_channel(table: Table) -> str:
    return f"{table.schema}_outbox"


async def enqueue(
    session: AsyncSession, table: Table, subject: str, payload: dict[str, Any], msg_id: str | None = None
) -> str:
    """Add a message to the outbox inside the caller's transaction."""
    msg_id = msg_id or str(uuid.uuid4())
    await session.execute(table.insert().values(msg_id=msg_id, subject=subject, payload=payload))
    # Delivered on commit; identical notifications in one transaction collapse into one.
    await session.execute(text("SELECT pg_notify(:ch, '')"), {"ch": notify_channel(table)})
    return msg_id


async def enqueue_event(session: AsyncSession, table: Table, event: DomainEvent) -> str:
    return await enqueue(session, table, event.subject, event.to_json(), msg_id=event.event_id)


def libpq_dsn(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        table: Table,
        js: JetStreamContext,
        database_url: str,
        *,
        batch_size: int = 500,
        retention: timedelta = timedelta(days=7),
        linger: float = 0.05,
    ) -> None:
        self.engine = engine
        self.table = table
        self.js = js
        self.dsn = libpq_dsn(database_url)
        self.batch_size = batch_size
        self.retention = retention
        # Once woken, wait this long before reading the outbox, so that at volume one
        # transaction publishes the rows of many commits rather than one (a message is at
        # most this much later).
        self.linger = linger
        self.published_total = 0
        self._wake = asyncio.Event()

    async def publish_pending(self) -> int:
        """Publish one batch; returns how many were published."""
        t = self.table
        async with self.engine.connect() as conn, conn.begin():
            rows = (
                await conn.execute(
                    # The payload as PostgreSQL prints it: JSON already, so it is sent as
                    # it comes instead of being parsed into Python and serialised again.
                    select(t.c.seq, t.c.msg_id, t.c.subject, cast(t.c.payload, Text).label("payload"))
                    .where(t.c.published_at.is_(None))
                    .order_by(t.c.seq)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            results = await asyncio.gather(
                *(
                    self.js.publish(
                        row.subject,
                        row.payload.encode(),
                        headers={"Nats-Msg-Id": str(row.msg_id)},
                    )
                    for row in rows
                ),
                return_exceptions=True,
            )
            done = [
                row.seq for row, res in zip(rows, results, strict=True) if not isinstance(res, BaseException)
            ]
            failed = len(rows) - len(done)
            if failed:
                log.warning("outbox publish failed; will retry", extra={"failed": failed, "table": str(t)})
            if done:
                await conn.execute(update(t).where(t.c.seq.in_(done)).values(published_at=func.now()))
            self.published_total += len(done)
            return len(done)

    async def purge_published(self) -> None:
        cutoff = datetime.now(UTC) - self.retention
        async with self.engine.begin() as conn:
            await conn.execute(delete(self.table).where(self.table.c.published_at < cutoff))

    async def _listen(self, stop: asyncio.Event) -> None:
        channel = notify_channel(self.table)
        while not stop.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(self.dsn, autocommit=True) as conn:
                    await conn.execute(f'LISTEN "{channel}"')
                    while not stop.is_set():
                        async for _ in conn.notifies(timeout=1.0):
                            self._wake.set()
                        self._wake.set()
            except (psycopg.Error, OSError) as exc:
                log.warning("outbox listener reconnecting: %s", exc)
                await asyncio.sleep(1.0)

    async def run(self, stop: asyncio.Event) -> None:
        listener = asyncio.create_task(self._listen(stop))
        last_purge = datetime.now(UTC)
        try:
            while not stop.is_set():
                try:
                    published = await self.publish_pending()
                except Exception:
                    log.exception("outbox relay error")
                    published = 0
                    await asyncio.sleep(1.0)
                if published >= self.batch_size:
                    continue  # a full batch: more are likely waiting
                self._wake.clear()
                if not published:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=1.0)
                if self.linger:
                    await asyncio.sleep(self.linger)
                if datetime.now(UTC) - last_purge > timedelta(hours=1):
                    await self.purge_published()
                    last_purge = datetime.now(UTC)
            # Drain what is committed before stopping.
            while await self.publish_pending():
                pass
        finally:
            listener.cancel()
