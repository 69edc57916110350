"""Municipal remediation through the whole stack as ``make run`` starts it: a complaint
from the portal opens a case on a parcel of the demo town's assessment roll; through the
staff API an officer orders remedial work over $5,000 on private land, which waits for
Council (policy 6.5.13) and appears in the Clerk's list for Council's next report; the
Clerk records Council's approval; the officer records the actual costs and the completion;
the owner is invoiced (rendered by notices, stored by evidence, recorded in cases); the
Treasurer records the payment."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from devstack.demo_town import generate_town
from devstack.stack import Stack
from services.common.settings import Settings
from services.gateway.security import Role, mint_dev_token


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


def test_remediation_over_the_council_gate_through_the_stack(stack: Stack) -> None:
    town = generate_town()
    parcel = town.properties[31]
    base = stack.gateway_url
    created = httpx.post(
        f"{base}/open311/v2/requests.json",
        data={
            "service_code": "pool-fence",
            "address_string": parcel.address,
            "description": "Pool gate hanging off its hinges; fence panels down along the lane.",
            "first_name": "Robin",
            "last_name": "Neighbour",
            "email": "robin.neighbour.e2e@example.org",
            "phone": "613-555-0142",
            "attribute[complainant_address]": "3 Other St, Napanee",
        },
    )
    assert created.status_code in (200, 201), created.text
    number = created.json()[0]["case_number"]
    assert number.startswith("BL-20")

    officer = _auth(Role.OFFICER, sub="officer-e2e")
    started = httpx.post(
        f"{base}/api/v1/cases/{number}/work-orders",
        json={
            "work_description": "Replace the fallen fence panels and rehang the self-latching gate",
            "estimate_cents": 640_000,
            "contractor": "Lennox Fencing",
            "private_land": True,
        },
        headers=officer,
    )
    assert started.status_code == 202, started.text
    seq = started.json()["work_order_seq"]
    url = f"{base}/api/v1/cases/{number}/work-orders/{seq}"

    waiting = _wait(
        lambda: httpx.get(url, headers=officer).json(),
        lambda body: (body.get("workflow") or {}).get("phase") == "awaiting_council",
    )
    assert waiting["council_approval_required"] and waiting["property_roll_number"] == parcel.roll_number
    assert waiting["owner_name"] == parcel.owner_name

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
                    "description": "Fence panels and gate hardware, installed",
                    "amount_cents": 598_000,
                    "reference": "LF-2231",
                },
                {"kind": "staff_time", "description": "Officer on site", "amount_cents": 13_000, "hours": 2},
            ],
        },
        headers=officer,
    )
    assert done.status_code == 200, done.text
    invoiced = _wait(lambda: httpx.get(url, headers=officer).json(), lambda b: b["invoice"] is not None)
    assert invoiced["invoice"]["amount_cents"] == 611_000
    assert invoiced["invoice"]["payment_period_days"] == 30

    _wait(
        lambda: httpx.get(url, headers=officer).json(),
        lambda b: (b.get("workflow") or {}).get("phase") == "invoiced",
    )
    paid = httpx.post(
        f"{url}/payments",
        json={"amount_cents": 611_000, "received_on": today, "method": "cheque", "reference": "chq 88"},
        headers=_auth(Role.TREASURER, sub="treasurer-e2e"),
    )
    assert paid.status_code == 200, paid.text
    final = _wait(lambda: httpx.get(url, headers=officer).json(), lambda b: b["status"] == "paid")
    assert final["invoice"]["balance_cents"] == 0
    # The complainant's identity is in none of the remediation records or documents.
    assert "Neighbour" not in str(final)
