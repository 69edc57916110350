"""The notices gRPC servicer called directly: Struct contexts and proto mapping."""

from __future__ import annotations

from typing import Any

import pytest
from bylaw.v1 import common_pb2, notices_pb2
from google.protobuf import json_format, struct_pb2

from services.common.errors import InvalidArgument
from services.notices.adapters.template_store import load_catalogue
from services.notices.domain.templates import check_context
from services.notices.entrypoints.grpc_servicer import NoticesServicer
from services.notices.service_layer.services import NoticesService
from tests.unit.notices import contexts
from tests.unit.notices.fakes import (
    CountingHtmlRenderer,
    CountingPdfRenderer,
    FakeDocuments,
    FakeEvidence,
    FakeUnitOfWork,
)


@pytest.fixture
def servicer() -> NoticesServicer:
    documents = FakeDocuments()
    return NoticesServicer(
        NoticesService(
            uow=lambda: FakeUnitOfWork(documents),
            catalogue=load_catalogue(),
            html_renderer=CountingHtmlRenderer(),
            pdf_renderer=CountingPdfRenderer(),
            evidence=FakeEvidence(),
        )
    )


def struct(values: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(values)
    return message


async def test_render_document_from_a_struct_context(servicer: NoticesServicer) -> None:
    request = notices_pb2.RenderDocumentRequest(
        case_number="BL-2026-000007",
        template="compliance_notice",
        step_key="notice-1",
        context=struct(contexts.compliance_notice()),
        actor=common_pb2.Actor(subject="officer-9"),
        formats=["pdf"],
    )
    document = await servicer.RenderDocument(request, None)
    assert document.template == "compliance_notice"
    assert list(document.formats) == ["pdf"]
    assert document.pdf_evidence_id and not document.html_evidence_id
    assert document.rendered_by == "officer-9"
    assert document.HasField("rendered_at")
    listed = await servicer.ListDocuments(
        notices_pb2.ListDocumentsRequest(case_number="BL-2026-000007"), None
    )
    assert [d.document_id for d in listed.documents] == [document.document_id]


def test_numbers_from_a_struct_become_text_without_a_trailing_zero() -> None:
    # Struct carries every number as a double; the notice must say "114", not "114.0".
    context = json_format.MessageToDict(
        struct(contexts.compliance_notice() | {"bylaw_section": 3, "officer_badge": 114})
    )
    values = check_context(load_catalogue().get("compliance_notice"), context)
    assert values["officer_badge"] == "114" and values["bylaw_section"] == "3"


async def test_missing_variable_is_invalid_argument(servicer: NoticesServicer) -> None:
    request = notices_pb2.RenderDocumentRequest(
        case_number="BL-2026-000007", template="plain", step_key="x", context=struct({"subject": "Hi"})
    )
    with pytest.raises(InvalidArgument) as err:
        await servicer.RenderDocument(request, None)
    assert [v.field for v in err.value.violations] == ["context.body"]


async def test_list_templates(servicer: NoticesServicer) -> None:
    reply = await servicer.ListTemplates(notices_pb2.ListTemplatesRequest(), None)
    by_name = {t.name: t for t in reply.templates}
    notice = by_name["compliance_notice"]
    assert "comply_by" in notice.required_variables and "roll_number" in notice.optional_variables
    assert "6.7.4" in notice.policy_sections
    assert any("s. 15.3" in ref for ref in notice.legal_references)
