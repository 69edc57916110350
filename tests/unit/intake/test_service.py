"""Intake use cases with in-memory fakes for storage, cases and Temporal: every complaint
ends as exactly one outcome with its reason, idempotently, without leaking identity."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.common.errors import AlreadyExists, InvalidArgument, NotFound, PermissionDenied, Unavailable
from services.common.messaging import SUBJECT_311_UPDATES
from services.intake.domain.matrix import COLUMNS
from services.intake.domain.model import (
    ComplainantIdentity,
    OutcomeKind,
    Priority,
    ProcessingState,
    Submission,
)
from services.intake.service_layer.intake import Caller, IntakeService
from services.intake.service_layer.ports import CaseStatusChange, ComplaintQuery
from services.intake.service_layer.reference import ReferenceData
from tests.unit.intake.fakes import (
    MATRIX_CSV,
    FakeCases,
    FakeComplaintRepository,
    FakeMatrixRepository,
    FakeWorkflows,
    seed_matrix,
    shipped_referrals,
    shipped_sla,
)
from tests.unit.intake.test_validation import make, who

# Monday 2 March 2026, 10:00 in Napanee.
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
STAFF = Caller("officer-7", ("front_counter",))
CLERK = Caller("clerk-1", ("clerk",))
PII = ("Ada", "Lovelace", "ada@example.org", "613-555-0100", "1 Main St", "Grass over 30 cm")


@dataclasses.dataclass
class World:
    service: IntakeService
    repo: FakeComplaintRepository
    matrices: FakeMatrixRepository
    cases: FakeCases
    workflows: FakeWorkflows


@pytest.fixture
def world() -> World:
    repo = FakeComplaintRepository()
    matrices = FakeMatrixRepository([seed_matrix()])
    cases = FakeCases()
    workflows = FakeWorkflows()
    service = IntakeService(
        repo,
        matrices,
        ReferenceData(matrices, "America/Toronto"),
        cases,
        workflows,
        sla=shipped_sla(),
        referrals=shipped_referrals(),
        clock=lambda: NOW,
    )
    return World(service, repo, matrices, cases, workflows)


def sub_311(external_id: str = "NYC-1", **changes: Any) -> Submission:
    return make(channel="311-online", external_request_id=external_id, **changes)


async def test_new_case_starts_the_workflow_and_acknowledges_in_two_business_days(world: World) -> None:
    outcome = await world.service.submit(make())
    assert outcome.kind is OutcomeKind.NEW_CASE
    assert outcome.case_number == "BL-2026-000001"
    assert outcome.priority is Priority.LOW
    assert outcome.matrix_version == "2023-07-25 #406/23"
    # Monday → Wednesday 4:30 p.m. Toronto (policy 4.2, 6.5.5).
    assert outcome.acknowledgement_due == datetime(2026, 3, 4, 21, 30, tzinfo=UTC)
    started = world.workflows.started["BL-2026-000001"]
    assert (started.service_code, started.priority, started.bylaw_number) == (
        "grass-cutting",
        "low",
        "2000-0066",
    )
    assert started.zone == "Z1"
    record = world.repo.records[next(iter(world.repo.records))]
    assert record.state is ProcessingState.DONE
    assert record.matrix_version == "2023-07-25 #406/23"


async def test_service_notice_gives_next_steps_timing_case_number_and_civil_note(world: World) -> None:
    notice = (await world.service.submit(make())).service_notice
    assert "BL-2026-000001" in notice  # 6.5.7
    assert "Next steps" in notice  # 6.5.6
    assert "Wednesday, March 4, 2026 by 4:30 p.m." in notice  # 6.5.5
    assert "civil matter" in notice and "long time" in notice  # 6.5.8


async def test_open_case_gets_case_data_and_no_identity(world: World) -> None:
    outcome = await world.service.submit(make(complainant=who(address="")))
    cmd = world.cases.calls[0]
    assert cmd.complaint_id == outcome.service_request_id
    assert (cmd.service_code, cmd.bylaw_number, cmd.priority) == ("grass-cutting", "2000-0066", Priority.LOW)
    assert cmd.matrix_version == "2023-07-25 #406/23"
    assert cmd.enforced_by == ("BE",)
    assert cmd.channel == "portal"
    assert "complainant address missing" in cmd.summary
    assert not any(p in repr(cmd) for p in PII)


async def test_workflow_input_lets_the_case_start_without_activities(world: World) -> None:
    outcome = await world.service.submit(make())
    started = world.workflows.started[outcome.case_number]
    assert started.case_record_known
    assert started.targets is not None
    # The targets the worker would have computed itself (config/sla_targets.yaml).
    assert started.targets.inspection_business_days >= 1
    assert started.targets.sla_version


async def test_workflow_input_carries_no_identity(world: World) -> None:
    await world.service.submit(make())
    payload = json.dumps(dataclasses.asdict(world.workflows.started["BL-2026-000001"]), default=str)
    assert not any(p in payload for p in PII)


async def test_second_complaint_at_the_same_place_joins_the_case_policy_6_6_5(world: World) -> None:
    await world.service.submit(make())
    outcome = await world.service.submit(make(complainant=who(first_name="Grace")))
    assert outcome.kind is OutcomeKind.JOINED_CASE
    assert outcome.case_number == "BL-2026-000001"
    assert "6.6.5" in outcome.reason
    assert "added to open case BL-2026-000001" in outcome.service_notice
    assert world.workflows.calls == 1  # the joined case's workflow is already running


async def test_repeat_after_compliance_is_rejected_asking_for_new_information_policy_6_6_3(
    world: World,
) -> None:
    await world.service.submit(make())
    world.cases.complied.add(("grass-cutting", "12 dundas st e, napanee"))
    outcome = await world.service.submit(make())
    assert outcome.kind is OutcomeKind.REJECTED
    assert outcome.case_number == ""  # not a case this complaint belongs to
    assert "compliance already confirmed; new information needed" in outcome.reason.lower()
    assert "BL-2026-000001" in outcome.reason
    assert "new information" in outcome.service_notice


async def test_referral_never_reaches_the_cases_service(world: World) -> None:
    outcome = await world.service.submit(make(service_code="off-road-vehicles"))
    assert outcome.kind is OutcomeKind.REFERRED
    assert outcome.referred_to == "Ontario Provincial Police"
    assert outcome.case_number == "" and outcome.acknowledgement_due is None
    assert world.cases.calls == [] and world.workflows.calls == 0


async def test_anonymous_low_priority_is_recorded_and_rejected_policy_4_1(world: World) -> None:
    outcome = await world.service.submit(make(complainant=ComplainantIdentity()))
    assert outcome.kind is OutcomeKind.REJECTED
    assert "not investigated" in outcome.reason
    assert len(world.repo.records) == 1  # recorded, not lost
    assert world.cases.calls == []


async def test_anonymous_high_priority_proceeds_marked_anonymous_policy_4_1(world: World) -> None:
    outcome = await world.service.submit(
        make(complainant=ComplainantIdentity(), service_code="dog-running-at-large-dangerous")
    )
    assert outcome.kind is OutcomeKind.NEW_CASE and outcome.anonymous
    assert world.workflows.started[outcome.case_number].anonymous


async def test_verbal_high_priority_is_flagged_for_written_confirmation_policy_6_5_2(world: World) -> None:
    outcome = await world.service.submit(make(channel="phone", verbal=True, service_code="pool-fence"), STAFF)
    assert outcome.kind is OutcomeKind.NEW_CASE
    assert outcome.written_confirmation_required


async def test_verbal_low_priority_is_rejected_policy_6_5_2(world: World) -> None:
    outcome = await world.service.submit(make(channel="phone", verbal=True), STAFF)
    assert outcome.kind is OutcomeKind.REJECTED
    assert "6.5.2" in outcome.reason


async def test_staff_channels_and_verbal_need_a_staff_member(world: World) -> None:
    with pytest.raises(PermissionDenied):
        await world.service.submit(make(channel="walk-in"))
    with pytest.raises(PermissionDenied):
        await world.service.submit(make(verbal=True, channel="phone"))
    outcome = await world.service.submit(make(channel="walk-in"), STAFF)
    assert world.repo.records[next(iter(world.repo.records))].entered_by == "officer-7"
    assert world.cases.calls[0].actor_subject == "officer-7"
    assert outcome.kind is OutcomeKind.NEW_CASE


async def test_invalid_submission_records_nothing(world: World) -> None:
    with pytest.raises(InvalidArgument):
        await world.service.submit(make(description=""))
    assert world.repo.records == {}


async def test_retry_of_the_same_311_id_replays_the_stored_outcome(world: World) -> None:
    first = await world.service.submit(sub_311())
    again = await world.service.submit(sub_311(description="changed text, same 311 id"))
    assert again.replayed and not first.replayed
    assert again.service_request_id == first.service_request_id
    assert again.case_number == first.case_number
    assert len(world.repo.records) == 1
    assert len(world.cases.calls) == 1 and world.workflows.calls == 1
    # The 311 system gets the stored answer again; no second event for reporting.
    updates = [m for m in world.repo.outbox if m.subject == SUBJECT_311_UPDATES]
    assert len(updates) == 2 and updates[0].payload == updates[1].payload
    assert updates[0].msg_id != updates[1].msg_id
    assert [m.subject for m in world.repo.outbox].count("bylaw.events.complaint.received") == 1


async def test_the_same_id_from_another_client_is_another_complaint(world: World) -> None:
    await world.service.submit(make(external_request_id="X-1", client_id="app-a"))
    await world.service.submit(make(external_request_id="X-1", client_id="app-b"))
    assert len(world.repo.records) == 2


async def test_crash_before_the_case_resumes_on_redelivery(world: World) -> None:
    world.cases.down = True
    with pytest.raises(Unavailable):
        await world.service.submit(sub_311())
    (record,) = world.repo.records.values()
    assert record.state is ProcessingState.RECEIVED  # recorded, not lost
    world.cases.down = False
    outcome = await world.service.submit(sub_311())
    assert outcome.kind is OutcomeKind.NEW_CASE and outcome.replayed
    assert len(world.repo.records) == 1


async def test_crash_after_the_case_resumes_without_asking_cases_again(world: World) -> None:
    world.workflows.down = True
    with pytest.raises(Unavailable):
        await world.service.submit(sub_311())
    (record,) = world.repo.records.values()
    assert record.state is ProcessingState.CASE_LINKED
    assert record.case_number == "BL-2026-000001"
    world.workflows.down = False
    outcome = await world.service.submit(sub_311())
    assert outcome.kind is OutcomeKind.NEW_CASE
    assert len(world.cases.calls) == 1  # the stored case link was used
    assert "BL-2026-000001" in world.workflows.started


async def test_sweeper_finishes_a_portal_complaint_stranded_part_way(world: World) -> None:
    world.cases.down = True
    with pytest.raises(Unavailable):
        await world.service.submit(make())
    world.cases.down = False
    world.service.clock = lambda: datetime.now(UTC)
    assert await world.service.resume_unfinished(older_than_seconds=60) == 0  # still in flight
    # The fake stamps received_at with the real clock; sweep as if minutes later.
    world.service.clock = lambda: datetime.now(UTC) + timedelta(minutes=5)
    assert await world.service.resume_unfinished(older_than_seconds=60) == 1
    (record,) = world.repo.records.values()
    assert record.state is ProcessingState.DONE and record.outcome is OutcomeKind.NEW_CASE


async def test_311_outcome_goes_back_on_updates_as_the_public_object(world: World) -> None:
    outcome = await world.service.submit(sub_311("NYC-42"))
    (update,) = [m for m in world.repo.outbox if m.subject == SUBJECT_311_UPDATES]
    body = update.payload
    assert body["service_request_id"] == outcome.service_request_id
    assert body["external_request_id"] == "NYC-42"
    assert body["case_number"] == "BL-2026-000001"
    assert body["status"] == "open"
    assert body["description"] is None
    assert not any(p in json.dumps(body) for p in PII)


async def test_portal_complaints_publish_no_311_update_but_an_event(world: World) -> None:
    await world.service.submit(make())
    subjects = [m.subject for m in world.repo.outbox]
    assert subjects == ["bylaw.events.complaint.received"]
    event = world.repo.outbox[0].payload
    assert event["data"]["outcome"] == "new_case" and event["case_number"] == "BL-2026-000001"
    assert not any(p in json.dumps(event) for p in PII)


async def test_rejected_311_complaint_reports_closed_with_reason(world: World) -> None:
    await world.service.submit(sub_311(complainant=ComplainantIdentity()))
    (update,) = [m for m in world.repo.outbox if m.subject == SUBJECT_311_UPDATES]
    assert update.payload["status"] == "closed"
    assert update.payload["case_number"] is None
    assert "anonymous" in update.payload["status_notes"]


async def test_public_view_hides_identity_and_the_written_complaint_policy_6_3_4(world: World) -> None:
    outcome = await world.service.submit(make())
    view = await world.service.get_public(outcome.service_request_id)
    assert view.case_number == "BL-2026-000001" and view.status == "open"
    assert not any(p in repr(view) for p in PII)
    with pytest.raises(NotFound):
        await world.service.get_public("SR-2026-9999999")


async def test_public_list_filters(world: World) -> None:
    a = await world.service.submit(make())
    b = await world.service.submit(make(service_code="off-road-vehicles"))
    ids = {v.service_request_id for v in await world.service.list_public(ComplaintQuery(status="closed"))}
    assert ids == {b.service_request_id}
    ids = {
        v.service_request_id
        for v in await world.service.list_public(ComplaintQuery(service_code="grass-cutting"))
    }
    assert ids == {a.service_request_id}
    with pytest.raises(InvalidArgument):
        await world.service.list_public(ComplaintQuery(status="pending"))


async def test_clerk_loads_a_new_matrix_version_policy_6_8_4(world: World) -> None:
    text = MATRIX_CSV.read_text().replace(
        "grass-cutting,Grass Cutting,,2000-0066,no,no,no,yes,Low",
        "grass-cutting,Grass Cutting,,2000-0066,no,no,no,yes,Medium",
    )
    with pytest.raises(PermissionDenied):
        await world.service.load_matrix(text, "2026-04-01 #100/26", "2026-03-02", "#100/26", STAFF)
    version, created = await world.service.load_matrix(
        text, "2026-04-01 #100/26", "2026-03-02", "#100/26", CLERK
    )
    assert created and version.entries["grass-cutting"].priority is Priority.MEDIUM
    outcome = await world.service.submit(make())
    assert outcome.matrix_version == "2026-04-01 #100/26"
    assert outcome.priority is Priority.MEDIUM
    # Same label, same file: idempotent. Same label, another file: refused.
    assert (await world.service.load_matrix(text, "2026-04-01 #100/26", "2026-03-02", "#100/26", CLERK))[
        1
    ] is False
    with pytest.raises(AlreadyExists):
        await world.service.load_matrix(
            MATRIX_CSV.read_text(), "2026-04-01 #100/26", "2026-03-02", "#100/26", CLERK
        )


async def test_bad_matrix_file_is_refused_with_row_and_reason(world: World) -> None:
    bad = ",".join(COLUMNS) + "\nnoise,Noise,,2023-0043,no,no,no,yes,Urgent,BE,\n"
    with pytest.raises(InvalidArgument) as exc:
        await world.service.load_matrix(bad, "v2", "2026-01-01", "#1/26", CLERK)
    assert exc.value.violations[0].field == "row 1 (noise).priority"
    assert len(world.matrices.versions) == 1


async def test_declared_closure_day_moves_the_acknowledgement_policy_4_2(world: World) -> None:
    with pytest.raises(PermissionDenied):
        await world.service.declare_closure_day("2026-03-03", "Snow", STAFF)
    await world.service.declare_closure_day(
        "2026-03-03", "Office closed: snow storm", Caller("sup", ("supervisor",))
    )
    outcome = await world.service.submit(make())
    assert outcome.acknowledgement_due == datetime(2026, 3, 5, 21, 30, tzinfo=UTC)
    assert [d.day for d in await world.service.closure_days("2026-03-01", "2026-03-31")] == [date(2026, 3, 3)]


async def test_identity_read_needs_a_role_and_a_purpose_and_is_audited_policy_6_3_4(world: World) -> None:
    outcome = await world.service.submit(make())
    srid = outcome.service_request_id
    with pytest.raises(PermissionDenied):
        await world.service.reveal_complainant(srid, "to call back", Caller("anon", ("resident",)))
    with pytest.raises(InvalidArgument):
        await world.service.reveal_complainant(srid, "", Caller("o1", ("officer",)))
    read = await world.service.reveal_complainant(
        srid, "call to arrange inspection", Caller("o1", ("officer",))
    )
    assert read.identity.first_name == "Ada"
    assert read.description == "Grass over 30 cm for weeks."
    assert world.repo.vault_reads == [(srid, "o1", ("officer",), "call to arrange inspection")]


async def test_complaint_about_staff_is_readable_only_by_a_supervisor_policy_6_10(world: World) -> None:
    outcome = await world.service.submit(make(about_staff_or_council=True))
    with pytest.raises(PermissionDenied):
        await world.service.reveal_complainant(
            outcome.service_request_id, "investigate", Caller("o1", ("officer",))
        )
    await world.service.reveal_complainant(
        outcome.service_request_id, "investigate", Caller("s1", ("supervisor",))
    )
    assert world.workflows.started[outcome.case_number].restricted
    view = await world.service.get_public(outcome.service_request_id)
    assert view.address == "" and view.lat is None  # location hidden too


def status(case: str, to: str, minute: int, event: str = "") -> CaseStatusChange:
    at = datetime(2026, 3, 9, 14, minute, tzinfo=UTC)
    return CaseStatusChange(event or f"{case}/{to}/{minute}", case, to, at)


async def test_complaints_follow_their_case_to_closed(world: World) -> None:
    via_311 = await world.service.submit(sub_311("NYC-7"))
    via_portal = await world.service.submit(make(complainant=who(first_name="Grace")))
    case = via_311.case_number
    assert via_portal.case_number == case  # joined
    world.repo.outbox.clear()

    # Investigation details stay private (policy 6.3.8): still just "open", no message.
    assert await world.service.apply_case_status(status(case, "notice_issued", 1)) == 0
    assert world.repo.outbox == []
    assert (await world.service.get_public(via_311.service_request_id)).status == "open"

    assert await world.service.apply_case_status(status(case, "closed", 2)) == 2
    for outcome in (via_311, via_portal):
        view = await world.service.get_public(outcome.service_request_id)
        assert (view.status, view.status_notes) == ("closed", f"Case {case} is closed.")
    # Only the 311 complaint's closure goes back to the 311 system.
    (update,) = world.repo.outbox
    assert update.subject == SUBJECT_311_UPDATES
    assert update.payload["status"] == "closed"
    assert update.payload["external_request_id"] == "NYC-7"


async def test_case_events_apply_once_and_never_over_a_newer_status(world: World) -> None:
    outcome = await world.service.submit(make())
    case = outcome.case_number
    closed = status(case, "closed", 5, event="e-closed")
    assert await world.service.apply_case_status(closed) == 1
    assert await world.service.apply_case_status(closed) == 0  # redelivered
    # An earlier transition arriving late does not reopen it.
    assert await world.service.apply_case_status(status(case, "under_investigation", 3)) == 0
    assert (await world.service.get_public(outcome.service_request_id)).status == "closed"


async def test_rejected_and_referred_complaints_do_not_follow_cases(world: World) -> None:
    referred = await world.service.submit(make(service_code="off-road-vehicles"))
    assert await world.service.apply_case_status(status("BL-2026-000001", "closed", 1)) == 0
    assert (await world.service.get_public(referred.service_request_id)).status == "closed"


async def test_public_list_refuses_bad_filters(world: World) -> None:
    with pytest.raises(InvalidArgument) as exc:
        await world.service.list_public(
            ComplaintQuery(
                limit=-1, start=datetime(2026, 3, 2, tzinfo=UTC), end=datetime(2026, 3, 1, tzinfo=UTC)
            )
        )
    assert {v.field for v in exc.value.violations} == {"limit", "end_date"}


async def test_public_list_is_capped_at_1000(world: World) -> None:
    for _ in range(3):
        await world.service.submit(make())
    assert len(await world.service.list_public(ComplaintQuery(limit=2))) == 2
    assert len(await world.service.list_public(ComplaintQuery(limit=5000))) == 3


async def test_staff_inputs_are_checked(world: World) -> None:
    with pytest.raises(InvalidArgument) as exc:
        await world.service.load_matrix(MATRIX_CSV.read_text(), "v2", "next tuesday", "#1/26", CLERK)
    assert exc.value.violations[0].field == "effective_date"
    with pytest.raises(InvalidArgument) as exc:
        await world.service.declare_closure_day("2026-03-03", "  ", CLERK)
    assert exc.value.violations[0].field == "reason"
    with pytest.raises(NotFound):
        await world.service.reveal_complainant("SR-2026-0999999", "call back", Caller("o1", ("officer",)))
