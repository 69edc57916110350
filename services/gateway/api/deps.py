"""FastAPI dependencies (``Annotated`` aliases, as in full-stack-fastapi-template): settings,
service clients, the verified staff principal, and role checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.common.settings import Settings
from services.gateway.clients import GatewayClients
from services.gateway.security import AuthenticationError, Principal, Role, TokenVerifier


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_clients(request: Request) -> GatewayClients:
    clients: GatewayClients | None = getattr(request.app.state, "clients", None)
    if clients is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "gateway is starting")
    return clients


def get_timezone(request: Request) -> ZoneInfo:
    tz: ZoneInfo = request.app.state.timezone
    return tz


SettingsDep = Annotated[Settings, Depends(get_settings)]
ClientsDep = Annotated[GatewayClients, Depends(get_clients)]
TimezoneDep = Annotated[ZoneInfo, Depends(get_timezone)]

bearer_scheme = HTTPBearer(
    auto_error=False,
    bearerFormat="JWT",
    description=(
        "An OIDC access token (dev: `python -m services.gateway.devtoken --role supervisor --sub you`)."
    ),
)


def _unauthorised(reason: str) -> HTTPException:
    # RFC 6750: say why in the header as well as the body.
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        f"authentication required: {reason}",
        headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{reason}"'},
    )


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "authentication required: send Authorization: Bearer <token>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    verifier: TokenVerifier = request.app.state.verifier
    try:
        return await verifier.verify(credentials.credentials)
    except AuthenticationError as exc:
        raise _unauthorised(str(exc)) from None


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting staff holding any of ``roles`` (or ``admin``); 403 otherwise."""
    allowed = ", ".join(r.value for r in roles)

    async def dependency(principal: PrincipalDep) -> Principal:
        if not principal.has_any(roles):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"requires one of the roles: {allowed}")
        return principal

    return dependency


# Who may do what. Council sees aggregate reports only (DESIGN.md section 1); complainant
# identity is not exposed through any of these (policy 6.3.4).
CASE_READERS = (
    Role.FRONT_COUNTER,
    Role.OFFICER,
    Role.SUPERVISOR,
    Role.CLERK,
    Role.CBO,
    Role.FIRE_CHIEF,
    Role.CAO,
    Role.TREASURER,
)
COMPLAINT_TAKERS = (Role.FRONT_COUNTER, Role.OFFICER, Role.SUPERVISOR, Role.CLERK)
ALL_STAFF = tuple(Role)

CaseReader = Annotated[Principal, Depends(require_roles(*CASE_READERS))]
ComplaintTaker = Annotated[Principal, Depends(require_roles(*COMPLAINT_TAKERS))]
AnyStaff = Annotated[Principal, Depends(require_roles(*ALL_STAFF))]
