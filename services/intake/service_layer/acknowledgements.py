"""Acknowledging valid complaints within 2 business days (policy 4.2, 6.5.5-6.5.8).

The acknowledgement itself (case number, next steps, expected timing, the note that some
matters take long or may be civil) is produced with the outcome, at once. On the portal,
311 and email it goes back on the channel then and is recorded as sent; for phone,
walk-in, letter and Council referrals staff send it and record when (``record``). Either
way the case workflow is told (signal ``acknowledgement_recorded``), best effort with
retries by the sweep (``signal_pending``). A valid complaint whose due time passes
without an acknowledgement raises ``complaint.acknowledgement_overdue`` once
(``alert_overdue``) and is listed for staff (``overdue``).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from services.common.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound, Unavailable
from services.common.events import DomainEvent
from services.intake.domain.model import ACK_METHODS, CaseDisposition, ComplaintRecord, ProcessingState
from services.intake.domain.validation import CLOCK_SKEW
from services.intake.service_layer.intake import MESSAGE_NAMESPACE, Caller
from services.intake.service_layer.ports import ComplaintRepository, OutboxMessage, WorkflowPort
from workflows.contracts import AcknowledgementRecorded

log = logging.getLogger(__name__)

ACK_RECORDER_ROLES = frozenset({"front_counter", "officer", "supervisor", "clerk"})
OVERDUE_READER_ROLES = frozenset({"front_counter", "officer", "supervisor", "clerk"})
MAX_OVERDUE_LIST = 500
OVERDUE_EVENT = "complaint.acknowledgement_overdue"


class Acknowledgements:
    def __init__(
        self,
        complaints: ComplaintRepository,
        workflows: WorkflowPort,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        signal_concurrency: int = 16,
    ) -> None:
        self.complaints = complaints
        self.workflows = workflows
        self.clock = clock
        self.signal_concurrency = signal_concurrency

    async def record(
        self, service_request_id: str, method: str, sent_at: datetime | None, caller: Caller
    ) -> tuple[ComplaintRecord, bool]:
        """Staff record that they acknowledged a complaint (policy 6.5.5). Idempotent:
        the first recording stands (``False`` with it)."""
        caller.require(ACK_RECORDER_ROLES, "recording an acknowledgement")
        now = self.clock()
        method = method.strip().lower()
        violations = []
        if method not in ACK_METHODS:
            violations.append(FieldViolation("method", f"must be one of {', '.join(ACK_METHODS)}", "6.5.5"))
        when = sent_at or now
        if when.tzinfo is None:
            violations.append(FieldViolation("sent_at", "must include a time zone"))
        elif when > now + CLOCK_SKEW:
            violations.append(FieldViolation("sent_at", "must not be in the future", "6.5.5"))
        if violations:
            raise InvalidArgument(violations)
        record = await self.complaints.get(service_request_id.strip())
        if record is None:
            raise NotFound(f"service request {service_request_id} not found")
        if record.state is not ProcessingState.DONE:
            raise FailedPrecondition("the complaint is still being classified; try again shortly")
        if not record.on_case:
            ended = record.outcome.value if record.outcome else "unclassified"
            raise FailedPrecondition(
                f"only a valid complaint on a case is acknowledged (policy 6.5.5); this one ended "
                f"{ended} and was answered with its reason"
            )
        if when < record.received_at - CLOCK_SKEW:
            raise InvalidArgument(FieldViolation("sent_at", "must not be before the complaint was received"))
        stored, created = await self.complaints.record_acknowledgement(
            record.id, when, method, caller.subject
        )
        if created:
            log.info(
                "acknowledgement recorded",
                extra={
                    "service_request_id": stored.service_request_id,
                    "method": method,
                    "actor": caller.subject,
                },
            )
            # Tell the workflow now if it can be reached; the sweep retries otherwise. Only
            # the complaint that opened the case: the workflow's acknowledgement timer
            # follows that one, and intake's own sweep follows every complaint's.
            if stored.disposition is CaseDisposition.CREATED:
                await self.signal_pending_for([stored])
        return stored, created

    async def overdue(self, caller: Caller, limit: int = MAX_OVERDUE_LIST) -> list[ComplaintRecord]:
        caller.require(OVERDUE_READER_ROLES, "listing overdue acknowledgements")
        if limit < 0:
            raise InvalidArgument(FieldViolation("limit", "must not be negative"))
        return await self.complaints.overdue_acknowledgements(
            self.clock(), min(limit or MAX_OVERDUE_LIST, MAX_OVERDUE_LIST)
        )

    # ------------------------------------------------------------------ sweeps

    async def alert_overdue(self, limit: int = 200) -> int:
        """Raise the overdue alert for every valid complaint past its due time without an
        acknowledgement, once per complaint (marked in the same transaction)."""
        alerted = await self.complaints.raise_overdue_alerts(self.clock(), limit, self._overdue_messages)
        for record in alerted:
            # No identity: ids, case number and dates only.
            log.warning(
                "acknowledgement overdue",
                extra={
                    "service_request_id": record.service_request_id,
                    "case_number": record.case_number,
                    "due": record.acknowledgement_due.isoformat() if record.acknowledgement_due else "",
                },
            )
        return len(alerted)

    def _overdue_messages(self, record: ComplaintRecord) -> Sequence[OutboxMessage]:
        event = DomainEvent(
            event_type=OVERDUE_EVENT,
            case_number=record.case_number or None,
            event_id=str(uuid.uuid5(MESSAGE_NAMESPACE, f"{record.id}:acknowledgement-overdue")),
            occurred_at=record.ack_overdue_alerted_at or self.clock(),
            data={
                "service_request_id": record.service_request_id,
                "service_code": record.service_code,
                "priority": record.priority.value,
                "channel": record.channel,
                "received_at": record.received_at.isoformat(),
                "acknowledgement_due": record.acknowledgement_due.isoformat()
                if record.acknowledgement_due
                else None,
                "restricted": record.restricted,
            },
        )
        return [OutboxMessage(event.subject, event.to_json(), event.event_id)]

    async def signal_pending(self, limit: int = 500) -> int:
        """Tell case workflows about acknowledgements they have not heard of yet."""
        return await self.signal_pending_for(await self.complaints.unsignalled_acknowledgements(limit))

    async def signal_pending_for(self, records: Sequence[ComplaintRecord]) -> int:
        slots = asyncio.Semaphore(self.signal_concurrency)
        told: list[str] = []

        async def tell(record: ComplaintRecord) -> None:
            assert record.acknowledged_at is not None and record.case_number
            async with slots:
                try:
                    delivered = await self.workflows.signal_acknowledgement(
                        record.case_number,
                        AcknowledgementRecorded(
                            sent_at=record.acknowledged_at,
                            channel=record.acknowledged_via,
                            complaint_id=record.service_request_id,
                        ),
                    )
                except Unavailable as exc:
                    log.info(
                        "acknowledgement signal deferred: %s", exc, extra={"case_number": record.case_number}
                    )
                    return
            if not delivered:
                # The case's workflow is closed: there is nobody left to tell.
                log.info("no running workflow to tell", extra={"case_number": record.case_number})
            told.append(record.id)

        await asyncio.gather(*(tell(r) for r in records if r.acknowledged_at is not None and r.case_number))
        await self.complaints.mark_signalled(told, self.clock())
        return len(told)
