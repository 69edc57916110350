"""PostgreSQL repository and unit of work for evidence items."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import ColumnElement, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.evidence.adapters.orm import ItemRow
from services.evidence.domain.model import EvidenceItem, GeoPoint


def _to_domain(row: ItemRow) -> EvidenceItem:
    point = (
        GeoPoint(row.captured_lat, row.captured_lon)
        if row.captured_lat is not None and row.captured_lon is not None
        else None
    )
    return EvidenceItem(
        evidence_id=str(row.evidence_id),
        case_number=row.case_number,
        sha256=row.sha256,
        size_bytes=row.size_bytes,
        content_type=row.content_type,
        filename=row.filename,
        kind=row.kind,
        captured_point=point,
        captured_at=row.captured_at,
        stored_at=row.stored_at,
        captured_by=row.captured_by,
        caption=row.caption,
        object_key=row.object_key,
        step_key=row.step_key or "",
        uploaded_by=row.uploaded_by,
    )


class SqlEvidenceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _one(self, *criteria: ColumnElement[bool]) -> EvidenceItem | None:
        row = (await self.session.execute(select(ItemRow).where(*criteria))).scalar_one_or_none()
        return _to_domain(row) if row is not None else None

    async def get(self, evidence_id: str) -> EvidenceItem | None:
        return await self._one(ItemRow.evidence_id == evidence_id)

    async def find_by_step(self, case_number: str, step_key: str) -> EvidenceItem | None:
        return await self._one(ItemRow.case_number == case_number, ItemRow.step_key == step_key)

    async def find_by_digest(self, case_number: str, sha256: str) -> EvidenceItem | None:
        return await self._one(ItemRow.case_number == case_number, ItemRow.sha256 == sha256)

    async def add(self, item: EvidenceItem) -> EvidenceItem:
        values = {
            "evidence_id": item.evidence_id,
            "case_number": item.case_number,
            "sha256": item.sha256,
            "size_bytes": item.size_bytes,
            "content_type": item.content_type,
            "filename": item.filename,
            "kind": item.kind,
            "captured_lat": item.captured_point.lat if item.captured_point else None,
            "captured_lon": item.captured_point.lon if item.captured_point else None,
            "captured_at": item.captured_at,
            "captured_by": item.captured_by,
            "caption": item.caption,
            "object_key": item.object_key,
            "step_key": item.step_key or None,
            "uploaded_by": item.uploaded_by,
        }
        # DO NOTHING on any unique violation: a concurrent upload of the same bytes or the
        # same step won, and its row is the answer (the statement waits for it to commit).
        inserted = (
            await self.session.execute(
                insert(ItemRow).values(**values).on_conflict_do_nothing().returning(ItemRow.evidence_id)
            )
        ).scalar_one_or_none()
        if inserted is not None:
            found = await self.get(str(inserted))
        else:
            found = (
                await self.find_by_step(item.case_number, item.step_key) if item.step_key else None
            ) or await self.find_by_digest(item.case_number, item.sha256)
        if found is None:  # pragma: no cover - a conflict implies one of the two exists
            raise RuntimeError("evidence insert conflicted but no existing row was found")
        return found

    async def list_for_case(self, case_number: str, kind: str = "") -> list[EvidenceItem]:
        query = select(ItemRow).where(ItemRow.case_number == case_number)
        if kind:
            query = query.where(ItemRow.kind == kind)
        rows = (await self.session.execute(query.order_by(ItemRow.stored_at, ItemRow.evidence_id))).scalars()
        return [_to_domain(row) for row in rows]


class SqlUnitOfWork:
    """One transaction; rolled back unless ``commit`` was called."""

    items: SqlEvidenceRepository

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> SqlUnitOfWork:
        self._session = self._sessions()
        await self._session.begin()
        self.items = SqlEvidenceRepository(self._session)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._session is not None
        try:
            if self._session.in_transaction():
                await self._session.rollback()
        finally:
            await self._session.close()
            self._session = None

    async def commit(self) -> None:
        assert self._session is not None
        await self._session.commit()
