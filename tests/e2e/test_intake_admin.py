"""Intake's staff side on the whole running system (devstack, as `make run` starts it):
the Clerk's matrix upload (policy 6.8.4), a snow day moving an acknowledgement (4.2,
6.5.5), recording an acknowledgement and the case workflow hearing of it, a vexatious
complaint closing its case through the workflow (4.11), referral-only services (6.2.1 g,
6.5.9), the work queue by priority then age (6.5.4), Open311 list filters validating
against the spec's schema, staff channels recorded, and the dead-letter vault."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import nats
import psycopg
import pytest
from temporalio.client import Client

from devstack.demo_town import generate_town
from devstack.stack import Stack
from services.common.settings import Settings
from services.gateway.security import mint_dev_token
from services.intake.domain.calendar import BusinessCalendar
from tests.e2e.test_platform_slice import _validator
from workflows.contracts import SIGNAL_ACKNOWLEDGEMENT_RECORDED, workflow_id

MATRIX = "config/service_level_matrix.csv"
PII = {
    "first_name": "Eudora",
    "last_name": "Canary-Welty",
    "email": "eudora.e2e@example.org",
    "phone": "613-555-0177",
}


def staff(*roles: str, sub: str = "e2e-staff") -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_dev_token(Settings(env='test'), subject=sub, roles=list(roles))}"}


def address(n: int) -> str:
    return generate_town().properties[n].address


def take_complaint(stack: Stack, *, channel: str, service_code: str, where: str, sub: str = "front-1") -> Any:
    resp = httpx.post(
        f"{stack.gateway_url}/api/v1/complaints",
        json={
            "channel": channel,
            "service_code": service_code,
            "description": "Reported at the counter.",
            "location": {"address": where},
            "complainant": {**PII, "address": "5 Canary Court, Napanee"},
        },
        headers=staff("front_counter", sub=sub),
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


def sql(stack: Stack, query: str, *params: Any) -> list[tuple[Any, ...]]:
    url = stack.env["BYLAW_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        return list(conn.execute(query, params).fetchall())


def test_clerk_loads_a_matrix_version_and_a_bad_file_is_refused_by_row(stack: Stack) -> None:
    url = f"{stack.gateway_url}/api/v1/intake/matrix-versions"
    good = open(MATRIX, encoding="utf-8").read()  # noqa: SIM115 - small file, read at once
    lines = good.splitlines()
    bad = "\n".join([lines[0], lines[1].replace(",Low,", ",Urgent,"), lines[2], lines[2]]) + "\n"
    form = {
        "version_label": f"e2e-{uuid.uuid4().hex[:8]}",
        "effective_date": "2099-01-01",
        "council_resolution": "#1/99",
    }
    refused = httpx.post(url, data=form, files={"file": ("m.csv", bad)}, headers=staff("clerk"))
    assert refused.status_code == 400, refused.text
    errors = {e["field"]: e for e in refused.json()["errors"]}
    assert "Urgent" in errors["row 1 (bicycles-skateboards-downtown).priority"]["rule"]
    assert (
        "duplicate service_code (first on row 2)"
        in errors["row 3 (building-construct-demolish).service_code"]["rule"]
    )
    assert (
        httpx.post(url, data=form, files={"file": ("m.csv", good)}, headers=staff("officer")).status_code
        == 403
    )
    created = httpx.post(url, data=form, files={"file": ("m.csv", good)}, headers=staff("clerk"))
    assert created.status_code == 201 and created.json()["services"] == 40
    again = httpx.post(url, data=form, files={"file": ("m.csv", good)}, headers=staff("clerk"))
    assert again.status_code == 200 and again.json()["created"] is False


async def _signals(stack: Stack, case_number: str) -> list[dict[str, Any]]:
    client = await Client.connect(stack.env["BYLAW_TEMPORAL_ADDRESS"])
    history = await client.get_workflow_handle(workflow_id(case_number)).fetch_history()
    found = []
    for event in history.events:
        if event.HasField("workflow_execution_signaled_event_attributes"):
            attrs = event.workflow_execution_signaled_event_attributes
            if attrs.signal_name == SIGNAL_ACKNOWLEDGEMENT_RECORDED:
                found.append(json.loads(attrs.input.payloads[0].data))
    return found


def test_snow_day_moves_the_due_date_and_a_recorded_acknowledgement_reaches_the_workflow(
    stack: Stack,
) -> None:
    taken = take_complaint(stack, channel="phone", service_code="garbage", where=address(21))
    case_number = taken["case_number"]
    calendar = BusinessCalendar()
    today = datetime.now(UTC).astimezone(calendar.tz).date()
    snow_day = calendar.next_business_day(today)
    declared = httpx.post(
        f"{stack.gateway_url}/api/v1/intake/closure-days",
        json={"date": snow_day.isoformat(), "reason": "Office closed: snowstorm"},
        headers=staff("supervisor"),
    )
    assert declared.status_code == 200, declared.text
    with_snow = BusinessCalendar(closure_days=[snow_day])
    expected = with_snow.acknowledgement_due(datetime.now(UTC))
    assert expected > calendar.acknowledgement_due(datetime.now(UTC))  # a business day later

    recorded = httpx.post(
        f"{stack.gateway_url}/api/v1/intake/complaints/{taken['service_request_id']}/acknowledgement",
        json={"method": "phone"},
        headers=staff("front_counter"),
    )
    assert recorded.status_code == 200, recorded.text
    body = recorded.json()
    assert datetime.fromisoformat(body["due"]) == expected
    assert body["sent_at"] and body["method"] == "phone" and body["overdue"] is False

    deadline = time.monotonic() + 20
    while not (signals := asyncio.run(_signals(stack, case_number))) and time.monotonic() < deadline:
        time.sleep(0.5)
    (signal,) = signals
    assert signal["complaint_id"] == taken["service_request_id"] and signal["channel"] == "phone"
    assert not any(v in json.dumps(signal) for v in PII.values())
    overdue = httpx.get(
        f"{stack.gateway_url}/api/v1/intake/acknowledgements/overdue", headers=staff("supervisor")
    )
    assert overdue.status_code == 200
    assert taken["service_request_id"] not in overdue.text


def test_the_only_complaint_found_vexatious_closes_its_case(stack: Stack) -> None:
    taken = take_complaint(stack, channel="walk-in", service_code="feeding-of-wildlife", where=address(23))
    url = f"{stack.gateway_url}/api/v1/intake/complaints/{taken['service_request_id']}/marking"
    body = {"kind": "vexatious", "reason": "Sixth complaint about the same bird feeder this month."}
    assert httpx.post(url, json=body, headers=staff("officer")).status_code == 403
    marked = httpx.post(url, json=body, headers=staff("supervisor"), timeout=30)
    assert marked.status_code == 200, marked.text
    result = marked.json()
    assert result["case_action"] == "closed", result
    assert result["outcome"]["outcome"] == "rejected"
    assert "vexatious complaint, policy 4.11" in result["outcome"]["service_notice"]
    case = httpx.get(
        f"{stack.gateway_url}/api/v1/cases/{taken['case_number']}", headers=staff("supervisor")
    ).json()
    assert case["status"] == "closed", case
    public = httpx.get(f"{stack.gateway_url}/open311/v2/requests/{taken['service_request_id']}.json").json()[
        0
    ]
    assert public["status"] == "closed" and "bird feeder" not in json.dumps(public)


@pytest.mark.parametrize(
    ("code", "agency"),
    [("civil-matter", "Private civil remedies"), ("police-matter", "Ontario Provincial Police")],
)
def test_referral_services_are_referred_with_the_agency_named(stack: Stack, code: str, agency: str) -> None:
    resp = httpx.post(
        f"{stack.gateway_url}/open311/v2/requests.json",
        data={
            "service_code": code,
            "address_string": address(25),
            "description": "Neighbour's tree hangs over my yard and drops branches.",
            **PII,
            "attribute[complainant_address]": "5 Canary Court, Napanee",
        },
    )
    assert resp.status_code in (200, 201), resp.text
    created = resp.json()[0]
    assert created["case_number"] is None and agency in created["service_notice"]
    public = httpx.get(f"{stack.gateway_url}/open311/v2/requests/{created['service_request_id']}.json").json()
    _validator("requests.json").validate(public)
    assert public[0]["status"] == "closed" and agency in public[0]["agency_responsible"]


def test_work_queue_is_ordered_by_priority_then_age(stack: Stack) -> None:
    taken = [
        take_complaint(stack, channel="phone", service_code="grass-cutting", where=address(27)),  # low
        take_complaint(stack, channel="phone", service_code="pool-fence", where=address(28)),  # high, older
        take_complaint(stack, channel="phone", service_code="noise", where=address(29)),  # medium
        take_complaint(stack, channel="phone", service_code="open-air-burning", where=address(30)),  # high
    ]
    mine = {t["case_number"] for t in taken}
    items: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        params: dict[str, Any] = {"page_size": 200, **({"page_token": token} if token else {})}
        page = httpx.get(
            f"{stack.gateway_url}/api/v1/cases", params=params, headers=staff("supervisor")
        ).json()
        items += [c for c in page["items"] if c["case_number"] in mine]
        token = page.get("next_page_token")
        if not token:
            break
    assert [c["case_number"] for c in items] == [taken[i]["case_number"] for i in (1, 3, 2, 0)]


def test_open311_list_filters_validate_against_the_spec(stack: Stack) -> None:
    take_complaint(stack, channel="email", service_code="littering-public-property", where=address(31))
    base = f"{stack.gateway_url}/open311/v2/requests.json"
    now = datetime.now(UTC).replace(microsecond=0)
    for params in (
        {},
        {"service_code": "littering-public-property"},
        {"status": "open"},
        {"status": "closed"},
        {"start_date": now.replace(hour=0, minute=0, second=0).isoformat(), "end_date": now.isoformat()},
    ):
        resp = httpx.get(base, params=params)
        assert resp.status_code == 200, (params, resp.text)
        requests = resp.json()
        _validator("requests.json").validate(requests)
        if "service_code" in params:
            assert requests and {r["service_code"] for r in requests} == {"littering-public-property"}
        if "status" in params:
            assert {r["status"] for r in requests} <= {params["status"]}


def test_staff_channels_and_who_entered_them_are_recorded(stack: Stack) -> None:
    for channel in ("phone", "email", "walk-in", "council-referral"):
        taken = take_complaint(
            stack,
            channel=channel,
            service_code="yard-maintenance-cosmetic",
            where=address(33),
            sub=f"front-{channel}",
        )
        (row,) = sql(
            stack,
            "SELECT channel, entered_by, acknowledged_at IS NOT NULL FROM intake.complaints "
            "WHERE service_request_id = %s",
            taken["service_request_id"],
        )
        # Email is acknowledged by reply at once; the others when staff record it (6.5.5).
        assert row == (channel, f"front-{channel}", channel == "email")


async def _publish(stack: Stack, body: dict[str, Any], msg_id: str) -> None:
    nc = await nats.connect(stack.env["BYLAW_NATS_URL"])
    try:
        await nc.jetstream().publish(
            "bylaw.311.requests", json.dumps(body).encode(), headers={"Nats-Msg-Id": msg_id}
        )
    finally:
        await nc.close()


def test_dead_letter_is_read_under_audit_and_resubmitted_with_a_correction(stack: Stack) -> None:
    external_id = f"311-dl-{uuid.uuid4().hex[:8]}"
    body = {
        "service_request_id": external_id,
        "requested_datetime": datetime.now(UTC).isoformat(),
        "channel": "311-online",
        "service_code": "HEAT/HOT WATER",  # a 311 system's own code, not ours
        "address_string": address(35),
        "description": "No heat in the building for three days.",
        **PII,
        "complainant_address": "5 Canary Court, Napanee",
    }
    asyncio.run(_publish(stack, body, external_id))
    clerk = staff("clerk", sub="clerk-dl")
    deadline = time.monotonic() + 30
    letter = None
    while letter is None and time.monotonic() < deadline:
        listed = httpx.get(
            f"{stack.gateway_url}/api/v1/intake/dead-letters", params={"status": "open"}, headers=clerk
        )
        assert listed.status_code == 200
        assert not any(v in listed.text for v in PII.values())
        letter = next((d for d in listed.json() if d["external_request_id"] == external_id), None)
        time.sleep(0.3)
    assert letter is not None and "service_code" in letter["reason"]
    url = f"{stack.gateway_url}/api/v1/intake/dead-letters/{letter['id']}"
    assert (
        httpx.get(url, params={"purpose": "fix the service code"}, headers=staff("officer")).status_code
        == 403
    )
    original = httpx.get(url, params={"purpose": "fix the service code"}, headers=clerk)
    assert original.status_code == 200 and original.headers["cache-control"] == "no-store"
    assert json.loads(original.json()["body"])["email"] == PII["email"]
    audited = sql(
        stack,
        "SELECT action, actor_subject, purpose FROM intake.dead_letter_reads WHERE dead_letter_id = %s",
        uuid.UUID(letter["id"]),
    )
    assert ("read", "clerk-dl", "fix the service code") in audited
    resubmitted = httpx.post(
        f"{url}/resubmit",
        json={"corrections": {"service_code": "property-standards-major-safety"}},
        headers=clerk,
    )
    assert resubmitted.status_code == 200, resubmitted.text
    result = resubmitted.json()
    assert result["dead_letter"]["status"] == "resubmitted"
    assert result["outcome"]["outcome"] == "new_case" and result["outcome"]["case_number"]
    assert result["dead_letter"]["resubmitted_as"] == result["outcome"]["service_request_id"]
