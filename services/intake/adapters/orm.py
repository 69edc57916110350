"""Intake's tables in its own ``intake`` schema (SQLAlchemy 2 typed models).

- ``matrix_versions`` / ``matrix_entries``: the Service Level Matrix as versioned data
  (policy 6.8.4), one row per Appendix A row per version.
- ``closure_days``: days the Town office is closed, which are not business days (4.2).
- ``complaints``: every complaint and its outcome, without identity. The unique
  constraint on (source, external_request_id) makes a 311 retry beyond the broker's
  dedupe window return the stored outcome instead of creating anything.
- ``complainants``: the identity vault, one row per complaint, every identity column
  AES-GCM encrypted (policy 6.3); also the written complaint, which is not public (6.3.4).
- ``vault_reads``: the audit trail of every read of the vault (policy 6.3.4 need to know).
- ``applied_events``: case events already applied to complaints (idempotency).
- ``dead_letters``: 311 messages that could not be processed. The ``bylaw.311.dlq``
  message carries no identity; the full original is kept here, AES-GCM encrypted like
  the vault, for staff to read (audited in ``dead_letter_reads``) and resubmit.
- ``outbox``: messages to NATS written in the same transaction as the state change.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Sequence,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import service_metadata
from services.common.outbox import outbox_table

SCHEMA = "intake"


class Base(DeclarativeBase):
    # Same as services.common.db.make_base(SCHEMA), spelled as a class so mypy can type
    # the models.
    metadata = service_metadata(SCHEMA)


metadata = Base.metadata

outbox = outbox_table(metadata)

# Public complaint numbers SR-<year>-<7 digits>; one sequence across years keeps them
# unique without a per-year counter table.
complaint_number_seq = Sequence("complaint_number_seq", metadata=metadata, start=1)

STATES = ("received", "case_linked", "done")
OUTCOMES = ("new_case", "joined_case", "referred", "rejected")
MARK_KINDS = ("frivolous", "vexatious")
DEAD_LETTER_STATUSES = ("open", "resubmitted")


class MatrixVersionRow(Base):
    __tablename__ = "matrix_versions"

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    label: Mapped[str] = mapped_column(String(64), unique=True)
    effective_date: Mapped[date] = mapped_column(Date)
    council_resolution: Mapped[str] = mapped_column(String(64))
    source_sha256: Mapped[str] = mapped_column(String(64))
    loaded_by: Mapped[str] = mapped_column(String(200))
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class MatrixEntryRow(Base):
    __tablename__ = "matrix_entries"
    __table_args__ = (UniqueConstraint("version_id", "service_code"),)

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("matrix_versions.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    service_code: Mapped[str] = mapped_column(String(64))
    bylaw_short_title: Mapped[str] = mapped_column(String(200))
    infraction: Mapped[str] = mapped_column(String(200))
    bylaw_number: Mapped[str] = mapped_column(String(16))
    legislative: Mapped[bool] = mapped_column(Boolean)
    patrol: Mapped[bool] = mapped_column(Boolean)
    proactive: Mapped[bool] = mapped_column(Boolean)
    reactive: Mapped[bool] = mapped_column(Boolean)
    priority: Mapped[str] = mapped_column(String(8))
    enforced_by: Mapped[list[str]] = mapped_column(ARRAY(String(8)))
    footnote: Mapped[str] = mapped_column(String(200))


class ClosureDayRow(Base):
    __tablename__ = "closure_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    reason: Mapped[str] = mapped_column(String(200))
    declared_by: Mapped[str] = mapped_column(String(200))
    declared_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ComplaintRow(Base):
    __tablename__ = "complaints"
    __table_args__ = (
        # Idempotency of external submissions (DESIGN.md section 3): a unique constraint,
        # not only the broker's dedupe window. NULL ids (portal, staff) never conflict.
        UniqueConstraint("source", "external_request_id", name="uq_complaints_source_external_request_id"),
        CheckConstraint(f"state IN {STATES!r}", name="state"),
        CheckConstraint(f"outcome IS NULL OR outcome IN {OUTCOMES!r}", name="outcome"),
        # Exactly one outcome once done, none before (issue 3: every complaint ends as one).
        CheckConstraint("(state = 'done') = (outcome IS NOT NULL)", name="done_has_outcome"),
        Index("ix_complaints_requested_at", "requested_at"),
        Index("ix_complaints_service_code_requested_at", "service_code", "requested_at"),
        Index("ix_complaints_case_number", "case_number"),
        Index("ix_complaints_unfinished", "received_at", postgresql_where=text("state <> 'done'")),
        CheckConstraint(f"marked_kind IS NULL OR marked_kind IN {MARK_KINDS!r}", name="marked_kind"),
        # The acknowledgement sweeps' working sets stay small however many complaints
        # there are: pending acknowledgements, and recorded ones not yet signalled.
        Index(
            "ix_complaints_ack_pending",
            "acknowledgement_due",
            postgresql_where=text("acknowledged_at IS NULL AND acknowledgement_due IS NOT NULL"),
        ),
        Index(
            "ix_complaints_ack_unsignalled",
            "acknowledged_at",
            postgresql_where=text("acknowledged_at IS NOT NULL AND ack_signalled_at IS NULL"),
        ),
        Index(
            "ix_complaints_case_rejection_pending",
            "marked_at",
            postgresql_where=text("case_rejection_pending"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    service_request_id: Mapped[str] = mapped_column(
        String(24),
        unique=True,
        server_default=text(
            "'SR-' || to_char(now() AT TIME ZONE 'UTC', 'YYYY') || '-' || "
            f"lpad(nextval('{SCHEMA}.complaint_number_seq')::text, 7, '0')"
        ),
    )
    source: Mapped[str] = mapped_column(String(120))
    channel: Mapped[str] = mapped_column(String(32))
    external_request_id: Mapped[str | None] = mapped_column(String(100))
    client_id: Mapped[str] = mapped_column(String(100), default="")
    entered_by: Mapped[str] = mapped_column(String(200), default="")

    service_code: Mapped[str] = mapped_column(String(64))
    service_name: Mapped[str] = mapped_column(String(300))
    bylaw_number: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(8))
    enforced_by: Mapped[list[str]] = mapped_column(ARRAY(String(8)))
    matrix_version: Mapped[str] = mapped_column(String(64))

    address: Mapped[str] = mapped_column(String(300), default="")
    address_id: Mapped[str] = mapped_column(String(64), default="")
    postal_code: Mapped[str] = mapped_column(String(16), default="")
    lat: Mapped[float | None] = mapped_column(Double)
    lon: Mapped[float | None] = mapped_column(Double)
    media_url: Mapped[str] = mapped_column(String(2000), default="")

    verbal: Mapped[bool] = mapped_column(Boolean, default=False)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    written_confirmation_required: Mapped[bool] = mapped_column(Boolean, default=False)
    follow_up: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)

    state: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    reason_code: Mapped[str | None] = mapped_column(String(32))
    disposition: Mapped[str | None] = mapped_column(String(32))
    case_number: Mapped[str | None] = mapped_column(String(32))
    related_case_number: Mapped[str | None] = mapped_column(String(32))
    # From the cases service's property match, so a resumed start has them (not identity:
    # the assessment roll is public).
    zone: Mapped[str] = mapped_column(String(64), default="")
    property_roll_number: Mapped[str] = mapped_column(String(32), default="")
    referred_to: Mapped[str] = mapped_column(String(200), default="")
    service_notice: Mapped[str] = mapped_column(Text, default="")
    acknowledgement_due: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The case's status from the cases service's events, and when the case changed to it.
    case_status: Mapped[str | None] = mapped_column(String(32))
    case_status_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # Service-level targets for the priority (policy 6.5.4, 6.8.5; config/sla_targets.yaml).
    first_inspection_due: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution_due: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sla_version: Mapped[str] = mapped_column(String(64), default="")
    # The acknowledgement (policy 6.5.5): when and how it went out, who recorded it, when
    # the case workflow was told, and when the overdue alert was raised (once).
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_via: Mapped[str] = mapped_column(String(32), default="")
    acknowledged_by: Mapped[str] = mapped_column(String(200), default="")
    ack_signalled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ack_overdue_alerted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Marked frivolous (policy 4.4) or vexatious (4.11) by staff; the reason is staff-only.
    marked_kind: Mapped[str | None] = mapped_column(String(16))
    marked_reason: Mapped[str] = mapped_column(Text, default="")
    marked_by: Mapped[str] = mapped_column(String(200), default="")
    marked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The case rests on this marked complaint alone and its workflow has not closed it yet.
    case_rejection_pending: Mapped[bool] = mapped_column(Boolean, default=False)

    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    case_linked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    workflow_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AppliedEventRow(Base):
    """Events of other services already applied here (idempotent consumption beyond the
    broker's redelivery guarantees)."""

    __tablename__ = "applied_events"

    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ComplainantRow(Base):
    """The vault. Ciphertexts are self-describing (key version byte + nonce + tag); the
    AES-GCM associated data binds each to its complaint and column so a value copied to
    another row or column does not decrypt."""

    __tablename__ = "complainants"

    complaint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), primary_key=True
    )
    first_name: Mapped[bytes | None] = mapped_column(LargeBinary)
    last_name: Mapped[bytes | None] = mapped_column(LargeBinary)
    email: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone: Mapped[bytes | None] = mapped_column(LargeBinary)
    address: Mapped[bytes | None] = mapped_column(LargeBinary)
    description: Mapped[bytes | None] = mapped_column(LargeBinary)
    # "email" | "phone" | "mail": a method, not an identity.
    preferred_contact: Mapped[str] = mapped_column(String(8), default="")
    key_version: Mapped[int] = mapped_column(SmallInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class VaultReadRow(Base):
    __tablename__ = "vault_reads"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"))
    actor_subject: Mapped[str] = mapped_column(String(200))
    actor_roles: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    purpose: Mapped[str] = mapped_column(String(500))
    read_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DeadLetterRow(Base):
    """A 311 message that could not be processed. ``body`` and ``headers`` are AES-GCM
    sealed (the message carries complainant identity); the rest is plain and safe: the
    reason names fields and rules, never values."""

    __tablename__ = "dead_letters"
    __table_args__ = (
        CheckConstraint(f"status IN {DEAD_LETTER_STATUSES!r}", name="status"),
        Index("ix_dead_letters_failed_at", "failed_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    # stream + sequence + body digest: a redelivery of the same message is the same dead
    # letter (idempotent), however often the DLQ publish is retried.
    msg_key: Mapped[str] = mapped_column(String(120), unique=True)
    stream_sequence: Mapped[int | None] = mapped_column(BigInteger)
    external_request_id: Mapped[str] = mapped_column(String(200), default="")
    subject: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    violations: Mapped[list[dict[str, str | None]]] = mapped_column(JSONB)
    deliveries: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_version: Mapped[int] = mapped_column(SmallInteger)
    failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    status: Mapped[str] = mapped_column(String(16), default="open")
    resubmitted_as: Mapped[str | None] = mapped_column(String(24))
    resubmitted_by: Mapped[str] = mapped_column(String(200), default="")
    resubmitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DeadLetterReadRow(Base):
    """Audit of every read (and resubmission) of a dead letter's original (policy 6.3.4)."""

    __tablename__ = "dead_letter_reads"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    dead_letter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dead_letters.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))  # "read" | "resubmit"
    actor_subject: Mapped[str] = mapped_column(String(200))
    actor_roles: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    purpose: Mapped[str] = mapped_column(String(500))
    read_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


# Core tables for the statements on the hot path (one short transaction each).
matrix_versions = _table(MatrixVersionRow)
matrix_entries = _table(MatrixEntryRow)
closure_days = _table(ClosureDayRow)
complaints = _table(ComplaintRow)
complainants = _table(ComplainantRow)
vault_reads = _table(VaultReadRow)
applied_events = _table(AppliedEventRow)
dead_letters = _table(DeadLetterRow)
dead_letter_reads = _table(DeadLetterReadRow)
