"""Staff authentication and roles: verifying OIDC bearer tokens and minting dev tokens.

Production verifies RS256 tokens against the identity provider's JWKS
(``BYLAW_OIDC_JWKS_URL``); development and tests use a shared HS256 secret
(``BYLAW_JWT_SECRET``). Either way the issuer, audience and expiry are checked and the
roles come from a ``roles`` claim or Keycloak's ``realm_access.roles``.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from bylaw.v1 import common_pb2

from services.common.settings import Settings

# Clock skew tolerated between the identity provider and us.
LEEWAY_SECONDS = 30
# Asymmetric algorithms accepted from an OIDC provider; never "none", never HS* with a
# public key (the classic algorithm-confusion attack).
JWKS_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256")
DEV_ALGORITHM = "HS256"


class Role(enum.StrEnum):
    """Staff roles (DESIGN.md section 1: who uses the system)."""

    FRONT_COUNTER = "front_counter"
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    CLERK = "clerk"
    CBO = "cbo"  # Chief Building Official (policy 6.5.14 emergency approvals)
    FIRE_CHIEF = "fire_chief"
    CAO = "cao"
    TREASURER = "treasurer"
    COUNCIL = "council"  # aggregate reports only
    ADMIN = "admin"


KNOWN_ROLES = frozenset(r.value for r in Role)


class AuthenticationError(Exception):
    """The bearer token is missing or cannot be trusted (HTTP 401)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """A verified staff member. Never a complainant."""

    subject: str
    roles: frozenset[Role]
    display_name: str = ""

    def has_any(self, roles: Iterable[Role]) -> bool:
        # An administrator may do anything a role-holder may; everything else is explicit.
        return Role.ADMIN in self.roles or any(r in self.roles for r in roles)

    def to_actor(self) -> common_pb2.Actor:
        return common_pb2.Actor(
            subject=self.subject,
            roles=sorted(r.value for r in self.roles),
            display_name=self.display_name,
        )


def roles_from_claims(claims: Mapping[str, Any]) -> frozenset[Role]:
    """Our roles from a ``roles`` claim and/or Keycloak's ``realm_access.roles``; roles we
    do not know (``offline_access``, ``uma_authorization`` ...) are ignored."""
    names: set[str] = set()
    direct = claims.get("roles")
    if isinstance(direct, str):
        names.add(direct)
    elif isinstance(direct, list):
        names.update(r for r in direct if isinstance(r, str))
    realm = claims.get("realm_access")
    if isinstance(realm, Mapping) and isinstance(realm.get("roles"), list):
        names.update(r for r in realm["roles"] if isinstance(r, str))
    return frozenset(Role(n) for n in names if n in KNOWN_ROLES)


class TokenVerifier:
    """Verifies bearer tokens; one per application."""

    def __init__(self, settings: Settings) -> None:
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self._secret = settings.jwt_secret.get_secret_value()
        self._jwks: jwt.PyJWKClient | None = None
        if settings.oidc_jwks_url:
            # Keys are cached; an unknown "kid" refetches (key rotation) at most once per
            # cooldown, so a flood of forged kids cannot hammer the identity provider.
            self._jwks = jwt.PyJWKClient(settings.oidc_jwks_url, cache_keys=True, lifespan=300, timeout=5)

    async def verify(self, token: str) -> Principal:
        if self._jwks is not None:
            # PyJWKClient fetches with urllib (blocking); keep it off the event loop.
            claims = await asyncio.to_thread(self._decode_jwks, token)
        else:
            claims = self._decode(token, self._secret, [DEV_ALGORITHM])
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise AuthenticationError("token has no subject")
        name = claims.get("name") or claims.get("preferred_username") or ""
        return Principal(subject=subject, roles=roles_from_claims(claims), display_name=str(name))

    def _decode_jwks(self, token: str) -> dict[str, Any]:
        assert self._jwks is not None
        try:
            key = self._jwks.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError as exc:
            raise AuthenticationError("identity provider keys are unavailable") from exc
        except jwt.PyJWTError as exc:
            raise AuthenticationError(f"token signing key not recognised: {exc}") from exc
        return self._decode(token, key, list(JWKS_ALGORITHMS))

    def _decode(self, token: str, key: Any, algorithms: list[str]) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthenticationError("token has expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise AuthenticationError("token audience is not this service") from exc
        except jwt.InvalidIssuerError as exc:
            raise AuthenticationError("token issuer is not trusted") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise AuthenticationError(f"token is missing the {exc.claim!r} claim") from exc
        except jwt.PyJWTError as exc:
            raise AuthenticationError("token is not valid") from exc


def mint_dev_token(
    settings: Settings | None = None,
    *,
    subject: str,
    roles: Iterable[Role | str],
    hours: float = 8,
    display_name: str = "",
    now: datetime | None = None,
) -> str:
    """An HS256 token the dev/test gateway accepts. Refused outside dev/test: production
    tokens come from the identity provider only. Without ``settings`` they are read from
    the environment afresh (``make run`` sets BYLAW_ENV just before asking)."""
    settings = settings or Settings()
    if settings.env not in ("dev", "test"):
        raise PermissionError(f"dev tokens are refused when BYLAW_ENV={settings.env}")
    issued = now or datetime.now(UTC)
    role_names = sorted({Role(r).value for r in roles})
    claims: dict[str, Any] = {
        "sub": subject,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": issued,
        "nbf": issued,
        "exp": issued + timedelta(hours=hours),
        "roles": role_names,
    }
    if display_name:
        claims["name"] = display_name
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm=DEV_ALGORITHM)
