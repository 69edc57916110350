"""gRPC servicer for ``bylaw.v1.ReportingService``: proto ↔ domain, nothing else."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bylaw.v1 import reporting_pb2, reporting_pb2_grpc
from google.protobuf.timestamp_pb2 import Timestamp
from typing_extensions import override

from services.reporting.domain.kpis import Dashboard, Kpi, MonthlyReport
from services.reporting.service_layer.services import ReportingService


def _timestamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def kpi_to_proto(kpi: Kpi) -> reporting_pb2.Kpi:
    return reporting_pb2.Kpi(
        name=kpi.name,
        value=kpi.value,
        previous=kpi.previous,
        unit=kpi.unit,
        sample_size=kpi.sample_size,
        previous_sample_size=kpi.previous_sample_size,
        note=kpi.note,
    )


def dashboard_to_proto(dashboard: Dashboard) -> reporting_pb2.Dashboard:
    return reporting_pb2.Dashboard(
        open_cases=kpi_to_proto(dashboard.open_cases),
        average_resolution_days=kpi_to_proto(dashboard.average_resolution_days),
        inspections_today=kpi_to_proto(dashboard.inspections_today),
        order_compliance=kpi_to_proto(dashboard.order_compliance),
        recent_activity=[
            reporting_pb2.ActivityItem(
                event_type=item.event_type,
                case_number=item.case_number,
                summary=item.summary,
                occurred_at=_timestamp(item.occurred_at),
            )
            for item in dashboard.recent_activity
        ],
        as_of=_timestamp(dashboard.as_of),
        events_applied=dashboard.events_applied,
        timezone=dashboard.timezone,
    )


def report_to_proto(report: MonthlyReport) -> reporting_pb2.MonthlyReport:
    def counts(items: Any) -> list[reporting_pb2.CountByType]:
        return [reporting_pb2.CountByType(key=i.key, label=i.label, count=i.count) for i in items]

    return reporting_pb2.MonthlyReport(
        year=report.year,
        month=report.month,
        complaints_received=counts(report.complaints_received),
        complaints_closed=counts(report.complaints_closed),
        enforcement_methods=counts(report.enforcement_methods),
        emergency_actions=report.emergency_actions,
        generated_at=_timestamp(report.generated_at),
        timezone=report.timezone,
        events_applied=report.events_applied,
    )


class ReportingServicer(reporting_pb2_grpc.ReportingServiceServicer):
    def __init__(self, service: ReportingService) -> None:
        self.service = service

    @override
    async def GetDashboard(
        self, request: reporting_pb2.GetDashboardRequest, context: Any
    ) -> reporting_pb2.Dashboard:
        as_of = request.as_of.ToDatetime(tzinfo=UTC) if request.HasField("as_of") else None
        return dashboard_to_proto(await self.service.dashboard(as_of, request.recent_limit))

    @override
    async def GetMonthlyReport(
        self, request: reporting_pb2.GetMonthlyReportRequest, context: Any
    ) -> reporting_pb2.MonthlyReport:
        return report_to_proto(await self.service.monthly_report(request.year, request.month))
