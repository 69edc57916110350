"""What the notices use cases need from outside, as protocols (fakes in unit tests)."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any, Protocol

from services.notices.domain.documents import Document, StoredFile
from services.notices.domain.templates import TemplateSpec


class DocumentRepository(Protocol):
    async def get(self, document_id: str) -> Document | None: ...

    async def find_by_step(self, case_number: str, step_key: str) -> Document | None: ...

    async def add(self, document: Document) -> Document: ...

    async def list_for_case(self, case_number: str) -> list[Document]: ...


class UnitOfWork(Protocol):
    @property
    def documents(self) -> DocumentRepository: ...

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


class HtmlRenderer(Protocol):
    def render(self, spec: TemplateSpec, case_number: str, values: Mapping[str, Any]) -> str: ...


class PdfRenderer(Protocol):
    def __call__(self, html: str) -> bytes: ...


class EvidenceStore(Protocol):
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
    ) -> StoredFile: ...
