"""Remediation events leave the cases outbox on NATS JetStream
(``bylaw.events.remediation.*``) without the owner's identity, and the emergency approval
reaches the monthly report to Council through reporting's read model (policy 6.5.14: "the
matter will be reported to Council for information at the earliest opportunity")."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import nats
from nats.js.api import DeliverPolicy

from services.cases.domain import remediation_events
from services.common import db
from services.common.events import DomainEvent
from services.common.settings import Settings
from services.reporting.bootstrap import build_service as build_reporting
from tests.integration.cases.conftest import CasesHarness
from tests.integration.cases.test_remediation_records import (
    complete_request,
    cost,
    costs_request,
    create_request,
    emergency,
    open_case,
)


async def _collect(sub: Any, case_number: str, want: int, within: float = 15.0) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = asyncio.get_running_loop().time() + within
    while len(got) < want:
        remaining = deadline - asyncio.get_running_loop().time()
        assert remaining > 0, f"only {len(got)} of {want} events arrived: {got}"
        msg = await sub.next_msg(timeout=remaining)
        await msg.ack()
        body = json.loads(msg.data)
        if body["case_number"] == case_number:
            body["_subject"] = msg.subject
            got.append(body)
    return got


async def test_remediation_events_on_nats_reach_councils_monthly_report(
    cases: CasesHarness, nats_url: str, database_url: str
) -> None:
    number = await open_case(cases)
    # Event ids derive from the case number and step key; every test database restarts
    # case numbers, so this test's steps are made unique or JetStream's duplicate window
    # would drop them as repeats of another test's events.
    run = uuid.uuid4().hex[:8]
    completed = complete_request(number)
    completed.step_key = f"{run}:completed"
    nc = await nats.connect(nats_url)
    try:
        sub = await nc.jetstream().subscribe("bylaw.events.remediation.>", deliver_policy=DeliverPolicy.NEW)
        await cases.stub.CreateWorkOrder(
            create_request(number, estimate=1_250_000, step_key=f"{run}:work-order")
        )
        await cases.stub.RecordRemediationApproval(emergency(number, step_key=f"{run}:emergency"))
        await cases.stub.RecordRemediationCosts(
            costs_request(number, cost(f"{run}:cost-1", amount=1_100_000))
        )
        await cases.stub.CompleteRemediationWork(completed)
        received = await _collect(sub, number, 4)
    finally:
        await nc.drain()

    by_type = {e["event_type"]: e for e in received}
    assert set(by_type) == {
        remediation_events.WORK_ORDER_CREATED,
        remediation_events.EMERGENCY_APPROVED,
        remediation_events.COSTS_RECORDED,
        remediation_events.WORK_COMPLETED,
    }
    approved = by_type[remediation_events.EMERGENCY_APPROVED]
    assert approved["_subject"] == "bylaw.events.remediation.emergency_approved"
    assert approved["data"]["approved_by_role"] == "fire_chief"
    assert approved["data"]["risk"] == "safety"
    assert approved["data"]["estimate_cents"] == 1_250_000
    assert "Collapsing rear porch" in approved["data"]["description"]
    for event in received:
        text = json.dumps(event)
        # The owner is not named in events (reporting and other subscribers need amounts,
        # not identities); only the emergency event says "emergency" (reporting lists those).
        assert "Harbour Holdings" not in text
        if event is not approved:
            assert "emergency" not in event["event_type"] and event["data"].get("emergency") is not True
        assert event["data"]["work_order_number"] == f"{number}-W1"

    # Reporting consumes the event into the monthly report to Council.
    await db.migrate("reporting", database_url)
    engine = db.make_engine(database_url, pool_size=2, application_name="reporting-test")
    try:
        reporting = build_reporting(
            Settings(env="test", database_url=database_url), db.make_session_factory(engine)
        )
        await reporting.apply(
            [DomainEvent.from_json({k: v for k, v in e.items() if k != "_subject"}) for e in received]
        )
        may = await reporting.monthly_report(2026, 5)
        june = await reporting.monthly_report(2026, 6)
        dashboard = await reporting.dashboard(as_of=datetime(2026, 6, 2, tzinfo=UTC), recent_limit=20)
    finally:
        await engine.dispose()
    [line] = may.emergency_actions
    assert line.startswith(
        f"2026-05-02 {number}: work order {number}-W1: remedial work approved without Council"
    )
    assert line.endswith("approved by fire_chief")
    assert june.emergency_actions == []
    assert datetime.fromisoformat(approved["occurred_at"]) == datetime(2026, 5, 2, 14, 0, tzinfo=UTC)
    feed = {a.event_type: a.summary for a in dashboard.recent_activity if a.case_number == number}
    assert feed == {
        "remediation.work_order_created": (
            "Remedial work ordered: Property Standards: Cosmetic violations — over $5,000 on private land, "
            "awaiting Council (policy 6.5.13)"
        ),
        "remediation.emergency_approved": (
            "Remedial work approved as an emergency (policy 6.5.14): Property Standards: Cosmetic violations"
        ),
        "remediation.costs_recorded": "Remediation costs recorded: Property Standards: Cosmetic violations",
        "remediation.work_completed": "Remedial work completed: Property Standards: Cosmetic violations",
    }
