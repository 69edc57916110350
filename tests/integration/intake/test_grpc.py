"""IntakeService over a real gRPC channel against real PostgreSQL: rich validation errors,
the public views, the Open311 services, the encrypted vault and its audited read, matrix
versions, closure days, and migrations matching the models."""

from __future__ import annotations

import grpc
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from bylaw.v1 import common_pb2, intake_pb2
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import create_engine, select, text

from services.intake.adapters import orm
from services.intake.bootstrap import DEFAULT_MATRIX_CSV, build
from services.intake.domain.matrix import SEED_VERSION_LABEL
from tests.integration.intake.conftest import IntakeHarness

CANARIES = ("Canary-Grace", "Canary-Hopper", "grace.canary@example.org", "613-555-0142", "42 Canary Lane")
CLERK = common_pb2.Actor(subject="clerk-1", roles=["clerk"])
OFFICER = common_pb2.Actor(subject="officer-7", roles=["officer"])


def submission(**changes: object) -> intake_pb2.ComplaintSubmission:
    sub = intake_pb2.ComplaintSubmission(
        service_code="yard-maintenance-extensive",
        location=common_pb2.Location(address="15 Bridge St W, Napanee"),
        description="Rubbish piling up for months; rats seen. Canary-Hopper's yard.",
        complainant=intake_pb2.ComplainantIdentity(
            first_name="Canary-Grace",
            last_name="Canary-Hopper",
            email="grace.canary@example.org",
            phone="613-555-0142",
        ),
        channel="portal",
        attributes={"complainant_address": "42 Canary Lane"},
    )
    for key, value in changes.items():
        setattr(sub, key, value)
    return sub


async def submit(h: IntakeHarness, sub: intake_pb2.ComplaintSubmission) -> intake_pb2.ComplaintOutcome:
    outcome: intake_pb2.ComplaintOutcome = await h.stub.SubmitComplaint(
        intake_pb2.SubmitComplaintRequest(submission=sub)
    )
    return outcome


def violations(err: grpc.aio.AioRpcError) -> dict[str, error_details_pb2.BadRequest.FieldViolation]:
    status = rpc_status.from_call(err)
    assert status is not None
    bad = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad)
    return {v.field: v for v in bad.field_violations}


async def test_bad_field_is_invalid_argument_with_field_violations(intake: IntakeHarness) -> None:
    sub = submission(description="", service_code="no-such-service")
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await submit(intake, sub)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    found = violations(exc.value)
    assert found["description"].reason == "policy 6.5.3"
    assert "is required" in found["description"].description
    assert found["service_code"].reason == "policy 6.8.3"
    assert not any(c in exc.value.details() for c in CANARIES)


async def test_portal_complaint_opens_a_case_and_the_public_sees_no_identity(intake: IntakeHarness) -> None:
    outcome = await submit(intake, submission())
    assert outcome.kind == intake_pb2.OUTCOME_KIND_NEW_CASE
    assert outcome.case_number.startswith("BL-2026-")
    assert outcome.priority == common_pb2.PRIORITY_MEDIUM
    assert outcome.matrix_version == SEED_VERSION_LABEL
    assert outcome.HasField("acknowledgement_due")
    assert "civil matter" in outcome.service_notice

    public = await intake.stub.GetComplaint(
        intake_pb2.GetComplaintRequest(service_request_id=outcome.service_request_id)
    )
    assert public.case_number == outcome.case_number
    assert public.status == "open"
    assert public.address == "15 Bridge St W, Napanee"
    listed = await intake.stub.ListComplaints(
        intake_pb2.ListComplaintsRequest(service_code="yard-maintenance-extensive", status="open")
    )
    assert [c.service_request_id for c in listed.complaints] == [outcome.service_request_id]
    for message in (public, listed):
        dump = message.SerializeToString()
        assert not any(c.encode() in dump for c in CANARIES)
        assert b"rats seen" not in dump  # the written complaint is not public (6.3.4)

    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await intake.stub.GetComplaint(intake_pb2.GetComplaintRequest(service_request_id="SR-1999-0000001"))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND


async def test_identity_is_encrypted_at_rest_and_read_only_under_audit(intake: IntakeHarness) -> None:
    outcome = await submit(intake, submission())
    async with intake.infra.require_sessions()() as session:
        raw = (await session.execute(select(orm.complainants))).one()._mapping
        complaint = (await session.execute(select(orm.complaints))).one()._mapping
    stored = b"".join(v for v in raw.values() if isinstance(v, bytes))
    assert stored  # ciphertexts are there ...
    assert not any(c.encode() in stored for c in CANARIES)  # ... and hold no plaintext
    assert b"rats seen" not in stored
    assert not any(c in str(dict(complaint)) for c in CANARIES)

    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await intake.stub.GetComplainant(
            intake_pb2.GetComplainantRequest(
                service_request_id=outcome.service_request_id,
                purpose="curious",
                actor=common_pb2.Actor(subject="x", roles=["resident"]),
            )
        )
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    record = await intake.stub.GetComplainant(
        intake_pb2.GetComplainantRequest(
            service_request_id=outcome.service_request_id, purpose="arrange site visit", actor=OFFICER
        )
    )
    assert record.identity.first_name == "Canary-Grace"
    assert record.identity.address == "42 Canary Lane"
    assert record.identity.preferred_contact == "email"
    assert "rats seen" in record.description
    async with intake.infra.require_sessions()() as session:
        audit = (await session.execute(select(orm.vault_reads))).one()
    assert (audit.actor_subject, audit.purpose) == ("officer-7", "arrange site visit")


