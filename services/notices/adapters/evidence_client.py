"""Storing rendered documents through the evidence service's streaming Upload."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
from bylaw.v1 import common_pb2, evidence_pb2, evidence_pb2_grpc

from services.common.errors import Unavailable
from services.common.grpc_client import domain_error_from_rpc
from services.notices.domain.documents import StoredFile

CHUNK_BYTES = 256 * 1024


class GrpcEvidenceStore:
    def __init__(self, channel: grpc.aio.Channel, *, timeout: float = 60.0) -> None:
        self.stub = evidence_pb2_grpc.EvidenceServiceStub(channel)
        self.timeout = timeout

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
        async def chunks() -> AsyncIterator[evidence_pb2.UploadChunk]:
            yield evidence_pb2.UploadChunk(
                metadata=evidence_pb2.UploadMetadata(
                    case_number=case_number,
                    filename=filename,
                    content_type=content_type,
                    kind="rendered_notice",
                    caption=caption,
                    step_key=step_key,
                    actor=common_pb2.Actor(subject=actor_subject),
                )
            )
            for start in range(0, len(data), CHUNK_BYTES):
                yield evidence_pb2.UploadChunk(data=data[start : start + CHUNK_BYTES])

        try:
            item = await self.stub.Upload(chunks(), timeout=self.timeout)
        except grpc.aio.AioRpcError as exc:
            raise domain_error_from_rpc(exc) or Unavailable(f"evidence service: {exc.details()}") from exc
        return StoredFile(evidence_id=item.evidence_id, sha256=item.sha256)
