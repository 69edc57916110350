"""``python -m services.gateway.devtoken`` and the app factory's own client lifecycle."""

from __future__ import annotations

import os
import subprocess
import sys

import jwt
import pytest

from services.common.settings import DEV_JWT_SECRET, Settings
from services.gateway import devtoken
from services.gateway.app import create_app
from tests.unit.gateway.fakes import gateway_settings


def test_devtoken_prints_a_token_the_gateway_accepts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BYLAW_ENV", "dev")
    assert devtoken.main(["--role", "supervisor", "--role", "officer", "--sub", "alice", "--hours", "2"]) == 0
    printed = capsys.readouterr().out.strip()
    settings = Settings()
    claims = jwt.decode(
        printed,
        settings.jwt_secret.get_secret_value(),
        algorithms=["HS256"],
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
    )
    assert claims["sub"] == "alice"
    assert claims["roles"] == ["officer", "supervisor"]
    assert 2 * 3600 - 60 <= claims["exp"] - claims["iat"] <= 2 * 3600


def test_devtoken_refuses_outside_dev() -> None:
    env = {
        **os.environ,
        "BYLAW_ENV": "prod",
        "BYLAW_JWT_SECRET": "a-real-production-secret-value-0123456789",
        "BYLAW_PII_KEY": "p" * 40,
        "BYLAW_S3_SECRET_KEY": "s3-real",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "services.gateway.devtoken", "--role", "admin", "--sub", "mallory"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "refused" in proc.stderr and "prod" in proc.stderr


def test_devtoken_rejects_unknown_roles(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        devtoken.main(["--role", "mayor", "--sub", "x"])
    assert "invalid choice" in capsys.readouterr().err


def test_devtoken_uses_the_dev_secret_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BYLAW_ENV", "test")
    monkeypatch.delenv("BYLAW_JWT_SECRET", raising=False)
    token = devtoken.mint_dev_token(subject="demo", roles=["clerk"])
    assert jwt.decode(token, DEV_JWT_SECRET, algorithms=["HS256"], audience="bylaw")["sub"] == "demo"


async def test_lifespan_connects_from_settings_and_closes() -> None:
    app = create_app(gateway_settings())
    assert app.state.clients is None
    async with app.router.lifespan_context(app):
        clients = app.state.clients
        assert clients is not None and len(clients.channels) == 5
    assert app.state.clients is None
