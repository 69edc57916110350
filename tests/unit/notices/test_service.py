"""Notices use cases over fakes: idempotent rendering per case step, formats, errors."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.notices.adapters.template_store import load_catalogue
from services.notices.domain.documents import Document, validate_render_request
from services.notices.service_layer.services import NoticesService
from tests.unit.notices import contexts
from tests.unit.notices.fakes import (
    CountingHtmlRenderer,
    CountingPdfRenderer,
    FakeDocuments,
    FakeEvidence,
    FakeUnitOfWork,
)

CASE = "BL-2026-000123"


class Harness:
    def __init__(self) -> None:
        self.documents = FakeDocuments()
        self.html = CountingHtmlRenderer()
        self.pdf = CountingPdfRenderer()
        self.evidence = FakeEvidence()
        self.service = NoticesService(
            uow=lambda: FakeUnitOfWork(self.documents),
            catalogue=load_catalogue(),
            html_renderer=self.html,
            pdf_renderer=self.pdf,
            evidence=self.evidence,
        )

    async def render(
        self, template: str, context: dict[str, Any], step_key: str = "ack", formats: list[str] | None = None
    ) -> Document:
        request = validate_render_request(
            case_number=CASE,
            template=template,
            step_key=step_key,
            formats=formats or [],
            rendered_by="officer-1",
        )
        return await self.service.render(request, context)


@pytest.fixture
def harness() -> Harness:
    return Harness()


async def test_render_stores_html_and_pdf_as_evidence(harness: Harness) -> None:
    document = await harness.render("acknowledgement", contexts.acknowledgement())
    assert document.formats == ("html", "pdf")
    assert document.template_version == "2026.1"
    html_item, html_type, html_bytes = harness.evidence.items[(CASE, "ack:html")]
    pdf_item, pdf_type, pdf_bytes = harness.evidence.items[(CASE, "ack:pdf")]
    assert (html_type, pdf_type) == ("text/html", "application/pdf")
    assert document.html_evidence_id == html_item.evidence_id
    assert document.pdf_evidence_id == pdf_item.evidence_id
    assert document.html_sha256 == hashlib.sha256(html_bytes).hexdigest()
    assert document.sha256 == document.pdf_sha256 == hashlib.sha256(pdf_bytes).hexdigest()
    assert document.legal_references  # recorded as the template version cited them


async def test_a_retry_of_the_step_returns_the_document_and_renders_nothing(harness: Harness) -> None:
    first = await harness.render("acknowledgement", contexts.acknowledgement())
    calls = (harness.html.calls, harness.pdf.calls, harness.evidence.calls)
    again = await harness.render("acknowledgement", contexts.acknowledgement() | {"matter": "Changed"})
    assert again == first
    assert (harness.html.calls, harness.pdf.calls, harness.evidence.calls) == calls
    assert len(harness.documents.rows) == 1


async def test_a_step_key_cannot_be_reused_for_another_template(harness: Harness) -> None:
    await harness.render("acknowledgement", contexts.acknowledgement())
    with pytest.raises(FailedPrecondition, match="already produced"):
        await harness.render("plain", contexts.plain())


async def test_html_only_renders_no_pdf(harness: Harness) -> None:
    document = await harness.render("plain", contexts.plain(), step_key="letter-1", formats=["html"])
    assert document.formats == ("html",)
    assert document.pdf_evidence_id == "" and document.pdf_sha256 == ""
    assert document.sha256 == document.html_sha256
    assert harness.pdf.calls == 0


async def test_missing_variable_stores_nothing(harness: Harness) -> None:
    context = contexts.compliance_notice()
    del context["evidence"]
    with pytest.raises(InvalidArgument) as err:
        await harness.render("compliance_notice", context, step_key="notice-1")
    assert [(v.field, v.policy) for v in err.value.violations] == [("context.evidence", "6.7.1")]
    assert harness.html.calls == harness.evidence.calls == 0
    assert harness.documents.rows == {}


async def test_unknown_template_names_the_field(harness: Harness) -> None:
    with pytest.raises(InvalidArgument) as err:
        await harness.render("order_to_demolish", {})
    assert err.value.violations[0].field == "template"


def test_request_validation() -> None:
    with pytest.raises(InvalidArgument) as err:
        validate_render_request(case_number="", template="", step_key="", formats=["docx"], rendered_by="")
    assert {v.field for v in err.value.violations} == {"case_number", "template", "step_key", "formats"}
    request = validate_render_request(
        case_number=CASE, template="plain", step_key="s", formats=["PDF", "html", "pdf"], rendered_by="x"
    )
    assert request.formats == ("html", "pdf")


async def test_get_and_list(harness: Harness) -> None:
    a = await harness.render("acknowledgement", contexts.acknowledgement(), step_key="ack")
    b = await harness.render("plain", contexts.plain(), step_key="letter")
    assert await harness.service.get(a.document_id) == a
    assert {d.document_id for d in await harness.service.list_for_case(CASE)} == {
        a.document_id,
        b.document_id,
    }
    with pytest.raises(NotFound):
        await harness.service.get("3b0e8c1e-0000-4000-8000-000000000000")
    with pytest.raises(InvalidArgument):
        await harness.service.get("nope")
    with pytest.raises(InvalidArgument):
        await harness.service.list_for_case(" ")


def test_templates_are_listed_by_name(harness: Harness) -> None:
    names = [t.name for t in harness.service.templates()]
    # Sorted by name; later issues add templates (lifecycle, remediation) as data.
    assert names == sorted(names)
    assert {"acknowledgement", "compliance_notice", "plain"} <= set(names)
