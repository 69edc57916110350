"""The staff API router (``/api/v1``); later issues add their routers here."""

from __future__ import annotations

from fastapi import APIRouter

from services.gateway.api.routes import cases, complaints, dashboard, intake_admin

API_PREFIX = "/api/v1"

api_router = APIRouter(prefix=API_PREFIX)
api_router.include_router(cases.router)
api_router.include_router(complaints.router)
api_router.include_router(dashboard.router)
api_router.include_router(intake_admin.router)

from services.gateway.api.routes import remediation  # noqa: E402 - issue 4 item 6

api_router.include_router(remediation.router)

from services.gateway.api.routes import lifecycle  # noqa: E402 - issue 4 items 1-5, 7-9

api_router.include_router(lifecycle.router)
