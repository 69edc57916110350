"""The 311 feed's activity line: what changed since the last line, counts only, and no
line at all for a quiet minute."""

from __future__ import annotations

import asyncio
import logging

import pytest

from services.common.coalesce import CoalescerStats
from services.intake.entrypoints.feed_log import FeedActivityLog
from services.intake.entrypoints.nats_consumer import ConsumerStats


def test_reports_the_change_since_the_last_report() -> None:
    consumer, inserts, cases = ConsumerStats(), CoalescerStats(), CoalescerStats()
    feed = FeedActivityLog(consumer, {"complaint inserts": inserts, "OpenCases": cases})
    consumer.processed, consumer.dead_lettered, consumer.retried = 120, 3, 2
    inserts.batches, inserts.items = 4, 120
    cases.batches, cases.items, cases.fallbacks = 3, 117, 1
    assert feed.report() == {
        "processed": 120,
        "dead_lettered": 3,
        "deferred": 2,
        "complaint_inserts_per_batch": 30.0,
        "complaint_inserts_fallbacks": 0,
        "OpenCases_per_batch": 39.0,
        "OpenCases_fallbacks": 1,
    }
    # The next minute: only what happened since.
    consumer.processed += 10
    inserts.batches, inserts.items = 5, 130
    assert feed.report() == {
        "processed": 10,
        "dead_lettered": 0,
        "deferred": 0,
        "complaint_inserts_per_batch": 10.0,
        "complaint_inserts_fallbacks": 0,
    }


def test_a_quiet_minute_reports_nothing() -> None:
    consumer = ConsumerStats(processed=7)
    feed = FeedActivityLog(consumer, {"complaint inserts": CoalescerStats(batches=2, items=7)})
    assert feed.report() is None  # what happened before it started is not news


async def test_the_line_is_logged_each_interval_with_counts_only(caplog: pytest.LogCaptureFixture) -> None:
    consumer = ConsumerStats()
    feed = FeedActivityLog(consumer, {}, interval=0.05)
    stop = asyncio.Event()
    caplog.set_level(logging.INFO, logger="services.intake.entrypoints.feed_log")
    task = asyncio.create_task(feed.run(stop))
    consumer.processed = 5
    await asyncio.sleep(0.12)
    stop.set()
    await asyncio.wait_for(task, 1)
    lines = [r for r in caplog.records if r.getMessage() == "311 feed activity"]
    assert len(lines) == 1  # the second interval was quiet
    assert lines[0].processed == 5  # type: ignore[attr-defined]
