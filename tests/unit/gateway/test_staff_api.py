"""Staff API (/api/v1): work queue, case reads, staff-entered complaints, dashboard, town
summary; roles, actor propagation, filters and error mapping."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from bylaw.v1 import common_pb2

from services.common.errors import FieldViolation, InvalidArgument, Unavailable
from services.common.settings import Settings
from services.gateway.api.models import CaseStatusName, PriorityName
from services.gateway.security import Role
from tests.unit.gateway.fakes import Fakes, auth

API = "/api/v1"


def staff_complaint(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "phone",
        "service_code": "property-standards-major-safety",
        "description": "Porch stairs collapsed.",
        "location": {"address": "12 Dundas St E"},
        "complainant": {
            "first_name": "Pat",
            "last_name": "Caller",
            "phone": "613-555-0111",
            "address": "9 Oak St",
            "preferred_contact": "phone",
        },
        "verbal": True,
    }
    body.update(overrides)
    return body


# --- cases ---------------------------------------------------------------------------------


async def test_work_queue_passes_filters_paging_and_actor(
    client: httpx.AsyncClient, settings: Settings, fakes: Fakes
) -> None:
    resp = await client.get(
        f"{API}/cases",
        params=[
            ("status", "received"),
            ("status", "notice_issued"),
            ("priority", "high"),
            ("zone", "Z1"),
            ("officer", "officer-7"),
            ("service_code", "pool-fence"),
            ("page_size", "25"),
            ("page_token", "abc"),
        ],
        headers=auth(settings, Role.OFFICER, sub="officer-7"),
    )
    assert resp.status_code == 200, resp.text
    sent = fakes.cases.list_requests[-1]
    assert list(sent.statuses) == [common_pb2.CASE_STATUS_RECEIVED, common_pb2.CASE_STATUS_NOTICE_ISSUED]
    assert sent.priority == common_pb2.PRIORITY_HIGH
    assert (sent.zone_code, sent.assigned_officer_id, sent.service_code) == ("Z1", "officer-7", "pool-fence")
    assert (sent.page.page_size, sent.page.page_token) == (25, "abc")
    assert sent.actor.subject == "officer-7" and list(sent.actor.roles) == ["officer"]
    body = resp.json()
    assert body["total"] == 1 and body["next_page_token"] == "page-2"
    case = body["items"][0]
    assert case["case_number"] == "BL-2026-000001"
    assert case["status"] == "received" and case["priority"] == "high"
    assert case["location"] == {
        "address": "12 DUNDAS ST E",
        "address_id": "1121000000000000123",
        "postal_code": None,
        "lat": 44.25,
        "lon": -76.95,
    }
    assert case["property_match"]["roll_number"] == "1121000000000000123"
    assert case["complaint_count"] == 2
    assert case["received_at"].startswith("2026-11-20T14:00:00")


async def test_restricted_cases_are_filtered_by_the_cases_service_for_the_actor(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    officer = await client.get(f"{API}/cases", headers=auth(settings, Role.OFFICER))
    supervisor = await client.get(f"{API}/cases", headers=auth(settings, Role.SUPERVISOR))
    assert [c["case_number"] for c in officer.json()["items"]] == ["BL-2026-000001"]
    assert [c["case_number"] for c in supervisor.json()["items"]] == ["BL-2026-000001", "BL-2026-000002"]
    assert supervisor.json()["items"][1]["restricted"] is True


async def test_work_queue_defaults(client: httpx.AsyncClient, settings: Settings, fakes: Fakes) -> None:
    await client.get(f"{API}/cases", headers=auth(settings, Role.FRONT_COUNTER))
    sent = fakes.cases.list_requests[-1]
    assert list(sent.statuses) == [] and sent.priority == common_pb2.PRIORITY_UNSPECIFIED
    assert sent.page.page_size == 50


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=open", "status"),
        ("priority=urgent", "priority"),
        ("page_size=0", "page_size"),
        ("page_size=500", "page_size"),
    ],
)
async def test_work_queue_bad_filter_is_422_naming_it(
    client: httpx.AsyncClient, settings: Settings, query: str, field: str
) -> None:
    resp = await client.get(f"{API}/cases?{query}", headers=auth(settings, Role.OFFICER))
    assert resp.status_code == 422
    body = resp.json()
    assert body["errors"][0]["field"].startswith(field)
    assert "input" not in str(body)


async def test_get_case(client: httpx.AsyncClient, settings: Settings, fakes: Fakes) -> None:
    resp = await client.get(f"{API}/cases/BL-2026-000001", headers=auth(settings, Role.CLERK, sub="c1"))
    assert resp.status_code == 200
    assert resp.json()["case_number"] == "BL-2026-000001"
    assert fakes.cases.get_requests[-1].actor.subject == "c1"
    # The owner is the subject, not the complainant, but the queue view keeps to what it needs.
    assert "Owner Person" not in resp.text


async def test_get_case_errors(client: httpx.AsyncClient, settings: Settings) -> None:
    headers = auth(settings, Role.OFFICER)
    assert (await client.get(f"{API}/cases/BL-2026-999999", headers=headers)).status_code == 404
    restricted = await client.get(f"{API}/cases/BL-2026-000002", headers=headers)
    assert restricted.status_code == 403
    assert "6.10" in restricted.json()["detail"]
    assert (await client.get(f"{API}/cases/not-a-case", headers=headers)).status_code == 422


async def test_cases_unavailable_is_503_naming_cases(
    client: httpx.AsyncClient, settings: Settings, fakes: Fakes
) -> None:
    fakes.cases.fail_with = Unavailable("db down")
    resp = await client.get(f"{API}/cases", headers=auth(settings, Role.OFFICER))
    assert resp.status_code == 503
    assert "cases" in resp.json()["detail"]
    assert resp.headers["retry-after"] == "5"


# --- complaints ----------------------------------------------------------------------------


async def test_staff_complaint_goes_to_intake_with_actor_and_channel(
    client: httpx.AsyncClient, settings: Settings, fakes: Fakes
) -> None:
    resp = await client.post(
        f"{API}/complaints",
        json=staff_complaint(attributes={"hazard": "stairs"}),
        headers=auth(settings, Role.FRONT_COUNTER, sub="fc-1"),
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["service_request_id"] == "C-000001"
    assert body["outcome"] == "new_case"
    assert body["case_number"] == "BL-2026-000001"
    assert body["priority"] == "high"
    assert body["follow_up"] == ["confirm complainant address"]
    assert body["acknowledgement_due"].startswith("2026-11-24T17:00:00")
    sent = fakes.intake.submissions[0]
    assert sent.actor.subject == "fc-1" and list(sent.actor.roles) == ["front_counter"]
    sub = sent.submission
    assert sub.channel == "phone" and sub.verbal is True
    assert sub.complainant.first_name == "Pat" and sub.complainant.address == "9 Oak St"
    assert sub.complainant.preferred_contact == "phone"
    assert sub.location.address == "12 Dundas St E" and not sub.location.HasField("point")
    assert dict(sub.attributes) == {"hazard": "stairs"}
    # The answer never repeats the complainant's identity (policy 6.3.4).
    for secret in ("Pat", "Caller", "613-555-0111", "9 Oak St"):
        assert secret not in resp.text


async def test_staff_complaint_received_at_and_restricted_flag(
    client: httpx.AsyncClient, settings: Settings, fakes: Fakes
) -> None:
    resp = await client.post(
        f"{API}/complaints",
        json=staff_complaint(
            channel="council-referral",
            verbal=False,
            about_staff_or_council=True,
            received_at="2026-11-19T10:00:00-05:00",
            location={"lat": 44.25, "lon": -76.95},
        ),
        headers=auth(settings, Role.CLERK),
    )
    assert resp.status_code == 201, resp.text
    sub = fakes.intake.submissions[0].submission
    assert sub.about_staff_or_council is True
    assert sub.requested_at.ToDatetime(tzinfo=UTC) == datetime(2026, 11, 19, 15, tzinfo=UTC)
    assert (sub.location.point.lat, sub.location.point.lon) == (44.25, -76.95)


async def test_replayed_submission_is_200(
    client: httpx.AsyncClient, settings: Settings, fakes: Fakes
) -> None:
    fakes.intake.replay = True
    resp = await client.post(
        f"{API}/complaints", json=staff_complaint(), headers=auth(settings, Role.OFFICER)
    )
    assert resp.status_code == 200
    assert resp.json()["replayed"] is True


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"channel": "email", "verbal": True}, "policy 6.5.1"),
        ({"channel": "fax"}, "channel"),
        ({"location": {"lat": 44.2}}, "lat and lon go together"),
        ({"location": {}}, "policy 4.10"),
        ({"complainant": {"email": "pat-at-example"}}, "must be an email address"),
        ({"complainant": {"phone": "call Pat"}}, "telephone number"),
        ({"received_at": "2026-11-19T10:00:00"}, "UTC offset"),
        ({"service_code": ""}, "service_code"),
    ],
)
async def test_staff_complaint_bad_body_is_422_without_echo(
    client: httpx.AsyncClient, settings: Settings, fakes: Fakes, overrides: dict[str, Any], fragment: str
) -> None:
    resp = await client.post(
        f"{API}/complaints", json=staff_complaint(**overrides), headers=auth(settings, Role.FRONT_COUNTER)
    )
    assert resp.status_code == 422, resp.text
    assert fragment in resp.text
    assert fakes.intake.submissions == []
    for secret in ("pat-at-example", "call Pat", "Caller", "613-555-0111"):
        assert secret not in resp.text


async def test_staff_complaint_needs_a_complaint_taking_role(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    for role in (Role.COUNCIL, Role.TREASURER, Role.CAO):
        resp = await client.post(f"{API}/complaints", json=staff_complaint(), headers=auth(settings, role))
        assert resp.status_code == 403
    assert (await client.post(f"{API}/complaints", json=staff_complaint())).status_code == 401


async def test_intake_rejection_is_400_with_field_rule_policy(
    client: httpx.AsyncClient, settings: Settings, fakes: Fakes
) -> None:
    fakes.intake.fail_with = InvalidArgument(
        FieldViolation("verbal", "verbal complaints only for serious health or safety matters", "6.5.2")
    )
    resp = await client.post(
        f"{API}/complaints", json=staff_complaint(), headers=auth(settings, Role.OFFICER)
    )
    assert resp.status_code == 400
    assert resp.json() == {
        "detail": "verbal: verbal complaints only for serious health or safety matters (policy 6.5.2)",
        "errors": [
            {
                "field": "verbal",
                "rule": "verbal complaints only for serious health or safety matters",
                "policy": "6.5.2",
            }
        ],
    }


# --- dashboard and town --------------------------------------------------------------------


async def test_dashboard_for_council(client: httpx.AsyncClient, settings: Settings, fakes: Fakes) -> None:
    resp = await client.get(
        f"{API}/dashboard",
        params={"as_of": "2026-11-21T00:00:00+00:00", "recent": 5},
        headers=auth(settings, Role.COUNCIL, sub="cllr"),
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["open_cases"] == {
        "name": "Open cases",
        "value": 12.0,
        "previous": 9.0,
        "unit": "cases",
        "sample_size": 12,
        "previous_sample_size": 0,
        "note": None,
    }
    assert body["order_compliance"]["note"] == "orders due this month"
    assert body["recent_activity"][0]["case_number"] == "BL-2026-000001"
    assert body["events_applied"] == 42 and body["timezone"] == "America/Toronto"
    sent = fakes.reporting.requests[-1]
    assert sent.actor.subject == "cllr" and sent.recent_limit == 5
    assert sent.as_of.ToDatetime(tzinfo=UTC) == datetime(2026, 11, 21, tzinfo=UTC)


async def test_dashboard_as_of_needs_an_offset(client: httpx.AsyncClient, settings: Settings) -> None:
    resp = await client.get(
        f"{API}/dashboard", params={"as_of": "2026-11-21T00:00:00"}, headers=auth(settings, Role.SUPERVISOR)
    )
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["field"] == "as_of"


async def test_dashboard_unavailable_names_reporting(
    client: httpx.AsyncClient, settings: Settings, fakes: Fakes
) -> None:
    fakes.reporting.fail_with = Unavailable("read model rebuilding")
    resp = await client.get(f"{API}/dashboard", headers=auth(settings, Role.SUPERVISOR))
    assert resp.status_code == 503
    assert "reporting" in resp.json()["detail"]


async def test_town_summary(client: httpx.AsyncClient, settings: Settings) -> None:
    resp = await client.get(f"{API}/town", headers=auth(settings, Role.TREASURER))
    assert resp.status_code == 200
    assert resp.json() == {"properties": 300, "officers": 4, "zones": 3, "open_cases": 2}
    assert (await client.get(f"{API}/town")).status_code == 401


# --- contract details ----------------------------------------------------------------------


def test_status_and_priority_names_cover_the_proto_enums() -> None:
    proto_statuses = {n for n in common_pb2.CaseStatus.keys() if n != "CASE_STATUS_UNSPECIFIED"}  # noqa: SIM118
    assert {f"CASE_STATUS_{s.name}" for s in CaseStatusName} == proto_statuses
    for s in CaseStatusName:
        assert CaseStatusName.from_proto(s.to_proto()) is s
    proto_priorities = {n for n in common_pb2.Priority.keys() if n != "PRIORITY_UNSPECIFIED"}  # noqa: SIM118
    assert {f"PRIORITY_{p.name}" for p in PriorityName} == proto_priorities
    assert CaseStatusName.from_proto(common_pb2.CASE_STATUS_UNSPECIFIED) is None


async def test_openapi_documents_tags_security_and_models(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert {"open311", "cases", "complaints", "dashboard", "health"} <= {t["name"] for t in spec["tags"]}
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    queue = spec["paths"]["/api/v1/cases"]["get"]
    assert queue["tags"] == ["cases"] and queue["summary"]
    assert queue["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("CasePage")
    post = spec["paths"]["/open311/v2/requests.{response_format}"]["post"]
    assert "application/x-www-form-urlencoded" in post["requestBody"]["content"]
    assert "ComplaintIn" in spec["components"]["schemas"]
