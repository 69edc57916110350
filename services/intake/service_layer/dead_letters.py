"""Dead letters of the 311 feed (DESIGN.md section 3: nothing is dropped) kept without
exposing identity (policy 6.3).

The consumer stores each unprocessable message here (encrypted, idempotent per message)
before it publishes the redacted copy on ``bylaw.311.dlq``. Staff list them, read an
original for a stated purpose (audited, like a complainant's identity) and resubmit it,
optionally with corrected fields, through the same ``submit`` every channel takes.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence

from services.common.errors import FieldViolation, InvalidArgument, NotFound
from services.intake.domain.dead_letter import DeadLetter, DeadLetterOriginal, corrected_body
from services.intake.domain.model import Outcome, Submission
from services.intake.service_layer.intake import Caller, IntakeService
from services.intake.service_layer.ports import DeadLetterRepository, NewDeadLetter

log = logging.getLogger(__name__)

DEAD_LETTER_READER_ROLES = frozenset({"supervisor", "clerk"})  # who runs the 311 exchange
MAX_LIST = 500
# Fields of the 311 body a correction may replace (DESIGN.md section 3).
CORRECTABLE = frozenset(
    {
        "service_code", "lat", "long", "address_string", "address_id", "zipcode", "description",
        "first_name", "last_name", "email", "phone", "media_url", "requested_datetime", "channel",
        "complainant_address", "service_request_id",
    }
)  # fmt: skip
MSG_ID_HEADER = "Nats-Msg-Id"

Decoder = Callable[[bytes, Mapping[str, str] | None], Submission]


def _check_purpose(purpose: str) -> str:
    purpose = " ".join(purpose.split())
    if not 5 <= len(purpose) <= 500:
        raise InvalidArgument(
            FieldViolation("purpose", "state why you need to know, 5 to 500 characters", "6.3.4")
        )
    return purpose


def _check_id(dead_letter_id: str) -> str:
    try:
        return str(uuid.UUID(dead_letter_id.strip()))
    except ValueError:
        raise NotFound(f"dead letter {dead_letter_id} not found") from None


class DeadLetters:
    def __init__(self, repo: DeadLetterRepository, intake: IntakeService, decode: Decoder) -> None:
        self.repo = repo
        self.intake = intake
        self.decode = decode

    async def record(
        self,
        *,
        stream: str,
        stream_sequence: int | None,
        external_request_id: str,
        subject: str,
        reason: str,
        violations: Sequence[FieldViolation],
        deliveries: int,
        body: bytes,
        headers: Mapping[str, str],
    ) -> DeadLetter:
        """Keep the original (idempotent per stream message) and return its record."""
        digest = hashlib.sha256(body).hexdigest()
        msg_key = f"{stream}:{stream_sequence if stream_sequence is not None else 'none'}:{digest[:32]}"
        stored, created = await self.repo.add(
            NewDeadLetter(
                id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"bylaw-intake-dead-letter:{msg_key}")),
                msg_key=msg_key,
                stream_sequence=stream_sequence,
                external_request_id=external_request_id,
                subject=subject,
                reason=reason,
                violations=tuple({"field": v.field, "rule": v.rule, "policy": v.policy} for v in violations),
                deliveries=deliveries,
                body=body,
                headers=dict(headers),
            )
        )
        if created:
            log.info("dead letter kept", extra={"dead_letter_id": stored.id, "stream_seq": stream_sequence})
        return stored

    async def list(self, status: str, limit: int, caller: Caller) -> list[DeadLetter]:
        caller.require(DEAD_LETTER_READER_ROLES, "listing dead letters")
        status = status.strip().lower()
        violations = []
        if status not in ("", "open", "resubmitted"):
            violations.append(FieldViolation("status", "must be open or resubmitted"))
        if limit < 0:
            violations.append(FieldViolation("limit", "must not be negative"))
        if violations:
            raise InvalidArgument(violations)
        return await self.repo.list(status, min(limit or MAX_LIST, MAX_LIST))

    async def read(self, dead_letter_id: str, purpose: str, caller: Caller) -> DeadLetterOriginal:
        """The full original, identity included: need to know, purpose stated, audited
        (policy 6.3.4), exactly like a complainant's identity."""
        caller.require(DEAD_LETTER_READER_ROLES, "reading a dead letter's original")
        purpose = _check_purpose(purpose)
        original = await self.repo.read(
            _check_id(dead_letter_id), caller.subject, caller.roles, purpose, "read"
        )
        if original is None:
            raise NotFound(f"dead letter {dead_letter_id} not found")
        log.info(
            "dead letter read", extra={"dead_letter_id": original.dead_letter.id, "actor": caller.subject}
        )
        return original

    async def resubmit(
        self, dead_letter_id: str, corrections: Mapping[str, str], caller: Caller
    ) -> tuple[DeadLetter, Outcome]:
        """Submit the original again (after the cause was fixed, e.g. a matrix version
        loaded, or with fields corrected). Idempotent like any 311 submission: the 311 id
        keeps it one complaint however often it is resubmitted."""
        caller.require(DEAD_LETTER_READER_ROLES, "resubmitting a dead letter")
        unknown = sorted(k for k in corrections if k not in CORRECTABLE)
        if unknown:
            raise InvalidArgument(
                [FieldViolation(f"corrections[{k}]", "is not a field of a 311 request") for k in unknown]
            )
        original = await self.repo.read(
            _check_id(dead_letter_id), caller.subject, caller.roles, "resubmit after correction", "resubmit"
        )
        if original is None:
            raise NotFound(f"dead letter {dead_letter_id} not found")
        body, headers = original.body, dict(original.headers)
        if corrections:
            try:
                body = corrected_body(body, dict(corrections))
            except (ValueError, UnicodeDecodeError):
                raise InvalidArgument(
                    FieldViolation("corrections", "the original is not a JSON object; it cannot be corrected")
                ) from None
            if "service_request_id" in corrections:
                headers.pop(MSG_ID_HEADER, None)
        submission = self.decode(body, headers)
        outcome = await self.intake.submit(submission, caller)
        stored = await self.repo.mark_resubmitted(
            original.dead_letter.id, outcome.service_request_id, caller.subject
        )
        log.info(
            "dead letter resubmitted",
            extra={"dead_letter_id": stored.id, "service_request_id": outcome.service_request_id},
        )
        return stored, outcome
