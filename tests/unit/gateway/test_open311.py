"""Open311 GeoReport v2 endpoints against fake intake: bodies validate against the Open311
JSON Schemas, XML mirrors JSON, errors use the Open311 error format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET

import httpx
import pytest
from bylaw.v1 import intake_pb2

from services.common.errors import FieldViolation, InvalidArgument, Unavailable
from services.gateway.app import create_app
from services.gateway.clients import GatewayClients
from tests.unit.gateway.fakes import Fakes, dead_address, gateway_settings, open311_validator

V2 = "/open311/v2"


def portal_form(**overrides: str) -> dict[str, str]:
    form = {
        "service_code": "pool-fence",
        "address_string": "12 Dundas St E",
        "description": "Pool gate does not latch.",
        "first_name": "Pat",
        "last_name": "Resident",
        "email": "pat@example.org",
        "phone": "613-555-0100",
        "attribute[complainant_address]": "3 Elm St",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v != ""}


async def submit(client: httpx.AsyncClient, **overrides: str) -> dict[str, object]:
    resp = await client.post(f"{V2}/requests.json", data=portal_form(**overrides))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert isinstance(body, list) and len(body) == 1
    return dict(body[0])


def assert_open311_error(resp: httpx.Response, status: int, *fragments: str) -> list[dict[str, object]]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert isinstance(body, list) and body
    for item in body:
        assert item["code"] == status
    text = " ".join(str(item["description"]) for item in body)
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in {text!r}"
    return list(body)


# --- services ------------------------------------------------------------------------------


async def test_services_json_lists_every_matrix_row_and_validates(client: httpx.AsyncClient) -> None:
    resp = await client.get(f"{V2}/services.json")
    assert resp.status_code == 200
    services = resp.json()
    open311_validator("services.json").validate(services)
    assert len(services) == 40  # Appendix A
    by_code = {s["service_code"]: s for s in services}
    parking = by_code["parking-fire-routes-accessible"]
    assert parking["service_name"] == "Parking: Fire routes; accessible spaces"
    assert parking["group"] == "Parking"
    assert parking["metadata"] is True and parking["type"] == "realtime"
    noise = by_code["noise"]
    # Appendix A governs over the prose (noise is Medium, DESIGN.md section 4).
    assert "Priority: Medium" in noise["description"]
    assert noise["service_name"] == "Noise"
    assert "By-law Enforcement" in by_code["garbage"]["description"]
    assert "Provincial statute" in by_code["building-code-act"]["description"]
    assert "2010-0049" in by_code["pool-fence"]["keywords"]
    assert by_code["building-code-act"]["keywords"] == "Building Code Act 1992, high priority"


async def test_services_xml_mirrors_json(client: httpx.AsyncClient) -> None:
    resp = await client.get(f"{V2}/services.xml")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(resp.content)
    assert root.tag == "services"
    items = root.findall("service")
    assert len(items) == 40
    first = items[0]
    assert first.findtext("metadata") == "true"
    assert first.findtext("type") == "realtime"
    codes = {i.findtext("service_code") for i in items}
    assert "pool-fence" in codes


async def test_unknown_format_is_404_in_open311_format(client: httpx.AsyncClient) -> None:
    resp = await client.get(f"{V2}/services.csv")
    assert_open311_error(resp, 404, "csv")


async def test_service_definition_validates_and_orders_attributes(client: httpx.AsyncClient) -> None:
    resp = await client.get(f"{V2}/services/pool-fence.json")
    assert resp.status_code == 200
    body = resp.json()
    open311_validator("service-definition.json").validate(body)
    assert body["service_code"] == "pool-fence"
    assert [a["code"] for a in body["attributes"]] == ["complainant_address", "preferred_contact"]
    contact = body["attributes"][1]
    assert contact["values"] == [{"key": "email", "name": "Email"}, {"key": "phone", "name": "Telephone"}]


async def test_service_definition_xml(client: httpx.AsyncClient) -> None:
    resp = await client.get(f"{V2}/services/pool-fence.xml")
    root = ET.fromstring(resp.content)
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == "pool-fence"
    attrs = root.findall("attributes/attribute")
    assert [a.findtext("code") for a in attrs] == ["complainant_address", "preferred_contact"]
    assert attrs[0].findtext("required") == "true"
    assert [v.findtext("key") for v in attrs[1].findall("values/value")] == ["email", "phone"]


async def test_unknown_service_code_is_404(client: httpx.AsyncClient) -> None:
    resp = await client.get(f"{V2}/services/no-such-thing.json")
    assert_open311_error(resp, 404, "no-such-thing")
    resp = await client.get(f"{V2}/services/no-such-thing.xml")
    assert resp.status_code == 404
    root = ET.fromstring(resp.content)
    assert root.tag == "errors"
    assert root.findtext("error/code") == "404"


# --- POST requests -------------------------------------------------------------------------


async def test_post_submits_a_portal_complaint_and_answers_with_id_and_case(
    client: httpx.AsyncClient, fakes: Fakes
) -> None:
    created = await submit(
        client,
        lat="44.25",
        long="-76.95",
        address_id="1121000000000000123",
        media_url="https://example.org/photo.jpg",
        api_key="app-123",
        device_id="device-9",
        **{"attribute[preferred_contact]": "email", "attribute[gate_height]": "1.2"},
    )
    assert created == {
        "service_request_id": "C-000001",
        "service_notice": "We will acknowledge within 2 business days.",
        "account_id": None,
        "token": None,
        "case_number": "BL-2026-000001",
    }
    sent = fakes.intake.submissions[0]
    assert not sent.HasField("actor")  # public channel: no staff actor
    sub = sent.submission
    assert sub.channel == "portal"
    assert sub.service_code == "pool-fence"
    assert sub.location.address == "12 Dundas St E"
    assert sub.location.address_id == "1121000000000000123"
    assert (sub.location.point.lat, sub.location.point.lon) == (44.25, -76.95)
    assert sub.description == "Pool gate does not latch."
    assert (sub.complainant.first_name, sub.complainant.last_name) == ("Pat", "Resident")
    assert (sub.complainant.email, sub.complainant.phone) == ("pat@example.org", "613-555-0100")
    # The complainant's own address and contact preference go to the identity vault, not
    # into the complaint's attributes (policy 6.3, 6.5.3).
    assert sub.complainant.address == "3 Elm St"
    assert sub.complainant.preferred_contact == "email"
    assert dict(sub.attributes) == {"gate_height": "1.2"}
    assert sub.media_url == "https://example.org/photo.jpg"
    assert sub.client_id == "app-123"
    assert abs(sub.requested_at.ToDatetime(tzinfo=UTC) - datetime.now(UTC)) < timedelta(seconds=30)


async def test_post_multivalue_attribute_is_joined(client: httpx.AsyncClient, fakes: Fakes) -> None:
    content = (
        "service_code=noise&address_string=1+Main+St&attribute[times][]=night&attribute[times][]=weekend"
    )
    resp = await client.post(
        f"{V2}/requests.json", content=content, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert resp.status_code == 200, resp.text
    assert dict(fakes.intake.submissions[0].submission.attributes) == {"times": "night,weekend"}


async def test_post_xml_variant(client: httpx.AsyncClient) -> None:
    resp = await client.post(f"{V2}/requests.xml", data=portal_form())
    assert resp.status_code == 200
    root = ET.fromstring(resp.content)
    assert root.tag == "service_requests"
    req = root.find("request")
    assert req is not None
    assert req.findtext("service_request_id") == "C-000001"
    assert req.findtext("case_number") == "BL-2026-000001"
    assert req.find("token") is not None and req.findtext("token") == ""


async def test_referred_complaint_has_no_case_and_says_why(client: httpx.AsyncClient, fakes: Fakes) -> None:
    fakes.intake.outcome_kind = intake_pb2.OUTCOME_KIND_REFERRED
    created = await submit(client)
    assert created["case_number"] is None
    assert "Referred to the OPP" in str(created["service_notice"])


@pytest.mark.parametrize(
    ("overrides", "field", "rule"),
    [
        ({"lat": "north", "long": "-76.9"}, "lat", "must be a number"),
        ({"lat": "44.2", "long": "200"}, "long", "between -180 and 180"),
        ({"lat": "nan", "long": "-76.9"}, "lat", "between -90 and 90"),
        ({"lat": "44.2"}, "long", "required when the other coordinate is given"),
        ({"address_string": ""}, "location", "(policy 4.10)"),
        ({"service_code": ""}, "service_code", "is required"),
        ({"email": "not-an-email"}, "email", "must be an email address"),
        ({"phone": "call me"}, "phone", "telephone number"),
        ({"media_url": "javascript:alert(1)"}, "media_url", "http(s) URL"),
        ({"description": "x" * 4001}, "description", "at most 4000 characters"),
        ({"attribute[bad key]": "1"}, "attribute[bad key]", "must look like attribute[code]"),
    ],
)
async def test_post_edge_validation_names_the_field(
    client: httpx.AsyncClient, fakes: Fakes, overrides: dict[str, str], field: str, rule: str
) -> None:
    resp = await client.post(f"{V2}/requests.json", data=portal_form(**overrides))
    errors = assert_open311_error(resp, 400, f"{field}: ", rule)
    assert fakes.intake.submissions == []  # nothing reached intake
    # The rejected value is never echoed (it may be identity, policy 6.3.4).
    for value in overrides.values():
        if len(value) > 4:
            assert value not in str(errors)


async def test_post_reports_every_bad_field_at_once(client: httpx.AsyncClient) -> None:
    resp = await client.post(
        f"{V2}/requests.json", data=portal_form(service_code="", lat="x", long="y", email="nope")
    )
    errors = assert_open311_error(resp, 400)
    fields = {str(e["description"]).split(":")[0] for e in errors}
    assert {"service_code", "lat", "long", "email"} <= fields


async def test_post_repeated_scalar_field_is_refused(client: httpx.AsyncClient) -> None:
    content = "service_code=noise&address_string=1+Main+St&lat=44.1&lat=44.2&long=-76.9"
    resp = await client.post(
        f"{V2}/requests.json", content=content, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert_open311_error(resp, 400, "lat: must be given once")


async def test_post_oversized_or_overlong_forms_are_refused(client: httpx.AsyncClient, fakes: Fakes) -> None:
    big = await client.post(f"{V2}/requests.json", data=portal_form(description="x" * 200_000))
    assert_open311_error(big, 413, "at most 128 KiB")
    many = {**portal_form(), **{f"extra{i}": "1" for i in range(250)}}
    assert_open311_error(await client.post(f"{V2}/requests.json", data=many), 400, "Too many fields")
    assert fakes.intake.submissions == []


async def test_post_file_upload_is_refused(client: httpx.AsyncClient) -> None:
    resp = await client.post(
        f"{V2}/requests.json", data=portal_form(), files={"media": ("p.jpg", b"\xff\xd8", "image/jpeg")}
    )
    assert_open311_error(resp, 400, "media: file uploads are not accepted")


async def test_intake_validation_error_becomes_open311_400_with_policy(
    client: httpx.AsyncClient, fakes: Fakes
) -> None:
    fakes.intake.fail_with = InvalidArgument(
        [
            FieldViolation("first_name", "is required for a valid complaint", "4.10"),
            FieldViolation("description", "describe the nature of the complaint", "6.5.3"),
        ]
    )
    resp = await client.post(f"{V2}/requests.json", data=portal_form())
    errors = assert_open311_error(resp, 400)
    assert [e["description"] for e in errors] == [
        "first_name: is required for a valid complaint (policy 4.10)",
        "description: describe the nature of the complaint (policy 6.5.3)",
    ]


async def test_unknown_service_code_on_post_is_400_naming_service_code(client: httpx.AsyncClient) -> None:
    resp = await client.post(f"{V2}/requests.json", data=portal_form(service_code="no-such-bylaw"))
    assert_open311_error(resp, 400, "service_code: is not a service in the matrix (policy 6.5.4)")


async def test_intake_unavailable_is_503(client: httpx.AsyncClient, fakes: Fakes) -> None:
    fakes.intake.fail_with = Unavailable("database down")
    resp = await client.post(f"{V2}/requests.json", data=portal_form())
    assert_open311_error(resp, 503, "intake is unavailable")


async def test_intake_unreachable_is_503_naming_intake(fakes: Fakes) -> None:
    clients = GatewayClients.from_addresses(
        intake=dead_address(),
        cases=fakes.server.address,
        evidence=fakes.server.address,
        notices=fakes.server.address,
        reporting=fakes.server.address,
        temporal=fakes.temporal,
    )
    app = create_app(gateway_settings(), clients)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as c:
            resp = await c.get(f"{V2}/services.json")
            assert_open311_error(resp, 503, "intake")
            resp = await c.get(f"{V2}/services.xml")
            assert resp.status_code == 503
            assert ET.fromstring(resp.content).tag == "errors"
    finally:
        await clients.close(0)


# --- GET requests ----------------------------------------------------------------------


async def test_get_request_returns_an_array_of_one_without_identity(
    client: httpx.AsyncClient, fakes: Fakes
) -> None:
    created = await submit(client, lat="44.25", long="-76.95", media_url="https://example.org/p.jpg")
    resp = await client.get(f"{V2}/requests/{created['service_request_id']}.json")
    assert resp.status_code == 200
    body = resp.json()
    open311_validator("requests.json").validate(body)
    assert len(body) == 1
    req = body[0]
    assert req["service_request_id"] == "C-000001"
    assert req["case_number"] == "BL-2026-000001"
    assert req["external_request_id"] is None
    assert req["status"] == "open"
    assert req["service_code"] == "pool-fence"
    assert (req["lat"], req["long"]) == (44.25, -76.95)
    # Neither the written complaint nor what came with it is disclosed (policy 6.3.4).
    assert req["description"] is None
    assert req["media_url"] is None
    for secret in ("Pat", "Resident", "pat@example.org", "613-555-0100", "3 Elm St", "latch"):
        assert secret not in resp.text
    # Times are given in the Town's zone, with the offset.
    requested = datetime.fromisoformat(req["requested_datetime"])
    assert requested.utcoffset() in (timedelta(hours=-5), timedelta(hours=-4))


async def test_get_request_xml(client: httpx.AsyncClient) -> None:
    created = await submit(client)
    resp = await client.get(f"{V2}/requests/{created['service_request_id']}.xml")
    root = ET.fromstring(resp.content)
    assert root.tag == "service_requests"
    req = root.find("request")
    assert req is not None
    assert req.findtext("case_number") == "BL-2026-000001"
    assert req.findtext("status") == "open"
    assert req.find("description") is not None and req.findtext("description") == ""


async def test_get_unknown_request_is_404(client: httpx.AsyncClient) -> None:
    assert_open311_error(await client.get(f"{V2}/requests/C-999999.json"), 404, "C-999999")


async def test_list_requests_validates_and_defaults_to_ninety_days(
    client: httpx.AsyncClient, fakes: Fakes
) -> None:
    await submit(client)
    await submit(client, service_code="noise")
    resp = await client.get(f"{V2}/requests.json")
    assert resp.status_code == 200
    body = resp.json()
    open311_validator("requests.json").validate(body)
    assert [r["service_request_id"] for r in body] == ["C-000001", "C-000002"]
    sent = fakes.intake.list_requests[-1]
    assert sent.limit == 1000
    start, end = sent.start_date.ToDatetime(tzinfo=UTC), sent.end_date.ToDatetime(tzinfo=UTC)
    assert end - start == timedelta(days=90)
    assert abs(end - datetime.now(UTC)) < timedelta(seconds=30)


async def test_list_requests_passes_filters(client: httpx.AsyncClient, fakes: Fakes) -> None:
    resp = await client.get(
        f"{V2}/requests.json",
        params={
            "service_code": "noise",
            "status": "open",
            "start_date": "2026-11-01T00:00:00-05:00",
            "end_date": "2026-11-30T00:00:00",  # no offset: Town local time
        },
    )
    assert resp.status_code == 200
    sent = fakes.intake.list_requests[-1]
    assert sent.service_code == "noise"
    assert sent.status == "open"
    assert sent.start_date.ToDatetime(tzinfo=UTC) == datetime(2026, 11, 1, 5, tzinfo=UTC)
    assert sent.end_date.ToDatetime(tzinfo=UTC) == datetime(2026, 11, 30, 5, tzinfo=UTC)  # EST is UTC-5


async def test_list_requests_both_statuses_means_no_status_filter(
    client: httpx.AsyncClient, fakes: Fakes
) -> None:
    resp = await client.get(f"{V2}/requests.json?status=open,closed")
    assert resp.status_code == 200
    assert fakes.intake.list_requests[-1].status == ""
    resp = await client.get(f"{V2}/requests.json?status=closed&status=open")
    assert fakes.intake.list_requests[-1].status == ""


async def test_list_requests_ids_override_other_filters(client: httpx.AsyncClient, fakes: Fakes) -> None:
    await submit(client)
    await submit(client)
    resp = await client.get(f"{V2}/requests.json?service_request_id=C-000002, C-000001&service_code=noise")
    assert resp.status_code == 200
    sent = fakes.intake.list_requests[-1]
    assert list(sent.service_request_ids) == ["C-000002", "C-000001"]
    assert sent.service_code == "" and not sent.HasField("start_date")
    assert {r["service_request_id"] for r in resp.json()} == {"C-000001", "C-000002"}


async def test_list_requests_blank_parameters_are_no_filter(client: httpx.AsyncClient, fakes: Fakes) -> None:
    resp = await client.get(f"{V2}/requests.json?service_request_id=&start_date=&status=&service_code=")
    assert resp.status_code == 200, resp.text
    sent = fakes.intake.list_requests[-1]
    assert list(sent.service_request_ids) == [] and sent.status == "" and sent.HasField("start_date")


async def test_list_requests_xml(client: httpx.AsyncClient) -> None:
    await submit(client)
    root = ET.fromstring((await client.get(f"{V2}/requests.xml")).content)
    assert [r.findtext("service_request_id") for r in root.findall("request")] == ["C-000001"]


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("start_date=yesterday", "start_date: must be an ISO-8601 date-time"),
        ("end_date=2026-13-01", "end_date: must be an ISO-8601 date-time"),
        ("status=pending", "status: must be open or closed"),
        (
            "start_date=2026-11-10T00:00:00Z&end_date=2026-11-01T00:00:00Z",
            "end_date: must not be before start_date",
        ),
        (
            "start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z",
            "end_date: the range may not span more than 90 days",
        ),
        ("service_request_id=,,", "service_request_id: must list one or more ids"),
    ],
)
async def test_list_requests_bad_filter_is_400_naming_it(
    client: httpx.AsyncClient, fakes: Fakes, query: str, fragment: str
) -> None:
    assert_open311_error(await client.get(f"{V2}/requests.json?{query}"), 400, fragment)
    assert fakes.intake.list_requests == []


async def test_list_requests_bad_filter_in_xml_is_an_xml_error(client: httpx.AsyncClient) -> None:
    resp = await client.get(f"{V2}/requests.xml?status=pending")
    assert resp.status_code == 400
    root = ET.fromstring(resp.content)
    assert root.tag == "errors"
    assert "status" in (root.findtext("error/description") or "")


# --- tokens --------------------------------------------------------------------------------


async def test_token_resolves_to_the_request_id(client: httpx.AsyncClient) -> None:
    created = await submit(client)
    resp = await client.get(f"{V2}/tokens/{created['service_request_id']}.json")
    assert resp.status_code == 200
    assert resp.json() == [{"service_request_id": "C-000001", "token": "C-000001"}]
    root = ET.fromstring((await client.get(f"{V2}/tokens/C-000001.xml")).content)
    assert root.findtext("request/service_request_id") == "C-000001"


async def test_unknown_token_is_404(client: httpx.AsyncClient) -> None:
    assert_open311_error(await client.get(f"{V2}/tokens/nope.json"), 404)


async def test_unknown_open311_path_answers_in_open311_format(client: httpx.AsyncClient) -> None:
    assert_open311_error(await client.get(f"{V2}/discovery/nothing.json"), 404)
