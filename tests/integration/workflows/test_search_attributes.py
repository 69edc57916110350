"""Registering the custom search attributes on a real Temporal (dev server)."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client

from tests.temporal_namespaces import new_namespace
from workflows.contracts import SEARCH_ATTRIBUTE_KEYS
from workflows.search_attributes import SearchAttributeConflict, ensure_search_attributes


async def test_registers_missing_attributes_once(temporal_client: Client) -> None:
    # A namespace the dev server's --search-attribute flags never saw, like a real cluster.
    namespace = await new_namespace(temporal_client)

    added = await ensure_search_attributes(temporal_client, namespace)
    assert sorted(added) == sorted(key.name for key in SEARCH_ATTRIBUTE_KEYS)

    listed = await temporal_client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    assert listed.custom_attributes["CaseStatus"] == IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
    assert listed.custom_attributes["ComplianceDeadline"] == IndexedValueType.INDEXED_VALUE_TYPE_DATETIME

    assert await ensure_search_attributes(temporal_client, namespace) == []


async def test_dev_server_default_namespace_already_has_them(temporal_client: Client) -> None:
    assert await ensure_search_attributes(temporal_client, "default") == []


async def test_an_attribute_of_another_type_is_reported(temporal_client: Client) -> None:
    namespace = await new_namespace(temporal_client)
    await temporal_client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=namespace, search_attributes={"CaseStatus": IndexedValueType.INDEXED_VALUE_TYPE_TEXT}
        )
    )
    with pytest.raises(SearchAttributeConflict, match="CaseStatus is INDEXED_VALUE_TYPE_TEXT"):
        await ensure_search_attributes(temporal_client, namespace)
