"""Notices through gRPC on real PostgreSQL, storing through a real in-process evidence
service on the S3 server: real PDFs, idempotent retries, documents recorded once."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import httpx
import pytest
from bylaw.v1 import common_pb2, evidence_pb2, notices_pb2, notices_pb2_grpc
from google.protobuf import struct_pb2

from services.common import db
from services.common.errors import InvalidArgument
from services.common.grpc_client import domain_error_from_rpc, insecure_channel
from services.common.grpc_server import build_server
from services.notices.adapters.orm import metadata
from services.notices.bootstrap import build_service, registration
from tests import infra
from tests.integration.evidence.harness import (
    RunningEvidence,
    evidence_settings,
    migration_drift,
    running_evidence,
)
from tests.unit.notices import contexts

CASE = "BL-2026-000321"


@dataclass
class Stack:
    evidence: RunningEvidence
    notices: notices_pb2_grpc.NoticesServiceStub


@pytest.fixture
async def stack(database_url: str, s3_server: infra.S3) -> AsyncIterator[Stack]:
    settings = evidence_settings(database_url, s3_server, s3_bucket=f"nt-{os.urandom(4).hex()}")
    async with running_evidence(settings) as evidence:
        await db.migrate("notices", database_url)
        engine = db.make_engine(database_url, pool_size=4, application_name="notices-test")
        evidence_channel = insecure_channel(evidence.address)
        service = build_service(settings, db.make_session_factory(engine), evidence_channel)
        server, _, port = await build_server([registration(service)], "127.0.0.1:0")
        await server.start()
        channel = insecure_channel(f"127.0.0.1:{port}")
        try:
            yield Stack(evidence, notices_pb2_grpc.NoticesServiceStub(channel))
        finally:
            await channel.close()
            await server.stop(None)
            await evidence_channel.close()
            await engine.dispose()


def render_request(
    template: str, context: dict[str, Any], step_key: str
) -> notices_pb2.RenderDocumentRequest:
    struct = struct_pb2.Struct()
    struct.update(context)
    return notices_pb2.RenderDocumentRequest(
        case_number=CASE,
        template=template,
        step_key=step_key,
        context=struct,
        actor=common_pb2.Actor(subject="officer-4", roles=["officer"]),
    )


async def download(stack: Stack, evidence_id: str) -> bytes:
    link = await stack.evidence.stub.PresignDownload(
        evidence_pb2.PresignDownloadRequest(evidence_id=evidence_id)
    )
    async with httpx.AsyncClient() as client:
        response = await client.get(link.url)
    response.raise_for_status()
    return response.content


async def test_compliance_notice_renders_a_real_pdf_stored_as_evidence(stack: Stack) -> None:
    document = await stack.notices.RenderDocument(
        render_request("compliance_notice", contexts.compliance_notice(), "enforce/notice-1")
    )
    pdf = await download(stack, document.pdf_evidence_id)
    assert pdf.startswith(b"%PDF-")
    assert len(pdf) > 5_000
    html = await download(stack, document.html_evidence_id)
    assert html.decode() == document.html
    assert "Notice of Violation" in document.html
    pdf_item = await stack.evidence.stub.GetEvidence(
        evidence_pb2.GetEvidenceRequest(evidence_id=document.pdf_evidence_id)
    )
    assert pdf_item.kind == "rendered_notice"
    assert pdf_item.content_type == "application/pdf"
    assert pdf_item.step_key == "enforce/notice-1:pdf"
    assert pdf_item.sha256 == document.sha256 == document.pdf_sha256
    assert pdf_item.uploaded_by == "officer-4"


async def test_a_retry_returns_the_same_document_and_stores_nothing_new(stack: Stack) -> None:
    request = render_request("acknowledgement", contexts.acknowledgement(), "acknowledge")
    # Concurrent attempts of the same step (a retry racing the original) converge.
    racing = await asyncio.gather(*(stack.notices.RenderDocument(request) for _ in range(3)))
    first = racing[0]
    assert {d.document_id for d in racing} == {first.document_id}
    again = await stack.notices.RenderDocument(request)
    assert again == first
    items = await stack.evidence.stub.ListEvidence(evidence_pb2.ListEvidenceRequest(case_number=CASE))
    assert sorted(i.step_key for i in items.items) == ["acknowledge:html", "acknowledge:pdf"]
    listed = await stack.notices.ListDocuments(notices_pb2.ListDocumentsRequest(case_number=CASE))
    assert [d.document_id for d in listed.documents] == [first.document_id]
    fetched = await stack.notices.GetDocument(notices_pb2.GetDocumentRequest(document_id=first.document_id))
    assert fetched == first


async def test_missing_variable_is_invalid_argument_naming_it(stack: Stack) -> None:
    context = contexts.compliance_notice()
    del context["comply_by"]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stack.notices.RenderDocument(render_request("compliance_notice", context, "notice-x"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    error = domain_error_from_rpc(err.value)
    assert isinstance(error, InvalidArgument)
    assert [(v.field, v.policy) for v in error.violations] == [("context.comply_by", "6.7.4")]


async def test_list_templates(stack: Stack) -> None:
    reply = await stack.notices.ListTemplates(notices_pb2.ListTemplatesRequest())
    assert {"acknowledgement", "compliance_notice", "plain"} <= {t.name for t in reply.templates}


def test_migrations_match_models(database_url: str) -> None:
    assert migration_drift("notices", metadata, database_url) == []
