"""Domain events: ``bylaw.events.<aggregate>.<event>`` JSON with an event id, the case
number and when it happened — never complainant identity (DESIGN.md section 3)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

EVENTS_SUBJECT_PREFIX = "bylaw.events"


@dataclass(frozen=True, slots=True)
class DomainEvent:
    event_type: str  # "<aggregate>.<event>", e.g. "case.created"
    case_number: str | None
    data: dict[str, Any]
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def subject(self) -> str:
        return f"{EVENTS_SUBJECT_PREFIX}.{self.event_type}"

    def to_json(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "event_type": self.event_type,
            "case_number": self.case_number,
            "occurred_at": self.occurred_at.isoformat(),
            "data": self.data,
        }

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> DomainEvent:
        return cls(
            event_type=payload["event_type"],
            case_number=payload.get("case_number"),
            data=payload.get("data") or {},
            event_id=payload["event_id"],
            occurred_at=datetime.fromisoformat(payload["occurred_at"]),
        )
