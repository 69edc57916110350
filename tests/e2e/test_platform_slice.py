"""Issue 2's thin slice through real components: a complaint over HTTP (Open311 POST) and
one over NATS both become a complaint in intake, a case in cases and a running
CaseLifecycleWorkflow with its search attributes; outcomes come back on each channel, bad
input is refused with the field and the rule, and complainant identity stays in intake."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from temporalio.client import Client, WorkflowExecutionStatus

from devstack.stack import Stack
from workflows.contracts import (
    BYLAW_NUMBER,
    CASE_NUMBER,
    CASE_PRIORITY,
    CASE_STATUS,
    SERVICE_CODE,
    TASK_QUEUE,
    workflow_id,
)

SCHEMAS = Path(__file__).resolve().parents[1] / "fixtures" / "open311"
CANARY = {
    "first_name": "Zebulon",
    "last_name": "Quackenbush-Canary",
    "email": "zq.canary.e2e@example.org",
    "phone": "613-555-0199",
    "complainant_address": "77 Canary Lane, Napanee",
}


def _validator(schema_file: str) -> Draft7Validator:
    resources = [
        (
            p.name,
            Resource.from_contents(
                {**json.loads(p.read_text()), "$schema": "http://json-schema.org/draft-07/schema#"}
            ),
        )
        for p in SCHEMAS.glob("*.json")
        if p.name != "swagger.json"
    ]
    registry: Registry = Registry().with_resources(resources)
    return Draft7Validator(json.loads((SCHEMAS / schema_file).read_text()), registry=registry)


def _portal_form(**overrides: str) -> dict[str, str]:
    form = {
        "service_code": "pool-fence",
        "address_string": "",
        "lat": "",
        "long": "",
        "description": "Backyard pool with a broken fence gate that does not latch.",
        "first_name": CANARY["first_name"],
        "last_name": CANARY["last_name"],
        "email": CANARY["email"],
        "phone": CANARY["phone"],
        "attribute[complainant_address]": CANARY["complainant_address"],
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v != ""}


def _a_demo_address(stack: Stack) -> str:
    from devstack.demo_town import generate_town

    return generate_town().properties[7].address


async def _temporal(stack: Stack) -> Client:
    return await Client.connect(stack.env["BYLAW_TEMPORAL_ADDRESS"])


async def _wait_for_workflow(stack: Stack, case_number: str, wait_s: float = 30) -> Any:
    client = await _temporal(stack)
    handle = client.get_workflow_handle(workflow_id(case_number))
    deadline = time.monotonic() + wait_s
    while True:
        try:
            desc = await handle.describe()
            sa = desc.typed_search_attributes
            if sa.get(CASE_STATUS) is not None:
                return desc
        except Exception:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"workflow for {case_number} never set its search attributes")
        await asyncio.sleep(0.3)


def test_gateway_reports_every_dependency_healthy(stack: Stack) -> None:
    health = stack.health()
    text = json.dumps(health)
    for dependency in ("intake", "cases", "evidence", "notices", "reporting", "temporal"):
        assert dependency in text, f"/healthz does not report {dependency}: {health}"


def test_services_json_lists_every_matrix_row(stack: Stack) -> None:
    resp = httpx.get(f"{stack.gateway_url}/open311/v2/services.json")
    assert resp.status_code == 200
    services = resp.json()
    assert len(services) == 40
    _validator("services.json").validate(services)
    codes = {s["service_code"] for s in services}
    assert {"pool-fence", "noise", "property-standards-major-safety", "zoning"} <= codes


def test_portal_complaint_becomes_a_case_with_a_running_workflow(stack: Stack) -> None:
    address = _a_demo_address(stack)
    resp = httpx.post(
        f"{stack.gateway_url}/open311/v2/requests.json",
        data=_portal_form(address_string=address),
    )
    assert resp.status_code in (200, 201), resp.text
    body = resp.json()
    assert isinstance(body, list) and len(body) == 1
    created = body[0]
    request_id = created["service_request_id"]
    case_number = created["case_number"]
    assert case_number.startswith("BL-20"), created
    for value in CANARY.values():
        assert value not in resp.text

    got = httpx.get(f"{stack.gateway_url}/open311/v2/requests/{request_id}.json")
    assert got.status_code == 200
    requests = got.json()
    _validator("requests.json").validate(requests)
    public = requests[0]
    assert public["service_request_id"] == request_id
    assert public["case_number"] == case_number
    assert public["status"] == "open"
    for value in CANARY.values():
        assert value not in got.text, "public GET leaked complainant identity"

    desc = asyncio.run(_wait_for_workflow(stack, case_number))
    assert desc.status == WorkflowExecutionStatus.RUNNING
    assert desc.task_queue == TASK_QUEUE
    assert desc.workflow_type == "CaseLifecycleWorkflow"
    sa = desc.typed_search_attributes
    assert sa.get(CASE_NUMBER) == case_number
    assert sa.get(CASE_STATUS) == "received"
    assert sa.get(CASE_PRIORITY) == "high"  # Pool Fence is High in Appendix A
    assert sa.get(SERVICE_CODE) == "pool-fence"
    assert sa.get(BYLAW_NUMBER) == "2010-0049"
    assert desc.raw_description.workflow_extended_info is not None


def test_nats_complaint_gets_its_outcome_on_the_updates_subject(stack: Stack) -> None:
    external_id = f"311-{uuid.uuid4().hex[:10]}"
    message = {
        "service_request_id": external_id,
        "requested_datetime": "2026-11-20T09:15:00-05:00",
        "channel": "311-phone",
        "service_code": "property-standards-major-safety",
        "address_string": _a_demo_address(stack),
        "description": "Porch stairs have collapsed; tenants cannot exit safely.",
        "first_name": CANARY["first_name"],
        "last_name": CANARY["last_name"],
        "email": CANARY["email"],
        "phone": CANARY["phone"],
        "complainant_address": CANARY["complainant_address"],
    }

    async def scenario() -> dict[str, Any]:
        nc = await nats.connect(stack.env["BYLAW_NATS_URL"])
        try:
            sub = await nc.subscribe("bylaw.311.updates")
            js = nc.jetstream()
            await js.publish(
                "bylaw.311.requests", json.dumps(message).encode(), headers={"Nats-Msg-Id": external_id}
            )
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                msg = await sub.next_msg(timeout=deadline - time.monotonic())
                update = json.loads(msg.data)
                if update.get("external_request_id") == external_id:
                    return dict(update)
            raise AssertionError("no outcome on bylaw.311.updates")
        finally:
            await nc.close()

    update = asyncio.run(scenario())
    assert update["case_number"].startswith("BL-")
    assert update["status"] == "open"
    assert update["service_request_id"]
    for value in CANARY.values():
        assert value not in json.dumps(update)
    desc = asyncio.run(_wait_for_workflow(stack, update["case_number"]))
    assert desc.typed_search_attributes.get(CASE_PRIORITY) == "high"


def test_bad_portal_input_is_refused_naming_the_field_and_rule(stack: Stack) -> None:
    resp = httpx.post(
        f"{stack.gateway_url}/open311/v2/requests.json",
        data=_portal_form(service_code="no-such-bylaw", address_string="1 Main St"),
    )
    assert resp.status_code == 400
    errors = resp.json()
    assert errors[0]["code"] == 400
    assert "service_code" in errors[0]["description"]

    resp = httpx.post(
        f"{stack.gateway_url}/open311/v2/requests.json",
        data=_portal_form(address_string="", lat="", long=""),
    )
    assert resp.status_code == 400
    assert "4.10" in resp.text or "location" in resp.text.lower()


def test_bad_nats_message_goes_to_the_dlq_with_original_and_reason(stack: Stack) -> None:
    external_id = f"311-bad-{uuid.uuid4().hex[:8]}"
    bad = {"service_request_id": external_id, "channel": "311-online", "service_code": "pool-fence"}

    async def scenario() -> dict[str, Any]:
        nc = await nats.connect(stack.env["BYLAW_NATS_URL"])
        try:
            sub = await nc.subscribe("bylaw.311.dlq")
            await nc.jetstream().publish(
                "bylaw.311.requests", json.dumps(bad).encode(), headers={"Nats-Msg-Id": external_id}
            )
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                msg = await sub.next_msg(timeout=deadline - time.monotonic())
                if external_id.encode() in msg.data or external_id in json.dumps(dict(msg.headers or {})):
                    return {"data": msg.data.decode(), "headers": dict(msg.headers or {})}
            raise AssertionError("nothing on bylaw.311.dlq")
        finally:
            await nc.close()

    dead = asyncio.run(scenario())
    text = dead["data"] + json.dumps(dead["headers"])
    assert "pool-fence" in text, "the DLQ entry must carry the original message"
    named = ("description" in text) or ("address" in text) or ("location" in text)
    assert named, "the DLQ entry must name the field"


@pytest.fixture(scope="module")
def canary_complaints(stack: Stack) -> list[dict[str, Any]]:
    """Complaints carrying the CANARY identity through both channels, processed end to end."""
    address = _a_demo_address(stack)
    portal = httpx.post(
        f"{stack.gateway_url}/open311/v2/requests.json", data=_portal_form(address_string=address)
    )
    assert portal.status_code in (200, 201), portal.text
    external_id = f"311-canary-{uuid.uuid4().hex[:8]}"
    message = {
        "service_request_id": external_id,
        "requested_datetime": "2026-11-20T10:00:00-05:00",
        "channel": "311-online",
        "service_code": "noise",
        "address_string": address,
        "description": f"Loud music every night; call me, {CANARY['first_name']}, at {CANARY['phone']}",
        **{k: CANARY[k] for k in ("first_name", "last_name", "email", "phone", "complainant_address")},
    }

    async def publish_and_wait() -> dict[str, Any]:
        nc = await nats.connect(stack.env["BYLAW_NATS_URL"])
        try:
            sub = await nc.subscribe("bylaw.311.updates")
            await nc.jetstream().publish(
                "bylaw.311.requests", json.dumps(message).encode(), headers={"Nats-Msg-Id": external_id}
            )
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                update = json.loads((await sub.next_msg(timeout=deadline - time.monotonic())).data)
                if update.get("external_request_id") == external_id:
                    return dict(update)
            raise AssertionError("canary 311 complaint got no outcome")
        finally:
            await nc.close()

    update = asyncio.run(publish_and_wait())
    # A canary message that cannot be processed: its identity must not reach the DLQ.
    bad_id = f"311-canary-bad-{uuid.uuid4().hex[:8]}"
    asyncio.run(
        _publish_and_wait_for_dlq(stack, {**message, "service_request_id": bad_id, "lat": 123.0}, bad_id)
    )
    case_numbers = [portal.json()[0]["case_number"], update["case_number"]]
    for case_number in case_numbers:
        asyncio.run(_wait_for_workflow(stack, case_number))
    # Let the services flush logs and the outbox relays publish their events.
    time.sleep(2)
    return [portal.json()[0], update]


async def _publish_and_wait_for_dlq(stack: Stack, message: dict[str, Any], external_id: str) -> None:
    nc = await nats.connect(stack.env["BYLAW_NATS_URL"])
    try:
        sub = await nc.subscribe("bylaw.311.dlq")
        await nc.jetstream().publish(
            "bylaw.311.requests", json.dumps(message).encode(), headers={"Nats-Msg-Id": external_id}
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            msg = await sub.next_msg(timeout=deadline - time.monotonic())
            if json.loads(msg.data).get("external_request_id") == external_id:
                return
        raise AssertionError("canary bad message never reached the DLQ")
    finally:
        await nc.close()


def _staff_headers(*roles: str) -> dict[str, str]:
    from services.common.settings import Settings
    from services.gateway.security import mint_dev_token

    token = mint_dev_token(Settings(env="test"), subject="e2e-canary-auditor", roles=list(roles))
    return {"Authorization": f"Bearer {token}"}


def _database_rows(stack: Stack, schemas: tuple[str, ...]) -> dict[str, list[str]]:
    """Every row of every table of ``schemas``, as text (PostgreSQL's row-to-text cast).
    The vault's columns are bytea ciphertext, so plain identity cannot match there."""
    import psycopg

    url = stack.env["BYLAW_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    rows: dict[str, list[str]] = {}
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema = ANY(%s) AND table_type = 'BASE TABLE'",
            (list(schemas),),
        ).fetchall()
        for schema, table in tables:
            rows[f"{schema}.{table}"] = [
                r[0] for r in conn.execute(f'SELECT t::text FROM "{schema}"."{table}" t').fetchall()
            ]
    return rows


def test_complainant_identity_is_in_no_database_table_outside_the_vault(
    stack: Stack, canary_complaints: list[dict[str, Any]]
) -> None:
    rows = _database_rows(stack, ("intake", "cases", "reporting", "notices", "evidence"))
    assert "intake.complaints" in rows and "cases.cases" in rows and len(rows["intake.complaints"]) >= 2
    assert rows["intake.complainants"] and rows["intake.dead_letters"]  # the canaries are vaulted
    needles = [CANARY["first_name"], CANARY["last_name"], CANARY["email"], CANARY["phone"]]
    needles.append(CANARY["complainant_address"])
    for table, texts in rows.items():
        for text in texts:
            for needle in needles:
                assert needle not in text, f"{needle!r} found in {table}"


def test_complainant_identity_is_in_no_public_or_staff_response(
    stack: Stack, canary_complaints: list[dict[str, Any]]
) -> None:
    base = stack.gateway_url
    ids = [c["service_request_id"] for c in canary_complaints]
    staff = _staff_headers("supervisor", "clerk", "officer")
    responses = [
        httpx.get(f"{base}/open311/v2/requests.json"),
        httpx.get(f"{base}/open311/v2/requests.json", params={"service_request_id": ",".join(ids)}),
        httpx.get(f"{base}/open311/v2/requests.xml", params={"service_request_id": ",".join(ids)}),
        *(httpx.get(f"{base}/open311/v2/requests/{i}.json") for i in ids),
        httpx.get(f"{base}/api/v1/cases", headers=staff),
        *(httpx.get(f"{base}/api/v1/cases/{c['case_number']}", headers=staff) for c in canary_complaints),
        httpx.get(f"{base}/api/v1/intake/acknowledgements/overdue", headers=staff),
        httpx.get(f"{base}/api/v1/intake/dead-letters", headers=staff),
        httpx.get(f"{base}/api/v1/dashboard", headers=staff),
    ]
    needles = [CANARY["first_name"], CANARY["last_name"], CANARY["email"], CANARY["phone"]]
    for resp in responses:
        assert resp.status_code == 200, (resp.request.url, resp.text)
        for needle in needles:
            assert needle not in resp.text, f"{needle!r} in {resp.request.url}"
    # ... while staff who need to know can still read it, audited (policy 6.3.4).
    who = httpx.get(
        f"{base}/api/v1/intake/complaints/{ids[0]}/complainant",
        params={"purpose": "call back about the pool gate"},
        headers=_staff_headers("officer"),
    )
    assert who.status_code == 200 and who.json()["email"] == CANARY["email"]
    assert who.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("where", ["logs", "temporal", "nats"])
def test_complainant_identity_never_leaves_intake(
    stack: Stack, canary_complaints: list[dict[str, Any]], where: str
) -> None:
    assert len(canary_complaints) == 2
    roots = {
        "logs": [stack.logs],
        "temporal": [stack.data_dir / "temporal"],
        "nats": [stack.data_dir / "nats"],
    }[where]
    needles = [CANARY["last_name"], CANARY["email"], CANARY["phone"]]
    scanned = 0
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                scanned += 1
                for needle in needles:
                    assert needle.encode() not in data, f"{needle!r} found in {path}"
    assert scanned > 0, f"nothing scanned under {roots}"
