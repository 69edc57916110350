"""What the policy does with a well-formed complaint before any case exists.

Decided in this order, each with the section it comes from:

0. Referral-only services (6.2.1 g, 6.5.9, 6.11.2: civil matters, police matters, other
   agencies; ``config/referral_services.yaml``) are REFERRED with the agency named.
1. Out of scope (6.5.9, 6.11.2): a matrix row that only an outside agency enforces (OPP
   only, e.g. off-road vehicles; Public Health for smoking) is REFERRED to that agency.
   Referral comes first because it needs no investigation by the Town, so it is the
   right answer whoever complains and however.
2. Verbal (6.5.1, 6.5.2): complaints must be in writing; a verbal one is accepted only for
   serious and immediate health, safety or environmental matters (matrix priority High)
   and is flagged for written confirmation; otherwise REJECTED, asking for it in writing.
3. Anonymous (4.1): without a name or any contact the complaint is recorded but not
   investigated (REJECTED with that reason) unless it raises pressing health or safety
   issues (matrix priority High), in which case it proceeds, marked anonymous.
4. Incomplete (4.10, 6.5.3): a named, contactable complainant who left out their own
   address has not made a fully valid complaint, but rejecting it would lose a report the
   Town can act on and can complete with one call or email; it proceeds and is flagged
   so staff ask for the address when they acknowledge it (6.5.5).

Everything that proceeds goes to the cases service, which decides NEW_CASE, JOINED_CASE
or a repeat after compliance (6.6.3, 6.6.5).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from services.intake.domain.model import Priority, ReasonCode
from services.intake.domain.validation import ValidComplaint

FOLLOW_UP_COMPLAINANT_ADDRESS = "complainant address missing: ask for it (policy 4.10, 6.5.3)"
FOLLOW_UP_WRITTEN_CONFIRMATION = "verbal complaint: obtain written confirmation (policy 6.5.2)"
FOLLOW_UP_ANONYMOUS = "anonymous: no identity to respond to (policy 4.1)"

REASON_VERBAL = (
    "Verbal complaints are accepted only for serious and immediate health, safety or environmental "
    "matters; please submit this complaint in writing, by form, letter, email or online "
    "(policy 6.5.1, 6.5.2)."
)
REASON_ANONYMOUS = (
    "Anonymous complaint recorded but not investigated: the policy requires the complainant's name "
    "and contact information unless a pressing health or safety issue is raised (policy 4.1, 6.5.3)."
)


class Route(StrEnum):
    PROCEED = "proceed"  # ask the cases service for a case
    REFERRED = "referred"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Decision:
    route: Route
    reason: str = ""
    reason_code: ReasonCode | None = None
    referred_to: str = ""
    anonymous: bool = False
    written_confirmation_required: bool = False
    follow_up: tuple[str, ...] = ()


def referral_reason(agency: str, service_name: str) -> str:
    return (
        f"{service_name} is not enforced by the Town; it has been referred to {agency}, the agency "
        f"responsible (policy 6.5.9, 6.11.2). Contact them directly about this matter; in an "
        f"emergency call 911."
    )


def classify(complaint: ValidComplaint) -> Decision:
    entry = complaint.entry
    identity = complaint.identity
    high = entry.priority is Priority.HIGH

    if complaint.referral is not None:
        referral = complaint.referral
        return Decision(Route.REFERRED, referral.reason(), referral.reason_code, referred_to=referral.agency)

    agency = entry.referral_agency
    if agency:
        return Decision(
            Route.REFERRED,
            referral_reason(agency, entry.service_name),
            ReasonCode.OUT_OF_SCOPE,
            referred_to=agency,
        )

    follow_up: list[str] = []
    written_confirmation = False
    if complaint.submission.verbal:
        if not high:
            return Decision(Route.REJECTED, REASON_VERBAL, ReasonCode.VERBAL)
        written_confirmation = True
        follow_up.append(FOLLOW_UP_WRITTEN_CONFIRMATION)

    anonymous = not identity.has_name or not identity.has_contact
    if anonymous:
        if not high:
            return Decision(Route.REJECTED, REASON_ANONYMOUS, ReasonCode.ANONYMOUS)
        follow_up.append(FOLLOW_UP_ANONYMOUS)
    elif not identity.has_address:
        follow_up.append(FOLLOW_UP_COMPLAINANT_ADDRESS)

    return Decision(
        Route.PROCEED,
        anonymous=anonymous,
        written_confirmation_required=written_confirmation,
        follow_up=tuple(follow_up),
    )
