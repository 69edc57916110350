"""Bearer-token authentication and role checks: HS256 in dev/test, RS256 through a JWKS
served by a local HTTP server, Keycloak-style roles, 401 vs 403."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from services.common.settings import Settings
from services.gateway.app import create_app
from services.gateway.security import (
    AuthenticationError,
    Principal,
    Role,
    TokenVerifier,
    mint_dev_token,
    roles_from_claims,
)
from tests.unit.gateway.fakes import TEST_SECRET, Fakes, auth, gateway_settings, token

CASES = "/api/v1/cases"


def claims(settings: Settings, **overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    base: dict[str, Any] = {
        "sub": "alice",
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + timedelta(hours=1),
        "roles": ["officer"],
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


async def test_no_token_is_401_with_a_clear_body(client: httpx.AsyncClient) -> None:
    resp = await client.get(CASES)
    assert resp.status_code == 401
    assert "Authorization: Bearer" in resp.json()["detail"]
    assert resp.headers["www-authenticate"].startswith("Bearer")


async def test_non_bearer_scheme_is_401(client: httpx.AsyncClient) -> None:
    resp = await client.get(CASES, headers={"Authorization": "Basic YWxpY2U6cHc="})
    assert resp.status_code == 401


async def test_good_token_is_200(client: httpx.AsyncClient, settings: Settings) -> None:
    resp = await client.get(CASES, headers=auth(settings, Role.OFFICER))
    assert resp.status_code == 200


async def test_wrong_role_is_403(client: httpx.AsyncClient, settings: Settings) -> None:
    resp = await client.get(CASES, headers=auth(settings, Role.COUNCIL))
    assert resp.status_code == 403
    assert "officer" in resp.json()["detail"]


async def test_token_without_known_roles_is_403(client: httpx.AsyncClient, settings: Settings) -> None:
    bad = jwt.encode(claims(settings, roles=["offline_access"]), TEST_SECRET, algorithm="HS256")
    resp = await client.get("/api/v1/town", headers={"Authorization": f"Bearer {bad}"})
    assert resp.status_code == 403


async def test_admin_passes_every_role_check(client: httpx.AsyncClient, settings: Settings) -> None:
    assert (await client.get(CASES, headers=auth(settings, Role.ADMIN))).status_code == 200


async def test_expired_token_is_401(client: httpx.AsyncClient, settings: Settings) -> None:
    past = datetime.now(UTC) - timedelta(hours=3)
    expired = mint_dev_token(settings, subject="alice", roles=["officer"], hours=1, now=past)
    resp = await client.get(CASES, headers={"Authorization": f"Bearer {expired}"})
    assert resp.status_code == 401
    assert "expired" in resp.json()["detail"]


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"aud": "someone-else"}, "audience"),
        ({"iss": "https://evil.example"}, "issuer"),
        ({"exp": None}, "'exp'"),
        ({"sub": None}, "'sub'"),
    ],
)
async def test_bad_claims_are_401(
    client: httpx.AsyncClient, settings: Settings, override: dict[str, Any], reason: str
) -> None:
    bad = jwt.encode(claims(settings, **override), TEST_SECRET, algorithm="HS256")
    resp = await client.get(CASES, headers={"Authorization": f"Bearer {bad}"})
    assert resp.status_code == 401
    assert reason in resp.json()["detail"]


async def test_wrong_secret_and_garbage_are_401(client: httpx.AsyncClient, settings: Settings) -> None:
    forged = jwt.encode(claims(settings), "another-secret-of-sufficient-length!!", algorithm="HS256")
    for bearer in (forged, "not.a.jwt", "x"):
        resp = await client.get(CASES, headers={"Authorization": f"Bearer {bearer}"})
        assert resp.status_code == 401


async def test_unsigned_token_is_401(client: httpx.AsyncClient, settings: Settings) -> None:
    unsigned = jwt.encode(claims(settings), "", algorithm="none")
    resp = await client.get(CASES, headers={"Authorization": f"Bearer {unsigned}"})
    assert resp.status_code == 401


def test_roles_from_roles_claim_and_keycloak_realm_access() -> None:
    assert roles_from_claims({"roles": ["officer", "offline_access"]}) == {Role.OFFICER}
    assert roles_from_claims({"roles": "clerk"}) == {Role.CLERK}
    assert roles_from_claims({"realm_access": {"roles": ["supervisor", "uma_authorization"]}}) == {
        Role.SUPERVISOR
    }
    assert roles_from_claims({"roles": ["cao"], "realm_access": {"roles": ["fire_chief"]}}) == {
        Role.CAO,
        Role.FIRE_CHIEF,
    }
    assert roles_from_claims({"roles": 7, "realm_access": "x"}) == frozenset()


async def test_keycloak_realm_roles_grant_access(client: httpx.AsyncClient, settings: Settings) -> None:
    kc = jwt.encode(
        claims(settings, roles=None, realm_access={"roles": ["front_counter"]}, preferred_username="bob"),
        TEST_SECRET,
        algorithm="HS256",
    )
    resp = await client.get(CASES, headers={"Authorization": f"Bearer {kc}"})
    assert resp.status_code == 200


async def test_actor_sent_to_services_comes_from_the_token(
    client: httpx.AsyncClient, settings: Settings, fakes: Fakes
) -> None:
    bearer = mint_dev_token(
        settings, subject="officer-7", roles=["officer", "clerk"], display_name="Jo Officer"
    )
    await client.get(CASES, headers={"Authorization": f"Bearer {bearer}"})
    actor = fakes.cases.list_requests[-1].actor
    assert actor.subject == "officer-7"
    assert list(actor.roles) == ["clerk", "officer"]
    assert actor.display_name == "Jo Officer"


def test_dev_tokens_are_refused_outside_dev_and_test() -> None:
    prod = Settings(
        env="prod",
        jwt_secret="a-real-production-secret-value-0123456789",
        pii_key="k" * 40,
        s3_secret_key="s3",
    )
    with pytest.raises(PermissionError):
        mint_dev_token(prod, subject="alice", roles=["admin"])


# --- RS256 through a JWKS ------------------------------------------------------------------


class _Jwks:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.document = {"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}
        self.fetches = 0


@pytest.fixture
def jwks_server() -> Iterator[tuple[str, _Jwks]]:
    jwks = _Jwks()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            jwks.fetches += 1
            body = json.dumps(jwks.document).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/realms/bylaw/protocol/openid-connect/certs", jwks
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
async def oidc_client(
    jwks_server: tuple[str, _Jwks], fakes: Fakes
) -> AsyncIterator[tuple[httpx.AsyncClient, Settings, _Jwks]]:
    url, jwks = jwks_server
    settings = gateway_settings(
        oidc_jwks_url=url, jwt_issuer="https://id.example/realms/bylaw", jwt_audience="bylaw"
    )
    app = create_app(settings, fakes.clients)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as c:
        yield c, settings, jwks


async def test_rs256_token_verified_through_jwks(
    oidc_client: tuple[httpx.AsyncClient, Settings, _Jwks],
) -> None:
    client, settings, jwks = oidc_client
    good = jwt.encode(
        claims(settings, roles=["supervisor"]), jwks.key, algorithm="RS256", headers={"kid": "k1"}
    )
    resp = await client.get(CASES, headers={"Authorization": f"Bearer {good}"})
    assert resp.status_code == 200, resp.text
    # Keys are cached: a second request does not refetch.
    assert (await client.get(CASES, headers={"Authorization": f"Bearer {good}"})).status_code == 200
    assert jwks.fetches == 1


async def test_rs256_wrong_key_expired_and_hs256_are_401(
    oidc_client: tuple[httpx.AsyncClient, Settings, _Jwks],
) -> None:
    client, settings, jwks = oidc_client
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims(settings), other, algorithm="RS256", headers={"kid": "k1"})
    expired = jwt.encode(
        claims(settings, exp=datetime.now(UTC) - timedelta(minutes=5)),
        jwks.key,
        algorithm="RS256",
        headers={"kid": "k1"},
    )
    unknown_kid = jwt.encode(claims(settings), jwks.key, algorithm="RS256", headers={"kid": "k9"})
    # With an OIDC provider configured the shared dev secret is not accepted.
    hs256 = jwt.encode(claims(settings), settings.jwt_secret.get_secret_value(), algorithm="HS256")
    for bearer, reason in ((forged, "not valid"), (expired, "expired"), (unknown_kid, "key"), (hs256, "")):
        resp = await client.get(CASES, headers={"Authorization": f"Bearer {bearer}"})
        assert resp.status_code == 401, (reason, resp.text)
        assert reason in resp.json()["detail"]


async def test_rs256_wrong_role_is_403(oidc_client: tuple[httpx.AsyncClient, Settings, _Jwks]) -> None:
    client, settings, jwks = oidc_client
    council = jwt.encode(
        claims(settings, roles=None, realm_access={"roles": ["council"]}),
        jwks.key,
        algorithm="RS256",
        headers={"kid": "k1"},
    )
    assert (await client.get(CASES, headers={"Authorization": f"Bearer {council}"})).status_code == 403
    assert (
        await client.get("/api/v1/dashboard", headers={"Authorization": f"Bearer {council}"})
    ).status_code == 200


async def test_verifier_reports_unreachable_identity_provider() -> None:
    from tests.unit.gateway.fakes import dead_address

    settings = gateway_settings(oidc_jwks_url=f"http://{dead_address()}/certs")
    verifier = TokenVerifier(settings)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    bearer = jwt.encode(claims(settings), key, algorithm="RS256", headers={"kid": "k1"})
    with pytest.raises(AuthenticationError, match="unavailable"):
        await verifier.verify(bearer)


def test_principal_to_actor_and_role_checks() -> None:
    p = Principal("bob", frozenset({Role.OFFICER}), "Bob")
    assert p.has_any([Role.OFFICER, Role.CLERK])
    assert not p.has_any([Role.SUPERVISOR])
    assert Principal("root", frozenset({Role.ADMIN})).has_any([Role.CAO])
    actor = p.to_actor()
    assert (actor.subject, list(actor.roles), actor.display_name) == ("bob", ["officer"], "Bob")


def test_token_helper_round_trip(settings: Settings) -> None:
    decoded = jwt.decode(
        token(settings, Role.CLERK), TEST_SECRET, algorithms=["HS256"], audience=settings.jwt_audience
    )
    assert decoded["roles"] == ["clerk"]
    assert decoded["iss"] == settings.jwt_issuer
