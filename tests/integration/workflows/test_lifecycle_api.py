"""The staff API of the case lifecycle (services/gateway/api/routes/lifecycle.py) end to end:
the real gateway app, the real cases service on PostgreSQL, the real CaseLifecycleWorkflow
on the Temporal dev server run by the worker's own wiring, with small gRPC fakes for the
notices, evidence and intake services. Role checks, restricted cases, the policy's
refusals as 400/409 bodies naming field and policy, timers already due raising alerts, and
the OpenAPI document."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import grpc
import httpx
import pytest
from bylaw.v1 import (
    cases_pb2,
    common_pb2,
    evidence_pb2,
)
from bylaw.v1.cases_pb2_grpc import CasesServiceStub
from temporalio.client import Client

from services.gateway.app import create_app
from services.gateway.clients import GatewayClients, TemporalConnector
from services.gateway.security import Role
from tests.integration.cases.conftest import CasesHarness
from tests.integration.cases.support import open_request, seed_roll
from tests.integration.workflows.conftest import FakeOthers, Others
from tests.unit.gateway.fakes import auth, gateway_settings
from workflows.activities import CaseActivities
from workflows.case_lifecycle import CaseLifecycleWorkflow
from workflows.contracts import CaseLifecycleInput, workflow_id
from workflows.worker import build_worker

SETTINGS = gateway_settings()
TORONTO = ZoneInfo("America/Toronto")
OFFICER = auth(SETTINGS, Role.OFFICER, sub="bd-officer")
SUPERVISOR = auth(SETTINGS, Role.SUPERVISOR, sub="sup-1")
FRONT_COUNTER = auth(SETTINGS, Role.FRONT_COUNTER, sub="fc-1")
POOL_ITEMS = [
    "enclosure-complete",
    "fence-height",
    "climbability",
    "opening-spacing",
    "gate-self-closing",
    "gate-latch-height",
    "condition",
]


@dataclass
class Stack:
    http: httpx.AsyncClient
    temporal: Client
    cases: CasesHarness
    others: FakeOthers
    queue: str

    async def open_case(
        self, *, received_at: datetime, restricted: bool = False, address: str = "12 John St"
    ) -> str:
        request = open_request(
            address=address,
            service_code="pool-fence",
            priority=common_pb2.PRIORITY_HIGH,
            enforced_by=("BD",),
            received_at=received_at,
            restricted=restricted,
        )
        request.bylaw_number = "2010-0049"
        case = (await self.cases.stub.OpenCase(request)).case
        await self.temporal.start_workflow(
            CaseLifecycleWorkflow.run,
            CaseLifecycleInput(
                case_number=case.case_number,
                service_code="pool-fence",
                bylaw_number="2010-0049",
                priority="high",
                matrix_version="2023-07-25",
                received_at=received_at,
                enforced_by=["BD"],
                restricted=restricted,
            ),
            id=workflow_id(case.case_number),
            task_queue=self.queue,
        )
        return str(case.case_number)

    async def state(self, number: str, headers: dict[str, str] = SUPERVISOR) -> dict[str, Any]:
        reply = await self.http.get(f"/api/v1/cases/{number}/state", headers=headers)
        assert reply.status_code == 200, reply.text
        body: dict[str, Any] = reply.json()
        return body


@pytest.fixture
async def stack(cases: CasesHarness, temporal_client: Client, others: Others) -> AsyncIterator[Stack]:
    await seed_roll(cases.stub)
    await cases.stub.UpsertOfficers(
        cases_pb2.UpsertOfficersRequest(
            officers=[
                cases_pb2.Officer(
                    officer_id="bd-officer", display_name="Sarah Whitfield", badge_number="GN-201",
                    department="BD", specialties=["pool-fence"], zone_codes=["DOWNTOWN"], active=True,
                ),
                cases_pb2.Officer(
                    officer_id="be-officer", display_name="Jordan Pelletier", badge_number="GN-101",
                    department="BE", specialties=["grass-cutting"], zone_codes=["DOWNTOWN"], active=True,
                ),
            ]
        )
    )  # fmt: skip
    channels: list[grpc.aio.Channel] = []
    lifecycle = others.lifecycle(cases.address, channels)
    cases_stub = cast(Any, CasesServiceStub(channels[0]))
    queue = f"case-lifecycle-{uuid.uuid4().hex[:8]}"
    clients = GatewayClients.from_addresses(
        intake=others.address,
        cases=cases.address,
        evidence=others.address,
        notices=others.address,
        reporting=others.address,
        temporal=TemporalConnector(
            temporal_client.service_client.config.target_host, temporal_client.namespace
        ),
    )
    app = create_app(SETTINGS, clients)
    try:
        async with build_worker(temporal_client, CaseActivities(cases_stub), queue, lifecycle=lifecycle):
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://gw"
            ) as http:
                yield Stack(http, temporal_client, cases, others.servicer, queue)
    finally:
        await clients.close(0)
        for channel in channels:
            await channel.close()


async def eventually(stack: Stack, number: str, ok: Any, seconds: float = 20) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        state = await stack.state(number)
        if ok(state):
            return state
        assert asyncio.get_running_loop().time() < deadline, state
        await asyncio.sleep(0.2)


def findings(failing: dict[str, str] | None = None) -> list[dict[str, str]]:
    failing = failing or {}
    return [
        {"item_id": i, "result": "non_compliant", "note": failing[i]}
        if i in failing
        else {"item_id": i, "result": "compliant"}
        for i in POOL_ITEMS
    ]


async def test_the_lifecycle_through_the_staff_api(stack: Stack) -> None:
    now = datetime.now(UTC)
    # Received ten days ago: the acknowledgement and inspection targets have passed, so
    # their durable timers fire at once and raise alerts recorded in cases.
    number = await stack.open_case(received_at=now - timedelta(days=10))
    alerted = await eventually(stack, number, lambda s: len(s["alerts"]) == 2)
    assert {a["kind"] for a in alerted["alerts"]} == {"acknowledgement_overdue", "inspection_sla_missed"}
    assert alerted["assigned_officer"] == "bd-officer" and alerted["department"] == "BD"
    listed = await stack.http.get("/api/v1/alerts", params={"department": "BD"}, headers=SUPERVISOR)
    assert listed.status_code == 200
    assert {a["kind"] for a in listed.json()["items"] if a["case_number"] == number} == {
        "acknowledgement_overdue",
        "inspection_sla_missed",
    }
    assert (await stack.http.get("/api/v1/alerts", headers=FRONT_COUNTER)).status_code == 403

    # The pre-inspection packet: complaint details, property record, photos, checklists.
    stack.others.photos[number] = [
        evidence_pb2.EvidenceItem(
            evidence_id="ev-1", case_number=number, kind="photo", caption="gate from lane"
        )
    ]
    packet = await stack.http.get(f"/api/v1/cases/{number}/pre-inspection-packet", headers=OFFICER)
    assert packet.status_code == 200, packet.text
    body = packet.json()
    assert body["property"]["roll_number"] == "1121010002000120000"
    assert [p["evidence_id"] for p in body["photos"]] == ["ev-1"]
    assert [c["checklist_id"] for c in body["checklists"]] == ["pool-fence", "general"]
    assert (
        await stack.http.get(f"/api/v1/cases/{number}/pre-inspection-packet", headers=FRONT_COUNTER)
    ).status_code == 403

    # Findings are checked against the checklist by the cases service: 400 naming the field.
    bad = await stack.http.post(
        f"/api/v1/cases/{number}/inspections",
        json={"inspected_at": now.isoformat(), "checklist_id": "pool-fence", "findings": findings()[:2]},
        headers=OFFICER,
    )
    assert bad.status_code == 400, bad.text
    assert bad.json()["errors"][0]["field"] == "findings"
    inspected = await stack.http.post(
        f"/api/v1/cases/{number}/inspections",
        json={
            "inspected_at": now.isoformat(),
            "checklist_id": "pool-fence",
            "findings": findings({"gate-self-closing": "Gate stays open when released"}),
        },
        headers=OFFICER,
    )
    assert inspected.status_code == 200, inspected.text
    assert (
        inspected.json()["violation_sections"] == ["5.1"]
        and inspected.json()["status"] == "under_investigation"
    )
    cleared = await eventually(stack, number, lambda s: any(a["cleared_at"] for a in s["alerts"]))
    assert [a["kind"] for a in cleared["alerts"] if a["cleared_at"]] == ["inspection_sla_missed"]

    # Skipping the warning letter without the reason given to the person: 400 citing 6.4.7.
    comply_by = (now + timedelta(days=21)).date().isoformat()
    skip = await stack.http.post(
        f"/api/v1/cases/{number}/enforcement-actions",
        json={
            "action": "order_to_comply",
            "details": "The gate does not close and latch by itself.",
            "required_action": "Repair the gate hardware.",
            "comply_by": comply_by,
        },
        headers=OFFICER,
    )
    assert skip.status_code == 400
    assert skip.json()["errors"][0] == {
        "field": "deviation_reason",
        "rule": "is required: at least 10 characters of explanation",
        "policy": "6.4.7",
    }
    warned = await stack.http.post(
        f"/api/v1/cases/{number}/enforcement-actions",
        json={
            "action": "education",
            "details": "The gate does not close and latch by itself.",
            "required_action": "Repair the gate hardware.",
            "comply_by": comply_by,
        },
        headers=OFFICER,
    )
    assert warned.status_code == 200, warned.text
    state = warned.json()
    assert state["status"] == "awaiting_compliance" and state["deadline"]["due_on"] == comply_by
    assert state["actions"][0]["number"] == f"{number}-W1" and state["actions"][0]["document_id"]
    # No enforcement before the compliance date (6.7.5): 409.
    early = await stack.http.post(
        f"/api/v1/cases/{number}/enforcement-actions",
        json={"action": "ticket", "details": "Gate still open.", "fine_code": "POOL-GATE"},
        headers=OFFICER,
    )
    assert early.status_code == 400 and early.json()["errors"][0]["policy"] == "6.7.5"

    # Extension on a written request; then the deadline's history from the record.
    later = (now + timedelta(days=35)).date().isoformat()
    extended = await stack.http.post(
        f"/api/v1/cases/{number}/deadline/extensions",
        json={
            "new_date": later,
            "reason": "Owner out of the country (letter).",
            "written_request_on": now.astimezone(TORONTO).date().isoformat(),
        },
        headers=OFFICER,
    )
    assert extended.status_code == 200, extended.text
    assert extended.json()["deadline"]["due_on"] == later
    shorten = await stack.http.post(
        f"/api/v1/cases/{number}/deadline/shortening",
        json={
            "new_date": (now + timedelta(days=7)).date().isoformat(),
            "reason": "Toddlers seen at the open gate.",
            "contact_attempted_at": datetime.now(UTC).isoformat(),
        },
        headers=OFFICER,
    )
    assert shorten.status_code == 200, shorten.text
    history = await stack.http.get(f"/api/v1/cases/{number}/deadline", headers=OFFICER)
    assert [c["kind"] for c in history.json()] == ["set", "extended", "shortened"]
    actions = await stack.http.get(f"/api/v1/cases/{number}/enforcement-actions", headers=FRONT_COUNTER)
    assert [a["number"] for a in actions.json()] == [f"{number}-W1"]

    # Reassignment is for supervisors; the case moves to the new officer's queue.
    assert (
        await stack.http.post(
            f"/api/v1/cases/{number}/assignment",
            json={"officer_id": "be-officer", "reason": "leave"},
            headers=OFFICER,
        )
    ).status_code == 403
    moved = await stack.http.post(
        f"/api/v1/cases/{number}/assignment",
        json={"officer_id": "be-officer", "reason": "Officer on leave until March."},
        headers=SUPERVISOR,
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["assigned_officer"], moved.json()["department"]) == ("be-officer", "BE")
    queue = await stack.http.get("/api/v1/queues/be", headers=SUPERVISOR)
    assert [i["case"]["case_number"] for i in queue.json()["items"]] == [number]

    # Dismissal, then the closure, timeline and summary.
    dismissed = await stack.http.post(
        f"/api/v1/cases/{number}/dismiss",
        json={"reason": "Owner sold the property; pool removed."},
        headers=OFFICER,
    )
    assert dismissed.status_code == 200, dismissed.text
    assert dismissed.json()["outcome"] == "dismissed" and dismissed.json()["days_open"] >= 9
    closure = await stack.http.get(f"/api/v1/cases/{number}/closure", headers=FRONT_COUNTER)
    assert closure.status_code == 200 and closure.json()["days_since_complaint"] >= 9
    assert closure.json()["timeline"][-1]["to_status"] == "closed"
    timeline = await stack.http.get(f"/api/v1/cases/{number}/timeline", headers=FRONT_COUNTER)
    events = [e["event"] for e in timeline.json()]
    assert events[0] == "received" and "action" in events and events.count("closed") == 1
    summary = await stack.http.get(f"/api/v1/cases/{number}/summary", headers=FRONT_COUNTER)
    assert summary.json()["outcome"] == "dismissed" and summary.json()["days_since_order"] == -1
    again = await stack.http.post(
        f"/api/v1/cases/{number}/dismiss", json={"reason": "twice"}, headers=OFFICER
    )
    assert again.status_code == 409


async def test_restricted_cases_are_not_found_and_openapi_documents_the_routes(stack: Stack) -> None:
    number = await stack.open_case(received_at=datetime.now(UTC), restricted=True, address="45 Centre St N")
    # An officer without the need to know does not see a complaint against staff (6.10).
    hidden = await stack.http.get(f"/api/v1/cases/{number}/state", headers=OFFICER)
    assert hidden.status_code == 404
    denied = await stack.http.post(
        f"/api/v1/cases/{number}/dismiss", json={"reason": "nothing to see here"}, headers=OFFICER
    )
    assert denied.status_code == 404
    assert (await stack.http.get(f"/api/v1/cases/{number}/state", headers=SUPERVISOR)).status_code == 200

    spec = (await stack.http.get("/openapi.json")).json()
    paths = spec["paths"]
    for path in (
        "/api/v1/cases/{case_number}/assignment",
        "/api/v1/cases/{case_number}/inspections/schedule",
        "/api/v1/cases/{case_number}/inspections",
        "/api/v1/cases/{case_number}/reinspections",
        "/api/v1/cases/{case_number}/pre-inspection-packet",
        "/api/v1/cases/{case_number}/enforcement-actions",
        "/api/v1/cases/{case_number}/deadline/extensions",
        "/api/v1/cases/{case_number}/deadline/shortening",
        "/api/v1/cases/{case_number}/close",
        "/api/v1/cases/{case_number}/dismiss",
        "/api/v1/cases/{case_number}/state",
        "/api/v1/cases/{case_number}/timeline",
        "/api/v1/cases/{case_number}/summary",
        "/api/v1/alerts",
        "/api/v1/checklists",
        "/api/v1/queues/{department}",
    ):
        assert path in paths, path
    action = paths["/api/v1/cases/{case_number}/enforcement-actions"]["post"]
    assert "6.2.5" in action["description"] and action["tags"] == ["lifecycle"]
    assert "bearer" in str(spec["components"]["securitySchemes"]).lower()


async def test_a_case_without_a_workflow_answers_409(stack: Stack) -> None:
    request = open_request(address="100 Dundas St E", received_at=datetime.now(UTC))
    number = (await stack.cases.stub.OpenCase(request)).case.case_number
    reply = await stack.http.post(
        f"/api/v1/cases/{number}/dismiss", json={"reason": "never started"}, headers=OFFICER
    )
    assert reply.status_code == 409 and "no running lifecycle" in reply.json()["detail"]
    state = await stack.http.get(f"/api/v1/cases/{number}/state", headers=OFFICER)
    assert state.status_code == 404
