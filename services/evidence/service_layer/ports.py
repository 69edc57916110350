"""What the evidence use cases need from the outside world, as protocols, so the service
layer is tested with in-memory fakes and wired to PostgreSQL and S3 in ``bootstrap``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Protocol

from services.evidence.domain.model import EvidenceItem, PhotoMetadata


class EvidenceRepository(Protocol):
    async def get(self, evidence_id: str) -> EvidenceItem | None: ...

    async def find_by_step(self, case_number: str, step_key: str) -> EvidenceItem | None: ...

    async def find_by_digest(self, case_number: str, sha256: str) -> EvidenceItem | None: ...

    async def add(self, item: EvidenceItem) -> EvidenceItem:
        """Insert the item, or return the one already recorded for the same
        (case, sha256) or (case, step_key) — whichever a concurrent upload won."""
        ...

    async def list_for_case(self, case_number: str, kind: str = "") -> list[EvidenceItem]: ...


class UnitOfWork(Protocol):
    @property
    def items(self) -> EvidenceRepository: ...

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


class ObjectStore(Protocol):
    async def ensure_bucket(self) -> None: ...

    async def put_if_absent(self, key: str, path: Path, size: int, content_type: str) -> bool:
        """Store the file under ``key`` unless an object is already there (content
        addressing makes an existing object the same bytes). True when written."""
        ...

    async def presign_get(self, key: str, expires: timedelta, filename: str, content_type: str) -> str: ...


class PhotoMetadataReader(Protocol):
    def __call__(self, path: Path) -> PhotoMetadata: ...
