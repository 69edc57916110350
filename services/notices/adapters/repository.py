"""PostgreSQL repository and unit of work for rendered documents."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import ColumnElement, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notices.adapters.orm import DocumentRow
from services.notices.domain.documents import Document


def _to_domain(row: DocumentRow) -> Document:
    return Document(
        document_id=str(row.document_id),
        case_number=row.case_number,
        step_key=row.step_key,
        template=row.template,
        template_version=row.template_version,
        title=row.title,
        html=row.html,
        html_sha256=row.html_sha256,
        pdf_sha256=row.pdf_sha256,
        html_evidence_id=row.html_evidence_id,
        pdf_evidence_id=row.pdf_evidence_id,
        formats=tuple(row.formats),
        legal_references=tuple(row.legal_references),
        rendered_by=row.rendered_by,
        rendered_at=row.rendered_at,
    )


class SqlDocumentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _one(self, *criteria: ColumnElement[bool]) -> Document | None:
        row = (await self.session.execute(select(DocumentRow).where(*criteria))).scalar_one_or_none()
        return _to_domain(row) if row is not None else None

    async def get(self, document_id: str) -> Document | None:
        return await self._one(DocumentRow.document_id == document_id)

    async def find_by_step(self, case_number: str, step_key: str) -> Document | None:
        return await self._one(DocumentRow.case_number == case_number, DocumentRow.step_key == step_key)

    async def add(self, document: Document) -> Document:
        """Insert, or return the document a concurrent render of the same step recorded."""
        inserted = (
            await self.session.execute(
                insert(DocumentRow)
                .values(
                    document_id=document.document_id,
                    case_number=document.case_number,
                    step_key=document.step_key,
                    template=document.template,
                    template_version=document.template_version,
                    title=document.title,
                    html=document.html,
                    html_sha256=document.html_sha256,
                    pdf_sha256=document.pdf_sha256,
                    html_evidence_id=document.html_evidence_id,
                    pdf_evidence_id=document.pdf_evidence_id,
                    formats=list(document.formats),
                    legal_references=list(document.legal_references),
                    rendered_by=document.rendered_by,
                )
                .on_conflict_do_nothing(constraint="uq_documents_case_number_step_key")
                .returning(DocumentRow.document_id)
            )
        ).scalar_one_or_none()
        found = (
            await self.get(str(inserted))
            if inserted is not None
            else await self.find_by_step(document.case_number, document.step_key)
        )
        if found is None:  # pragma: no cover - the conflict implies the row exists
            raise RuntimeError("document insert conflicted but no existing row was found")
        return found

    async def list_for_case(self, case_number: str) -> list[Document]:
        rows = (
            await self.session.execute(
                select(DocumentRow)
                .where(DocumentRow.case_number == case_number)
                .order_by(DocumentRow.rendered_at, DocumentRow.document_id)
            )
        ).scalars()
        return [_to_domain(row) for row in rows]


class SqlUnitOfWork:
    """One transaction; rolled back unless ``commit`` was called."""

    documents: SqlDocumentRepository

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> SqlUnitOfWork:
        self._session = self._sessions()
        await self._session.begin()
        self.documents = SqlDocumentRepository(self._session)
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
