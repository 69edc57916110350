"""Fresh Temporal namespaces for tests, on the dev server the suite shares.

The server rate-limits namespace registration (the APIs that would replicate a namespace
are held to a few per second), and a fast suite asks for one per test: a refusal for rate
is waited out, never a failure.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from google.protobuf.duration_pb2 import Duration
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from workflows.search_attributes import ensure_search_attributes

T = TypeVar("T")
READY_WITHIN_SECONDS = 30.0


async def _patiently(call: Callable[[], Awaitable[T]], *, within: float = READY_WITHIN_SECONDS) -> T:
    """``call()``, again after a pause whenever the server says it is over its rate."""
    deadline = asyncio.get_running_loop().time() + within
    pause = 0.1
    while True:
        try:
            return await call()
        except RPCError as err:
            over_rate = err.status is RPCStatusCode.RESOURCE_EXHAUSTED
            if not over_rate or asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, 2.0)


async def new_namespace(client: Client, prefix: str = "ns", *, search_attributes: bool = False) -> str:
    """A namespace of its own, usable once it answers describe; with our custom search
    attributes registered when asked."""
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    retention = Duration(seconds=86400)
    request = RegisterNamespaceRequest(namespace=name, workflow_execution_retention_period=retention)
    await _patiently(lambda: client.workflow_service.register_namespace(request))
    deadline = asyncio.get_running_loop().time() + READY_WITHIN_SECONDS
    while True:
        try:
            await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=name))
            break
        except RPCError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)
    if search_attributes:
        await _patiently(lambda: ensure_search_attributes(client, name))
    return name
