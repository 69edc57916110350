"""Municipal remediation through the whole stack as ``make run`` starts it: a complaint
from the portal opens a case (and its case workflow) on a parcel of the demo town's
assessment roll; the officer's inspection finds an unlatched pool gate; through the staff
API the officer chooses direct enforcement, which the case workflow accepts and hands to
its remediation child; the work, over $5,000 on private land, waits for Council (policy
6.5.13) and the case shows ``awaiting_council_approval``; the Clerk records Council's
approval; the officer records the actual costs and completion; the owner is invoiced; the
Treasurer records the payment; and the case closes with the outcome "remediation"."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from devstack.demo_town import generate_town
from devstack.stack import Stack
from services.common.settings import Settings
from services.gateway.security import Role, mint_dev_token
from workflows.contracts import (
    CASE_STATUS,
    UPDATE_RECORD_INSPECTION,
    InspectionFinding,
    RecordInspectionRequest,
    workflow_id,
)

POOL_ITEMS = (
    "enclosure-complete",
    "fence-height",
    "climbability",
    "opening-spacing",
    "gate-self-closing",
    "gate-latch-height",
    "condition",
)


def _auth(*roles: Role, sub: str) -> dict[str, str]:
    token = mint_dev_token(Settings(env="test"), subject=sub, roles=roles)
    return {"Authorization": f"Bearer {token}"}


def _wait(get: Any, ok: Any, seconds: float = 90) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = get()
        if ok(value):
            return value
        assert time.monotonic() < deadline, f"condition not met: {value}"
        time.sleep(0.5)


async def _inspect(stack: Stack, number: str) -> None:
    """The officer's initial inspection (case workflow update): the gate does not latch."""
    client = await Client.connect(stack.env["BYLAW_TEMPORAL_ADDRESS"])
    handle = client.get_workflow_handle(workflow_id(number))
    for _ in range(120):  # the case workflow starts just after the complaint is recorded
        try:
            await handle.describe()
            break
        except RPCError as err:  # not started yet
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            await asyncio.sleep(0.5)
    await handle.execute_update(
        UPDATE_RECORD_INSPECTION,
        RecordInspectionRequest(
            kind="initial",
            inspected_at=datetime.now(UTC),
            checklist_id="pool-fence",
            findings=[
                InspectionFinding(
                    item_id=item,
                    result="non_compliant" if item == "gate-self-closing" else "compliant",
                    note="Gate hangs open off its lower hinge; it neither closes nor latches"
                    if item == "gate-self-closing"
                    else "",
                )
                for item in POOL_ITEMS
            ],
            health_safety_risk="Unlatched gate gives small children open access to a filled pool",
            actor="officer-e2e",
        ),
    )


async def _case_status(stack: Stack, number: str) -> str:
    client = await Client.connect(stack.env["BYLAW_TEMPORAL_ADDRESS"])
    described = await client.get_workflow_handle(workflow_id(number)).describe()
    return str(described.typed_search_attributes.get(CASE_STATUS) or "")


def test_direct_enforcement_over_the_council_gate_through_the_stack(stack: Stack) -> None:
    parcel = generate_town().properties[31]
    base = stack.gateway_url
    created = httpx.post(
        f"{base}/open311/v2/requests.json",
        data={
            "service_code": "pool-fence",
            "address_string": parcel.address,
            "description": "Pool gate hanging off its hinges; it never closes.",
            "first_name": "Robin",
            "last_name": "Neighbour",
            "email": "robin.neighbour.e2e@example.org",
            "phone": "613-555-0142",
            "attribute[complainant_address]": "3 Other St, Napanee",
        },
    )
    assert created.status_code in (200, 201), created.text
    number = created.json()[0]["case_number"]
    asyncio.run(_inspect(stack, number))

    officer = _auth(Role.OFFICER, sub="officer-e2e")
    started = httpx.post(
        f"{base}/api/v1/cases/{number}/work-orders",
        json={
            "work_description": "Rehang the gate with self-closing hinges and a self-latching latch",
            "estimate_cents": 640_000,
            "contractor": "Lennox Fencing",
            "private_land": True,
            "details": "The pool gate is neither self-closing nor self-latching (By-law 2010-0049 s. 5.1)",
            "required_action": "Make the gate self-closing and self-latching",
            "deviation_reason": "An unfenced pool is an immediate danger to children; the Town acts at once",
            "justification": "health_and_safety",
        },
        headers=officer,
    )
    assert started.status_code == 202, started.text
    seq = started.json()["work_order_seq"]
    assert started.json()["workflow_id"] == f"case-{number}-remediation-{seq}"
    url = f"{base}/api/v1/cases/{number}/work-orders/{seq}"

    waiting = _wait(
        lambda: httpx.get(url, headers=officer).json(),
        lambda body: (body.get("workflow") or {}).get("phase") == "awaiting_council",
    )
    assert waiting["council_approval_required"] and waiting["property_roll_number"] == parcel.roll_number
    assert waiting["owner_name"] == parcel.owner_name
    # The case workflow follows its child: Council's wait shows on the case (6.5.13).
    _wait(lambda: asyncio.run(_case_status(stack, number)), lambda s: s == "awaiting_council_approval")

    clerk = _auth(Role.CLERK, sub="clerk-e2e")
    items = httpx.get(f"{base}/api/v1/remediation/council-items", headers=clerk).json()["items"]
    assert f"{number}-W{seq}" in [i["work_order_number"] for i in items]
    today = datetime.now(ZoneInfo("America/Toronto")).date().isoformat()
    decided = httpx.post(
        f"{url}/council-decision",
        json={"decision": "approved", "resolution_number": "2026-E2E", "meeting_date": today},
        headers=clerk,
    )
    assert decided.status_code == 200, decided.text
    _wait(lambda: httpx.get(url, headers=officer).json(), lambda b: b["status"] == "approved")

    done = httpx.post(
        f"{url}/completion",
        json={
            "completed_on": today,
            "costs": [
                {
                    "kind": "contractor_invoice",
                    "description": "Gate rehung, self-closing hinges and latch installed",
                    "amount_cents": 598_000,
                    "reference": "LF-2231",
                },
                {"kind": "staff_time", "description": "Officer on site", "amount_cents": 13_000, "hours": 2},
            ],
        },
        headers=officer,
    )
    assert done.status_code == 200, done.text
    _wait(
        lambda: httpx.get(url, headers=officer).json(),
        lambda b: (b.get("workflow") or {}).get("phase") == "invoiced",
    )
    invoiced = httpx.get(url, headers=officer).json()
    assert invoiced["invoice"]["amount_cents"] == 611_000 and invoiced["invoice"]["payment_period_days"] == 30
    paid = httpx.post(
        f"{url}/payments",
        json={"amount_cents": 611_000, "received_on": today, "method": "cheque", "reference": "chq 88"},
        headers=_auth(Role.TREASURER, sub="treasurer-e2e"),
    )
    assert paid.status_code == 200, paid.text
    final = _wait(lambda: httpx.get(url, headers=officer).json(), lambda b: b["status"] == "paid")
    assert final["invoice"]["balance_cents"] == 0
    # The complainant's identity is in none of the remediation records.
    assert "Neighbour" not in str(final)
    # The case closes with the outcome "remediation" once its child has recovered the costs.
    case = _wait(
        lambda: httpx.get(f"{base}/api/v1/cases/{number}", headers=officer).json(),
        lambda c: c.get("status") == "closed",
    )
    assert case["outcome"] == "remediation"
