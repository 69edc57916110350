"""Registering the custom search attributes of DESIGN.md section 3 on a namespace.

The embedded dev server gets them from ``--search-attribute`` flags (devstack/servers.py);
a real or external Temporal (the compose stack, a Helm install) does not, so the worker
calls ``ensure_search_attributes`` at startup. Idempotent: attributes already registered
with the right type are left alone; one registered with another type is an error an
operator must resolve (the workflow's upserts would fail against it).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError, RPCStatusCode

from workflows.contracts import SEARCH_ATTRIBUTE_KEYS

log = logging.getLogger(__name__)


class SearchAttributeConflict(RuntimeError):
    """A custom search attribute exists with a different type than ours."""


async def ensure_search_attributes(
    client: Client,
    namespace: str,
    keys: Iterable[SearchAttributeKey] = SEARCH_ATTRIBUTE_KEYS,  # type: ignore[type-arg]
) -> list[str]:
    """Register every missing attribute of ``keys`` on ``namespace``; return the names added."""
    wanted = {key.name: IndexedValueType.ValueType(int(key.indexed_value_type)) for key in keys}
    registered = await _registered(client, namespace)
    if registered is not None:
        conflicts = [
            f"{name} is {IndexedValueType.Name(registered[name])}, expected {IndexedValueType.Name(kind)}"
            for name, kind in wanted.items()
            if name in registered and registered[name] != kind
        ]
        if conflicts:
            raise SearchAttributeConflict(f"namespace {namespace}: " + "; ".join(conflicts))
        missing = {name: kind for name, kind in wanted.items() if name not in registered}
    else:
        missing = dict(wanted)
    added: list[str] = []
    # One request per attribute: a request naming an existing attribute is refused whole,
    # and another worker may be registering the same ones at the same moment.
    for name, kind in missing.items():
        try:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(namespace=namespace, search_attributes={name: kind})
            )
        except RPCError as err:
            if err.status == RPCStatusCode.ALREADY_EXISTS:
                continue
            raise
        added.append(name)
    if added:
        log.info("registered search attributes", extra={"namespace": namespace, "names": ",".join(added)})
    return added


async def _registered(client: Client, namespace: str) -> dict[str, IndexedValueType.ValueType] | None:
    """Custom attributes on the namespace, or None where the server cannot list them (the
    time-skipping test server implements adding but not listing)."""
    try:
        response = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
    except RPCError as err:
        if err.status == RPCStatusCode.UNIMPLEMENTED:
            return None
        raise
    return dict(response.custom_attributes)
