"""In-memory fakes of the notices ports."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from services.notices.domain.documents import Document, StoredFile
from services.notices.domain.templates import TemplateSpec


class FakeDocuments:
    def __init__(self) -> None:
        self.rows: dict[str, Document] = {}

    async def get(self, document_id: str) -> Document | None:
        return self.rows.get(document_id)

    async def find_by_step(self, case_number: str, step_key: str) -> Document | None:
        return next(
            (d for d in self.rows.values() if d.case_number == case_number and d.step_key == step_key), None
        )

    async def add(self, document: Document) -> Document:
        if found := await self.find_by_step(document.case_number, document.step_key):
            return found
        stored = dataclasses.replace(document, rendered_at=datetime.now(UTC))
        self.rows[document.document_id] = stored
        return stored

    async def list_for_case(self, case_number: str) -> list[Document]:
        return [d for d in self.rows.values() if d.case_number == case_number]


class FakeUnitOfWork:
    def __init__(self, documents: FakeDocuments) -> None:
        self.documents = documents

    async def __aenter__(self) -> FakeUnitOfWork:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    async def commit(self) -> None:
        return None


class CountingHtmlRenderer:
    def __init__(self) -> None:
        self.calls = 0

    def render(self, spec: TemplateSpec, case_number: str, values: Mapping[str, Any]) -> str:
        self.calls += 1
        return f"<p>{spec.name} {case_number} render {self.calls}</p>"


class CountingPdfRenderer:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, html: str) -> bytes:
        self.calls += 1
        return b"%PDF-1.7\n" + html.encode()


class FakeEvidence:
    """Keyed like the real evidence service: one item per (case, step_key)."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], tuple[StoredFile, str, bytes]] = {}
        self.calls = 0

    async def store(
        self,
        *,
        case_number: str,
        step_key: str,
        filename: str,
        content_type: str,
        caption: str,
        data: bytes,
        actor_subject: str,
    ) -> StoredFile:
        self.calls += 1
        key = (case_number, step_key)
        if key not in self.items:
            stored = StoredFile(str(uuid.uuid4()), hashlib.sha256(data).hexdigest())
            self.items[key] = (stored, content_type, data)
        return self.items[key][0]
