"""Fixtures for the workflow integration tests: a Temporal client on the real dev server,
fresh namespaces, and a small fake cases service served over real gRPC (grpc.aio with the
same server wiring and domain-error interceptor the real services use)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, cast

import grpc
import pytest
from bylaw.v1 import (
    cases_pb2,
    cases_pb2_grpc,
    common_pb2,
    evidence_pb2,
    evidence_pb2_grpc,
    intake_pb2,
    intake_pb2_grpc,
    notices_pb2,
    notices_pb2_grpc,
)
from bylaw.v1.cases_pb2_grpc import CasesServiceStub
from bylaw.v1.intake_pb2_grpc import IntakeServiceStub
from bylaw.v1.notices_pb2_grpc import NoticesServiceStub
from temporalio.client import Client

from devstack.processes import free_port
from services.common.errors import DomainError, NotFound
from services.common.grpc_client import insecure_channel
from services.common.grpc_server import ServiceRegistration, build_server
from tests.integration.cases.conftest import cases, cases_settings
from workflows.lifecycle_activities import LifecycleActivities
from workflows.lifecycle_config import load_config

# The real cases service (PostgreSQL + NATS, in-process) for the tests of this folder.
__all__ = ["cases", "cases_settings"]


@dataclass
class FakeCasesServicer(cases_pb2_grpc.CasesServiceServicer):
    """GetCase and RecordStatus over an in-memory dict, idempotent on step_key like the
    real service; ``refuse`` maps a status to the domain error to raise for it."""

    cases: dict[str, cases_pb2.Case] = field(default_factory=dict)
    refuse: dict[str, DomainError] = field(default_factory=dict)
    record_calls: list[cases_pb2.RecordStatusRequest] = field(default_factory=list)
    steps: dict[tuple[str, str], int] = field(default_factory=dict)
    alerts: dict[tuple[str, str], str] = field(default_factory=dict)
    closures: dict[str, cases_pb2.RecordClosureRequest] = field(default_factory=dict)

    def add_case(self, case_number: str, *, zone: str = "", officer: str = "") -> None:
        self.cases[case_number] = cases_pb2.Case(
            case_number=case_number,
            status=common_pb2.CASE_STATUS_RECEIVED,
            priority=common_pb2.PRIORITY_HIGH,
            service_code="pool-fence",
            bylaw_number="2010-0049",
            zone_code=zone,
            assigned_officer_id=officer,
        )

    async def GetCase(
        self, request: cases_pb2.GetCaseRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> cases_pb2.Case:
        if request.case_number not in self.cases:
            raise NotFound(f"case {request.case_number} not found")
        return self.cases[request.case_number]

    async def RecordStatus(
        self, request: cases_pb2.RecordStatusRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> cases_pb2.Case:
        self.record_calls.append(request)
        name = common_pb2.CaseStatus.Name(request.status).removeprefix("CASE_STATUS_").lower()
        if name in self.refuse:
            raise self.refuse[name]
        case = self.cases.get(request.case_number)
        if case is None:
            raise NotFound(f"case {request.case_number} not found")
        key = (request.case_number, request.step_key)
        if key not in self.steps:
            self.steps[key] = request.status
            case.status = request.status
            case.outcome = request.outcome
        return case

    # The lifecycle's records (issue 4), kept just far enough for the workflow to run.

    async def GetOfficer(
        self, request: cases_pb2.GetOfficerRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> cases_pb2.Officer:
        return cases_pb2.Officer(officer_id=request.officer_id, display_name="A. Officer", active=True)

    async def RaiseAlert(
        self, request: cases_pb2.RaiseAlertRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> cases_pb2.Alert:
        self.alerts.setdefault((request.case_number, request.step_key), request.kind)
        return cases_pb2.Alert(case_number=request.case_number, step_key=request.step_key, kind=request.kind)

    async def ClearAlert(
        self, request: cases_pb2.ClearAlertRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> cases_pb2.Alert:
        return cases_pb2.Alert(case_number=request.case_number, step_key=request.step_key)

    async def RecordClosure(
        self, request: cases_pb2.RecordClosureRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> cases_pb2.CaseClosure:
        self.closures.setdefault(request.case_number, request)
        return cases_pb2.CaseClosure(case_number=request.case_number, outcome=request.outcome)


@dataclass
class FakeCases:
    servicer: FakeCasesServicer
    address: str


@pytest.fixture
async def fake_cases() -> AsyncIterator[FakeCases]:
    # The generated stub types mark every RPC abstract; the runtime base answers the ones
    # not overridden with UNIMPLEMENTED, which is what a fake should do.
    servicer = FakeCasesServicer()  # type: ignore[abstract]
    address = f"127.0.0.1:{free_port()}"
    server, _health, _port = await build_server(
        [
            ServiceRegistration(
                "bylaw.v1.CasesService", cases_pb2_grpc.add_CasesServiceServicer_to_server, servicer
            )
        ],
        address,
    )
    await server.start()
    try:
        yield FakeCases(servicer, address)
    finally:
        await server.stop(1)


@pytest.fixture
async def temporal_client(temporal_address: str, temporal_namespace: str) -> Client:
    """A client on a fresh namespace of its own (see tests/conftest.py)."""
    return await Client.connect(temporal_address, namespace=temporal_namespace)


@dataclass
class FakeOthers(
    notices_pb2_grpc.NoticesServiceServicer,
    evidence_pb2_grpc.EvidenceServiceServicer,
    intake_pb2_grpc.IntakeServiceServicer,
):
    """The services the lifecycle activities reach besides cases: notices renders (once per
    case step, like the real one), evidence lists photos, intake lists closure days."""

    rendered: dict[tuple[str, str], notices_pb2.Document] = field(default_factory=dict)
    photos: dict[str, list[evidence_pb2.EvidenceItem]] = field(default_factory=dict)
    closure_days: list[str] = field(default_factory=list)

    async def RenderDocument(
        self, request: notices_pb2.RenderDocumentRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> notices_pb2.Document:
        key = (request.case_number, request.step_key)
        if key not in self.rendered:
            self.rendered[key] = notices_pb2.Document(
                document_id=str(uuid.uuid4()), case_number=request.case_number, template=request.template
            )
        return self.rendered[key]

    async def ListEvidence(
        self, request: evidence_pb2.ListEvidenceRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> evidence_pb2.ListEvidenceResponse:
        return evidence_pb2.ListEvidenceResponse(items=self.photos.get(request.case_number, []))

    async def ListClosureDays(
        self, request: intake_pb2.ListClosureDaysRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> intake_pb2.ListClosureDaysResponse:
        return intake_pb2.ListClosureDaysResponse(
            days=[intake_pb2.ClosureDay(date=d) for d in self.closure_days]
        )


@dataclass
class Others:
    servicer: FakeOthers
    address: str

    def lifecycle(self, cases_address: str, channels: list[grpc.aio.Channel]) -> LifecycleActivities:
        """Lifecycle activities on the cases service at ``cases_address`` and these fakes
        (the channels are appended to ``channels`` for the caller to close)."""
        cases_channel, others_channel = insecure_channel(cases_address), insecure_channel(self.address)
        channels.extend([cases_channel, others_channel])
        return LifecycleActivities(
            cast(Any, CasesServiceStub(cases_channel)),
            cast(Any, NoticesServiceStub(others_channel)),
            cast(Any, IntakeServiceStub(others_channel)),
            load_config(),
        )


@pytest.fixture
async def others() -> AsyncIterator[Others]:
    servicer = FakeOthers()  # type: ignore[abstract]
    address = f"127.0.0.1:{free_port()}"
    server, _health, _port = await build_server(
        [
            ServiceRegistration(
                "bylaw.v1.NoticesService", notices_pb2_grpc.add_NoticesServiceServicer_to_server, servicer
            ),
            ServiceRegistration(
                "bylaw.v1.EvidenceService", evidence_pb2_grpc.add_EvidenceServiceServicer_to_server, servicer
            ),
            ServiceRegistration(
                "bylaw.v1.IntakeService", intake_pb2_grpc.add_IntakeServiceServicer_to_server, servicer
            ),
        ],
        address,
    )
    await server.start()
    try:
        yield Others(servicer, address)
    finally:
        await server.stop(1)
