"""Complainant identity never leaks through the gateway: not in responses, not in logs
(policy 6.3.4). Canary values are posted and then searched for everywhere."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from services.common.errors import FieldViolation, InvalidArgument
from services.common.settings import Settings
from services.gateway.app import create_app
from services.gateway.security import Role
from tests.unit.gateway.fakes import Fakes, auth

CANARY = {
    "first_name": "Zebulon",
    "last_name": "Quackenbush-Canary",
    "email": "zq.canary.gw@example.org",
    "phone": "613-555-0199",
    "attribute[complainant_address]": "77 Canary Lane, Napanee",
    "description": "Canary-description-text about the neighbour",
}


def leaked(text: str) -> list[str]:
    return [v for v in CANARY.values() if v in text]


def server_logs(caplog: pytest.LogCaptureFixture) -> str:
    """Everything logged except by the test's own HTTP client (httpx logs the URL it asked for)."""
    return "\n".join(
        f"{r.getMessage()} {r.__dict__}"
        for r in caplog.records
        if not r.name.startswith(("httpx", "httpcore"))
    )


async def test_open311_post_leaks_no_identity_to_response_or_logs(
    client: httpx.AsyncClient, fakes: Fakes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    form = {"service_code": "pool-fence", "address_string": "12 Dundas St E", **CANARY}
    resp = await client.post("/open311/v2/requests.json", data=form)
    assert resp.status_code == 200
    created = resp.json()[0]
    got = await client.get(f"/open311/v2/requests/{created['service_request_id']}.json")
    listed = await client.get("/open311/v2/requests.xml")
    assert fakes.intake.submissions[0].submission.complainant.email == CANARY["email"]  # it did go to intake
    for text in (resp.text, got.text, listed.text):
        assert leaked(text) == []
    assert caplog.records, "the access log should have recorded the requests"
    assert leaked(server_logs(caplog)) == []
    # The access log names the write without a query string and without the client address.
    posts = [
        r.getMessage()
        for r in caplog.records
        if r.name == "services.gateway.access" and "POST" in r.getMessage()
    ]
    assert posts == ["POST /open311/v2/requests.json 200"]


async def test_rejected_identity_fields_are_not_echoed_or_logged(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bad = {**CANARY, "email": "zq.canary.broken-at-example", "phone": "Zebulon's phone"}
    resp = await client.post(
        "/open311/v2/requests.json?first_name=Zebulon", data={"service_code": "x", **bad}
    )
    assert resp.status_code == 400
    assert "POST /open311/v2/requests.json 400" in server_logs(caplog)
    assert "email" in resp.text and "phone" in resp.text
    for value in (*CANARY.values(), bad["email"], bad["phone"]):
        assert value not in resp.text
        assert value not in server_logs(caplog)


async def test_staff_complaint_leaks_no_identity(
    client: httpx.AsyncClient, settings: Settings, fakes: Fakes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body: dict[str, Any] = {
        "channel": "walk-in",
        "service_code": "noise",
        "description": CANARY["description"],
        "location": {"address": "12 Dundas St E"},
        "complainant": {
            "first_name": CANARY["first_name"],
            "last_name": CANARY["last_name"],
            "email": CANARY["email"],
            "phone": CANARY["phone"],
            "address": CANARY["attribute[complainant_address]"],
        },
    }
    ok = await client.post("/api/v1/complaints", json=body, headers=auth(settings, Role.FRONT_COUNTER))
    assert ok.status_code == 201
    fakes.intake.fail_with = InvalidArgument(FieldViolation("complainant.phone", "is not reachable", "6.5.3"))
    refused = await client.post("/api/v1/complaints", json=body, headers=auth(settings, Role.FRONT_COUNTER))
    assert refused.status_code == 400
    invalid = await client.post(
        "/api/v1/complaints",
        json={**body, "complainant": {**body["complainant"], "email": "Zebulon-no-at-sign"}},
        headers=auth(settings, Role.FRONT_COUNTER),
    )
    assert invalid.status_code == 422
    for resp in (ok, refused, invalid):
        assert leaked(resp.text) == []
        assert "Zebulon-no-at-sign" not in resp.text
    logs = server_logs(caplog)
    assert logs and leaked(logs) == [] and "Zebulon-no-at-sign" not in logs


async def test_unhandled_error_is_500_and_logged_without_its_message(
    settings: Settings, fakes: Fakes, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings, fakes.clients)

    @app.post("/boom")
    async def boom(payload: dict[str, str]) -> None:
        raise RuntimeError(f"bad value {payload['email']}")

    caplog.set_level(logging.DEBUG)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as c:
        resp = await c.post("/boom", json={"email": CANARY["email"]})
    assert resp.status_code == 500
    assert resp.json() == {"detail": "internal error"}
    assert "unhandled RuntimeError in POST /boom" in caplog.text
    assert CANARY["email"] not in server_logs(caplog)
