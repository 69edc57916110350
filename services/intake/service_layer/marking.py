"""Staff find a complaint frivolous (policy 4.4) or vexatious (4.11).

A supervisor marks it with a reason. The complaint ends REJECTED with that marking on
record (the reason stays with staff), the complainant gets a response instead of silence
(the service notice, the public status note and, for 311, an update on
``bylaw.311.updates``; policy 6.6.3, 6.6.4), and ``bylaw.events.complaint.marked_<kind>``
is published. When no other live complaint rests on its case, the case is closed through
the case workflow (updates ``transition_status`` → rejected and ``close_case``, or
``close_case`` dismissed once investigation started); if Temporal cannot be reached the
closure stays pending and the sweep retries it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from services.common.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound, Unavailable
from services.common.events import DomainEvent
from services.common.messaging import SUBJECT_311_UPDATES
from services.intake.domain.communication import marked_notice
from services.intake.domain.model import CHANNELS_311, ComplaintRecord, MarkKind, ProcessingState
from services.intake.domain.public import public_view, to_open311
from services.intake.service_layer.intake import MESSAGE_NAMESPACE, Caller
from services.intake.service_layer.ports import ComplaintRepository, Mark, OutboxMessage, WorkflowPort

log = logging.getLogger(__name__)

MARKER_ROLES = frozenset({"supervisor"})
MIN_REASON, MAX_REASON = 10, 1000


@dataclass(frozen=True, slots=True)
class MarkResult:
    record: ComplaintRecord
    # "closed" | "kept" (other complaints rest on the case) | "pending" (workflow not
    # reachable; retried) | "refused" (the workflow's rules refused it; staff decide) |
    # "none" (no workflow to close)
    case_action: str
    replayed: bool


class Marking:
    def __init__(
        self,
        complaints: ComplaintRepository,
        workflows: WorkflowPort,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.complaints = complaints
        self.workflows = workflows
        self.clock = clock

    async def mark(self, service_request_id: str, kind: str, reason: str, caller: Caller) -> MarkResult:
        caller.require(MARKER_ROLES, "marking a complaint frivolous or vexatious (policy 4.4, 4.11)")
        violations = []
        try:
            mark_kind = MarkKind(kind.strip().lower())
        except ValueError:
            mark_kind = None
            violations.append(FieldViolation("kind", "must be frivolous or vexatious", "4.4, 4.11"))
        reason = " ".join(reason.split())
        if not MIN_REASON <= len(reason) <= MAX_REASON:
            violations.append(
                FieldViolation(
                    "reason",
                    f"is required: the staff's reasons, {MIN_REASON} to {MAX_REASON} characters",
                    "4.4, 4.11",
                )
            )
        if violations:
            raise InvalidArgument(violations)
        assert mark_kind is not None
        record = await self.complaints.get(service_request_id.strip())
        if record is None:
            raise NotFound(f"service request {service_request_id} not found")
        if record.marked_kind is not None:
            return MarkResult(record, "pending" if record.case_rejection_pending else "none", replayed=True)
        if record.state is not ProcessingState.DONE:
            raise FailedPrecondition("the complaint is still being classified; try again shortly")
        if not record.on_case:
            raise FailedPrecondition(
                f"the complaint already ended {record.outcome.value if record.outcome else ''} with its "
                f"reason; only a complaint on a case can be marked frivolous or vexatious"
            )
        now = self.clock()
        stored, created = await self.complaints.mark(
            record.id,
            Mark(
                kind=mark_kind,
                reason=reason,
                by=caller.subject,
                at=now,
                outcome_reason=f"Marked {mark_kind.value} by staff (policy {mark_kind.policy}): {reason}",
                service_notice=marked_notice(mark_kind, record.service_name),
            ),
            self._messages,
        )
        if not created:
            return MarkResult(stored, "pending" if stored.case_rejection_pending else "none", replayed=True)
        log.info(
            "complaint marked",
            extra={
                "service_request_id": stored.service_request_id,
                "kind": mark_kind.value,
                "actor": caller.subject,
                "case_rests_on_it": stored.case_rejection_pending,
            },
        )
        if not stored.case_rejection_pending:
            return MarkResult(stored, "kept" if stored.case_number else "none", replayed=False)
        return MarkResult(stored, await self._close_case(stored), replayed=False)

    async def _close_case(self, record: ComplaintRecord) -> str:
        assert record.marked_kind is not None
        try:
            result = await self.workflows.reject_case(
                record.case_number, record.marked_kind, record.service_request_id, record.marked_by
            )
        except Unavailable as exc:
            log.warning("case closure deferred: %s", exc, extra={"case_number": record.case_number})
            return "pending"
        await self.complaints.clear_case_rejection(record.id)
        log.info("case closure after marking", extra={"case_number": record.case_number, "result": result})
        if result in ("closed", "already_closed"):
            return "closed"
        if result == "no_workflow":
            return "none"
        return "refused"

    async def retry_pending(self, limit: int = 50) -> int:
        """Close the cases whose closure could not be done at marking time."""
        done = 0
        for record in await self.complaints.pending_case_rejections(limit):
            if await self._close_case(record) == "pending":
                break  # Temporal still unreachable: the next sweep retries
            done += 1
        return done

    def _messages(self, record: ComplaintRecord) -> Sequence[OutboxMessage]:
        assert record.marked_kind is not None
        event = DomainEvent(
            event_type=f"complaint.marked_{record.marked_kind.value}",
            case_number=record.case_number or None,
            event_id=str(uuid.uuid5(MESSAGE_NAMESPACE, f"{record.id}:marked")),
            occurred_at=record.marked_at or self.clock(),
            # Never the staff's reason: free text may name people (policy 6.3).
            data={
                "service_request_id": record.service_request_id,
                "service_code": record.service_code,
                "kind": record.marked_kind.value,
                "channel": record.channel,
                "case_rests_on_it": record.case_rejection_pending,
                "marked_by": record.marked_by,
            },
        )
        messages = [OutboxMessage(event.subject, event.to_json(), event.event_id)]
        if record.channel in CHANNELS_311:
            messages.append(
                OutboxMessage(
                    SUBJECT_311_UPDATES,
                    to_open311(public_view(record)),
                    str(uuid.uuid5(MESSAGE_NAMESPACE, f"{record.id}:311-marked")),
                )
            )
        return messages
