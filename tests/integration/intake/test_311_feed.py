"""The 311 feed end to end through real NATS JetStream, PostgreSQL and the Temporal dev
server (DESIGN.md §3): outcome back on bylaw.311.updates, the case workflow started with
its search attributes and no identity, bad messages dead-lettered with the reason,
redelivery creating nothing new, and a cases outage deferring instead of dead-lettering."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sqlalchemy import func, select
from temporalio.client import WorkflowExecutionStatus

from services.common.events import DomainEvent
from services.common.messaging import SUBJECT_311_DLQ, SUBJECT_311_REQUESTS, SUBJECT_311_UPDATES
from services.intake.adapters import orm
from tests.integration.intake.conftest import FakeCases, IntakeHarness
from workflows import contracts

PII = ("Canary-Ada", "Canary-Lovelace", "canary.ada@example.org", "613-555-0199", "99 Canary Crescent")


def message(external_id: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "service_code": "property-standards-major-safety",
        "lat": 44.2497,
        "long": -76.9511,
        "address_string": f"{external_id} Dundas St E, Napanee",
        "description": "Porch stairs collapsing; railing missing. Canary-Lovelace lives next door.",
        "first_name": "Canary-Ada",
        "last_name": "Canary-Lovelace",
        "email": "canary.ada@example.org",
        "phone": "613-555-0199",
        "complainant_address": "99 Canary Crescent",
        "service_request_id": external_id,
        "requested_datetime": "2026-03-02T09:15:00-05:00",
        "channel": "311-phone",
    }
    body.update(changes)
    return body


async def publish(h: IntakeHarness, body: dict[str, Any] | bytes, msg_id: str | None = None) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Nats-Msg-Id": msg_id} if msg_id else None
    await h.nc.jetstream().publish(SUBJECT_311_REQUESTS, data, headers=headers)


async def listen(h: IntakeHarness, subject: str) -> asyncio.Queue[dict[str, Any]]:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def on_message(msg: Any) -> None:
        await queue.put({"body": json.loads(msg.data), "headers": dict(msg.headers or {})})

    await h.nc.subscribe(subject, cb=on_message)
    await h.nc.flush()
    return queue


async def next_message(queue: asyncio.Queue[dict[str, Any]], wait: float = 20.0) -> dict[str, Any]:
    return await asyncio.wait_for(queue.get(), timeout=wait)


async def count(h: IntakeHarness, table: Any) -> int:
    async with h.infra.require_sessions()() as session:
        return int((await session.execute(select(func.count()).select_from(table))).scalar_one())


async def test_311_message_gets_a_case_a_workflow_and_an_outcome(intake: IntakeHarness) -> None:
    updates = await listen(intake, SUBJECT_311_UPDATES)
    await publish(intake, message("NYC-1001"), "NYC-1001")

    update = (await next_message(updates))["body"]
    case_number = update["case_number"]
    assert case_number.startswith("BL-2026-")
    assert update["external_request_id"] == "NYC-1001"
    assert update["service_request_id"].startswith("SR-")
    assert update["status"] == "open"
    assert update["service_code"] == "property-standards-major-safety"
    assert update["description"] is None
    assert not any(p in json.dumps(update) for p in PII)

    handle = intake.temporal.get_workflow_handle(contracts.workflow_id(case_number))
    desc = await handle.describe()
    assert desc.workflow_type == contracts.WORKFLOW_TYPE
    assert desc.task_queue == contracts.TASK_QUEUE
    assert desc.status == WorkflowExecutionStatus.RUNNING  # no worker here: it waits in the queue
    attrs = desc.typed_search_attributes
    assert attrs.get(contracts.CASE_NUMBER) == case_number
    assert attrs.get(contracts.CASE_STATUS) == "received"
    assert attrs.get(contracts.CASE_PRIORITY) == "high"
    assert attrs.get(contracts.SERVICE_CODE) == "property-standards-major-safety"
    assert attrs.get(contracts.BYLAW_NUMBER) == "2010-0050"
    # No identity anywhere in the workflow's history (its input included).
    history = await handle.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    payload = json.loads(started.input.payloads[0].data)
    assert payload["case_number"] == case_number
    assert payload["service_code"] == "property-standards-major-safety"
    raw = b"".join(event.SerializeToString() for event in history.events)
    assert not any(p.encode() in raw for p in PII)


async def test_bad_messages_go_to_the_dlq_with_the_reason_and_no_identity(intake: IntakeHarness) -> None:
    dlq = await listen(intake, SUBJECT_311_DLQ)
    await publish(intake, b"{this is not json, Canary-Ada", "NYC-BAD-1")
    bad = message("NYC-BAD-2", description="", lat=123.0)
    await publish(intake, bad, "NYC-BAD-2")

    letters = {
        m["body"]["external_request_id"]: m for m in [await next_message(dlq), await next_message(dlq)]
    }
    not_json = letters["NYC-BAD-1"]["body"]
    assert "original" not in not_json and not_json["size_bytes"] == len(b"{this is not json, Canary-Ada")
    assert not_json["reason"].startswith("body: is not valid UTF-8 JSON")
    invalid = letters["NYC-BAD-2"]["body"]
    assert invalid["original"]["service_request_id"] == "NYC-BAD-2"
    assert invalid["original"]["first_name"].startswith("[withheld")
    fields = {v["field"]: v for v in invalid["violations"]}
    assert fields["description"]["policy"] == "6.5.3"
    assert "lat" in fields
    assert "description: is required" in invalid["reason"]
    assert "description" in letters["NYC-BAD-2"]["headers"]["Bylaw-Dlq-Reason"]
    # Policy 6.3: the DLQ subject carries none of the complainant's identity.
    for letter in letters.values():
        assert not any(p in json.dumps(letter) for p in PII)
    assert await count(intake, orm.complaints) == 0  # nothing recorded for malformed input
    assert await count(intake, orm.dead_letters) == 2  # the originals, kept encrypted


async def test_redelivery_of_a_311_id_creates_nothing_new(
    intake: IntakeHarness, fake_cases: FakeCases
) -> None:
    updates = await listen(intake, SUBJECT_311_UPDATES)
    await publish(intake, message("NYC-2002"), "NYC-2002")
    first = (await next_message(updates))["body"]
    # Beyond JetStream's dedupe window (no Nats-Msg-Id here, so the broker cannot drop
    # it): only the unique constraint stands between this and a second complaint.
    await publish(intake, message("NYC-2002", description="Same request, sent again"))
    again = (await next_message(updates))["body"]

    assert again["service_request_id"] == first["service_request_id"]
    assert again["case_number"] == first["case_number"]
    assert await count(intake, orm.complaints) == 1
    assert await count(intake, orm.complainants) == 1
    assert len(fake_cases.servicer.requests) == 1
    # One case, so one workflow: its id is case-<n> (started with USE_EXISTING).
    desc = await intake.temporal.get_workflow_handle(f"case-{first['case_number']}").describe()
    assert desc.status == WorkflowExecutionStatus.RUNNING


async def test_cases_outage_defers_the_message_instead_of_dead_lettering(
    intake: IntakeHarness, fake_cases: FakeCases
) -> None:
    updates = await listen(intake, SUBJECT_311_UPDATES)
    dlq = await listen(intake, SUBJECT_311_DLQ)
    await fake_cases.stop()
    await publish(intake, message("NYC-3003"), "NYC-3003")
    await asyncio.sleep(3.0)  # the consumer tries, finds cases down and naks with a delay
    assert updates.empty() and dlq.empty()
    await fake_cases.start()
    update = (await next_message(updates, wait=60))["body"]
    assert update["external_request_id"] == "NYC-3003"
    assert update["case_number"]
    assert dlq.empty()
    assert await count(intake, orm.complaints) == 1


async def test_a_batch_of_311_complaints_at_one_address_joins_one_case(intake: IntakeHarness) -> None:
    updates = await listen(intake, SUBJECT_311_UPDATES)
    for n in range(5):
        await publish(intake, message(f"NYC-40{n}", address_string="500 Centre St N, Napanee"), f"NYC-40{n}")
    got = [(await next_message(updates))["body"] for _ in range(5)]
    assert len({u["case_number"] for u in got}) == 1
    assert len({u["service_request_id"] for u in got}) == 5
    assert "Under review as case" in got[0]["status_notes"] or "Added to open case" in got[0]["status_notes"]
    notes = sorted(u["status_notes"].split(" case ")[0] for u in got)
    assert notes == ["Added to open", "Added to open", "Added to open", "Added to open", "Under review as"]


async def test_case_closure_goes_back_to_the_311_system(intake: IntakeHarness) -> None:
    updates = await listen(intake, SUBJECT_311_UPDATES)
    await publish(intake, message("NYC-5005"), "NYC-5005")
    opened = (await next_message(updates))["body"]
    # What the cases service publishes when the workflow closes the case.
    event = DomainEvent(
        event_type="case.status_changed",
        case_number=opened["case_number"],
        data={"from": "complied", "to": "closed", "outcome": "voluntary_compliance", "reason": ""},
    )
    await intake.nc.jetstream().publish(
        event.subject, json.dumps(event.to_json()).encode(), headers={"Nats-Msg-Id": event.event_id}
    )
    closed = (await next_message(updates))["body"]
    assert closed["service_request_id"] == opened["service_request_id"]
    assert closed["external_request_id"] == "NYC-5005"
    assert closed["status"] == "closed"
    assert closed["status_notes"] == f"Case {opened['case_number']} is closed."
