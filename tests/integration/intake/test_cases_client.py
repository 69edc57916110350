"""Intake's client of the cases service over a real gRPC channel: complaints asking at the
same moment go as one ``OpenCases`` call, each gets its own answer or its own error, and a
cases service without ``OpenCases`` is asked one complaint at a time instead."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from bylaw.v1 import cases_pb2
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from devstack.processes import free_port
from services.common.errors import InvalidArgument, Unavailable
from services.common.grpc_client import insecure_channel
from services.intake.adapters.cases_client import GrpcCasesClient
from services.intake.domain.model import CaseDisposition, Location, Priority
from services.intake.service_layer.ports import CaseLink, OpenCaseCommand
from tests.integration.intake.conftest import FakeCases, FakeCasesServicer


def command(complaint_id: str, address: str) -> OpenCaseCommand:
    return OpenCaseCommand(
        complaint_id=complaint_id,
        service_code="property-standards-major-safety",
        bylaw_number="2010-0050",
        priority=Priority.HIGH,
        matrix_version="2023-07-25",
        enforced_by=("BD",),
        location=Location(address=address),
        received_at=datetime(2026, 3, 2, 14, 15, tzinfo=UTC),
        channel="311-phone",
        restricted=False,
        summary="",
        actor_subject="",
    )


async def _open_together(
    cases: FakeCases, commands: list[OpenCaseCommand]
) -> tuple[GrpcCasesClient, list[Any]]:
    channel = insecure_channel(cases.address)
    try:
        client = GrpcCasesClient(channel)
        results = await asyncio.gather(*(client.open_case(c) for c in commands), return_exceptions=True)
        return client, results
    finally:
        await channel.close()


async def test_complaints_asking_together_go_as_one_call(fake_cases: FakeCases) -> None:
    commands = [command(f"SR-{n}", f"{n} Dundas St E") for n in range(12)] + [
        command("SR-again", "1 Dundas St E")
    ]
    client, results = await _open_together(fake_cases, commands)
    assert all(isinstance(r, CaseLink) for r in results), results
    assert [r.disposition for r in results] == [CaseDisposition.CREATED] * 12 + [CaseDisposition.JOINED]
    assert results[12].case_number == results[1].case_number  # same place, same case
    assert fake_cases.servicer.batch_sizes == [13]
    assert client.batches.stats.fallbacks == 0


async def test_a_cases_service_without_open_cases_is_asked_one_at_a_time() -> None:
    old = FakeCases(FakeCasesServicer(), f"127.0.0.1:{free_port()}", batches=False)
    await old.start()
    try:
        client, results = await _open_together(
            old, [command(f"SR-old-{n}", f"{n} Mill St") for n in range(5)]
        )
    finally:
        await old.stop()
    assert all(isinstance(r, CaseLink) for r in results), results
    assert len({r.case_number for r in results}) == 5
    assert len(old.servicer.requests) == 5  # each by OpenCase after the batch call failed
    assert old.servicer.batch_sizes == []
    assert client.batches.stats.fallbacks == 1


class PickyCasesServicer(FakeCasesServicer):
    """Refuses one complaint as invalid and finds the database busy for another."""

    async def open_cases(
        self, request: cases_pb2.OpenCasesRequest, context: Any
    ) -> cases_pb2.OpenCasesResponse:
        self.batch_sizes.append(len(request.requests))
        results = []
        for r in request.requests:
            if r.complaint_id == "SR-invalid":
                detail = any_pb2.Any()
                detail.Pack(
                    error_details_pb2.BadRequest(
                        field_violations=[
                            error_details_pb2.BadRequest.FieldViolation(
                                field="location", description="is required", reason="policy 4.10"
                            )
                        ]
                    )
                )
                error = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message="location: is required")
                error.details.append(detail)
                results.append(cases_pb2.OpenCaseResult(error=error))
            elif r.complaint_id == "SR-busy":
                results.append(cases_pb2.OpenCaseResult(error=status_pb2.Status(code=code_pb2.UNAVAILABLE)))
            else:
                results.append(cases_pb2.OpenCaseResult(response=await self.open_case(r, context)))
        return cases_pb2.OpenCasesResponse(results=results)


async def test_each_complaint_gets_its_own_error() -> None:
    picky = FakeCases(PickyCasesServicer(), f"127.0.0.1:{free_port()}")
    await picky.start()
    try:
        client, results = await _open_together(
            picky,
            [command("SR-fine", "3 John St"), command("SR-invalid", ""), command("SR-busy", "5 John St")],
        )
    finally:
        await picky.stop()
    fine, invalid, busy = results
    assert isinstance(fine, CaseLink) and fine.disposition is CaseDisposition.CREATED
    assert isinstance(invalid, InvalidArgument)
    assert [(v.field, v.rule, v.policy) for v in invalid.violations] == [("location", "is required", "4.10")]
    assert isinstance(busy, Unavailable)  # the consumer naks it for a later retry
    assert picky.servicer.batch_sizes == [3]
    assert client.batches.stats.fallbacks == 0  # the call itself worked


async def test_cases_down_fails_every_complaint_of_the_batch_as_unavailable() -> None:
    nobody = FakeCases(FakeCasesServicer(), f"127.0.0.1:{free_port()}")  # never started
    client, results = await _open_together(nobody, [command(f"SR-down-{n}", f"{n} Elm St") for n in range(4)])
    assert all(isinstance(r, Unavailable) for r in results), results
    # Not retried one by one: each would only fail the same way.
    assert client.batches.stats.fallbacks == 0
    assert client.batches.stats.batches == 1
