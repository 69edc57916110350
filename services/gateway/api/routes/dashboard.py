"""Aggregate views for supervisors, senior staff and Council (``/api/v1/dashboard``,
``/api/v1/town``): figures only, no case details or identities."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from bylaw.v1 import cases_pb2, reporting_pb2
from fastapi import APIRouter, Query

from services.common.errors import FieldViolation, InvalidArgument
from services.gateway.api.deps import AnyStaff, ClientsDep
from services.gateway.api.models import DashboardOut, TownSummaryOut
from services.gateway.clients import READ_TIMEOUT
from services.gateway.errors import rpc

router = APIRouter(tags=["dashboard"])


@router.get(
    "/dashboard",
    summary="Dashboard figures, each with last month's value (open cases, resolution time, ...)",
    response_model=DashboardOut,
)
async def get_dashboard(
    clients: ClientsDep,
    principal: AnyStaff,
    as_of: Annotated[datetime | None, Query(description="ISO-8601 with offset; default now")] = None,
    recent: Annotated[int, Query(ge=1, le=100, description="recent activity items")] = 10,
) -> DashboardOut:
    request = reporting_pb2.GetDashboardRequest(actor=principal.to_actor(), recent_limit=recent)
    if as_of is not None:
        if as_of.tzinfo is None:
            raise InvalidArgument(FieldViolation("as_of", "must include a UTC offset"))
        request.as_of.FromDatetime(as_of)
    dashboard = await rpc("reporting", clients.reporting.GetDashboard(request, timeout=READ_TIMEOUT))
    return DashboardOut.from_proto(dashboard)


@router.get(
    "/town",
    summary="The town at a glance: properties on the roll, officers, zones, open cases",
    response_model=TownSummaryOut,
)
async def get_town(clients: ClientsDep, principal: AnyStaff) -> TownSummaryOut:
    summary = await rpc(
        "cases", clients.cases.GetTownSummary(cases_pb2.GetTownSummaryRequest(), timeout=READ_TIMEOUT)
    )
    return TownSummaryOut.from_proto(summary)
