"""gRPC servicer for ``bylaw.v1.EvidenceService``: proto ↔ domain, nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from bylaw.v1 import common_pb2, evidence_pb2, evidence_pb2_grpc
from google.protobuf.timestamp_pb2 import Timestamp
from typing_extensions import override

from services.common.errors import FieldViolation, InvalidArgument
from services.evidence.domain.model import KINDS, EvidenceItem, validate_upload
from services.evidence.service_layer.services import EvidenceService


def _timestamp(value: Any) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def item_to_proto(item: EvidenceItem) -> evidence_pb2.EvidenceItem:
    message = evidence_pb2.EvidenceItem(
        evidence_id=item.evidence_id,
        case_number=item.case_number,
        sha256=item.sha256,
        size_bytes=item.size_bytes,
        content_type=item.content_type,
        filename=item.filename,
        kind=item.kind,
        captured_by=item.captured_by,
        caption=item.caption,
        object_key=item.object_key,
        step_key=item.step_key,
        uploaded_by=item.uploaded_by,
    )
    if item.captured_point is not None:
        message.captured_point.CopyFrom(
            common_pb2.GeoPoint(lat=item.captured_point.lat, lon=item.captured_point.lon)
        )
    if item.captured_at is not None:
        message.captured_at.CopyFrom(_timestamp(item.captured_at))
    if item.stored_at is not None:
        message.stored_at.CopyFrom(_timestamp(item.stored_at))
    return message


class EvidenceServicer(evidence_pb2_grpc.EvidenceServiceServicer):
    def __init__(self, service: EvidenceService) -> None:
        self.service = service

    @override
    async def Upload(
        self, request_iterator: AsyncIterator[evidence_pb2.UploadChunk], context: Any
    ) -> evidence_pb2.EvidenceItem:
        first = await anext(aiter(request_iterator), None)
        if first is None or first.WhichOneof("part") != "metadata":
            raise InvalidArgument(
                FieldViolation("metadata", "the first message of an upload must carry the metadata")
            )
        meta = first.metadata
        request = validate_upload(
            case_number=meta.case_number,
            filename=meta.filename,
            content_type=meta.content_type,
            kind=meta.kind,
            captured_by=meta.captured_by,
            caption=meta.caption,
            step_key=meta.step_key,
            uploaded_by=meta.actor.subject,
        )

        async def data() -> AsyncIterator[bytes]:
            async for chunk in request_iterator:
                if chunk.WhichOneof("part") != "data":
                    raise InvalidArgument(
                        FieldViolation(
                            "metadata", "only the first message may carry metadata; bytes follow it"
                        )
                    )
                yield chunk.data

        return item_to_proto(await self.service.upload(request, data()))

    @override
    async def GetEvidence(
        self, request: evidence_pb2.GetEvidenceRequest, context: Any
    ) -> evidence_pb2.EvidenceItem:
        return item_to_proto(await self.service.get(request.evidence_id))

    @override
    async def ListEvidence(
        self, request: evidence_pb2.ListEvidenceRequest, context: Any
    ) -> evidence_pb2.ListEvidenceResponse:
        violations = []
        if not request.case_number.strip():
            violations.append(FieldViolation("case_number", "is required"))
        if request.kind and request.kind not in KINDS:
            violations.append(FieldViolation("kind", f"must be one of {', '.join(KINDS)} or empty"))
        if violations:
            raise InvalidArgument(violations)
        items = await self.service.list_for_case(request.case_number, request.kind)
        return evidence_pb2.ListEvidenceResponse(items=[item_to_proto(item) for item in items])

    @override
    async def PresignDownload(
        self, request: evidence_pb2.PresignDownloadRequest, context: Any
    ) -> evidence_pb2.PresignDownloadResponse:
        presigned = await self.service.presign_download(
            request.evidence_id, request.expires_seconds, request.actor.subject
        )
        return evidence_pb2.PresignDownloadResponse(
            url=presigned.url, expires_at=_timestamp(presigned.expires_at)
        )
