"""In-memory fakes of the evidence ports (repository, unit of work, object store)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType

from services.evidence.domain.model import EvidenceItem


class FakeRepository:
    def __init__(self) -> None:
        self.rows: dict[str, EvidenceItem] = {}

    async def get(self, evidence_id: str) -> EvidenceItem | None:
        return self.rows.get(evidence_id)

    async def find_by_step(self, case_number: str, step_key: str) -> EvidenceItem | None:
        return next(
            (i for i in self.rows.values() if i.case_number == case_number and i.step_key == step_key), None
        )

    async def find_by_digest(self, case_number: str, sha256: str) -> EvidenceItem | None:
        return next(
            (i for i in self.rows.values() if i.case_number == case_number and i.sha256 == sha256), None
        )

    async def add(self, item: EvidenceItem) -> EvidenceItem:
        # Mirrors the unique constraints of the real table.
        if item.step_key and (found := await self.find_by_step(item.case_number, item.step_key)):
            return found
        if found := await self.find_by_digest(item.case_number, item.sha256):
            return found
        stored = dataclasses.replace(item, stored_at=datetime.now(UTC))
        self.rows[item.evidence_id] = stored
        return stored

    async def list_for_case(self, case_number: str, kind: str = "") -> list[EvidenceItem]:
        return [
            i for i in self.rows.values() if i.case_number == case_number and (not kind or i.kind == kind)
        ]


class FakeUnitOfWork:
    def __init__(self, repo: FakeRepository) -> None:
        self.items = repo
        self.commits = 0

    async def __aenter__(self) -> FakeUnitOfWork:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    async def commit(self) -> None:
        self.commits += 1


class FakeObjectStore:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.puts = 0

    async def ensure_bucket(self) -> None:
        return None

    async def put_if_absent(self, key: str, path: Path, size: int, content_type: str) -> bool:
        if key in self.objects:
            return False
        data = await asyncio.to_thread(path.read_bytes)
        assert len(data) == size
        self.objects[key] = data
        self.puts += 1
        return True

    async def presign_get(self, key: str, expires: timedelta, filename: str, content_type: str) -> str:
        return f"https://s3.example/{key}?expires={int(expires.total_seconds())}&name={filename}"
