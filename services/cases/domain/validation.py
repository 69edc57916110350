"""Field length limits of the case record (they match the column sizes, so an oversized
value is a named validation error, not a database failure)."""

from __future__ import annotations

from collections.abc import Iterable

from services.common.errors import FieldViolation

LIMITS: dict[str, int] = {
    "complaint_id": 128,
    "service_code": 100,
    "bylaw_number": 32,
    "matrix_version": 64,
    "channel": 32,
    "location.address_id": 64,
    "location.postal_code": 16,
    "step_key": 200,
    "actor.subject": 200,
    "officer_id": 64,
    "badge_number": 64,
    "land_use": 64,
    "ward": 64,
}


def too_long(fields: Iterable[tuple[str, str, str]]) -> list[FieldViolation]:
    """Violations for values longer than their limit; each item is (field name in the
    request, limit key in LIMITS, value)."""
    out: list[FieldViolation] = []
    for name, key, value in fields:
        limit = LIMITS[key]
        if len(value) > limit:
            out.append(FieldViolation(name, f"must be at most {limit} characters; got {len(value)}"))
    return out
