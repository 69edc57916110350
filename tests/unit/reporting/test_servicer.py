"""The reporting gRPC servicer called directly: as_of handling and proto mapping."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bylaw.v1 import reporting_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from services.reporting.adapters.labels import load_service_labels
from services.reporting.entrypoints.grpc_servicer import ReportingServicer
from services.reporting.service_layer.services import ReportingService
from tests.unit.reporting import scenario
from tests.unit.reporting.fakes import MemoryReadModel, MemoryUnitOfWork

NOW = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)


async def servicer() -> ReportingServicer:
    model = MemoryReadModel()
    service = ReportingService(
        uow=lambda snapshot=False: MemoryUnitOfWork(model),
        service_labels=load_service_labels(),
        zone=ZoneInfo("America/Toronto"),
        clock=lambda: NOW,
    )
    await service.apply(scenario.events())
    return ReportingServicer(service)


async def test_dashboard_as_of_and_kpis() -> None:
    stamp = Timestamp()
    stamp.FromDatetime(scenario.AS_OF)
    reply = await (await servicer()).GetDashboard(
        reporting_pb2.GetDashboardRequest(as_of=stamp, recent_limit=2), None
    )
    assert reply.as_of.ToDatetime(tzinfo=UTC) == scenario.AS_OF
    assert (reply.open_cases.value, reply.open_cases.previous) == scenario.DASHBOARD["open_cases"]
    assert reply.order_compliance.unit == "percent"
    assert reply.order_compliance.previous_sample_size == 3
    assert len(reply.recent_activity) == 2
    assert reply.events_applied == len(scenario.events())


async def test_dashboard_defaults_to_now() -> None:
    reply = await (await servicer()).GetDashboard(reporting_pb2.GetDashboardRequest(), None)
    assert reply.as_of.ToDatetime(tzinfo=UTC) == NOW
    assert len(reply.recent_activity) == 10
    # Five days later nothing was inspected on the 25th.
    assert reply.inspections_today.value == 0.0


async def test_monthly_report() -> None:
    reply = await (await servicer()).GetMonthlyReport(
        reporting_pb2.GetMonthlyReportRequest(year=2026, month=3), None
    )
    assert (reply.year, reply.month, reply.timezone) == (2026, 3, "America/Toronto")
    assert {c.key: c.count for c in reply.complaints_closed} == scenario.MARCH_CLOSED
    assert reply.complaints_received[0].label == "Grass Cutting"
    assert len(reply.emergency_actions) == 1
