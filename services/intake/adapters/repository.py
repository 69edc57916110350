"""PostgreSQL implementations of the intake repositories.

Core statements on the typed tables (no ORM unit-of-work on the hot path: each method is
one short transaction of a few statements, which is what 311 volume needs). The two
statements every complaint runs (record, finish) are group-committed: complaints reaching
that step together share one pipelined transaction (``services.common.coalesce``). Identity
is encrypted before it reaches SQLAlchemy and decrypted only in ``read_vault``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Row, and_, func, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from services.common import outbox as outbox_lib
from services.common.coalesce import Coalescer
from services.common.db import first_rows_each, psycopg_sql, session_scope
from services.intake.adapters import orm
from services.intake.adapters.vault import VaultCipher
from services.intake.domain.dead_letter import DeadLetter, DeadLetterOriginal
from services.intake.domain.matrix import MatrixEntry, MatrixVersion
from services.intake.domain.model import (
    CaseDisposition,
    ComplainantIdentity,
    ComplaintRecord,
    Location,
    MarkKind,
    OutcomeKind,
    Priority,
    ProcessingState,
    ReasonCode,
)
from services.intake.domain.public import open311_status
from services.intake.service_layer.ports import (
    CaseLink,
    CaseStatusChange,
    ClosureDay,
    ComplaintQuery,
    Finish,
    Mark,
    MessageBuilder,
    NewComplaint,
    NewDeadLetter,
    Reschedule,
    VaultRead,
)

complaints = orm.complaints
vault = orm.complainants
VAULT_COLUMNS = ("first_name", "last_name", "email", "phone", "address")


def _record(row: Row[Any]) -> ComplaintRecord:
    return _record_from(row._mapping)


def _record_from(m: Mapping[Any, Any]) -> ComplaintRecord:
    return ComplaintRecord(
        id=str(m["id"]),
        service_request_id=m["service_request_id"],
        source=m["source"],
        channel=m["channel"],
        external_request_id=m["external_request_id"] or "",
        service_code=m["service_code"],
        service_name=m["service_name"],
        bylaw_number=m["bylaw_number"],
        priority=Priority(m["priority"]),
        enforced_by=tuple(m["enforced_by"]),
        matrix_version=m["matrix_version"],
        location=Location(
            address=m["address"],
            lat=m["lat"],
            lon=m["lon"],
            address_id=m["address_id"],
            postal_code=m["postal_code"],
        ),
        media_url=m["media_url"],
        requested_at=m["requested_at"],
        received_at=m["received_at"],
        updated_at=m["updated_at"],
        state=ProcessingState(m["state"]),
        acknowledgement_due=m["acknowledgement_due"],
        verbal=m["verbal"],
        anonymous=m["anonymous"],
        restricted=m["restricted"],
        written_confirmation_required=m["written_confirmation_required"],
        follow_up=tuple(m["follow_up"] or ()),
        outcome=OutcomeKind(m["outcome"]) if m["outcome"] else None,
        reason=m["reason"],
        reason_code=ReasonCode(m["reason_code"]) if m["reason_code"] else None,
        case_number=m["case_number"] or "",
        related_case_number=m["related_case_number"] or "",
        referred_to=m["referred_to"],
        service_notice=m["service_notice"],
        disposition=CaseDisposition(m["disposition"]) if m["disposition"] else None,
        zone=m["zone"],
        property_roll_number=m["property_roll_number"],
        entered_by=m["entered_by"],
        case_status=m["case_status"] or "",
        first_inspection_due=m["first_inspection_due"],
        resolution_due=m["resolution_due"],
        sla_version=m["sla_version"],
        acknowledged_at=m["acknowledged_at"],
        acknowledged_via=m["acknowledged_via"],
        acknowledged_by=m["acknowledged_by"],
        ack_signalled_at=m["ack_signalled_at"],
        ack_overdue_alerted_at=m["ack_overdue_alerted_at"],
        marked_kind=MarkKind(m["marked_kind"]) if m["marked_kind"] else None,
        marked_reason=m["marked_reason"],
        marked_by=m["marked_by"],
        marked_at=m["marked_at"],
        case_rejection_pending=m["case_rejection_pending"],
    )


def _finish_values(finish: Finish, now: datetime) -> dict[str, Any]:
    """Column values of a finished complaint (also used for a complaint recorded finished)."""
    link = finish.link
    return {
        "state": ProcessingState.DONE.value,
        "outcome": finish.outcome.value,
        "reason": finish.reason,
        "reason_code": finish.reason_code.value,
        "service_notice": finish.service_notice,
        "case_number": finish.case_number or None,
        "referred_to": finish.referred_to,
        "completed_at": now,
        "updated_at": now,
        "workflow_started_at": now if finish.workflow_started else None,
        **(_link_values(link) if link is not None else {}),
        # Acknowledged at once: the case workflow got it in its input (or, for a
        # complaint that joined a case, has nothing to track), so there is no signal.
        **(
            {"acknowledged_at": now, "acknowledged_via": finish.acknowledged_via, "ack_signalled_at": now}
            if finish.acknowledged_via
            else {}
        ),
    }


def _link_values(link: CaseLink) -> dict[str, Any]:
    # A repeat after compliance names the complied case as related, not as its own.
    return {
        "disposition": link.disposition.value,
        "related_case_number": link.case_number,
        "zone": link.zone,
        "property_roll_number": link.property_roll_number,
    }


def _finished(record: ComplaintRecord, finish: Finish, now: datetime) -> ComplaintRecord:
    """The record as ``finish`` leaves it (what the UPDATE writes), so the messages can
    be built before the statement and go in the same statement."""
    link = finish.link
    acknowledge = bool(finish.acknowledged_via) and record.acknowledged_at is None
    return dataclasses.replace(
        record,
        acknowledged_at=now if acknowledge else record.acknowledged_at,
        acknowledged_via=finish.acknowledged_via if acknowledge else record.acknowledged_via,
        ack_signalled_at=now if acknowledge else record.ack_signalled_at,
        state=ProcessingState.DONE,
        outcome=finish.outcome,
        reason=finish.reason,
        reason_code=finish.reason_code,
        service_notice=finish.service_notice,
        case_number=finish.case_number,
        referred_to=finish.referred_to,
        updated_at=now,
        disposition=link.disposition if link else record.disposition,
        related_case_number=link.case_number if link else record.related_case_number,
        zone=link.zone if link else record.zone,
        property_roll_number=link.property_roll_number if link else record.property_roll_number,
    )


async def _enqueue(session: AsyncSession, record: ComplaintRecord, messages: MessageBuilder) -> None:
    for message in messages(record):
        await outbox_lib.enqueue(session, orm.outbox, message.subject, message.payload, message.msg_id)


def _messages_json(record: ComplaintRecord, messages: MessageBuilder) -> str:
    return json.dumps(
        [{"msg_id": m.msg_id, "subject": m.subject, "payload": m.payload} for m in messages(record)],
        separators=(",", ":"),
    )


# The two statements every complaint runs, as single SQL statements executed outside an
# explicit transaction (one statement is atomic on its own): one round trip each instead
# of BEGIN, several statements, one notify per message and COMMIT. Measured on the 311
# path, database round trips were where most of the time went.
_COMPLAINT_COLUMNS = (
    "id", "source", "channel", "external_request_id", "client_id", "entered_by",
    "service_code", "service_name", "bylaw_number", "priority", "enforced_by", "matrix_version",
    "address", "address_id", "postal_code", "lat", "lon", "media_url",
    "verbal", "anonymous", "restricted", "written_confirmation_required", "follow_up",
    "state", "acknowledgement_due", "requested_at", "received_at", "updated_at",
    "reason", "referred_to", "service_notice", "zone", "property_roll_number",
    "first_inspection_due", "resolution_due", "sla_version", "acknowledged_via", "acknowledged_by",
    "marked_reason", "marked_by", "case_rejection_pending",
)  # fmt: skip
_VAULT_COLUMNS = ("first_name", "last_name", "email", "phone", "address", "description")

# Complaint and vault row together; nothing at all when the external id exists already.
RECORD_SQL = text(
    f"""
    WITH c AS (
        INSERT INTO {orm.SCHEMA}.complaints ({", ".join(_COMPLAINT_COLUMNS)})
        VALUES ({", ".join(":" + c for c in _COMPLAINT_COLUMNS)})
        ON CONFLICT ON CONSTRAINT uq_complaints_source_external_request_id DO NOTHING
        RETURNING *
    ), v AS (
        INSERT INTO {orm.SCHEMA}.complainants
            (complaint_id, {", ".join(_VAULT_COLUMNS)}, preferred_contact, key_version)
        SELECT c.id, {", ".join(":v_" + c for c in _VAULT_COLUMNS)}, :v_preferred_contact, :v_key_version
        FROM c
    )
    SELECT * FROM c
    """
)

# received/case_linked → done, the outbox rows, and the relay's wake-up, all or nothing;
# no row when another delivery finished it first (data-modifying CTEs run to completion
# whether or not the final SELECT reads them, and insert only when u has the row).
FINISH_SQL = text(
    f"""
    WITH u AS (
        UPDATE {orm.SCHEMA}.complaints SET
            state = 'done', outcome = :outcome, reason = :reason, reason_code = :reason_code,
            service_notice = :service_notice, case_number = :case_number, referred_to = :referred_to,
            disposition = :disposition, related_case_number = :related_case_number, zone = :zone,
            property_roll_number = :property_roll_number,
            case_linked_at = COALESCE(case_linked_at, :completed_at),
            workflow_started_at = :workflow_started_at,
            acknowledged_at = COALESCE(acknowledged_at, CAST(:acknowledged_at AS timestamptz)),
            acknowledged_via = CASE WHEN acknowledged_at IS NULL THEN :acknowledged_via
                                    ELSE acknowledged_via END,
            ack_signalled_at = COALESCE(ack_signalled_at, CAST(:ack_signalled_at AS timestamptz)),
            completed_at = :completed_at, updated_at = :updated_at
        WHERE id = :id AND state <> 'done'
        RETURNING id
    ), o AS (
        INSERT INTO {orm.SCHEMA}.outbox (msg_id, subject, payload)
        SELECT m.msg_id, m.subject, m.payload
        FROM u CROSS JOIN jsonb_to_recordset(CAST(:messages AS jsonb))
            AS m(msg_id uuid, subject text, payload jsonb)
    )
    SELECT pg_notify(:channel, '') FROM u
    """
)
_OUTBOX_CHANNEL = outbox_lib.notify_channel(orm.outbox)
_RECORD_PG = psycopg_sql(RECORD_SQL)
_FINISH_PG = psycopg_sql(FINISH_SQL)
# A complaint's finish arrives a few milliseconds after its neighbours' (each waits for its
# own workflow start), so the finish batch waits that long for them; records arrive
# together (the consumer dispatches a fetched batch at once) and need no wait.
FINISH_LINGER = 0.02


class SqlComplaintRepository:
    def __init__(
        self,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        cipher: VaultCipher,
        *,
        max_batch: int = 64,
        finish_linger: float = FINISH_LINGER,
    ) -> None:
        self.engine = engine
        self.sessions = sessions
        self.cipher = cipher
        # Group commit of the two statements every complaint runs (services.common.coalesce).
        self.inserts: Coalescer[dict[str, Any], Mapping[Any, Any] | None] = Coalescer(
            "complaint inserts", self._insert_each, self._insert_one, max_batch=max_batch
        )
        self.finishes: Coalescer[dict[str, Any], bool] = Coalescer(
            "complaint finishes",
            self._finish_each,
            self._finish_one,
            max_batch=max_batch,
            linger=finish_linger,
        )

    async def _insert_each(self, params: Sequence[dict[str, Any]]) -> Sequence[Mapping[Any, Any] | None]:
        return await first_rows_each(self.engine, _RECORD_PG, params)

    async def _insert_one(self, params: dict[str, Any]) -> Mapping[Any, Any] | None:
        async with self.engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            row = (await auto.execute(RECORD_SQL, params)).first()
            return row._mapping if row is not None else None

    async def _finish_each(self, params: Sequence[dict[str, Any]]) -> list[bool]:
        return [row is not None for row in await first_rows_each(self.engine, _FINISH_PG, params)]

    async def _finish_one(self, params: dict[str, Any]) -> bool:
        async with self.engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            return (await auto.execute(FINISH_SQL, params)).first() is not None

    async def record(
        self, new: NewComplaint, finish: Finish | None, messages: MessageBuilder
    ) -> tuple[ComplaintRecord, bool]:
        now = datetime.now(UTC)
        params: dict[str, Any] = {
            "id": uuid.UUID(new.id),
            "source": new.source,
            "channel": new.channel,
            "external_request_id": new.external_request_id or None,
            "client_id": new.client_id,
            "entered_by": new.entered_by,
            "service_code": new.service_code,
            "service_name": new.service_name,
            "bylaw_number": new.bylaw_number,
            "priority": new.priority.value,
            "enforced_by": list(new.enforced_by),
            "matrix_version": new.matrix_version,
            "address": new.location.address,
            "address_id": new.location.address_id,
            "postal_code": new.location.postal_code,
            "lat": new.location.lat,
            "lon": new.location.lon,
            "media_url": new.media_url,
            "verbal": new.verbal,
            "anonymous": new.anonymous,
            "restricted": new.restricted,
            "written_confirmation_required": new.written_confirmation_required,
            "follow_up": list(new.follow_up),
            "state": ProcessingState.RECEIVED.value,
            "acknowledgement_due": new.acknowledgement_due,
            "requested_at": new.requested_at,
            "received_at": now,
            "updated_at": now,
            # Filled in when the complaint finishes (NOT NULL, empty until then).
            "reason": "",
            "referred_to": "",
            "service_notice": "",
            "zone": "",
            "property_roll_number": "",
            "first_inspection_due": new.first_inspection_due,
            "resolution_due": new.resolution_due,
            "sla_version": new.sla_version,
            "acknowledged_via": "",
            "acknowledged_by": "",
            "marked_reason": "",
            "marked_by": "",
            "case_rejection_pending": False,
            **self._sealed(new),
        }
        if finish is None:
            inserted = await self.inserts(params)
            if inserted is not None:
                return _record_from(inserted), True
            async with self.engine.connect() as conn:
                return await self._existing(conn, new), False
        # Referred or rejected at once: the public id the messages carry comes from the
        # insert, so the outbox rows follow in the same transaction.
        async with session_scope(self.sessions) as session:
            row = (await session.execute(RECORD_SQL, params)).first()
            if row is None:
                return await self._existing(session, new), False
            done = _finish_values(finish, now)
            await session.execute(
                update(complaints).where(complaints.c.id == uuid.UUID(new.id)).values(**done)
            )
            record = _finished(_record(row), finish, now)
            await _enqueue(session, record, messages)
            return record, True

    @staticmethod
    async def _existing(conn: AsyncConnection | AsyncSession, new: NewComplaint) -> ComplaintRecord:
        row = (
            await conn.execute(
                select(complaints).where(
                    complaints.c.source == new.source,
                    complaints.c.external_request_id == new.external_request_id,
                )
            )
        ).one()
        return _record(row)

    def _sealed(self, new: NewComplaint) -> dict[str, Any]:
        who = new.identity
        plain = {
            "first_name": who.first_name,
            "last_name": who.last_name,
            "email": who.email,
            "phone": who.phone,
            "address": who.address,
            "description": new.description,
        }
        sealed: dict[str, Any] = {
            f"v_{column}": self.cipher.encrypt(value, record_id=new.id, column=column)
            for column, value in plain.items()
        }
        sealed.update(v_preferred_contact=who.preferred_contact, v_key_version=self.cipher.version)
        return sealed

    async def link_case(self, complaint_id: str, link: CaseLink) -> ComplaintRecord:
        now = datetime.now(UTC)
        stmt = (
            update(complaints)
            .where(
                complaints.c.id == uuid.UUID(complaint_id),
                complaints.c.state == ProcessingState.RECEIVED.value,
            )
            .values(
                state=ProcessingState.CASE_LINKED.value,
                # A repeat after compliance names a case the complaint does not belong to.
                case_number=link.case_number
                if link.disposition is not CaseDisposition.REPEAT_AFTER_COMPLIANCE
                else None,
                case_linked_at=now,
                updated_at=now,
                **_link_values(link),
            )
            .returning(*complaints.c)
        )
        async with session_scope(self.sessions) as session:
            row = (await session.execute(stmt)).first()
            if row is None:
                row = (
                    await session.execute(
                        select(complaints).where(complaints.c.id == uuid.UUID(complaint_id))
                    )
                ).one()
            return _record(row)

    async def finish(
        self, record: ComplaintRecord, finish: Finish, messages: MessageBuilder
    ) -> ComplaintRecord:
        now = datetime.now(UTC)
        done = _finished(record, finish, now)
        params = {
            "acknowledged_at": None,
            "acknowledged_via": "",
            "ack_signalled_at": None,
            **_finish_values(finish, now),
            "id": uuid.UUID(record.id),
            "messages": _messages_json(done, messages),
            "channel": _OUTBOX_CHANNEL,
        }
        params.setdefault("disposition", record.disposition.value if record.disposition else None)
        params.setdefault("related_case_number", record.related_case_number or None)
        params.setdefault("zone", record.zone)
        params.setdefault("property_roll_number", record.property_roll_number)
        if await self.finishes(params):
            return done
        # Finished by a concurrent delivery: its outcome stands.
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(complaints).where(complaints.c.id == uuid.UUID(record.id)))
            ).one()
            return _record(row)

    async def announce(self, record: ComplaintRecord, messages: MessageBuilder) -> None:
        async with session_scope(self.sessions) as session:
            await _enqueue(session, record, messages)

    async def apply_case_status(
        self, change: CaseStatusChange, messages: MessageBuilder
    ) -> list[ComplaintRecord]:
        c = complaints.c
        async with session_scope(self.sessions) as session:
            first_time = (
                await session.execute(
                    pg_insert(orm.applied_events)
                    .values(event_id=uuid.UUID(change.event_id))
                    .on_conflict_do_nothing()
                    .returning(orm.applied_events.c.event_id)
                )
            ).first()
            if first_time is None:
                return []
            rows = (
                await session.execute(
                    select(complaints)
                    .where(
                        c.case_number == change.case_number,
                        # An older event arriving late must not undo a newer status.
                        or_(c.case_status_at.is_(None), c.case_status_at <= change.occurred_at),
                    )
                    .with_for_update()
                )
            ).all()
            changed: list[ComplaintRecord] = []
            for row in rows:
                before = _record(row)
                await session.execute(
                    update(complaints)
                    .where(c.id == uuid.UUID(before.id))
                    .values(
                        case_status=change.status,
                        case_status_at=change.occurred_at,
                        updated_at=change.occurred_at,
                    )
                )
                after = dataclasses.replace(before, case_status=change.status, updated_at=change.occurred_at)
                if open311_status(before.outcome, before.case_status) != open311_status(
                    after.outcome, after.case_status
                ):
                    changed.append(after)
                    await _enqueue(session, after, messages)
            return changed

    async def get(self, service_request_id: str) -> ComplaintRecord | None:
        async with self.sessions() as session:
            row = (
                await session.execute(
                    select(complaints).where(complaints.c.service_request_id == service_request_id)
                )
            ).first()
            return _record(row) if row else None

    async def find_external(self, source: str, external_request_id: str) -> ComplaintRecord | None:
        async with self.sessions() as session:
            row = (
                await session.execute(
                    select(complaints).where(
                        complaints.c.source == source,
                        complaints.c.external_request_id == external_request_id,
                    )
                )
            ).first()
            return _record(row) if row else None

    async def search(self, query: ComplaintQuery) -> list[ComplaintRecord]:
        c = complaints.c
        stmt = select(complaints)
        if query.service_request_ids:
            stmt = stmt.where(c.service_request_id.in_(query.service_request_ids))
        if query.service_code:
            stmt = stmt.where(c.service_code == query.service_code)
        if query.start is not None:
            stmt = stmt.where(c.requested_at >= query.start)
        if query.end is not None:
            stmt = stmt.where(c.requested_at <= query.end)
        closed = c.outcome.in_((OutcomeKind.REFERRED.value, OutcomeKind.REJECTED.value))
        if query.status == "closed":
            stmt = stmt.where(closed)
        elif query.status == "open":
            stmt = stmt.where(or_(c.outcome.is_(None), ~closed))
        stmt = stmt.order_by(c.requested_at.desc(), c.service_request_id.desc()).limit(query.limit)
        async with self.sessions() as session:
            return [_record(row) for row in (await session.execute(stmt)).all()]

    async def unfinished(self, received_before: datetime, limit: int) -> list[ComplaintRecord]:
        c = complaints.c
        stmt = (
            select(complaints)
            .where(and_(c.state != ProcessingState.DONE.value, c.received_at < received_before))
            .order_by(c.received_at)
            .limit(limit)
        )
        async with self.sessions() as session:
            return [_record(row) for row in (await session.execute(stmt)).all()]

    async def read_vault(
        self, service_request_id: str, actor_subject: str, actor_roles: Sequence[str], purpose: str
    ) -> VaultRead | None:
        async with session_scope(self.sessions) as session:
            row = (
                await session.execute(
                    select(
                        complaints,
                        *[
                            vault.c[k].label(f"vault_{k}")
                            for k in (*VAULT_COLUMNS, "description", "preferred_contact")
                        ],
                    )
                    .join(vault, vault.c.complaint_id == complaints.c.id)
                    .where(complaints.c.service_request_id == service_request_id)
                )
            ).first()
            if row is None:
                return None
            record = _record(row)
            m = row._mapping

            def reveal(column: str) -> str:
                return self.cipher.decrypt(m[f"vault_{column}"], record_id=record.id, column=column)

            identity = ComplainantIdentity(
                first_name=reveal("first_name"),
                last_name=reveal("last_name"),
                email=reveal("email"),
                phone=reveal("phone"),
                address=reveal("address"),
                preferred_contact=m["vault_preferred_contact"],
            )
            description = reveal("description")
            await session.execute(
                insert(orm.vault_reads).values(
                    complaint_id=uuid.UUID(record.id),
                    actor_subject=actor_subject,
                    actor_roles=list(actor_roles),
                    purpose=purpose,
                )
            )
            return VaultRead(record=record, identity=identity, description=description)

    # ------------------------------------------------------------ acknowledgements

    async def record_acknowledgement(
        self, complaint_id: str, sent_at: datetime, via: str, by: str
    ) -> tuple[ComplaintRecord, bool]:
        c = complaints.c
        async with session_scope(self.sessions) as session:
            row = (
                await session.execute(
                    update(complaints)
                    .where(c.id == uuid.UUID(complaint_id), c.acknowledged_at.is_(None))
                    .values(acknowledged_at=sent_at, acknowledged_via=via, acknowledged_by=by)
                    .returning(*complaints.c)
                )
            ).first()
            if row is not None:
                return _record(row), True
            row = (await session.execute(select(complaints).where(c.id == uuid.UUID(complaint_id)))).one()
            return _record(row), False

    async def unsignalled_acknowledgements(self, limit: int) -> list[ComplaintRecord]:
        c = complaints.c
        stmt = (
            select(complaints)
            .where(
                c.acknowledged_at.is_not(None),
                c.ack_signalled_at.is_(None),
                c.state == ProcessingState.DONE.value,
                c.case_number.is_not(None),
                # The case workflow's acknowledgement timer follows the complaint that
                # opened the case; each complaint's own is followed by intake's sweep.
                c.disposition == CaseDisposition.CREATED.value,
            )
            .order_by(c.acknowledged_at)
            .limit(limit)
        )
        async with self.sessions() as session:
            return [_record(row) for row in (await session.execute(stmt)).all()]

    async def mark_signalled(self, complaint_ids: Sequence[str], at: datetime) -> None:
        if not complaint_ids:
            return
        async with session_scope(self.sessions) as session:
            await session.execute(
                update(complaints)
                .where(complaints.c.id.in_([uuid.UUID(i) for i in complaint_ids]))
                .values(ack_signalled_at=at)
            )

    @staticmethod
    def _overdue(now: datetime) -> Any:
        c = complaints.c
        # A valid complaint: on a case, or still being placed on one (outcome not known).
        return and_(
            c.acknowledged_at.is_(None),
            c.acknowledgement_due.is_not(None),
            c.acknowledgement_due < now,
            or_(
                c.outcome.is_(None),
                c.outcome.in_((OutcomeKind.NEW_CASE.value, OutcomeKind.JOINED_CASE.value)),
            ),
        )

    async def raise_overdue_alerts(
        self, now: datetime, limit: int, messages: MessageBuilder
    ) -> list[ComplaintRecord]:
        c = complaints.c
        due = (
            select(c.id)
            .where(self._overdue(now), c.ack_overdue_alerted_at.is_(None))
            .order_by(c.acknowledgement_due)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        async with session_scope(self.sessions) as session:
            rows = (
                await session.execute(
                    update(complaints)
                    .where(c.id.in_(due))
                    .values(ack_overdue_alerted_at=now)
                    .returning(*complaints.c)
                )
            ).all()
            alerted = [_record(row) for row in rows]
            for record in alerted:
                await _enqueue(session, record, messages)
            return alerted

    async def overdue_acknowledgements(self, now: datetime, limit: int) -> list[ComplaintRecord]:
        stmt = (
            select(complaints)
            .where(self._overdue(now))
            .order_by(complaints.c.acknowledgement_due, complaints.c.service_request_id)
            .limit(limit)
        )
        async with self.sessions() as session:
            return [_record(row) for row in (await session.execute(stmt)).all()]

    async def pending_acknowledgements(self, due_from: datetime) -> list[ComplaintRecord]:
        c = complaints.c
        stmt = (
            select(complaints)
            .where(
                c.acknowledged_at.is_(None),
                c.acknowledgement_due.is_not(None),
                c.acknowledgement_due >= due_from,
            )
            .order_by(c.acknowledgement_due)
        )
        async with self.sessions() as session:
            return [_record(row) for row in (await session.execute(stmt)).all()]

    async def reschedule(self, changes: Sequence[Reschedule]) -> None:
        c = complaints.c
        async with session_scope(self.sessions) as session:
            for change in changes:
                values: dict[str, Any] = {"acknowledgement_due": change.acknowledgement_due}
                if change.first_inspection_due is not None:
                    values["first_inspection_due"] = change.first_inspection_due
                await session.execute(
                    update(complaints)
                    # Only while still pending: a recorded acknowledgement keeps its due date.
                    .where(c.id == uuid.UUID(change.complaint_id), c.acknowledged_at.is_(None))
                    .values(**values)
                )

    # ------------------------------------------------------------ frivolous / vexatious

    async def mark(
        self, complaint_id: str, mark: Mark, messages: MessageBuilder
    ) -> tuple[ComplaintRecord, bool]:
        c = complaints.c
        key = uuid.UUID(complaint_id)
        async with session_scope(self.sessions) as session:
            current = (await session.execute(select(complaints).where(c.id == key))).one()
            case_number = current.case_number
            if case_number:
                # Every complaint of the case, locked: two markings on one case decide in
                # turn whether the case still has a live complaint.
                rows = (
                    await session.execute(
                        select(c.id, c.outcome, c.marked_kind)
                        .where(c.case_number == case_number)
                        .order_by(c.id)
                        .with_for_update()
                    )
                ).all()
            else:
                rows = (await session.execute(select(c.id).where(c.id == key).with_for_update())).all()
            stored = _record((await session.execute(select(complaints).where(c.id == key))).one())
            if stored.marked_kind is not None or not stored.on_case:
                return stored, False
            others_live = any(
                r.id != key and r.outcome in (OutcomeKind.NEW_CASE.value, OutcomeKind.JOINED_CASE.value)
                for r in rows
                if case_number
            )
            row = (
                await session.execute(
                    update(complaints)
                    .where(c.id == key)
                    .values(
                        outcome=OutcomeKind.REJECTED.value,
                        reason=mark.outcome_reason,
                        reason_code=mark.kind.reason_code.value,
                        service_notice=mark.service_notice,
                        marked_kind=mark.kind.value,
                        marked_reason=mark.reason,
                        marked_by=mark.by,
                        marked_at=mark.at,
                        case_rejection_pending=bool(case_number) and not others_live,
                        updated_at=mark.at,
                    )
                    .returning(*complaints.c)
                )
            ).one()
            record = _record(row)
            await _enqueue(session, record, messages)
            return record, True

    async def pending_case_rejections(self, limit: int) -> list[ComplaintRecord]:
        c = complaints.c
        stmt = select(complaints).where(c.case_rejection_pending).order_by(c.marked_at).limit(limit)
        async with self.sessions() as session:
            return [_record(row) for row in (await session.execute(stmt)).all()]

    async def clear_case_rejection(self, complaint_id: str) -> None:
        async with session_scope(self.sessions) as session:
            await session.execute(
                update(complaints)
                .where(complaints.c.id == uuid.UUID(complaint_id))
                .values(case_rejection_pending=False)
            )


def _dead_letter(row: Row[Any]) -> DeadLetter:
    m = row._mapping
    return DeadLetter(
        id=str(m["id"]),
        external_request_id=m["external_request_id"],
        reason=m["reason"],
        violations=tuple(m["violations"] or ()),
        stream_sequence=m["stream_sequence"],
        deliveries=m["deliveries"],
        failed_at=m["failed_at"],
        status=m["status"],
        size_bytes=m["size_bytes"],
        sha256=m["sha256"],
        resubmitted_as=m["resubmitted_as"] or "",
        resubmitted_by=m["resubmitted_by"],
    )


_DEAD_LETTER_SUMMARY = [col for col in orm.dead_letters.c if col.name not in ("body", "headers")]


class SqlDeadLetterRepository:
    """The dead-letter vault: originals sealed with the vault's cipher (bound to the dead
    letter's id and column), every read audited in the same transaction."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], cipher: VaultCipher) -> None:
        self.sessions = sessions
        self.cipher = cipher

    async def add(self, new: NewDeadLetter) -> tuple[DeadLetter, bool]:
        t = orm.dead_letters
        body = self.cipher.encrypt_bytes(new.body, record_id=new.id, column="dead_letter_body")
        headers = self.cipher.encrypt(
            json.dumps(new.headers, sort_keys=True) if new.headers else "",
            record_id=new.id,
            column="dead_letter_headers",
        )
        async with session_scope(self.sessions) as session:
            row = (
                await session.execute(
                    pg_insert(t)
                    .values(
                        id=uuid.UUID(new.id),
                        msg_key=new.msg_key,
                        stream_sequence=new.stream_sequence,
                        external_request_id=new.external_request_id[:200],
                        subject=new.subject[:200],
                        reason=new.reason,
                        violations=list(new.violations),
                        deliveries=new.deliveries,
                        size_bytes=len(new.body),
                        sha256=hashlib.sha256(new.body).hexdigest(),
                        body=body,
                        headers=headers,
                        key_version=self.cipher.version,
                        status="open",
                        resubmitted_by="",
                    )
                    .on_conflict_do_nothing(index_elements=[t.c.msg_key])
                    .returning(*_DEAD_LETTER_SUMMARY)
                )
            ).first()
            if row is not None:
                return _dead_letter(row), True
            row = (
                await session.execute(select(*_DEAD_LETTER_SUMMARY).where(t.c.msg_key == new.msg_key))
            ).one()
            return _dead_letter(row), False

    async def list(self, status: str, limit: int) -> list[DeadLetter]:
        t = orm.dead_letters
        stmt = select(*_DEAD_LETTER_SUMMARY).order_by(t.c.failed_at.desc(), t.c.id).limit(limit)
        if status:
            stmt = stmt.where(t.c.status == status)
        async with self.sessions() as session:
            return [_dead_letter(row) for row in (await session.execute(stmt)).all()]

    async def read(
        self, dead_letter_id: str, actor_subject: str, actor_roles: Sequence[str], purpose: str, action: str
    ) -> DeadLetterOriginal | None:
        t = orm.dead_letters
        key = uuid.UUID(dead_letter_id)
        async with session_scope(self.sessions) as session:
            row = (await session.execute(select(t).where(t.c.id == key))).first()
            if row is None:
                return None
            body = self.cipher.decrypt_bytes(row.body, record_id=dead_letter_id, column="dead_letter_body")
            raw_headers = self.cipher.decrypt(
                row.headers, record_id=dead_letter_id, column="dead_letter_headers"
            )
            await session.execute(
                insert(orm.dead_letter_reads).values(
                    dead_letter_id=key,
                    action=action,
                    actor_subject=actor_subject,
                    actor_roles=list(actor_roles),
                    purpose=purpose,
                )
            )
            headers = json.loads(raw_headers) if raw_headers else {}
            return DeadLetterOriginal(dead_letter=_dead_letter(row), body=body, headers=headers)

    async def mark_resubmitted(self, dead_letter_id: str, service_request_id: str, by: str) -> DeadLetter:
        t = orm.dead_letters
        async with session_scope(self.sessions) as session:
            row = (
                await session.execute(
                    update(t)
                    .where(t.c.id == uuid.UUID(dead_letter_id))
                    .values(
                        status="resubmitted",
                        resubmitted_as=service_request_id,
                        resubmitted_by=by,
                        resubmitted_at=func.now(),
                    )
                    .returning(*_DEAD_LETTER_SUMMARY)
                )
            ).one()
            return _dead_letter(row)


class SqlMatrixRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def load_versions(self) -> list[MatrixVersion]:
        versions_t = orm.matrix_versions
        entries_t = orm.matrix_entries
        async with self.sessions() as session:
            versions = (await session.execute(select(versions_t).order_by(versions_t.c.id))).all()
            entries = (
                await session.execute(
                    select(entries_t).order_by(entries_t.c.version_id, entries_t.c.position)
                )
            ).all()
        by_version: dict[int, dict[str, MatrixEntry]] = {v.id: {} for v in versions}
        for e in entries:
            by_version[e.version_id][e.service_code] = MatrixEntry(
                service_code=e.service_code,
                bylaw_short_title=e.bylaw_short_title,
                infraction=e.infraction,
                bylaw_number=e.bylaw_number,
                legislative=e.legislative,
                patrol=e.patrol,
                proactive=e.proactive,
                reactive=e.reactive,
                priority=Priority(e.priority),
                enforced_by=tuple(e.enforced_by),
                footnote=e.footnote,
            )
        return [
            MatrixVersion(
                label=v.label,
                effective_date=v.effective_date,
                council_resolution=v.council_resolution,
                entries=by_version[v.id],
            )
            for v in versions
        ]

    async def add_version(
        self, version: MatrixVersion, source_sha256: str, loaded_by: str
    ) -> tuple[bool, str]:
        versions_t = orm.matrix_versions
        async with session_scope(self.sessions) as session:
            version_id = (
                await session.execute(
                    pg_insert(versions_t)
                    .values(
                        label=version.label,
                        effective_date=version.effective_date,
                        council_resolution=version.council_resolution,
                        source_sha256=source_sha256,
                        loaded_by=loaded_by,
                    )
                    .on_conflict_do_nothing(index_elements=[versions_t.c.label])
                    .returning(versions_t.c.id)
                )
            ).scalar_one_or_none()
            if version_id is None:
                stored = (
                    await session.execute(
                        select(versions_t.c.source_sha256).where(versions_t.c.label == version.label)
                    )
                ).scalar_one()
                return False, str(stored)
            await session.execute(
                insert(orm.matrix_entries),
                [
                    {
                        "version_id": version_id,
                        "position": position,
                        "service_code": e.service_code,
                        "bylaw_short_title": e.bylaw_short_title,
                        "infraction": e.infraction,
                        "bylaw_number": e.bylaw_number,
                        "legislative": e.legislative,
                        "patrol": e.patrol,
                        "proactive": e.proactive,
                        "reactive": e.reactive,
                        "priority": e.priority.value,
                        "enforced_by": list(e.enforced_by),
                        "footnote": e.footnote,
                    }
                    for position, e in enumerate(version.entries.values(), start=1)
                ],
            )
            return True, source_sha256

    async def closure_days(self, start: date | None = None, end: date | None = None) -> list[ClosureDay]:
        t = orm.closure_days
        stmt = select(t).order_by(t.c.day)
        if start is not None:
            stmt = stmt.where(t.c.day >= start)
        if end is not None:
            stmt = stmt.where(t.c.day <= end)
        async with self.sessions() as session:
            return [ClosureDay(r.day, r.reason, r.declared_by) for r in (await session.execute(stmt)).all()]

    async def declare_closure_day(self, day: ClosureDay) -> ClosureDay:
        t = orm.closure_days
        async with session_scope(self.sessions) as session:
            await session.execute(
                pg_insert(t)
                .values(day=day.day, reason=day.reason, declared_by=day.declared_by)
                .on_conflict_do_nothing(index_elements=[t.c.day])
            )
            row = (await session.execute(select(t).where(t.c.day == day.day))).one()
            return ClosureDay(row.day, row.reason, row.declared_by)


async def count_complaints(sessions: async_sessionmaker[AsyncSession]) -> int:
    """For health/diagnostics and tests."""
    async with sessions() as session:
        return int((await session.execute(select(func.count()).select_from(complaints))).scalar_one())
