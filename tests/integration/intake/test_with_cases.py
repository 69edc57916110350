"""Intake against the REAL cases service (both in-process on free ports, one database with
a schema each): the OpenCase contract as the two services actually implement it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest
from bylaw.v1 import common_pb2, intake_pb2
from bylaw.v1.intake_pb2_grpc import IntakeServiceStub
from temporalio.client import Client

from devstack.processes import free_port
from services.cases.bootstrap import build_app as build_cases
from services.common.grpc_client import insecure_channel
from services.common.grpc_server import build_server
from services.common.runtime import infrastructure
from services.common.settings import Settings
from services.intake.bootstrap import build as build_intake
from workflows import contracts


@pytest.fixture
async def stub(
    database_url: str, nats_url: str, temporal_address: str, temporal_namespace: str, fresh_311_stream: None
) -> AsyncIterator[IntakeServiceStub]:
    settings = Settings(
        env="test",
        database_url=database_url,
        nats_url=nats_url,
        temporal_address=temporal_address,
        temporal_namespace=temporal_namespace,
        cases_port=free_port(),
        intake_port=free_port(),
    )
    settings = settings.model_copy(update={"cases_addr": f"127.0.0.1:{settings.cases_port}"})
    temporal = await Client.connect(temporal_address, namespace=temporal_namespace)
    async with (
        infrastructure("cases-test", settings, schema="cases") as cases_infra,
        infrastructure("intake-test", settings, schema="intake") as intake_infra,
    ):
        cases = build_cases(cases_infra)
        cases_server, _, _ = await build_server([cases.registration], settings.cases_addr)
        await cases_server.start()
        intake = await build_intake(intake_infra, temporal=temporal)
        address = f"127.0.0.1:{settings.intake_port}"
        intake_server, _, _ = await build_server(intake.registrations(), address)
        await intake_server.start()
        channel = insecure_channel(address)
        try:
            yield IntakeServiceStub(channel)
        finally:
            await channel.close()
            await intake_server.stop(1)
            await intake.close()
            await cases_server.stop(1)


def complaint(name: str) -> intake_pb2.SubmitComplaintRequest:
    return intake_pb2.SubmitComplaintRequest(
        submission=intake_pb2.ComplaintSubmission(
            service_code="property-standards-major-safety",
            location=common_pb2.Location(address="221 Dundas St E, Napanee"),
            description="Balcony railing hanging loose over the sidewalk.",
            complainant=intake_pb2.ComplainantIdentity(
                first_name=name, last_name="Resident", phone="613-555-0101"
            ),
            channel="portal",
            attributes={"complainant_address": "3 Elm St, Napanee"},
        )
    )


async def test_first_complaint_opens_a_case_the_next_joins_it(
    stub: IntakeServiceStub, temporal_address: str, temporal_namespace: str
) -> None:
    first = await stub.SubmitComplaint(complaint("Ann"))
    assert first.kind == intake_pb2.OUTCOME_KIND_NEW_CASE
    assert re.fullmatch(r"BL-\d{4}-\d{6}", first.case_number)
    second = await stub.SubmitComplaint(complaint("Bob"))
    assert second.kind == intake_pb2.OUTCOME_KIND_JOINED_CASE  # policy 6.6.5
    assert second.case_number == first.case_number
    temporal = await Client.connect(temporal_address, namespace=temporal_namespace)
    desc = await temporal.get_workflow_handle(contracts.workflow_id(first.case_number)).describe()
    assert desc.typed_search_attributes.get(contracts.CASE_NUMBER) == first.case_number
    # Each further complainant about the matter joins the same case and gets a response.
    third = await asyncio.wait_for(stub.SubmitComplaint(complaint("Cy")), timeout=30)
    assert third.case_number == first.case_number
