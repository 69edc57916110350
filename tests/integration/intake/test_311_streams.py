"""The 311 streams on a real NATS server (services.common.messaging): requests alone in
COMPLAINTS_311, where intake erases each once processed, and the replies (outcomes, status
updates, dead letters) in COMPLAINTS_311_REPLIES; a server still holding the old single
stream is split in place at start-up, keeping what it stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats.aio.client import Client as NatsClient
from nats.js.api import StorageType, StreamConfig

from devstack import servers
from devstack.processes import Supervisor, free_port
from services.common.messaging import (
    STREAM_311,
    STREAM_311_REPLIES,
    SUBJECT_311_DLQ,
    SUBJECT_311_REQUESTS,
    SUBJECT_311_UPDATES,
    connect,
    ensure_streams,
)


@pytest.fixture
async def private_nats(tmp_path: Path) -> AsyncIterator[NatsClient]:
    """A server of its own: these tests change stream layouts, which the session's shared
    server must not see."""
    cfg = servers.NatsConfig(tmp_path / "nats", free_port(), free_port())
    supervisor = Supervisor()
    supervisor.start(servers.nats(cfg, tmp_path / "nats.log"), timeout=30)
    nc = await connect(cfg.url, "stream-layout-test")
    try:
        yield nc
    finally:
        await nc.close()
        supervisor.stop_all()


async def test_requests_and_replies_are_stored_apart(private_nats: NatsClient) -> None:
    await ensure_streams(private_nats)
    await ensure_streams(private_nats)  # every service runs it at start-up: idempotent
    js = private_nats.jetstream()
    assert (await js.publish(SUBJECT_311_REQUESTS, b"{}")).stream == STREAM_311
    assert (await js.publish(SUBJECT_311_UPDATES, b"{}")).stream == STREAM_311_REPLIES
    assert (await js.publish(SUBJECT_311_DLQ, b"{}")).stream == STREAM_311_REPLIES
    assert (await js.stream_info(STREAM_311)).state.messages == 1


async def test_the_old_single_stream_is_split_and_keeps_its_messages(private_nats: NatsClient) -> None:
    js = private_nats.jetstream()
    # The layout before: requests, updates and dead letters in one stream.
    await js.add_stream(
        StreamConfig(
            name=STREAM_311,
            subjects=[SUBJECT_311_REQUESTS, SUBJECT_311_UPDATES, SUBJECT_311_DLQ],
            storage=StorageType.FILE,
        )
    )
    await js.publish(SUBJECT_311_UPDATES, b'{"status": "open"}')
    await js.publish(SUBJECT_311_DLQ, b'{"reason": "bad"}')

    await ensure_streams(private_nats)

    old = await js.stream_info(STREAM_311)
    assert old.config.subjects == [SUBJECT_311_REQUESTS]
    assert old.state.messages == 2  # the record of earlier exchanges stays where it was
    replies = await js.stream_info(STREAM_311_REPLIES)
    assert sorted(replies.config.subjects or []) == sorted([SUBJECT_311_UPDATES, SUBJECT_311_DLQ])
    assert (await js.publish(SUBJECT_311_UPDATES, b"{}")).stream == STREAM_311_REPLIES
