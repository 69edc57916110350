"""Acknowledgements on real PostgreSQL, NATS and Temporal (fake cases service): the overdue
alert is published once per complaint on bylaw.events (policy 6.5.5), a declared closure
day moves pending due dates in the database (4.2), staff recording reaches the running
case workflow as the acknowledgement_recorded signal, and the dead-letter vault keeps
only ciphertext (6.3)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, timedelta
from typing import Any

from bylaw.v1 import common_pb2, intake_pb2
from nats.js.errors import NotFoundError
from sqlalchemy import select

from services.intake.adapters import orm
from services.intake.service_layer.acknowledgements import OVERDUE_EVENT, Acknowledgements
from services.intake.service_layer.intake import Caller
from tests.integration.intake.conftest import IntakeHarness
from tests.integration.intake.test_311_feed import PII, listen, message, next_message, publish
from workflows import contracts

FRONT = common_pb2.Actor(subject="front-1", roles=["front_counter"])
SUPERVISOR = common_pb2.Actor(subject="sup-1", roles=["supervisor"])


async def take(h: IntakeHarness, address: str) -> intake_pb2.ComplaintOutcome:
    outcome: intake_pb2.ComplaintOutcome = await h.stub.SubmitComplaint(
        intake_pb2.SubmitComplaintRequest(
            submission=intake_pb2.ComplaintSubmission(
                service_code="garbage",
                location=common_pb2.Location(address=address),
                description="Bags out all week.",
                complainant=intake_pb2.ComplainantIdentity(
                    first_name="Canary-Ada",
                    last_name="Canary-Lovelace",
                    phone="613-555-0199",
                    address="99 Canary",
                ),
                channel="phone",
            ),
            actor=FRONT,
        )
    )
    return outcome


async def row(h: IntakeHarness, service_request_id: str) -> Any:
    async with h.infra.require_sessions()() as session:
        return (
            await session.execute(
                select(orm.complaints).where(orm.complaints.c.service_request_id == service_request_id)
            )
        ).one()


async def test_overdue_alert_is_published_once_without_identity(intake: IntakeHarness) -> None:
    events = await listen(intake, f"bylaw.events.{OVERDUE_EVENT}")
    outcome = await take(intake, "1 Overdue Lane")
    assert not outcome.HasField("acknowledged_at")
    app = intake.app
    later = outcome.acknowledgement_due.ToDatetime(tzinfo=UTC) + timedelta(minutes=1)
    acks = Acknowledgements(
        app.acknowledgements.complaints, app.acknowledgements.workflows, clock=lambda: later
    )
    assert await acks.alert_overdue() == 1
    assert await acks.alert_overdue() == 0
    event = (await next_message(events))["body"]
    assert event["data"]["service_request_id"] == outcome.service_request_id
    assert not any(p in json.dumps(event) for p in PII)
    assert (await row(intake, outcome.service_request_id)).ack_overdue_alerted_at is not None
    (listed,) = await acks.overdue(Caller("front-1", ("front_counter",)))
    assert listed.service_request_id == outcome.service_request_id


async def test_closure_day_moves_pending_due_dates_in_the_database(intake: IntakeHarness) -> None:
    outcome = await take(intake, "2 Snow Street")
    due = outcome.acknowledgement_due.ToDatetime(tzinfo=UTC)
    local = due.astimezone(intake.app.service.tz).date()
    await intake.stub.DeclareClosureDay(
        intake_pb2.DeclareClosureDayRequest(date=local.isoformat(), reason="Snow day", actor=SUPERVISOR)
    )
    moved = (await row(intake, outcome.service_request_id)).acknowledgement_due
    assert moved > due and moved.astimezone(intake.app.service.tz).date() > local


async def test_recorded_acknowledgement_signals_the_running_workflow(intake: IntakeHarness) -> None:
    outcome = await take(intake, "3 Signal Road")
    status = await intake.stub.RecordAcknowledgement(
        intake_pb2.RecordAcknowledgementRequest(
            service_request_id=outcome.service_request_id, method="phone", actor=FRONT
        )
    )
    assert status.HasField("sent_at") and status.method == "phone" and not status.overdue
    handle = intake.temporal.get_workflow_handle(contracts.workflow_id(outcome.case_number))
    history = await handle.fetch_history()
    signals = [
        e.workflow_execution_signaled_event_attributes
        for e in history.events
        if e.HasField("workflow_execution_signaled_event_attributes")
    ]
    assert [s.signal_name for s in signals] == [contracts.SIGNAL_ACKNOWLEDGEMENT_RECORDED]
    payload = json.loads(signals[0].input.payloads[0].data)
    assert payload["complaint_id"] == outcome.service_request_id and payload["channel"] == "phone"
    assert not any(p in json.dumps(payload) for p in PII)
    assert (await row(intake, outcome.service_request_id)).ack_signalled_at is not None


async def test_dead_letter_vault_holds_ciphertext_and_processed_requests_are_erased(
    intake: IntakeHarness,
) -> None:
    dlq = await listen(intake, "bylaw.311.dlq")
    await publish(intake, message("NYC-VAULT-1", service_code="no-such"), "NYC-VAULT-1")
    await next_message(dlq)
    async with intake.infra.require_sessions()() as session:
        (letter,) = (await session.execute(select(orm.dead_letters))).all()
    assert not any(p.encode() in letter.body for p in PII)
    original = await intake.stub.GetDeadLetter(
        intake_pb2.GetDeadLetterRequest(
            id=str(letter.id),
            purpose="find the bad code",
            actor=common_pb2.Actor(subject="c", roles=["clerk"]),
        )
    )
    assert json.loads(original.body)["first_name"] == "Canary-Ada"
    # The request message itself is erased from the stream once acked.
    js = intake.nc.jetstream()
    for _ in range(50):
        info = await js.stream_info("COMPLAINTS_311")
        requests = await _requests_left(js, info.state.first_seq, info.state.last_seq)
        if requests == 0:
            break
        await asyncio.sleep(0.2)
    assert requests == 0


async def _requests_left(js: Any, first: int, last: int) -> int:
    try:
        await js.get_msg("COMPLAINTS_311", seq=max(first, 1), subject="bylaw.311.requests", next=True)
    except NotFoundError:
        return 0
    return 1
