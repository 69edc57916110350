"""Notices use cases: render a document once per case step, read and list documents,
list the template catalogue."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from services.common.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from services.notices.domain.documents import Document, RenderRequest
from services.notices.domain.templates import Catalogue, TemplateSpec, check_context
from services.notices.service_layer.ports import EvidenceStore, HtmlRenderer, PdfRenderer, UnitOfWorkFactory

log = logging.getLogger(__name__)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class NoticesService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        catalogue: Catalogue,
        html_renderer: HtmlRenderer,
        pdf_renderer: PdfRenderer,
        evidence: EvidenceStore,
        *,
        max_concurrent_pdfs: int = 2,
    ) -> None:
        self.uow = uow
        self.catalogue = catalogue
        self.html_renderer = html_renderer
        self.pdf_renderer = pdf_renderer
        self.evidence = evidence
        # PDF layout is CPU-bound; bound it so a burst of renders cannot starve the
        # event loop's other calls of threads.
        self._pdf_slots = asyncio.Semaphore(max_concurrent_pdfs)

    def templates(self) -> list[TemplateSpec]:
        return sorted(self.catalogue.templates.values(), key=lambda spec: spec.name)

    async def render(self, request: RenderRequest, context: Mapping[str, Any]) -> Document:
        """Render the template for the case step, store it as evidence, record it.

        Idempotent on (case_number, step_key): when the step already has a document it is
        returned and nothing is rendered or stored again."""
        spec = self.catalogue.get(request.template)
        values = check_context(spec, context)
        async with self.uow() as uow:
            existing = await uow.documents.find_by_step(request.case_number, request.step_key)
        if existing is not None:
            return self._same_step(existing, request)

        html = self.html_renderer.render(spec, request.case_number, values)
        html_bytes = html.encode("utf-8")
        pdf_bytes = b""
        if "pdf" in request.formats:
            async with self._pdf_slots:
                pdf_bytes = await asyncio.to_thread(self.pdf_renderer, html)
        base_name = f"{request.case_number}-{spec.name}-v{spec.version}"
        caption = f"{spec.title} (template {spec.name} v{spec.version})"
        html_evidence_id = pdf_evidence_id = ""
        # Evidence uploads are idempotent on their own step keys, so a retry after a crash
        # between an upload and the row below reuses what was stored.
        if "html" in request.formats:
            stored = await self.evidence.store(
                case_number=request.case_number,
                step_key=f"{request.step_key}:html",
                filename=f"{base_name}.html",
                content_type="text/html",
                caption=caption,
                data=html_bytes,
                actor_subject=request.rendered_by,
            )
            html_evidence_id = stored.evidence_id
        pdf_sha256 = ""
        if pdf_bytes:
            stored = await self.evidence.store(
                case_number=request.case_number,
                step_key=f"{request.step_key}:pdf",
                filename=f"{base_name}.pdf",
                content_type="application/pdf",
                caption=caption,
                data=pdf_bytes,
                actor_subject=request.rendered_by,
            )
            pdf_evidence_id = stored.evidence_id
            # The stored PDF is the document of record: after a crash-and-retry it is the
            # first attempt's bytes, so its digest comes from the evidence service.
            pdf_sha256 = stored.sha256
        document = Document(
            document_id=str(uuid.uuid4()),
            case_number=request.case_number,
            step_key=request.step_key,
            template=spec.name,
            template_version=spec.version,
            title=spec.title,
            html=html,
            html_sha256=_sha256(html_bytes),
            pdf_sha256=pdf_sha256,
            html_evidence_id=html_evidence_id,
            pdf_evidence_id=pdf_evidence_id,
            formats=request.formats,
            legal_references=spec.legal_references,
            rendered_by=request.rendered_by,
            rendered_at=None,
        )
        async with self.uow() as uow:
            recorded = await uow.documents.add(document)
            await uow.commit()
        if recorded.document_id != document.document_id:
            return self._same_step(recorded, request)
        log.info(
            "document rendered",
            extra={
                "case_number": recorded.case_number,
                "document_id": recorded.document_id,
                "template": f"{spec.name}@{spec.version}",
                "pdf_bytes": len(pdf_bytes),
            },
        )
        return recorded

    @staticmethod
    def _same_step(existing: Document, request: RenderRequest) -> Document:
        if existing.template != request.template:
            raise FailedPrecondition(
                f"step {request.step_key!r} of case {request.case_number} already produced a "
                f"{existing.template!r} document ({existing.document_id}); use a new step_key"
            )
        return existing

    async def get(self, document_id: str) -> Document:
        try:
            document_id = str(uuid.UUID(document_id))
        except ValueError:
            raise InvalidArgument(FieldViolation("document_id", "must be a UUID")) from None
        async with self.uow() as uow:
            document = await uow.documents.get(document_id)
        if document is None:
            raise NotFound(f"document {document_id} not found")
        return document

    async def list_for_case(self, case_number: str) -> list[Document]:
        if not case_number.strip():
            raise InvalidArgument(FieldViolation("case_number", "is required"))
        async with self.uow() as uow:
            return await uow.documents.list_for_case(case_number.strip())
