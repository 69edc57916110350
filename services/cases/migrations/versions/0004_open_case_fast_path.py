"""OpenCase without global serialisation points (issue 3: intake at 311 volume).

- Case numbers come from one PostgreSQL SEQUENCE per year (``cases.case_number_seq_YYYY``)
  instead of a counter row updated inside every creating transaction, which made all new
  cases queue on that row until commit. Each existing counter becomes its year's sequence,
  continuing after the last number issued; ``cases.next_case_sequence(year)`` creates a
  later year's sequence with that year's first case. A sequence does not roll back, so a
  creation that rolls back leaves a gap in that year's numbers.
- ``reference_versions``: a version per reference table (officers, zones), bumped by a
  statement trigger on any change, so every replica's in-memory roster and zone polygons
  notice another replica's UpsertOfficers/UpsertZones on their next read.
- ``officer_open_load``: each officer's open caseload kept by a trigger on ``cases``, so
  routing a new case (spec 1.2) reads a few rows instead of counting every open case. The
  counts are spread over 64 shards chosen by the writing backend, so concurrent creations
  for the same officer do not queue on one row; the caseload is the sum of the shards.

Hand-checked against services/cases/adapters/orm.py (a test compares them). Status names
are spelled out here, not imported: a migration must not change when the code does.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "cases"
# The statuses in which a case counts toward its officer's caseload (OPEN_STATUSES at the
# time of writing, as in 0001's partial unique index).
OPEN_STATUSES = (
    "'awaiting_compliance', 'awaiting_council_approval', 'escalated', "
    "'notice_issued', 'received', 'reinspection', 'remediation', 'under_investigation'"
)
LOAD_SHARDS = 64


def _sequence(year: int) -> str:
    return f"{SCHEMA}.case_number_seq_{int(year)}"


def upgrade() -> None:
    bind = op.get_bind()

    # --- case numbers: counter rows -> one sequence per year -------------------------------
    counters = bind.execute(sa.text("SELECT year, last_value FROM cases.case_number_counters")).all()
    for year, last_value in counters:
        op.execute(f"CREATE SEQUENCE {_sequence(year)} AS bigint START WITH {int(last_value) + 1}")
    op.drop_table("case_number_counters", schema=SCHEMA)
    # The next number of a year, creating the year's sequence with its first case. The lock
    # queues concurrent first cases of a year behind the creator; they then find its
    # sequence (or create it, if the creator rolled back). A new sequence starts after any
    # number of that year already on a case, so it can never hand out a taken number.
    op.execute(
        """
        CREATE FUNCTION cases.next_case_sequence(year integer) RETURNS bigint
        LANGUAGE plpgsql AS $$
        DECLARE
            seq text := format('cases.case_number_seq_%s', year);
            first_value bigint;
        BEGIN
            IF to_regclass(seq) IS NULL THEN
                PERFORM pg_advisory_xact_lock(hashtext(seq));
                SELECT coalesce(max(substr(case_number, 9)::bigint), 0) + 1 INTO first_value
                    FROM cases.cases WHERE case_number LIKE format('BL-%s-%%', year);
                EXECUTE format(
                    'CREATE SEQUENCE IF NOT EXISTS %s AS bigint START WITH %s', seq, first_value
                );
            END IF;
            RETURN nextval(seq::regclass);
        END
        $$
        """
    )

    # --- reference versions --------------------------------------------------------------
    op.create_table(
        "reference_versions",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_reference_versions")),
        schema=SCHEMA,
    )
    op.execute("INSERT INTO cases.reference_versions (name, version) VALUES ('officers', 0), ('zones', 0)")
    op.execute(
        """
        CREATE FUNCTION cases.bump_reference_version() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE cases.reference_versions SET version = version + 1 WHERE name = TG_ARGV[0];
            RETURN NULL;
        END
        $$
        """
    )
    for table in ("officers", "zones"):
        op.execute(
            f"CREATE TRIGGER {table}_reference_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON cases.{table} FOR EACH STATEMENT EXECUTE FUNCTION cases.bump_reference_version('{table}')"
        )

    # --- open caseload per officer -------------------------------------------------------
    op.create_table(
        "officer_open_load",
        sa.Column("officer_id", sa.String(length=64), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("open_cases", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("officer_id", "shard", name=op.f("pk_officer_open_load")),
        schema=SCHEMA,
    )
    op.execute(
        f"""
        CREATE FUNCTION cases.track_officer_open_load() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            was text;
            now_on text;
            my_shard smallint := pg_backend_pid() % {LOAD_SHARDS};
        BEGIN
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                IF OLD.assigned_officer_id <> '' AND OLD.status IN ({OPEN_STATUSES}) THEN
                    was := OLD.assigned_officer_id;
                END IF;
            END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN
                IF NEW.assigned_officer_id <> '' AND NEW.status IN ({OPEN_STATUSES}) THEN
                    now_on := NEW.assigned_officer_id;
                END IF;
            END IF;
            IF was IS NOT DISTINCT FROM now_on THEN
                RETURN NULL;
            END IF;
            IF was IS NOT NULL THEN
                INSERT INTO cases.officer_open_load AS l (officer_id, shard, open_cases)
                VALUES (was, my_shard, -1)
                ON CONFLICT (officer_id, shard) DO UPDATE SET open_cases = l.open_cases - 1;
            END IF;
            IF now_on IS NOT NULL THEN
                INSERT INTO cases.officer_open_load AS l (officer_id, shard, open_cases)
                VALUES (now_on, my_shard, 1)
                ON CONFLICT (officer_id, shard) DO UPDATE SET open_cases = l.open_cases + 1;
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER cases_officer_open_load AFTER INSERT OR UPDATE OF status, assigned_officer_id "
        "OR DELETE ON cases.cases FOR EACH ROW EXECUTE FUNCTION cases.track_officer_open_load()"
    )
    # The caseload as it stands, all in shard 0 (the trigger adds to whichever shard).
    op.execute(
        "INSERT INTO cases.officer_open_load (officer_id, shard, open_cases) "
        "SELECT assigned_officer_id, 0, count(*) FROM cases.cases "
        f"WHERE assigned_officer_id <> '' AND status IN ({OPEN_STATUSES}) GROUP BY assigned_officer_id"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER cases_officer_open_load ON cases.cases")
    op.execute("DROP FUNCTION cases.track_officer_open_load()")
    op.drop_table("officer_open_load", schema=SCHEMA)
    for table in ("officers", "zones"):
        op.execute(f"DROP TRIGGER {table}_reference_version ON cases.{table}")
    op.execute("DROP FUNCTION cases.bump_reference_version()")
    op.drop_table("reference_versions", schema=SCHEMA)
    op.execute("DROP FUNCTION cases.next_case_sequence(integer)")

    op.create_table(
        "case_number_counters",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_case_number_counters")),
        schema=SCHEMA,
    )
    bind = op.get_bind()
    sequences = bind.execute(
        sa.text(
            "SELECT sequencename, last_value FROM pg_sequences "
            "WHERE schemaname = 'cases' AND sequencename ~ '^case_number_seq_[0-9]+$'"
        )
    ).all()
    for name, last_value in sequences:
        year = int(name.rsplit("_", 1)[1])
        if last_value is not None:  # NULL: created, never used
            bind.execute(
                sa.text("INSERT INTO cases.case_number_counters (year, last_value) VALUES (:y, :v)"),
                {"y": year, "v": int(last_value)},
            )
        op.execute(f"DROP SEQUENCE {_sequence(year)}")
