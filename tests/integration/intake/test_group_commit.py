"""Group commit of intake's two per-complaint statements (``SqlComplaintRepository``,
``services.common.coalesce``) against the real PostgreSQL: a burst of 311 messages is
recorded and finished in batches, each complaint still gets exactly one record, one
outcome and one set of outbox messages, and a row the database refuses fails only its
own complaint."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from services.common.db import first_rows_each, psycopg_sql
from services.common.messaging import SUBJECT_311_UPDATES
from services.intake.adapters import orm
from services.intake.adapters.repository import RECORD_SQL, SqlComplaintRepository
from services.intake.domain.model import Submission
from services.intake.entrypoints.open311_message import decode_311
from tests.integration.intake.conftest import FakeCases, IntakeHarness
from tests.integration.intake.test_311_feed import count, listen, message, next_message, publish

BURST = 48


async def test_a_burst_is_written_in_batches_with_one_outcome_each(intake: IntakeHarness) -> None:
    repo = _repo(intake)
    updates = await listen(intake, SUBJECT_311_UPDATES)
    for n in range(BURST):
        await publish(intake, message(f"GC-{n}"), f"GC-{n}")

    outcomes = [(await next_message(updates))["body"] for _ in range(BURST)]
    assert sorted(o["external_request_id"] for o in outcomes) == sorted(f"GC-{n}" for n in range(BURST))
    assert all(o["case_number"].startswith("BL-2026-") for o in outcomes)
    assert len({o["case_number"] for o in outcomes}) == BURST  # distinct addresses: a case each

    # Some writes went out together (how many depends on how the fetches fell).
    assert repo.inserts.stats.items == repo.finishes.stats.items == BURST
    assert repo.inserts.stats.batches < BURST, repo.inserts.stats
    assert repo.inserts.stats.fallbacks == repo.finishes.stats.fallbacks == 0

    assert await count(intake, orm.complaints) == BURST
    assert await count(intake, orm.complainants) == BURST  # one vault row each
    async with intake.infra.require_sessions()() as session:
        done = await session.execute(
            select(func.count()).select_from(orm.complaints).where(orm.complaints.c.state == "done")
        )
        assert done.scalar_one() == BURST
    # No second answer for anyone.
    with pytest.raises(TimeoutError):
        await next_message(updates, wait=1.0)


async def test_complaints_submitted_together_are_recorded_and_finished_in_batches(
    intake: IntakeHarness, fake_cases: FakeCases
) -> None:
    repo = _repo(intake)
    outcomes = await asyncio.gather(
        *(intake.app.service.submit(_submission(f"GC-T-{n}")) for n in range(BURST))
    )
    assert len({o.service_request_id for o in outcomes}) == BURST
    assert all(o.case_number.startswith("BL-2026-") and not o.replayed for o in outcomes)
    # Tasks started together reach the insert together: one or two statements, not 48.
    assert repo.inserts.stats.items == BURST
    assert repo.inserts.stats.batches <= 2, repo.inserts.stats
    # They ask the cases service together as well: one OpenCases call, not 48 OpenCase.
    assert sum(fake_cases.servicer.batch_sizes) == BURST
    assert len(fake_cases.servicer.batch_sizes) <= 2, fake_cases.servicer.batch_sizes
    # Finishes wait out their workflow starts, then gather within the linger.
    assert repo.finishes.stats.items == BURST
    assert repo.finishes.stats.batches < BURST, repo.finishes.stats
    assert await count(intake, orm.complaints) == await count(intake, orm.complainants) == BURST


async def test_the_same_311_id_twice_in_one_batch_is_one_complaint(intake: IntakeHarness) -> None:
    service = intake.app.service
    first, again = await asyncio.gather(
        *(service.submit(_submission("GC-TWICE")), service.submit(_submission("GC-TWICE")))
    )
    assert first.service_request_id == again.service_request_id
    assert first.case_number == again.case_number
    assert sorted([first.replayed, again.replayed]) == [False, True]
    assert await count(intake, orm.complaints) == 1
    assert await count(intake, orm.complainants) == 1


async def test_a_refused_row_fails_only_its_own_complaint(intake: IntakeHarness) -> None:
    repo = _repo(intake)
    template = await _captured_insert_params(intake, "GC-TEMPLATE")
    good = [_like(template, f"GC-OK-{n}") for n in range(3)]
    bad = _like(template, "GC-BAD", state="bogus")  # violates ck_complaints_state
    before = repo.inserts.stats.fallbacks
    results = await asyncio.gather(
        *(repo.inserts(p) for p in (good[0], bad, good[1], good[2])), return_exceptions=True
    )
    assert isinstance(results[1], DBAPIError)
    assert "ck_complaints_state" in str(results[1])
    for row, params in zip((results[0], results[2], results[3]), good, strict=True):
        assert not isinstance(row, BaseException)
        assert row is not None
        assert row["external_request_id"] == params["external_request_id"]
        assert row["state"] == "received"
    assert repo.inserts.stats.fallbacks == before + 1
    assert await count(intake, orm.complaints) == 1 + 3


async def test_first_rows_each_is_all_or_nothing(intake: IntakeHarness) -> None:
    template = await _captured_insert_params(intake, "GC-TEMPLATE")
    engine = intake.infra.engine
    assert engine is not None
    sql = psycopg_sql(RECORD_SQL)
    rows = [_like(template, "GC-ATOM-1"), _like(template, "GC-ATOM-2", state="bogus")]
    with pytest.raises(Exception, match="ck_complaints_state"):
        await first_rows_each(engine, sql, rows)
    assert await count(intake, orm.complaints) == 1  # the template only
    inserted = await first_rows_each(engine, sql, rows[:1])
    assert inserted[0] is not None
    assert inserted[0]["external_request_id"] == "GC-ATOM-1"
    # ON CONFLICT DO NOTHING: the same complaint again answers no row and adds nothing.
    assert await first_rows_each(engine, sql, [_like(template, "GC-ATOM-1")]) == [None]
    assert await count(intake, orm.complaints) == 2


def _repo(intake: IntakeHarness) -> SqlComplaintRepository:
    repo = intake.app.service.complaints
    assert isinstance(repo, SqlComplaintRepository)
    return repo


def _submission(external_id: str) -> Submission:
    return decode_311(json.dumps(message(external_id)).encode(), {"Nats-Msg-Id": external_id})


async def _captured_insert_params(intake: IntakeHarness, external_id: str) -> dict[str, Any]:
    """RECORD_SQL's parameters exactly as ``record`` builds them, from a real submit."""
    repo = _repo(intake)
    real = repo.inserts
    captured: list[dict[str, Any]] = []

    async def capturing(params: dict[str, Any]) -> Any:
        captured.append(dict(params))
        return await real(params)

    setattr(repo, "inserts", capturing)  # noqa: B010 - a test double for one call
    try:
        await intake.app.service.submit(_submission(external_id))
    finally:
        setattr(repo, "inserts", real)  # noqa: B010
    assert len(captured) == 1
    return captured[0]


def _like(template: dict[str, Any], external_id: str, **changes: Any) -> dict[str, Any]:
    return {**template, "id": uuid.uuid4(), "external_request_id": external_id, **changes}
