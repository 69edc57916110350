"""Evidence use cases: upload (idempotent, content-addressed), read, list, presign."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.common.errors import NotFound
from services.evidence.adapters.spool import spool
from services.evidence.domain.content_types import resolve_content_type
from services.evidence.domain.model import (
    MAX_UPLOAD_BYTES,
    EvidenceItem,
    PhotoMetadata,
    UploadRequest,
    check_kind_matches,
    new_evidence_id,
    object_key_for,
    parse_evidence_id,
    validate_expiry,
)
from services.evidence.service_layer.ports import ObjectStore, PhotoMetadataReader, UnitOfWorkFactory

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PresignedUrl:
    url: str
    expires_at: datetime


class EvidenceService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        store: ObjectStore,
        read_photo_metadata: PhotoMetadataReader,
        *,
        spool_dir: Path | None = None,
        max_upload_bytes: int = MAX_UPLOAD_BYTES,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.uow = uow
        self.store = store
        self.read_photo_metadata = read_photo_metadata
        self.spool_dir = spool_dir
        self.max_upload_bytes = max_upload_bytes
        self.clock = clock

    async def upload(self, request: UploadRequest, chunks: AsyncIterable[bytes]) -> EvidenceItem:
        """Store the streamed bytes for the case, once.

        Idempotent: a retry of the same workflow step (case, step_key) or the same bytes
        for the same case (case, sha256) returns the item already recorded, and the object
        store is written at most once per distinct content."""
        async with spool(chunks, max_bytes=self.max_upload_bytes, directory=self.spool_dir) as spooled:
            content_type = resolve_content_type(request.declared_content_type, spooled.head)
            check_kind_matches(request.kind, content_type)
            async with self.uow() as uow:
                existing = (
                    await uow.items.find_by_step(request.case_number, request.step_key)
                    if request.step_key
                    else None
                ) or await uow.items.find_by_digest(request.case_number, spooled.sha256)
            if existing is not None:
                # The first completed attempt of a step stands, even if a re-render produced
                # different bytes (PDF timestamps); callers key retries on step_key for this.
                log.info(
                    "evidence already recorded",
                    extra={"case_number": request.case_number, "evidence_id": existing.evidence_id},
                )
                return existing
            photo = (
                await asyncio.to_thread(self.read_photo_metadata, spooled.path)
                if content_type.startswith("image/")
                else PhotoMetadata()
            )
            key = object_key_for(spooled.sha256)
            # Object first, row second: a row never points at a missing object. A crash in
            # between leaves an unreferenced object that the retry reuses (same address).
            written = await self.store.put_if_absent(key, spooled.path, spooled.size, content_type)
            item = EvidenceItem(
                evidence_id=new_evidence_id(),
                case_number=request.case_number,
                sha256=spooled.sha256,
                size_bytes=spooled.size,
                content_type=content_type,
                filename=request.filename,
                kind=request.kind,
                captured_point=photo.point,
                captured_at=photo.captured_at,
                stored_at=None,
                captured_by=request.captured_by,
                caption=request.caption,
                object_key=key,
                step_key=request.step_key,
                uploaded_by=request.uploaded_by,
            )
            async with self.uow() as uow:
                stored = await uow.items.add(item)
                await uow.commit()
        log.info(
            "evidence stored",
            extra={
                "case_number": stored.case_number,
                "evidence_id": stored.evidence_id,
                "bytes": stored.size_bytes,
                "new_object": written,
            },
        )
        return stored

    async def get(self, evidence_id: str) -> EvidenceItem:
        evidence_id = parse_evidence_id(evidence_id)
        async with self.uow() as uow:
            item = await uow.items.get(evidence_id)
        if item is None:
            raise NotFound(f"evidence {evidence_id} not found")
        return item

    async def list_for_case(self, case_number: str, kind: str = "") -> list[EvidenceItem]:
        async with self.uow() as uow:
            return await uow.items.list_for_case(case_number.strip(), kind)

    async def presign_download(self, evidence_id: str, expires_seconds: int, actor: str) -> PresignedUrl:
        seconds = validate_expiry(expires_seconds)
        item = await self.get(evidence_id)
        url = await self.store.presign_get(
            item.object_key, timedelta(seconds=seconds), item.filename, item.content_type
        )
        # Who opened which evidence is part of the record of steps taken (policy 6.5.10 f).
        log.info(
            "evidence download link issued",
            extra={"evidence_id": item.evidence_id, "case_number": item.case_number, "actor": actor},
        )
        return PresignedUrl(url=url, expires_at=self.clock() + timedelta(seconds=seconds))
