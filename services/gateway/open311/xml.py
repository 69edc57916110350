"""GeoReport v2 XML: the same documents as the JSON variants, rendered with the stdlib.

The spec's XML wraps lists in a plural root (``<services><service>``,
``<service_requests><request>``, ``<errors><error>``); nulls are empty elements and
booleans are ``true``/``false``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from xml.etree import ElementTree as ET

# Nested lists inside a document, by the element name of their items.
_ITEM_TAG = {"attributes": "attribute", "values": "value"}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(element: ET.Element, document: Mapping[str, Any]) -> None:
    for key, value in document.items():
        child = ET.SubElement(element, key)
        if isinstance(value, Mapping):
            _fill(child, value)
        elif isinstance(value, list):
            item_tag = _ITEM_TAG.get(key, "item")
            for item in value:
                sub = ET.SubElement(child, item_tag)
                if isinstance(item, Mapping):
                    _fill(sub, item)
                else:
                    sub.text = _text(item)
        else:
            child.text = _text(value)


def _serialise(root: ET.Element) -> bytes:
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def document_list(root_tag: str, item_tag: str, items: Sequence[Mapping[str, Any]]) -> bytes:
    root = ET.Element(root_tag)
    for item in items:
        _fill(ET.SubElement(root, item_tag), item)
    return _serialise(root)


def document(root_tag: str, body: Mapping[str, Any]) -> bytes:
    root = ET.Element(root_tag)
    _fill(root, body)
    return _serialise(root)


def services(items: Sequence[Mapping[str, Any]]) -> bytes:
    return document_list("services", "service", items)


def service_requests(items: Sequence[Mapping[str, Any]]) -> bytes:
    return document_list("service_requests", "request", items)


def service_definition(body: Mapping[str, Any]) -> bytes:
    return document("service_definition", body)


def errors(items: Sequence[Mapping[str, Any]]) -> bytes:
    return document_list("errors", "error", items)
