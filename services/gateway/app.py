"""The gateway application: ``create_app(settings, clients=None)`` wires settings, service
clients, token verification, error mapping, access logging and the routers.

Without ``clients`` the app connects to the services from settings at startup (lifespan)
and closes the channels on shutdown; tests pass their own clients.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from services.common.settings import Settings, get_settings
from services.gateway.api.main import api_router
from services.gateway.api.routes import health, open311
from services.gateway.clients import GatewayClients
from services.gateway.errors import install_error_handlers
from services.gateway.middleware import AccessLogMiddleware
from services.gateway.security import TokenVerifier

TAGS = [
    {"name": "open311", "description": "Open311 GeoReport v2 for residents and the 311 system (public)."},
    {"name": "cases", "description": "Staff: the work queue and case records (bearer token)."},
    {"name": "complaints", "description": "Staff: complaints taken by phone, email, walk-in or Council."},
    {"name": "dashboard", "description": "Staff and Council: aggregate figures."},
    {"name": "health", "description": "Liveness and readiness probes."},
]


def create_app(settings: Settings | None = None, clients: GatewayClients | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned: GatewayClients | None = None
        if app.state.clients is None:
            # Channels belong to the serving event loop, so they are made here, not above.
            owned = app.state.clients = GatewayClients.from_settings(settings)
        try:
            yield
        finally:
            if owned is not None:
                app.state.clients = None
                await owned.close()

    app = FastAPI(
        title=f"{settings.municipality_name} — By-law Enforcement",
        version="1.0.0",
        summary="Open311 GeoReport v2 and the staff API for by-law enforcement.",
        description=(
            "Complaints in through Open311 (residents, the 311 system) or from staff; cases, "
            "dashboard and town figures for staff behind OIDC bearer tokens. Complainant identity "
            "is never returned by any endpoint (policy 6.3.4)."
        ),
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clients = clients
    app.state.verifier = TokenVerifier(settings)
    app.state.timezone = ZoneInfo(settings.timezone)
    install_error_handlers(app)
    app.add_middleware(AccessLogMiddleware)
    app.include_router(health.router)
    app.include_router(open311.router)
    app.include_router(api_router)
    return app
