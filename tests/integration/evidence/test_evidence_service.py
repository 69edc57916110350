"""Evidence through gRPC on real PostgreSQL and the S3 server: chunked upload, content
addressing, idempotency, immutability, EXIF, presigned downloads."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tracemalloc
from collections.abc import AsyncIterator

import grpc
import httpx
import psycopg
import pytest
from bylaw.v1 import common_pb2, evidence_pb2
from minio import Minio

from services.common.errors import InvalidArgument
from services.common.grpc_client import domain_error_from_rpc
from services.common.outbox import libpq_dsn
from tests import infra
from tests.integration.evidence.harness import RunningEvidence, evidence_settings, running_evidence
from tests.unit.evidence.photos import jpeg_with_exif

CASE = "BL-2026-000101"
MIB = 1024 * 1024


def fake_mp4(size: int) -> bytes:
    """An ISO-BMFF header (sniffed as video/mp4) followed by random payload."""
    header = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
    return header + os.urandom(size - len(header))


async def upload_stream(
    data: bytes, *, chunk: int = MIB, **meta: str
) -> AsyncIterator[evidence_pb2.UploadChunk]:
    fields = {
        "case_number": CASE,
        "filename": "clip.mp4",
        "content_type": "video/mp4",
        "kind": "video",
    } | meta
    yield evidence_pb2.UploadChunk(
        metadata=evidence_pb2.UploadMetadata(**fields, actor=common_pb2.Actor(subject="officer-3"))
    )
    for start in range(0, len(data), chunk):
        yield evidence_pb2.UploadChunk(data=data[start : start + chunk])


def s3_client(s3: infra.S3) -> Minio:
    return Minio(
        s3.endpoint, access_key=s3.access_key, secret_key=s3.secret_key, secure=False, region="us-east-1"
    )


@pytest.fixture
async def evidence(database_url: str, s3_server: infra.S3) -> AsyncIterator[RunningEvidence]:
    # A bucket per test keeps object counts independent between tests.
    bucket = f"ev-{os.urandom(4).hex()}"
    async with running_evidence(evidence_settings(database_url, s3_server, s3_bucket=bucket)) as running:
        yield running


def objects(s3: infra.S3, bucket: str) -> list[str]:
    return [o.object_name for o in s3_client(s3).list_objects(bucket, prefix="sha256/", recursive=True)]


async def test_ten_megabytes_in_chunks_are_stored_once(
    evidence: RunningEvidence, s3_server: infra.S3
) -> None:
    data = fake_mp4(10 * MIB)
    digest = hashlib.sha256(data).hexdigest()
    item = await evidence.stub.Upload(upload_stream(data, chunk=MIB))
    assert item.sha256 == digest
    assert item.size_bytes == len(data)
    assert item.content_type == "video/mp4"
    assert item.object_key == f"sha256/{digest}"
    assert objects(s3_server, evidence.settings.s3_bucket) == [f"sha256/{digest}"]
    stat = s3_client(s3_server).stat_object(evidence.settings.s3_bucket, item.object_key)
    assert stat.size == len(data)

    again = await evidence.stub.Upload(upload_stream(data, chunk=256 * 1024, caption="second try"))
    assert again.evidence_id == item.evidence_id
    assert objects(s3_server, evidence.settings.s3_bucket) == [f"sha256/{digest}"]
    listed = await evidence.stub.ListEvidence(evidence_pb2.ListEvidenceRequest(case_number=CASE))
    assert [i.evidence_id for i in listed.items] == [item.evidence_id]


async def test_upload_memory_stays_below_the_file_size(evidence: RunningEvidence) -> None:
    data = fake_mp4(40 * MIB)
    tracemalloc.start()
    try:
        await evidence.stub.Upload(upload_stream(data, chunk=MIB))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Spooled to disk and sent to S3 in 5 MiB parts: the peak (client and server in this
    # process, about 11 MiB measured) does not grow with the 40 MiB file.
    assert peak < 20 * MIB, f"peak {peak / MIB:.1f} MiB"


async def test_presigned_url_downloads_the_bytes(evidence: RunningEvidence) -> None:
    photo = jpeg_with_exif()
    item = await evidence.stub.Upload(
        upload_stream(photo, filename="yard.jpg", content_type="image/jpeg", kind="photo")
    )
    link = await evidence.stub.PresignDownload(
        evidence_pb2.PresignDownloadRequest(evidence_id=item.evidence_id, expires_seconds=120)
    )
    assert link.url.startswith(f"http://{evidence.settings.s3_endpoint}/")
    async with httpx.AsyncClient() as client:
        response = await client.get(link.url)
    assert response.status_code == 200
    assert response.content == photo
    assert response.headers["content-type"] == "image/jpeg"
    assert 'filename="yard.jpg"' in response.headers["content-disposition"]
    # A tampered signature is refused by the server.
    async with httpx.AsyncClient() as client:
        forged = await client.get(link.url.replace("X-Amz-Expires=120", "X-Amz-Expires=9999"))
    assert forged.status_code == 403


async def test_presigned_url_signed_for_the_public_endpoint(database_url: str, s3_server: infra.S3) -> None:
    port = s3_server.endpoint.rsplit(":", 1)[1]
    settings = evidence_settings(
        database_url,
        s3_server,
        s3_bucket=f"ev-{os.urandom(4).hex()}",
        s3_public_endpoint=f"http://localhost:{port}",
    )
    async with running_evidence(settings) as evidence:
        item = await evidence.stub.Upload(
            upload_stream(b"%PDF-1.7\nletter", kind="document", content_type="")
        )
        link = await evidence.stub.PresignDownload(
            evidence_pb2.PresignDownloadRequest(evidence_id=item.evidence_id)
        )
        assert link.url.startswith(f"http://localhost:{port}/")
        async with httpx.AsyncClient() as client:
            response = await client.get(link.url)
        assert response.status_code == 200 and response.content == b"%PDF-1.7\nletter"


async def test_photo_exif_is_recorded(evidence: RunningEvidence) -> None:
    item = await evidence.stub.Upload(
        upload_stream(jpeg_with_exif(), filename="a.jpg", content_type="image/jpeg", kind="photo")
    )
    fetched = await evidence.stub.GetEvidence(evidence_pb2.GetEvidenceRequest(evidence_id=item.evidence_id))
    assert (fetched.captured_point.lat, fetched.captured_point.lon) == (44.2584722, -76.9534722)
    assert fetched.captured_at.ToJsonString() == "2026-05-14T13:30:05Z"  # 09:30 EDT


async def test_concurrent_uploads_of_the_same_bytes_make_one_item(evidence: RunningEvidence) -> None:
    data = fake_mp4(2 * MIB)
    items = await asyncio.gather(*(evidence.stub.Upload(upload_stream(data)) for _ in range(4)))
    assert len({i.evidence_id for i in items}) == 1


async def test_step_key_makes_a_retry_return_the_first_item(evidence: RunningEvidence) -> None:
    def attempt(data: bytes) -> AsyncIterator[evidence_pb2.UploadChunk]:
        return upload_stream(
            data, kind="rendered_notice", content_type="application/pdf", step_key="notice-1/pdf"
        )

    first = await evidence.stub.Upload(attempt(b"%PDF-1.7 first"))
    retry = await evidence.stub.Upload(attempt(b"%PDF-1.7 second"))
    assert retry.evidence_id == first.evidence_id
    assert retry.step_key == "notice-1/pdf"


async def test_rows_are_append_only(evidence: RunningEvidence) -> None:
    item = await evidence.stub.Upload(upload_stream(b"%PDF-1.7 record", kind="document", content_type=""))
    with psycopg.connect(libpq_dsn(evidence.settings.database_url)) as conn:
        for statement in (
            "UPDATE evidence.items SET caption = 'changed' WHERE evidence_id = %s",
            "DELETE FROM evidence.items WHERE evidence_id = %s",
        ):
            with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="immutable"):
                conn.execute(statement, (item.evidence_id,))
            conn.rollback()
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation):
            conn.execute("TRUNCATE evidence.items")
        conn.rollback()
    fetched = await evidence.stub.GetEvidence(evidence_pb2.GetEvidenceRequest(evidence_id=item.evidence_id))
    assert fetched.caption == item.caption


async def test_bad_input_is_invalid_argument_naming_the_field(evidence: RunningEvidence) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await evidence.stub.Upload(
            upload_stream(b"MZ\x90\x00 not evidence", kind="document", content_type="")
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    error = domain_error_from_rpc(err.value)
    assert isinstance(error, InvalidArgument)
    assert [v.field for v in error.violations] == ["data"]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await evidence.stub.GetEvidence(
            evidence_pb2.GetEvidenceRequest(evidence_id="8f0c3c4e-0000-4000-8000-000000000000")
        )
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
