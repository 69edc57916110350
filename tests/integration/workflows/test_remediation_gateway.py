"""The remediation staff API end to end: the gateway app in front of the real cases,
notices and evidence services and the real worker on the Temporal dev server. Roles are
checked at the edge (exactly: no administrator stands in for the Clerk, the Treasurer or
the officials of policy 6.5.14) and again in the workflow; refusals name field, rule and
policy; the Treasurer downloads the tax-roll load file as CSV."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
import pytest
from bylaw.v1 import cases_pb2, common_pb2
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.client import Client

from services.common.settings import Settings
from services.gateway.app import create_app
from services.gateway.clients import GatewayClients, TemporalConnector
from services.gateway.security import Role, mint_dev_token
from tests import infra
from tests.integration.cases.support import open_request, seed_roll
from tests.integration.workflows.test_remediation_stack import RemediationStack, open_case, remediation_stack
from tests.workflow.remediation_support import TORONTO
from workflows.activities import CaseActivities
from workflows.worker import build_worker

SECRET = "remediation-gateway-test-secret-0123456789"
SYSTEM = common_pb2.Actor(subject="system:test", roles=["system"])


@dataclass
class Gateway:
    http: httpx.AsyncClient
    stack: RemediationStack
    settings: Settings

    def auth(self, *roles: Role, sub: str = "staff-1") -> dict[str, str]:
        token = mint_dev_token(self.settings, subject=sub, roles=roles)
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def gateway(
    database_url: str, nats_url: str, s3_server: infra.S3, temporal_address: str, temporal_namespace: str
) -> AsyncIterator[Gateway]:
    queue = f"case-lifecycle-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        env="test",
        jwt_secret=SECRET,
        temporal_address=temporal_address,
        temporal_namespace=temporal_namespace,
        temporal_task_queue=queue,
    )
    async with remediation_stack(database_url, nats_url, s3_server) as stack:
        client = await Client.connect(temporal_address, namespace=temporal_namespace)
        worker = build_worker(client, CaseActivities(stack.cases), queue, stack.activities())
        clients = GatewayClients.from_addresses(
            intake="127.0.0.1:1",
            cases=stack.cases_address,
            evidence=stack.evidence_address,
            notices=stack.notices_address,
            reporting="127.0.0.1:1",
            temporal=TemporalConnector(temporal_address, temporal_namespace),
        )
        app = create_app(settings, clients)
        async with (
            worker,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway.test") as http,
        ):
            try:
                yield Gateway(http, stack, settings)
            finally:
                await clients.close(0)


def today() -> str:
    return datetime.now(TORONTO).date().isoformat()


async def work_order(
    gw: Gateway, number: str, seq: int = 1, want: str = "", seconds: float = 60
) -> dict[str, Any]:
    """GET the work order, waiting until its workflow reports phase ``want``."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        response = await gw.http.get(
            f"/api/v1/cases/{number}/work-orders/{seq}", headers=gw.auth(Role.OFFICER)
        )
        if response.status_code == 200:
            body = cast(dict[str, Any], response.json())
            if not want or (body["workflow"] or {}).get("phase") == want:
                return body
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"work order never reached {want}: {response.status_code} {response.text}")
        await asyncio.sleep(0.3)


def errors(response: httpx.Response) -> list[tuple[str, str | None]]:
    return [(e["field"], e["policy"]) for e in response.json()["errors"]]


