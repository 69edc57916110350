"""The NYC 311 sample replayed onto the running system (issue 3 "done when"): every one of
its 1000 messages is accounted for (an outcome on bylaw.311.updates or a DLQ entry),
repeats at one address and code join one case, and neither the public responses nor the
DLQ show any complainant identity (policy 6.3)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import httpx
import pytest

from devstack.stack import Stack
from services.intake.tools.replay_311 import (
    DEFAULT_MAP,
    ComplaintTypeMap,
    ReplayReport,
    build_messages,
    read_rows,
    replay,
)
from tests.e2e.test_platform_slice import _validator

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "nyc311" / "nyc311_sample_2024-04-15.csv"


@pytest.fixture(scope="module")
def replayed(stack: Stack) -> tuple[list[dict[str, object]], ReplayReport]:
    messages = build_messages(read_rows(SAMPLE), ComplaintTypeMap.load(DEFAULT_MAP))
    report = asyncio.run(replay(messages, stack.env["BYLAW_NATS_URL"], wait_seconds=300))
    return messages, report


def test_every_message_is_accounted_for(replayed: tuple[list[dict[str, object]], ReplayReport]) -> None:
    messages, report = replayed
    assert len(messages) == report.published == 1000
    assert report.missing == []
    assert sum(report.outcomes.values()) + report.dead_letters == 1000
    assert set(report.outcomes) <= {"new_case", "joined_case", "referred", "rejected"}
    assert report.outcomes["new_case"] and report.outcomes["joined_case"] and report.outcomes["referred"]
    # Types the map leaves out are refused by name, never dropped.
    types = ComplaintTypeMap.load(DEFAULT_MAP)
    unmapped = {str(m["service_request_id"]) for m in messages if m["service_code"] in types.unmapped}
    assert unmapped and unmapped <= set(report.dlq)
    for external_id in unmapped:
        assert "service_code" in report.dlq[external_id]["reason"]


def test_repeats_at_one_address_and_code_join_one_case(
    replayed: tuple[list[dict[str, object]], ReplayReport],
) -> None:
    messages, report = replayed
    sanford = [
        str(m["service_request_id"])
        for m in messages
        if m["address_string"] == "142-30 SANFORD AVENUE"
        and m["service_code"] == "property-standards-major-safety"
    ]
    assert len(sanford) == 11
    updates = [report.updates[i] for i in sanford]
    assert len({u["case_number"] for u in updates}) == 1
    assert Counter(u["outcome"] for u in updates) == {"new_case": 1, "joined_case": 10}
    # Every place-and-code group shares a case, across the whole sample.
    groups: dict[tuple[object, object], set[str]] = {}
    for m in messages:
        update = report.updates.get(str(m["service_request_id"]))
        if update and update["case_number"] and m["address_string"]:
            groups.setdefault((m["address_string"], m["service_code"]), set()).add(update["case_number"])
    assert all(len(cases) == 1 for cases in groups.values())


def test_public_responses_and_dead_letters_hide_every_identity(
    stack: Stack, replayed: tuple[list[dict[str, object]], ReplayReport]
) -> None:
    messages, report = replayed
    identities = {
        str(m["service_request_id"]): [
            str(m["email"]),
            str(m["phone"]),
            str(m["complainant_address"]),
            f"{m['first_name']} {m['last_name']}",
        ]
        for m in messages
    }
    ours = [u["service_request_id"] for u in report.updates.values()]
    assert len(ours) == sum(report.outcomes.values())
    schema = _validator("requests.json")
    everyone = [value for values in identities.values() for value in values]
    for start in range(0, len(ours), 100):
        chunk = ours[start : start + 100]
        resp = httpx.get(
            f"{stack.gateway_url}/open311/v2/requests.json", params={"service_request_id": ",".join(chunk)}
        )
        assert resp.status_code == 200
        assert len(resp.json()) == len(chunk)
        schema.validate(resp.json())
        for value in everyone:
            assert value not in resp.text, value
    for external_id, update in list(report.updates.items()) + list(report.dlq.items()):
        text = json.dumps(update)
        for value in identities[external_id]:
            assert value not in text, (external_id, value)