async def test_services_are_the_matrix_in_force(intake: IntakeHarness) -> None:
    services = await intake.stub.ListServices(intake_pb2.ListServicesRequest())
    assert services.matrix_version == SEED_VERSION_LABEL
    assert len(services.services) == 40
    definition = await intake.stub.GetService(intake_pb2.GetServiceRequest(service_code="pool-fence"))
    assert definition.service.priority == common_pb2.PRIORITY_HIGH
    assert definition.service.bylaw_number == "2010-0049"
    attrs = {a.code: a for a in definition.attributes}
    assert attrs["complainant_address"].required  # policy 4.10, 6.5.3
    assert attrs["complainant_address"].datatype == "string"
    assert [v.key for v in attrs["preferred_contact"].values] == ["email", "phone", "mail"]
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await intake.stub.GetService(intake_pb2.GetServiceRequest(service_code="storm-drainage"))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND


async def test_clerk_loads_a_matrix_version_and_bad_files_are_refused(intake: IntakeHarness) -> None:
    good = DEFAULT_MATRIX_CSV.read_text().replace(
        "noise,Noise,,2023-0043,no,no,no,yes,Medium", "noise,Noise,,2023-0043,no,no,no,yes,High"
    )
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await intake.stub.LoadServiceMatrix(
            intake_pb2.LoadServiceMatrixRequest(
                csv=good.replace('High,"BE, OPP"', 'Urgent,"BE, OPP"', 1),
                version_label="2026-01-01 #1/26",
                effective_date="2026-01-01",
                council_resolution="#1/26",
                actor=CLERK,
            )
        )
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "row 20 (noise).priority" in violations(exc.value)

    loaded = await intake.stub.LoadServiceMatrix(
        intake_pb2.LoadServiceMatrixRequest(
            csv=good,
            version_label="2026-01-01 #1/26",
            effective_date="2026-01-01",
            council_resolution="#1/26",
            actor=CLERK,
        )
    )
    assert (loaded.matrix_version, loaded.services, loaded.created) == ("2026-01-01 #1/26", 40, True)
    outcome = await submit(intake, submission(service_code="noise"))
    assert outcome.matrix_version == "2026-01-01 #1/26"
    assert outcome.priority == common_pb2.PRIORITY_HIGH
    old = await intake.stub.ListServices(
        intake_pb2.ListServicesRequest(as_of=Timestamp(seconds=1_700_000_000))  # November 2023
    )
    assert old.matrix_version == SEED_VERSION_LABEL


async def test_seed_matrix_is_loaded_once(intake: IntakeHarness) -> None:
    second = await build(intake.infra, temporal=intake.temporal)  # a second replica starting
    await second.close()
    async with intake.infra.require_sessions()() as session:
        labels = (await session.execute(select(orm.matrix_versions.c.label))).scalars().all()
    assert labels == [SEED_VERSION_LABEL]


async def test_closure_day_moves_acknowledgement(intake: IntakeHarness) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await intake.stub.DeclareClosureDay(
            intake_pb2.DeclareClosureDayRequest(date="2026-02-17", reason="Snow", actor=OFFICER)
        )
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    day = await intake.stub.DeclareClosureDay(
        intake_pb2.DeclareClosureDayRequest(
            date="2026-02-17", reason="Office closed: snow storm", actor=CLERK
        )
    )
    assert (day.date, day.declared_by) == ("2026-02-17", "clerk-1")
    listed = await intake.stub.ListClosureDays(intake_pb2.ListClosureDaysRequest(from_date="2026-01-01"))
    assert [d.date for d in listed.days] == ["2026-02-17"]


def test_migrations_match_the_models(intake: IntakeHarness) -> None:
    engine = create_engine(intake.settings.database_url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={
                "include_schemas": True,
                "include_name": lambda name, type_, parent: type_ != "schema" or name == "intake",
                "compare_type": True,
                "version_table_schema": "intake",
            },
        )
        assert compare_metadata(ctx, orm.metadata) == []
        assert conn.execute(text("SELECT last_value FROM intake.complaint_number_seq")).scalar() is not None
    engine.dispose()