async def test_roles_are_checked_exactly_at_the_edge(gateway: Gateway) -> None:
    gw = gateway
    base = "/api/v1/cases/BL-2026-000001/work-orders"
    decision = {"decision": "approved", "resolution_number": "2026-1", "meeting_date": today()}
    emergency = {"risk": "safety", "risk_description": "x", "no_time_for_council": True, "urgency": "y"}
    cases: list[tuple[str, str, dict[str, Any], tuple[Role, ...]]] = [
        (
            "POST",
            base,
            {"work_description": "x", "estimate_cents": 1, "contractor": "c", "private_land": True},
            (Role.CLERK, Role.ADMIN),
        ),
        (
            "POST",
            f"{base}/1/council-decision",
            decision,
            (Role.OFFICER, Role.SUPERVISOR, Role.CAO, Role.ADMIN),
        ),
        (
            "POST",
            f"{base}/1/emergency-approval",
            emergency,
            (Role.CLERK, Role.SUPERVISOR, Role.OFFICER, Role.ADMIN),
        ),
        (
            "POST",
            f"{base}/1/costs",
            {"costs": [{"kind": "other", "description": "d", "amount_cents": 1}]},
            (Role.TREASURER, Role.CLERK),
        ),
        ("POST", f"{base}/1/completion", {"completed_on": today()}, (Role.CAO, Role.TREASURER)),
        (
            "POST",
            f"{base}/1/payments",
            {"amount_cents": 1, "received_on": today(), "method": "cash"},
            (Role.OFFICER, Role.CLERK, Role.ADMIN),
        ),
        ("POST", "/api/v1/remediation/tax-roll/exports", {}, (Role.CLERK, Role.SUPERVISOR, Role.ADMIN)),
        ("GET", "/api/v1/remediation/tax-roll/exports/any", {}, (Role.CLERK, Role.ADMIN)),
        ("GET", "/api/v1/remediation/council-items", {}, (Role.TREASURER, Role.COUNCIL, Role.ADMIN)),
        (
            "POST",
            "/api/v1/remediation/council-items/reported",
            {"item_ids": [1], "meeting_on": today()},
            (Role.OFFICER, Role.ADMIN),
        ),
    ]
    for method, path, body, wrong_roles in cases:
        for role in wrong_roles:
            response = await gw.http.request(method, path, json=body or None, headers=gw.auth(role))
            assert response.status_code == 403, (method, path, role, response.text)
        response = await gw.http.request(method, path, json=body or None)
        assert response.status_code == 401, (method, path)
    response = await gw.http.get(base, headers=gw.auth(Role.COUNCIL))  # aggregate reports only
    assert response.status_code == 403


