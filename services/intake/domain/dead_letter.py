"""Dead letters of the 311 feed without identity (policy 6.3, MFIPPA).

A 311 message that cannot be processed still has to be seen by someone (nothing is
dropped, DESIGN.md section 3), but the message carries the complainant's identity and the
written complaint, and ``bylaw.311.dlq`` is read by operators and kept by JetStream. So
the DLQ carries a *redacted* copy: the identity fields and the description replaced by a
placeholder saying where the full original is (intake's encrypted dead-letter vault,
readable by need-to-know staff under audit). A body that is not a JSON object cannot be
redacted field by field, so the DLQ carries only its size and SHA-256.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Every field of the 311 body that identifies the complainant, and the written
# complaint itself (policy 6.3.4: not disclosed).
IDENTITY_FIELDS = ("first_name", "last_name", "email", "phone", "complainant_address")
WITHHELD_FIELDS = (*IDENTITY_FIELDS, "description")
# Attributes that carry identity (the Open311 attribute form of the complainant address).
WITHHELD_ATTRIBUTES = ("complainant_address",)
STAFF_ENDPOINT = "/api/v1/intake/dead-letters/{id}"


def placeholder(dead_letter_id: str) -> str:
    return (
        f"[withheld: complainant identity and the written complaint are not carried on the DLQ "
        f"(policy 6.3); the full original is in intake's encrypted dead-letter vault as "
        f"{dead_letter_id}, readable by authorised staff at {STAFF_ENDPOINT.format(id=dead_letter_id)}]"
    )


def redacted_original(body: bytes, dead_letter_id: str) -> dict[str, Any]:
    """What the DLQ may carry of the original body."""
    digest = {"size_bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        data = None
    if not isinstance(data, dict):
        return {"original_withheld": placeholder(dead_letter_id), **digest}
    mark = placeholder(dead_letter_id)
    redacted = {k: (mark if k in WITHHELD_FIELDS and v not in (None, "") else v) for k, v in data.items()}
    attributes = redacted.get("attribute")
    if isinstance(attributes, dict):
        redacted["attribute"] = {
            k: (mark if k in WITHHELD_ATTRIBUTES and v not in (None, "") else v)
            for k, v in attributes.items()
        }
    return {"original": redacted, **digest}


def corrected_body(body: bytes, corrections: dict[str, str]) -> bytes:
    """The original with top-level fields replaced (a staff correction before resubmitting).
    Raises ValueError when the original is not a JSON object."""
    data = json.loads(body.decode("utf-8"))
    if not isinstance(data, dict):
        raise ValueError("the original is not a JSON object")
    data.update(corrections)
    return json.dumps(data).encode()


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A dead letter as staff list it: everything but the original."""

    id: str
    external_request_id: str
    reason: str
    violations: tuple[dict[str, str | None], ...]
    stream_sequence: int | None
    deliveries: int
    failed_at: datetime
    status: str  # "open" | "resubmitted"
    size_bytes: int
    sha256: str
    resubmitted_as: str = ""
    resubmitted_by: str = ""


@dataclass(frozen=True, slots=True)
class DeadLetterOriginal:
    dead_letter: DeadLetter
    body: bytes = field(repr=False)
    headers: dict[str, str] = field(repr=False)
