"""What the complainant is told: the service notice returned with every outcome (policy
6.5.5-6.5.9, 6.6.3, 6.6.5). Text only; no identity, no investigation details."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from services.intake.domain.model import MarkKind, OutcomeKind, Priority, ReasonCode

LENGTHY_OR_CIVIL = (
    "Some by-law matters take a long time to resolve, and some may be found to be a civil matter "
    "between the parties rather than a by-law contravention (policy 6.5.8)."
)
CONFIDENTIAL = (
    "Your identity and personal information will be kept confidential unless you are required to "
    "testify in court or it is part of an audit or similar process (policy 6.3.5, 6.3.6)."
)
REASON_REPEAT_AFTER_COMPLIANCE = (
    "Compliance already confirmed; new information needed: compliance with this matter was already "
    "confirmed on case {case}, so it will not be acted on again unless new information is provided "
    "(policy 6.6.3)."
)

_TIMING = {
    Priority.HIGH: (
        "It is a high-priority matter (a likely health or safety risk), so an officer will begin "
        "steps to address it as soon as reasonably possible (policy 6.8.6)."
    ),
    Priority.MEDIUM: (
        "It is a medium-priority matter; complaints are investigated in order of priority set by "
        "Council's Service Level Matrix (policy 6.5.4, 6.8.8)."
    ),
    Priority.LOW: (
        "It is a low-priority matter; complaints are investigated in order of priority set by "
        "Council's Service Level Matrix, after higher-priority matters (policy 6.5.4, 6.8.10)."
    ),
}


def format_due(due: datetime, tz: ZoneInfo) -> str:
    local = due.astimezone(tz)
    hour = local.hour % 12 or 12
    suffix = "a.m." if local.hour < 12 else "p.m."
    return f"{local:%A, %B} {local.day}, {local.year} by {hour}:{local:%M} {suffix}"


def service_notice(
    kind: OutcomeKind,
    *,
    service_name: str,
    priority: Priority,
    departments: str,
    case_number: str = "",
    reason: str = "",
    reason_code: ReasonCode | None = None,
    acknowledgement_due: datetime | None = None,
    first_inspection_due: datetime | None = None,
    resolution_due: datetime | None = None,
    tz: ZoneInfo,
) -> str:
    """Next steps and expected timing (6.5.6), the case number to quote (6.5.7), that some
    matters take long or may be civil (6.5.8); for referrals and rejections, the reason
    and what the complainant can do."""
    if kind in (OutcomeKind.NEW_CASE, OutcomeKind.JOINED_CASE):
        assert case_number, "a case outcome has a case number"
        if kind is OutcomeKind.NEW_CASE:
            opening = (
                f"Your complaint about {service_name} has been received as case {case_number}. "
                f"Please quote this case number whenever you contact us (policy 6.5.7)."
            )
        else:
            opening = (
                f"Your complaint about {service_name} has been added to open case {case_number}, "
                f"which already concerns this matter at this location; officers will consider your "
                f"concerns as well (policy 6.6.5). Please quote this case number whenever you contact "
                f"us (policy 6.5.7)."
            )
        ack = (
            f" Staff will acknowledge it by {format_due(acknowledgement_due, tz)} (policy 6.5.5)."
            if acknowledgement_due
            else ""
        )
        targets = ""
        if first_inspection_due and resolution_due:
            # Expected timing (6.5.6) from the service-level targets for the priority (6.8.5).
            targets = (
                f" Our service targets for this priority: a first inspection by "
                f"{format_due(first_inspection_due, tz)} and resolution by "
                f"{format_due(resolution_due, tz)}."
            )
        return (
            f"{opening} Next steps: {departments} will review it. {_TIMING[priority]}"
            f"{ack}{targets} You will be told when to expect a response on its status (policy 6.5.6). "
            f"{LENGTHY_OR_CIVIL} {CONFIDENTIAL}"
        )
    if kind is OutcomeKind.REFERRED:
        return reason
    return f"{reason} {_NEXT_STEP_AFTER_REJECTION.get(reason_code, '')}".strip()


def marked_notice(kind: MarkKind, service_name: str) -> str:
    """What a complainant is told when staff find the complaint frivolous or vexatious
    (policy 4.4, 4.11): a response, not silence, without the staff's internal notes."""
    if kind is MarkKind.FRIVOLOUS:
        finding = (
            "Town staff have reviewed it and found it to be without reasonable cause, without "
            "merit or substance, or trivial (a frivolous complaint, policy 4.4)"
        )
    else:
        finding = (
            "Town staff have reviewed it and found it to be pursued in a manner that is malicious, "
            "intended to harass or embarrass, or in bad faith (a vexatious complaint, policy 4.11)"
        )
    return (
        f"Your complaint about {service_name}: {finding}, so it will not be acted on and has been "
        f"closed. Further complaints on the same issue may not be acted on unless they bring new "
        f"information (policy 6.6.3), and contact may be restricted under the Town's Reasonable "
        f"Conduct Policy (policy 6.6.4)."
    )


_NEXT_STEP_AFTER_REJECTION: dict[ReasonCode | None, str] = {
    ReasonCode.REPEAT_AFTER_COMPLIANCE: (
        "If you have new information, please submit it quoting the case number."
    ),
    ReasonCode.ANONYMOUS: (
        "To have it investigated, submit it again with your name, address and contact information."
    ),
}


def status_notes(
    kind: OutcomeKind | None,
    *,
    case_number: str,
    referred_to: str,
    reason_code: ReasonCode | None,
    case_closed: bool = False,
) -> str:
    """A neutral public note (policy 6.3.4, 6.3.8: no identity, and nothing about the
    investigation while it is ongoing: only whether the case is open or closed)."""
    if kind is None:
        return "Received; being classified."
    if case_closed and kind in (OutcomeKind.NEW_CASE, OutcomeKind.JOINED_CASE):
        return f"Case {case_number} is closed."
    if kind is OutcomeKind.NEW_CASE:
        return f"Under review as case {case_number}."
    if kind is OutcomeKind.JOINED_CASE:
        return f"Added to open case {case_number}."
    if kind is OutcomeKind.REFERRED:
        if reason_code is ReasonCode.CIVIL_MATTER:
            return f"Not acted on: a civil matter between the parties; see {referred_to} (policy 6.2.1 g)."
        return f"Referred to {referred_to}: not a Town by-law matter (policy 6.5.9)."
    return _REJECTION_NOTES.get(reason_code, "Closed.")


_REJECTION_NOTES: dict[ReasonCode | None, str] = {
    ReasonCode.ANONYMOUS: "Recorded; not investigated: anonymous complaint (policy 4.1).",
    ReasonCode.VERBAL: "Not accepted: this matter must be reported in writing (policy 6.5.1).",
    # Neutral in public: the finding is told to the complainant, not to everyone (6.3.8).
    ReasonCode.FRIVOLOUS: "Closed after review: not acted on (policy 4.4).",
    ReasonCode.VEXATIOUS: "Closed after review: not acted on (policy 4.11).",
    ReasonCode.REPEAT_AFTER_COMPLIANCE: (
        "Not acted on: compliance already confirmed; new information needed (policy 6.6.3)."
    ),
}