async def test_a_gated_remediation_through_the_staff_api(gateway: Gateway) -> None:
    gw = gateway
    number = await open_case(gw.stack)
    started = await gw.http.post(
        f"/api/v1/cases/{number}/work-orders",
        json={
            "work_description": "Demolish the collapsing rear porch and remove the debris",
            "estimate_cents": 850_000,
            "contractor": "Napanee Property Services",
            "private_land": True,
        },
        headers=gw.auth(Role.OFFICER, sub="officer-7"),
    )
    assert started.status_code == 202, started.text
    assert started.json() == {
        "case_number": number,
        "work_order_seq": 1,
        "workflow_id": f"case-{number}-remediation-1",
        "council_approval_required": True,
    }
    waiting = await work_order(gw, number, want="awaiting_council")
    assert (waiting["status"], waiting["owner_name"], waiting["requested_by"]) == (
        "awaiting_council",
        "Harbour Holdings Ltd",
        "officer-7",
    )
    items = await gw.http.get("/api/v1/remediation/council-items", headers=gw.auth(Role.CLERK))
    assert [(i["work_order_number"], i["kind"]) for i in items.json()["items"]] == [
        (f"{number}-W1", "approval_request")
    ]

    url = f"/api/v1/cases/{number}/work-orders/1"
    # The workflow refuses an emergency approval without a recorded risk (6.5.14).
    response = await gw.http.post(
        f"{url}/emergency-approval",
        json={"risk": "", "risk_description": "porch", "no_time_for_council": True, "urgency": "soon"},
        headers=gw.auth(Role.FIRE_CHIEF),
    )
    assert response.status_code == 400 and errors(response) == [("risk", "6.5.14")]
    response = await gw.http.post(
        f"{url}/council-decision",
        json={"decision": "approved", "resolution_number": "2026-114", "meeting_date": "2099-01-01"},
        headers=gw.auth(Role.CLERK),
    )
    assert response.status_code == 400 and errors(response) == [("meeting_date", "6.5.13")]
    response = await gw.http.post(
        f"{url}/council-decision",
        json={"decision": "approved", "resolution_number": "2026-114", "meeting_date": today()},
        headers=gw.auth(Role.CLERK, sub="clerk-1"),
    )
    assert response.status_code == 200, response.text
    assert (response.json()["phase"], response.json()["council_resolution"]) == ("approved", "2026-114")
    # Council has decided: no emergency approval any more.
    response = await gw.http.post(
        f"{url}/emergency-approval",
        json={"risk": "safety", "risk_description": "porch", "no_time_for_council": True, "urgency": "soon"},
        headers=gw.auth(Role.CBO),
    )
    assert response.status_code == 409

    await work_order(gw, number, want="approved")
    response = await gw.http.post(
        f"{url}/costs",
        json={
            "costs": [{"kind": "contractor_invoice", "description": "Demolition", "amount_cents": 790_000}]
        },
        headers=gw.auth(Role.OFFICER),
    )
    assert response.status_code == 400 and errors(response)[0][0] == "costs[0].reference"
    response = await gw.http.post(
        f"{url}/completion",
        json={
            "completed_on": today(),
            "costs": [
                {
                    "kind": "contractor_invoice",
                    "description": "Demolition",
                    "amount_cents": 790_000,
                    "reference": "NPS-9",
                },
                {"kind": "staff_time", "description": "Site supervision", "amount_cents": 26_000, "hours": 4},
            ],
        },
        headers=gw.auth(Role.SUPERVISOR),
    )
    assert response.status_code == 200, response.text
    invoiced = await work_order(gw, number, want="invoiced")
    assert invoiced["invoice"]["amount_cents"] == 816_000 and invoiced["invoice"]["status"] == "issued"
    assert [c["kind"] for c in invoiced["costs"]] == ["contractor_invoice", "staff_time"]

    response = await gw.http.post(
        f"{url}/payments",
        json={"amount_cents": 816_001, "received_on": today(), "method": "eft"},
        headers=gw.auth(Role.TREASURER),
    )
    assert response.status_code == 400 and errors(response) == [("amount_cents", None)]
    response = await gw.http.post(
        f"{url}/payments",
        json={"amount_cents": 816_000, "received_on": today(), "method": "eft", "reference": "EFT 55"},
        headers=gw.auth(Role.TREASURER),
    )
    assert response.status_code == 200 and response.json()["balance_cents"] == 0
    deadline = asyncio.get_running_loop().time() + 30
    while (done := await work_order(gw, number))["status"] != "paid":
        assert asyncio.get_running_loop().time() < deadline, done
        await asyncio.sleep(0.3)
    listed = await gw.http.get(f"/api/v1/cases/{number}/work-orders", headers=gw.auth(Role.CAO))
    assert [w["status"] for w in listed.json()["items"]] == ["paid"]
    # The workflow has finished: further staff actions are refused as finished.
    response = await gw.http.post(
        f"{url}/cancellation", json={"reason": "late"}, headers=gw.auth(Role.OFFICER)
    )
    assert response.status_code == 409


