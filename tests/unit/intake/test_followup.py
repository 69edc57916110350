"""Intake's follow-up rules with in-memory fakes: SLA targets per priority (policy 6.5.4,
6.8.5), acknowledgements within 2 business days (4.2, 6.5.5-6.5.8) with the workflow
signal and the overdue alert, closure days shifting the due date, frivolous/vexatious
marking (4.4, 4.11, 6.6.4), referral-only services (6.2.1 g, 6.5.9, 6.11.2) and the
dead-letter vault (6.3)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.common.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from services.common.messaging import SUBJECT_311_UPDATES
from services.intake.domain.calendar import BusinessCalendar
from services.intake.domain.dead_letter import redacted_original
from services.intake.domain.model import ComplainantIdentity, MarkKind, OutcomeKind, Priority, ReasonCode
from services.intake.domain.public import public_view, to_open311
from services.intake.domain.referral import parse_referral_services
from services.intake.domain.sla import parse_sla_targets
from services.intake.entrypoints.open311_message import decode_311
from services.intake.service_layer.acknowledgements import OVERDUE_EVENT, Acknowledgements
from services.intake.service_layer.dead_letters import DeadLetters
from services.intake.service_layer.intake import Caller, IntakeService
from services.intake.service_layer.marking import Marking
from services.intake.service_layer.reference import ReferenceData
from tests.unit.intake.fakes import (
    SLA_YAML,
    FakeCases,
    FakeComplaintRepository,
    FakeDeadLetters,
    FakeMatrixRepository,
    FakeWorkflows,
    seed_matrix,
    shipped_referrals,
    shipped_sla,
)
from tests.unit.intake.test_open311_message import encode
from tests.unit.intake.test_validation import make

# Monday 2 March 2026, 10:00 in Napanee.
MONDAY = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
TZ = BusinessCalendar().tz
FRONT = Caller("clerk-ann", ("front_counter",))
SUPERVISOR = Caller("sup-sam", ("supervisor",))
OFFICER = Caller("officer-7", ("officer",))
PII = ("Ada", "Lovelace", "ada@example.org", "613-555-0100", "1 Main St")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclasses.dataclass
class World:
    clock: Clock
    service: IntakeService
    acks: Acknowledgements
    marking: Marking
    repo: FakeComplaintRepository
    workflows: FakeWorkflows
    matrices: FakeMatrixRepository


@pytest.fixture
def world() -> Iterator[World]:
    clock = Clock(MONDAY)
    repo = FakeComplaintRepository(clock)
    matrices = FakeMatrixRepository([seed_matrix()])
    workflows = FakeWorkflows()
    service = IntakeService(
        repo,
        matrices,
        ReferenceData(matrices, "America/Toronto"),
        FakeCases(),
        workflows,
        sla=shipped_sla(),
        referrals=shipped_referrals(),
        clock=clock,
    )
    yield World(
        clock,
        service,
        Acknowledgements(repo, workflows, clock=clock),
        Marking(repo, workflows, clock=clock),
        repo,
        workflows,
        matrices,
    )


def local(day: int, hour: int = 16, minute: int = 30) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=TZ)


def events(world: World, event_type: str) -> list[dict[str, Any]]:
    return [m.payload for m in world.repo.outbox if m.payload.get("event_type") == event_type]


# ---------------------------------------------------------------------- SLA targets


def test_sla_targets_come_from_the_data_file_per_priority_policy_6_8_5() -> None:
    sla = shipped_sla()
    calendar = BusinessCalendar()
    high = sla.due(Priority.HIGH, MONDAY, calendar)
    low = sla.due(Priority.LOW, MONDAY, calendar)
    assert high.acknowledge == local(4) == low.acknowledge  # 2 business days for all (6.5.5)
    assert high.first_inspection == local(3)  # 1 business day
    assert low.first_inspection == local(16)  # 10 business days
    # 90 days after Monday 2 March is Sunday 31 May: moved to Monday 1 June.
    assert low.resolution == datetime(2026, 6, 1, 16, 30, tzinfo=TZ)
    assert high.version == low.version == "2026-01 staff targets"


def test_a_targets_file_breaking_the_two_business_day_rule_is_refused_policy_6_5_5() -> None:
    text = SLA_YAML.read_text().replace("acknowledge_business_days: 2", "acknowledge_business_days: 3", 1)
    with pytest.raises(InvalidArgument) as exc:
        parse_sla_targets(text)
    assert exc.value.violations[0].field == "targets.high.acknowledge_business_days"
    assert exc.value.violations[0].policy == "6.5.5"


def test_a_targets_file_missing_a_priority_or_with_bad_values_is_refused() -> None:
    with pytest.raises(InvalidArgument) as exc:
        parse_sla_targets(
            "version: x\ntargets:\n  high: {acknowledge_business_days: 1, first_inspection_business_days: 0, "
            "resolution_days: 5}\n  urgent: {}\n"
        )
    fields = {v.field for v in exc.value.violations}
    assert {
        "targets",
        "targets.high.first_inspection_business_days",
        "targets.medium",
        "targets.low",
    } <= fields


async def test_outcome_and_open311_carry_the_targets_of_the_priority(world: World) -> None:
    outcome = await world.service.submit(make(service_code="pool-fence"))  # High
    assert outcome.kind is OutcomeKind.NEW_CASE
    assert outcome.first_inspection_due == local(3)
    assert outcome.resolution_due == datetime(2026, 4, 1, 16, 30, tzinfo=TZ)  # 30 days
    assert outcome.sla_version == "2026-01 staff targets"
    assert "first inspection by Tuesday, March 3, 2026 by 4:30 p.m." in (outcome.service_notice or "")
    public = to_open311(await world.service.get_public(outcome.service_request_id))
    assert public["expected_datetime"] == "2026-04-01T20:30:00Z"


async def test_a_referral_or_rejection_has_no_targets_and_no_expected_time(world: World) -> None:
    outcome = await world.service.submit(make(service_code="off-road-vehicles"))  # OPP only
    assert outcome.kind is OutcomeKind.REFERRED
    assert outcome.first_inspection_due is None and outcome.resolution_due is None
    public = to_open311(await world.service.get_public(outcome.service_request_id))
    assert public["expected_datetime"] is None


# ---------------------------------------------------------------------- acknowledgements


@pytest.mark.parametrize("channel", ["portal", "email", "311-online"])
async def test_portal_311_and_email_are_acknowledged_at_once(world: World, channel: str) -> None:
    actor = FRONT if channel == "email" else Caller()
    outcome = await world.service.submit(make(channel=channel, external_request_id="X-1"), actor)
    assert outcome.acknowledged_at is not None
    record = await world.repo.get(outcome.service_request_id)
    assert record is not None and record.acknowledged_via == ("311" if channel == "311-online" else channel)
    # The acknowledgement's content (policy 6.5.6-6.5.8).
    notice = outcome.service_notice or ""
    assert outcome.case_number in notice and "Next steps" in notice
    assert "take a long time" in notice and "civil matter" in notice


@pytest.mark.parametrize("channel", ["phone", "walk-in", "letter", "council-referral"])
async def test_staff_channels_wait_for_staff_to_send_the_acknowledgement(world: World, channel: str) -> None:
    outcome = await world.service.submit(make(channel=channel), FRONT)
    assert outcome.acknowledged_at is None
    assert outcome.acknowledgement_due == local(4)


async def test_staff_record_the_acknowledgement_once_and_the_workflow_is_told(world: World) -> None:
    outcome = await world.service.submit(make(channel="phone"), FRONT)
    world.clock.now = MONDAY + timedelta(hours=3)
    record, created = await world.acks.record(outcome.service_request_id, "phone", None, FRONT)
    assert created and record.acknowledged_at == world.clock.now and record.acknowledged_by == "clerk-ann"
    ((case_number, signal),) = world.workflows.signals
    assert case_number == outcome.case_number
    assert (signal.channel, signal.complaint_id, signal.sent_at) == (
        "phone",
        outcome.service_request_id,
        world.clock.now,
    )
    again, created = await world.acks.record(outcome.service_request_id, "mail", None, FRONT)
    assert not created and again.acknowledged_via == "phone"  # the first recording stands
    assert len(world.workflows.signals) == 1
    assert (await world.repo.get(outcome.service_request_id)).ack_signalled_at is not None  # type: ignore[union-attr]


async def test_recording_an_acknowledgement_is_checked(world: World) -> None:
    outcome = await world.service.submit(make(channel="phone"), FRONT)
    with pytest.raises(PermissionDenied):
        await world.acks.record(outcome.service_request_id, "phone", None, Caller("council-1", ("council",)))
    with pytest.raises(InvalidArgument) as exc:
        await world.acks.record(outcome.service_request_id, "pigeon", MONDAY + timedelta(days=9), FRONT)
    assert {v.field for v in exc.value.violations} == {"method", "sent_at"}
    referred = await world.service.submit(make(service_code="off-road-vehicles", channel="phone"), FRONT)
    with pytest.raises(FailedPrecondition):
        await world.acks.record(referred.service_request_id, "phone", None, FRONT)


async def test_workflow_signal_is_retried_until_temporal_answers(world: World) -> None:
    outcome = await world.service.submit(make(channel="phone"), FRONT)
    world.workflows.down = True
    await world.acks.record(outcome.service_request_id, "phone", None, FRONT)
    assert await world.acks.signal_pending() == 0
    world.workflows.down = False
    assert await world.acks.signal_pending() == 1
    ((case_number, signal),) = world.workflows.signals
    assert (case_number, signal.channel, signal.complaint_id) == (
        outcome.case_number,
        "phone",
        outcome.service_request_id,
    )
    assert await world.acks.signal_pending() == 0  # told once


async def test_an_acknowledgement_sent_at_once_travels_in_the_workflow_input(world: World) -> None:
    outcome = await world.service.submit(make(channel="portal"))  # the outcome is the acknowledgement
    started = world.workflows.started[outcome.case_number]
    assert started.acknowledged_at is not None
    assert await world.acks.signal_pending() == 0  # nothing left to tell the workflow
    assert world.workflows.signals == []


async def test_only_the_complaint_that_opened_the_case_signals_its_workflow(world: World) -> None:
    opening = await world.service.submit(make(channel="portal"))
    joined = await world.service.submit(
        make(channel="phone", complainant=ComplainantIdentity("Grace", "Hopper", "grace@example.org")), FRONT
    )
    assert joined.case_number == opening.case_number
    await world.acks.record(joined.service_request_id, "phone", None, FRONT)
    # The case workflow follows the opening complaint's acknowledgement; this complainant's
    # own is followed by intake's overdue sweep.
    assert await world.acks.signal_pending() == 0
    assert world.workflows.signals == []


async def test_overdue_acknowledgement_raises_one_alert_without_identity(world: World) -> None:
    outcome = await world.service.submit(make(channel="walk-in"), FRONT)
    done = await world.service.submit(
        make(channel="phone", location=make().location.__class__("9 King St")), FRONT
    )
    await world.acks.record(done.service_request_id, "phone", None, FRONT)
    world.clock.now = local(4, 16, 29)  # a minute before close of business on Wednesday
    assert await world.acks.alert_overdue() == 0
    assert await world.acks.overdue(FRONT) == []
    world.clock.now = local(4, 16, 31)
    assert await world.acks.alert_overdue() == 1
    assert await world.acks.alert_overdue() == 0  # once per complaint
    (event,) = events(world, OVERDUE_EVENT)
    assert event["data"]["service_request_id"] == outcome.service_request_id
    assert event["case_number"] == outcome.case_number
    assert not any(p in json.dumps(event) for p in PII)
    (listed,) = await world.acks.overdue(FRONT)
    assert listed.service_request_id == outcome.service_request_id
    assert listed.ack_overdue_alerted_at is not None
    with pytest.raises(PermissionDenied):
        await world.acks.overdue(Caller("council-1", ("council",)))


async def test_a_snow_day_moves_pending_acknowledgements_by_a_business_day_policy_4_2(world: World) -> None:
    pending = await world.service.submit(make(channel="phone"), FRONT)
    sent = await world.service.submit(make(channel="portal", location=make().location.__class__("3 Elm St")))
    assert pending.acknowledgement_due == local(4)  # Wednesday
    await world.service.declare_closure_day("2026-03-03", "Office closed: snowstorm", SUPERVISOR)
    moved = await world.repo.get(pending.service_request_id)
    assert moved is not None and moved.acknowledgement_due == local(5)  # Thursday
    assert moved.first_inspection_due is not None
    kept = await world.repo.get(sent.service_request_id)
    assert kept is not None and kept.acknowledgement_due == local(4)  # already acknowledged
    # A complaint received after the declaration uses the calendar with the snow day too.
    later = await world.service.submit(
        make(channel="phone", location=make().location.__class__("8 Oak")), FRONT
    )
    assert later.acknowledgement_due == local(5)


# ---------------------------------------------------------------------- frivolous / vexatious


async def test_marking_the_only_complaint_closes_its_case_and_tells_the_complainant(world: World) -> None:
    outcome = await world.service.submit(make(channel="311-online", external_request_id="NYC-77"))
    result = await world.marking.mark(
        outcome.service_request_id,
        "vexatious",
        "Fifth identical complaint this month; harassment.",
        SUPERVISOR,
    )
    assert result.case_action == "closed" and not result.replayed
    assert world.workflows.closed[outcome.case_number] == (
        MarkKind.VEXATIOUS,
        outcome.service_request_id,
        "sup-sam",
    )
    record = result.record
    assert record.outcome is OutcomeKind.REJECTED and record.reason_code is ReasonCode.VEXATIOUS
    assert "harassment" in record.reason and record.marked_by == "sup-sam"
    assert "vexatious complaint, policy 4.11" in record.service_notice and "6.6.4" in record.service_notice
    public = to_open311(public_view(record))
    assert public["status"] == "closed" and "harassment" not in json.dumps(public)
    (event,) = events(world, "complaint.marked_vexatious")
    assert "harassment" not in json.dumps(event)  # the staff's reason stays with staff
    update = [m for m in world.repo.outbox if m.subject == SUBJECT_311_UPDATES][-1]
    assert (
        update.payload["status"] == "closed"
        and update.payload["service_request_id"] == record.service_request_id
    )
    again = await world.marking.mark(
        outcome.service_request_id, "frivolous", "changed my mind, really", SUPERVISOR
    )
    assert again.replayed and again.record.marked_kind is MarkKind.VEXATIOUS


async def test_marking_one_of_several_complaints_keeps_the_case(world: World) -> None:
    first = await world.service.submit(make())
    second = await world.service.submit(make(complainant=ComplainantIdentity("Bo", "Li", "bo@example.org")))
    assert second.case_number == first.case_number
    result = await world.marking.mark(
        second.service_request_id, "frivolous", "Trivial: grass is 5 cm.", SUPERVISOR
    )
    assert result.case_action == "kept" and world.workflows.closed == {}
    assert result.record.reason_code is ReasonCode.FRIVOLOUS


async def test_case_closure_waits_for_temporal_and_is_retried(world: World) -> None:
    outcome = await world.service.submit(make())
    world.workflows.down = True
    result = await world.marking.mark(
        outcome.service_request_id, "frivolous", "Without merit at all.", SUPERVISOR
    )
    assert result.case_action == "pending" and result.record.case_rejection_pending
    assert await world.marking.retry_pending() == 0
    world.workflows.down = False
    assert await world.marking.retry_pending() == 1
    assert outcome.case_number in world.workflows.closed
    assert not (await world.repo.get(outcome.service_request_id)).case_rejection_pending  # type: ignore[union-attr]


async def test_marking_needs_a_supervisor_a_kind_and_a_reason(world: World) -> None:
    outcome = await world.service.submit(make())
    with pytest.raises(PermissionDenied):
        await world.marking.mark(outcome.service_request_id, "frivolous", "Trivial matter here.", OFFICER)
    with pytest.raises(InvalidArgument) as exc:
        await world.marking.mark(outcome.service_request_id, "annoying", "short", SUPERVISOR)
    assert {v.field for v in exc.value.violations} == {"kind", "reason"}
    referred = await world.service.submit(make(service_code="off-road-vehicles"))
    with pytest.raises(FailedPrecondition):
        await world.marking.mark(referred.service_request_id, "frivolous", "Trivial matter here.", SUPERVISOR)


# ---------------------------------------------------------------------- referral-only services


@pytest.mark.parametrize(
    ("code", "agency", "reason_code"),
    [
        ("civil-matter", "Private civil remedies", ReasonCode.CIVIL_MATTER),
        ("police-matter", "Ontario Provincial Police", ReasonCode.OUT_OF_SCOPE),
        ("public-works-matter", "Public Works", ReasonCode.OUT_OF_SCOPE),
    ],
)
async def test_referral_services_end_referred_with_the_agency_named(
    world: World, code: str, agency: str, reason_code: ReasonCode
) -> None:
    # Even anonymous: referral needs no investigation (policy 6.5.9).
    outcome = await world.service.submit(make(service_code=code, complainant=ComplainantIdentity()))
    assert outcome.kind is OutcomeKind.REFERRED
    assert agency in outcome.referred_to and agency in (outcome.service_notice or "")
    assert outcome.case_number == ""
    record = await world.repo.get(outcome.service_request_id)
    assert record is not None and record.reason_code is reason_code
    public = to_open311(public_view(record))
    assert public["status"] == "closed" and agency in public["agency_responsible"]
    definition = await world.service.service_definition(code)
    assert definition.entry.bylaw_number == "N/A"


def test_referral_services_may_not_shadow_a_matrix_code() -> None:
    text = (
        "services:\n"
        "  - {service_code: noise, service_name: n, kind: civil, agency: a, policy: p, description: d}\n"
    )
    with pytest.raises(InvalidArgument) as exc:
        parse_referral_services(text, seed_matrix().entries)
    assert exc.value.violations[0].field == "services[1].service_code"


# ---------------------------------------------------------------------- dead letters


def test_redacted_original_withholds_identity_and_the_description() -> None:
    body = encode(attribute={"complainant_address": "1 Main St", "preferred_contact": "email"})
    redacted = redacted_original(body, "dl-1")
    original = redacted["original"]
    assert original["service_code"] == "noise" and original["attribute"]["preferred_contact"] == "email"
    assert "dl-1" in original["first_name"] and "/api/v1/intake/dead-letters/dl-1" in original["description"]
    assert not any(p in json.dumps(redacted) for p in (*PII, "Loud music"))
    assert redacted_original(b"\xff\xfe Ada", "dl-2")["size_bytes"] == 6


async def test_dead_letter_read_is_audited_and_resubmission_makes_one_complaint(world: World) -> None:
    vault = FakeDeadLetters()
    letters = DeadLetters(vault, world.service, decode_311)
    body = encode(
        service_code="no-such-code", service_request_id="NYC-5", requested_datetime=MONDAY.isoformat()
    )
    dead = await letters.record(
        stream="COMPLAINTS_311",
        stream_sequence=41,
        external_request_id="NYC-5",
        subject="bylaw.311.requests",
        reason="service_code: unknown",
        violations=[],
        deliveries=1,
        body=body,
        headers={"Nats-Msg-Id": "NYC-5"},
    )
    clerk = Caller("clerk-kim", ("clerk",))
    with pytest.raises(PermissionDenied):
        await letters.read(dead.id, "checking the message", OFFICER)
    with pytest.raises(InvalidArgument):
        await letters.read(dead.id, "x", clerk)
    original = await letters.read(dead.id, "find the unknown service code", clerk)
    assert original.body == body and vault.reads[-1] == (
        dead.id,
        "clerk-kim",
        "find the unknown service code",
        "read",
    )
    with pytest.raises(InvalidArgument):
        await letters.resubmit(dead.id, {"api_key": "x"}, clerk)
    letter, outcome = await letters.resubmit(dead.id, {"service_code": "noise"}, clerk)
    assert outcome.kind is OutcomeKind.NEW_CASE and outcome.external_request_id == "NYC-5"
    assert letter.status == "resubmitted" and letter.resubmitted_as == outcome.service_request_id
    _, again = await letters.resubmit(dead.id, {"service_code": "noise"}, clerk)
    assert again.replayed and again.service_request_id == outcome.service_request_id
    assert [r[3] for r in vault.reads] == ["read", "resubmit", "resubmit"]


async def test_loading_a_matrix_version_logs_at_info_without_failing(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    # A log field named like a LogRecord attribute ("created") made this raise at INFO.
    caplog.set_level("INFO")
    text = (SLA_YAML.parent / "service_level_matrix.csv").read_text()
    version, created = await world.service.load_matrix(
        text, "2027 #1/27", "2027-01-01", "#1/27", Caller("c", ("clerk",))
    )
    assert created and version.label == "2027 #1/27"
    assert any(r.getMessage() == "matrix version loaded" for r in caplog.records)
