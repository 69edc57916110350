"""Session fixtures: real PostgreSQL, NATS, Temporal and S3 servers (see tests/infra.py).

Tests are marked by kind (``unit``, ``workflow``, ``integration``, ``e2e``, ``bench``);
servers start lazily, only when a selected test asks for them.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from tests import infra
from tests.temporal_namespaces import new_namespace

# Tests run with the development secrets; BYLAW_ENV=test accepts them explicitly.
os.environ.setdefault("BYLAW_ENV", "test")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Every test gets its kind from its folder, so `-m unit` etc. select reliably.
    for item in items:
        parts = Path(str(item.fspath)).parts
        for kind in ("unit", "workflow", "integration", "e2e", "bench"):
            if kind in parts:
                item.add_marker(getattr(pytest.mark, kind))


@pytest.fixture(scope="session")
def infra_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("infra")


@pytest.fixture(scope="session")
def postgres_server(infra_dir: Path) -> Iterator[infra.Postgres]:
    with infra.postgres(infra_dir) as pg:
        yield pg


@pytest.fixture
def database_url(postgres_server: infra.Postgres) -> str:
    """A fresh, empty database for one test (services migrate their schemas into it)."""
    return postgres_server.create_database()


@pytest.fixture(scope="session")
def nats_url(infra_dir: Path) -> Iterator[str]:
    with infra.nats(infra_dir) as url:
        yield url


@pytest.fixture(scope="session")
def temporal_address(infra_dir: Path) -> Iterator[str]:
    with infra.temporal_dev_server(infra_dir) as address:
        yield address


@pytest.fixture
async def temporal_namespace(temporal_address: str) -> str:
    """A fresh namespace on the dev server with the custom search attributes registered.

    Tests get their own namespace because case numbers restart in every fresh database, so
    workflow ids (``case-BL-2026-000001``) would otherwise collide across tests."""
    client = await Client.connect(temporal_address)
    return await new_namespace(client, "test", search_attributes=True)


@pytest.fixture(scope="session")
def s3_server(infra_dir: Path) -> Iterator[infra.S3]:
    with infra.s3(infra_dir) as server:
        yield server


@pytest.fixture
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=infra.temporal_test_server_path()
    )
    try:
        yield env
    finally:
        await env.shutdown()