def _ts(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


async def _taxed_work_order(stack: RemediationStack, number: str) -> None:
    """A work order invoiced 40 days ago and left unpaid (recorded straight in cases)."""
    issued = datetime.now(UTC).replace(microsecond=0) - _days(40)
    create = cases_pb2.CreateWorkOrderRequest(
        case_number=number,
        work_order_seq=1,
        step_key="old:work-order",
        description="Board up the vacant house",
        contractor="Napanee Property Services",
        estimate_cents=120_000,
        private_land=True,
        requested_by="officer-7",
        actor=SYSTEM,
        occurred_at=_ts(issued - _days(5)),
    )
    await stack.cases.CreateWorkOrder(create)
    costs = cases_pb2.RecordRemediationCostsRequest(
        case_number=number,
        work_order_seq=1,
        costs=[
            cases_pb2.RemediationCost(
                step_key="old:cost", kind="other", description="Plywood", amount_cents=98_765
            )
        ],
        actor=SYSTEM,
        occurred_at=_ts(issued - _days(2)),
    )
    await stack.cases.RecordRemediationCosts(costs)
    completed_on = (issued - _days(1)).astimezone(TORONTO).date().isoformat()
    await stack.cases.CompleteRemediationWork(
        cases_pb2.CompleteRemediationWorkRequest(
            case_number=number,
            work_order_seq=1,
            step_key="old:completed",
            completed_on=completed_on,
            actor=SYSTEM,
            occurred_at=_ts(issued - _days(1)),
        )
    )
    await stack.cases.IssueRemediationInvoice(
        cases_pb2.IssueRemediationInvoiceRequest(
            case_number=number,
            work_order_seq=1,
            step_key="old:invoice",
            actor=SYSTEM,
            occurred_at=_ts(issued),
        )
    )
    await stack.cases.AddRemediationToTaxRoll(
        cases_pb2.AddRemediationToTaxRollRequest(
            case_number=number, work_order_seq=1, step_key="old:tax-roll", actor=SYSTEM
        )
    )


def _days(n: int) -> timedelta:
    return timedelta(days=n)


async def test_the_treasurer_downloads_the_tax_roll_load_file(gateway: Gateway) -> None:
    gw = gateway
    number = await open_case(gw.stack)
    await _taxed_work_order(gw.stack, number)
    headers = {**gw.auth(Role.TREASURER, sub="treasurer-1"), "Idempotency-Key": "june-batch"}
    first = await gw.http.post("/api/v1/remediation/tax-roll/exports", headers=headers)
    assert first.status_code == 200, first.text
    assert first.headers["content-type"].startswith("text/csv")
    assert first.headers["content-disposition"] == 'attachment; filename="tax-roll-june-batch.csv"'
    assert (first.headers["x-items"], first.headers["x-total-cents"]) == ("1", "98765")
    [row] = list(csv.DictReader(io.StringIO(first.text)))
    assert row == {
        "roll_number": "1121010001001000000",
        "owner": "Harbour Holdings Ltd",
        "amount": "987.65",
        "invoice_number": f"{number}-INV1",
        "case_number": number,
        "bylaw": "2010-0050",
        "date": datetime.now(TORONTO).date().isoformat(),
    }
    # A retried download returns the same batch; a new export finds nothing new.
    again = await gw.http.post("/api/v1/remediation/tax-roll/exports", headers=headers)
    assert again.text == first.text
    fresh = await gw.http.post("/api/v1/remediation/tax-roll/exports", headers=gw.auth(Role.TREASURER))
    assert fresh.headers["x-items"] == "0"
    assert fresh.text == "roll_number,owner,amount,invoice_number,case_number,bylaw,date\r\n"
    everything = await gw.http.post(
        "/api/v1/remediation/tax-roll/exports", params={"re_export": "true"}, headers=gw.auth(Role.TREASURER)
    )
    assert everything.text == first.text
    stored = await gw.http.get(
        "/api/v1/remediation/tax-roll/exports/june-batch", headers=gw.auth(Role.TREASURER)
    )
    assert stored.text == first.text
    missing = await gw.http.get("/api/v1/remediation/tax-roll/exports/nope", headers=gw.auth(Role.TREASURER))
    assert missing.status_code == 404


async def test_openapi_documents_the_remediation_api(gateway: Gateway) -> None:
    spec = (await gateway.http.get("/openapi.json")).json()
    paths = spec["paths"]
    for path in (
        "/api/v1/cases/{case_number}/work-orders",
        "/api/v1/cases/{case_number}/work-orders/{seq}/council-decision",
        "/api/v1/cases/{case_number}/work-orders/{seq}/emergency-approval",
        "/api/v1/cases/{case_number}/work-orders/{seq}/payments",
        "/api/v1/remediation/tax-roll/exports",
        "/api/v1/remediation/council-items",
    ):
        assert path in paths, path
    council = paths["/api/v1/cases/{case_number}/work-orders/{seq}/council-decision"]["post"]
    assert "6.5.13" in council["summary"] and "403" in council["responses"]
    assert "text/csv" in paths["/api/v1/remediation/tax-roll/exports"]["post"]["responses"]["200"]["content"]


async def test_a_work_order_needs_a_parcel_on_the_roll(gateway: Gateway) -> None:
    await seed_roll(gateway.stack.cases)
    opened = await gateway.stack.cases.OpenCase(open_request(point=(44.2700, -76.9000)))  # no parcel there
    number = opened.case.case_number
    body = {
        "work_description": "Cut the grass",
        "estimate_cents": 90_000,
        "contractor": "c",
        "private_land": True,
    }
    response = await gateway.http.post(
        f"/api/v1/cases/{number}/work-orders", json=body, headers=gateway.auth(Role.OFFICER)
    )
    assert response.status_code == 400 and errors(response) == [("property_roll_number", "6.7.9")]
    listed = await gateway.http.get(f"/api/v1/cases/{number}/work-orders", headers=gateway.auth(Role.OFFICER))
    assert listed.json() == {"items": []}
