"""Domain events leave through the outbox onto NATS JetStream (``bylaw.events.case.*``)
with an event id, case number and time, and never complainant identity or staff notes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import nats
from bylaw.v1 import common_pb2
from nats.js.api import DeliverPolicy

from services.cases.domain import events
from tests.integration.cases.conftest import CasesHarness
from tests.integration.cases.support import open_request, record, seed_roll

# What a careless caller might slip into free text; none of it may reach an event.
CANARY = "Jane Canary-Witness 613-555-0199 jane.canary@example.org"


async def _collect(sub: Any, case_number: str, want: int, within: float = 15.0) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = asyncio.get_running_loop().time() + within
    while len(got) < want:
        remaining = deadline - asyncio.get_running_loop().time()
        assert remaining > 0, f"only {len(got)} of {want} events arrived: {got}"
        msg = await sub.next_msg(timeout=remaining)
        body = json.loads(msg.data)
        body["_subject"] = msg.subject
        body["_msg_id"] = msg.headers.get("Nats-Msg-Id") if msg.headers else None
        await msg.ack()
        if body["case_number"] == case_number:
            got.append(body)
    return got


async def test_lifecycle_events_on_nats_without_pii(cases: CasesHarness, nats_url: str) -> None:
    await seed_roll(cases.stub)
    nc = await nats.connect(nats_url)
    try:
        sub = await nc.jetstream().subscribe("bylaw.events.case.>", deliver_policy=DeliverPolicy.NEW)
        opened = await cases.stub.OpenCase(
            open_request(
                address="100 Dundas St E", complaint_id="SR-events-1", summary=f"Caller {CANARY} says…"
            )
        )
        number = opened.case.case_number
        await cases.stub.OpenCase(open_request(address="100 Dundas Street East", complaint_id="SR-events-2"))
        await cases.stub.RecordStatus(
            record(number, common_pb2.CASE_STATUS_UNDER_INVESTIGATION, "inspect", reason="site visit booked")
        )
        received = await _collect(sub, number, 3)
    finally:
        await nc.drain()

    by_type = {e["event_type"]: e for e in received}
    assert set(by_type) == {events.CASE_CREATED, events.CASE_COMPLAINT_JOINED, events.CASE_STATUS_CHANGED}
    created = by_type[events.CASE_CREATED]
    assert created["_subject"] == "bylaw.events.case.created"
    assert created["_msg_id"] == created["event_id"]  # JetStream dedupes re-published rows
    assert created["data"]["complaint_id"] == "SR-events-1"
    assert created["data"]["service_code"] == "property-standards-cosmetic"
    assert created["data"]["priority"] == "low"
    assert created["data"]["zone_code"] == "DOWNTOWN"
    assert created["data"]["property_roll_number"] == "1121010001001000000"
    assert set(created["data"]) == {
        "complaint_id", "service_code", "bylaw_number", "priority", "matrix_version", "enforced_by", "status",
        "zone_code", "ward", "property_roll_number", "match_method", "channel", "restricted", "received_at",
        "assigned_officer_id",
    }  # fmt: skip
    joined = by_type[events.CASE_COMPLAINT_JOINED]
    assert joined["data"]["complaint_count"] == 2
    changed = by_type[events.CASE_STATUS_CHANGED]
    assert changed["_subject"] == "bylaw.events.case.status_changed"
    assert (changed["data"]["from"], changed["data"]["to"]) == ("received", "under_investigation")
    assert changed["data"]["reason"] == "site visit booked"
    for event in received:
        assert event["event_id"] and event["occurred_at"]
        text = json.dumps(event)
        for fragment in ("Canary", "613-555", "example.org", "Owner", "Harbour Holdings", "Dundas"):
            assert fragment not in text, (fragment, event["event_type"])
