"""The cases migrations on an empty PostgreSQL database: they apply (twice is a no-op),
produce exactly the ORM's schema, and downgrade cleanly."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from services.cases.adapters.orm import SCHEMA, metadata
from services.common.db import alembic_config, migrate_sync

# Every table the models declare (issue 4 and later migrations add theirs) and Alembic's own.
TABLES = {table.name for table in metadata.tables.values()} | {"alembic_version"}


def _head() -> str:
    """The newest revision: migrations chain linearly, so there is exactly one head."""
    heads = ScriptDirectory.from_config(alembic_config("cases", "postgresql://unused")).get_heads()
    assert len(heads) == 1, f"the cases migrations must chain linearly; heads: {heads}"
    return heads[0]


def _diff(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "include_schemas": True,
                    "include_name": lambda name, type_, parent: type_ != "schema" or name == SCHEMA,
                    "compare_type": True,
                    "version_table_schema": SCHEMA,
                },
            )
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def test_migrations_apply_on_empty_database_and_match_the_models(database_url: str) -> None:
    migrate_sync("cases", database_url)
    migrate_sync("cases", database_url)  # every replica runs it at startup: idempotent
    engine = create_engine(database_url)
    try:
        assert set(inspect(engine).get_table_names(schema=SCHEMA)) == TABLES
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM cases.alembic_version")).scalar_one() == _head()
            triggers = conn.execute(
                text(
                    "SELECT tgname FROM pg_trigger"
                    " WHERE tgrelid = 'cases.audit_log'::regclass AND NOT tgisinternal"
                )
            ).scalars()
            assert set(triggers) == {"audit_log_append_only", "audit_log_no_truncate"}
    finally:
        engine.dispose()
    assert _diff(database_url) == []


def test_downgrade_to_base_and_up_again(database_url: str) -> None:
    migrate_sync("cases", database_url)
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            cfg = alembic_config("cases", database_url)
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
            conn.commit()
        assert set(inspect(engine).get_table_names(schema=SCHEMA)) == {"alembic_version"}
    finally:
        engine.dispose()
    migrate_sync("cases", database_url)
    assert _diff(database_url) == []


def test_counters_become_sequences_and_come_back_on_downgrade(database_url: str) -> None:
    """Migration 0004: each year's counter becomes its sequence, continuing after the last
    number issued, and downgrading turns the sequences back into counters."""
    migrate_sync("cases", database_url, "0003")
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO cases.case_number_counters VALUES (2025, 917), (2026, 57)"))
        migrate_sync("cases", database_url)
        with engine.begin() as conn:
            assert conn.execute(text("SELECT cases.next_case_sequence(2026)")).scalar_one() == 58
            assert conn.execute(text("SELECT cases.next_case_sequence(2025)")).scalar_one() == 918
            assert conn.execute(text("SELECT cases.next_case_sequence(2027)")).scalar_one() == 1
        with engine.connect() as conn:
            cfg = alembic_config("cases", database_url)
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0003")
            conn.commit()
        with engine.connect() as conn:
            counters = text("SELECT year, last_value FROM cases.case_number_counters ORDER BY 1")
            assert [tuple(r) for r in conn.execute(counters)] == [(2025, 918), (2026, 58), (2027, 1)]
            left = text("SELECT count(*) FROM pg_sequences WHERE sequencename LIKE 'case_number%'")
            assert conn.execute(left).scalar_one() == 0
    finally:
        engine.dispose()
