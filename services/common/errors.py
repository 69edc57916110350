"""Domain errors every service raises; the gRPC interceptor maps them to status codes.

Plain Python so domain code can raise them without importing gRPC. A validation error
names the field, the rule it broke and, where one applies, the policy section — the
gateway turns that into an Open311 error body and the NATS consumer into a DLQ reason.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldViolation:
    field: str
    rule: str
    policy: str | None = None  # e.g. "6.5.3"

    def describe(self) -> str:
        cite = f" (policy {self.policy})" if self.policy else ""
        return f"{self.field}: {self.rule}{cite}"


class DomainError(Exception):
    """Base class; ``kind`` selects the gRPC status code."""

    kind = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(DomainError):
    kind = "invalid_argument"

    def __init__(self, violations: list[FieldViolation] | FieldViolation) -> None:
        self.violations = [violations] if isinstance(violations, FieldViolation) else list(violations)
        super().__init__("; ".join(v.describe() for v in self.violations))


class NotFound(DomainError):
    kind = "not_found"


class AlreadyExists(DomainError):
    kind = "already_exists"


class FailedPrecondition(DomainError):
    """The request is well-formed but the current state does not allow it."""

    kind = "failed_precondition"


class PermissionDenied(DomainError):
    kind = "permission_denied"


class Unauthenticated(DomainError):
    kind = "unauthenticated"


class Unavailable(DomainError):
    """A dependency is down; callers may retry."""

    kind = "unavailable"
