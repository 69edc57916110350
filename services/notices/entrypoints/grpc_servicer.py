"""gRPC servicer for ``bylaw.v1.NoticesService``: proto ↔ domain, nothing else."""

from __future__ import annotations

from typing import Any

from bylaw.v1 import notices_pb2, notices_pb2_grpc
from google.protobuf import json_format
from google.protobuf.timestamp_pb2 import Timestamp
from typing_extensions import override

from services.notices.domain.documents import Document, validate_render_request
from services.notices.domain.templates import TemplateSpec
from services.notices.service_layer.services import NoticesService


def document_to_proto(document: Document) -> notices_pb2.Document:
    message = notices_pb2.Document(
        document_id=document.document_id,
        case_number=document.case_number,
        template=document.template,
        template_version=document.template_version,
        step_key=document.step_key,
        title=document.title,
        html=document.html,
        pdf_evidence_id=document.pdf_evidence_id,
        html_evidence_id=document.html_evidence_id,
        sha256=document.sha256,
        formats=list(document.formats),
        legal_references=list(document.legal_references),
        html_sha256=document.html_sha256,
        pdf_sha256=document.pdf_sha256,
        rendered_by=document.rendered_by,
    )
    if document.rendered_at is not None:
        stamp = Timestamp()
        stamp.FromDatetime(document.rendered_at)
        message.rendered_at.CopyFrom(stamp)
    return message


def template_to_proto(spec: TemplateSpec) -> notices_pb2.TemplateInfo:
    return notices_pb2.TemplateInfo(
        name=spec.name,
        title=spec.title,
        version=spec.version,
        legal_references=list(spec.legal_references),
        required_variables=list(spec.required),
        optional_variables=list(spec.optional),
        policy_sections=list(spec.policy_sections),
        description=spec.description,
    )


class NoticesServicer(notices_pb2_grpc.NoticesServiceServicer):
    def __init__(self, service: NoticesService) -> None:
        self.service = service

    @override
    async def RenderDocument(
        self, request: notices_pb2.RenderDocumentRequest, context: Any
    ) -> notices_pb2.Document:
        render = validate_render_request(
            case_number=request.case_number,
            template=request.template,
            step_key=request.step_key,
            formats=list(request.formats),
            rendered_by=request.actor.subject,
        )
        variables = json_format.MessageToDict(request.context)
        return document_to_proto(await self.service.render(render, variables))

    @override
    async def GetDocument(
        self, request: notices_pb2.GetDocumentRequest, context: Any
    ) -> notices_pb2.Document:
        return document_to_proto(await self.service.get(request.document_id))

    @override
    async def ListDocuments(
        self, request: notices_pb2.ListDocumentsRequest, context: Any
    ) -> notices_pb2.ListDocumentsResponse:
        documents = await self.service.list_for_case(request.case_number)
        return notices_pb2.ListDocumentsResponse(documents=[document_to_proto(d) for d in documents])

    @override
    async def ListTemplates(
        self, request: notices_pb2.ListTemplatesRequest, context: Any
    ) -> notices_pb2.ListTemplatesResponse:
        return notices_pb2.ListTemplatesResponse(
            templates=[template_to_proto(spec) for spec in self.service.templates()]
        )
