"""The body of every service's ``migrations/env.py``: online migrations only, on the
connection handed over by :func:`services.common.db.migrate_sync` (or a fresh one when
run from the ``alembic`` command line), with the version table in the service's schema."""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.pool import NullPool


def run_migrations(target_metadata: MetaData) -> None:
    config = context.config
    schema = config.get_main_option("bylaw.schema")
    assert schema, "bylaw.schema must be set (services.common.db.alembic_config)"
    connection = config.attributes.get("connection")

    def _run(conn: object) -> None:
        context.configure(
            connection=conn,  # type: ignore[arg-type]
            target_metadata=target_metadata,
            version_table_schema=schema,
            include_schemas=True,
            include_name=lambda name, type_, parent: type_ != "schema" or name == schema,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    assert url
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        conn.commit()
        _run(conn)
        conn.commit()
