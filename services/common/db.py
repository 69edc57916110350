"""PostgreSQL access: SQLAlchemy 2 (async, psycopg 3) with one schema per service, and
Alembic migrations run at startup under an advisory lock so replicas don't race."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from psycopg import AsyncConnection as PsycopgConnection
from psycopg.rows import dict_row
from sqlalchemy import MetaData, TextClause, create_engine, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

# Stable constraint names so Alembic migrations are deterministic across databases.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata(schema: str) -> MetaData:
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def make_base(schema: str) -> type[DeclarativeBase]:
    """A declarative base whose tables live in the service's own schema."""

    class Base(DeclarativeBase):
        metadata = service_metadata(schema)

    return Base


def make_engine(url: str, *, pool_size: int = 10, application_name: str = "bylaw") -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"application_name": application_name},
    )


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def session_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One transaction: commit on success, roll back on any error."""
    async with factory() as session, session.begin():
        yield session


# ``:name`` binds of a text() statement, not ``::`` casts or a colon inside a word.
_TEXT_BIND = re.compile(r"(?<![:\w]):(\w+)")


def psycopg_sql(statement: TextClause) -> str:
    """A text() statement in psycopg's own ``%(name)s`` style, for ``first_rows_each``
    (the statement must not contain a literal ``%``)."""
    if "%" in statement.text:
        raise ValueError("statement contains a literal %")
    return _TEXT_BIND.sub(r"%(\1)s", statement.text)


async def first_rows_each(
    engine: AsyncEngine, sql: str, params: Sequence[Mapping[str, object]]
) -> list[dict[str, Any] | None]:
    """Run ``sql`` once per parameter set, all in one transaction and one pipelined round
    trip (psycopg ``executemany``), and return each execution's first row (None when it
    returned none), in order. All or nothing: on any error nothing is committed.

    For group commit on the hot path (``services.common.coalesce``): N single-row
    statements cost one round trip, one connection checkout and one commit."""
    if not params:
        return []
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        pg = raw.driver_connection
        assert isinstance(pg, PsycopgConnection)
        async with pg.transaction(), pg.cursor(row_factory=dict_row) as cur:
            await cur.executemany(sql, params, returning=True)
            rows: list[dict[str, Any] | None] = []
            while True:
                rows.append(await cur.fetchone())
                if not cur.nextset():
                    break
    if len(rows) != len(params):
        raise RuntimeError(f"{len(rows)} results for {len(params)} executions")
    return rows


def alembic_config(service: str, url: str) -> Config:
    migrations = Path(__file__).resolve().parent.parent / service / "migrations"
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.set_main_option("bylaw.schema", service)
    return cfg


def migrate_sync(service: str, url: str, revision: str = "head") -> None:
    """Upgrade the service's schema. Safe to call from every replica at startup."""
    engine = create_engine(url, poolclass=NullPool)
    lock_key = f"bylaw-migrate-{service}"
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(hashtext(:k))"), {"k": lock_key})
        try:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{service}"'))
            conn.commit()
            cfg = alembic_config(service, url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            conn.commit()
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(hashtext(:k))"), {"k": lock_key})
            conn.commit()
    engine.dispose()
    log.info("migrations applied", extra={"schema": service, "revision": revision})


async def migrate(service: str, url: str) -> None:
    await asyncio.to_thread(migrate_sync, service, url)


async def database_reachable(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - health probe: any failure means unreachable
        return False
