"""Is a submission well-formed? (policy 4.10, 6.5.1-6.5.3, Open311 GeoReport v2)

Malformed input raises ``InvalidArgument`` naming every offending field, the rule and the
policy section; nothing is recorded for it and the channel reports the error (HTTP 400,
gRPC INVALID_ARGUMENT, the 311 dead-letter subject). A well-formed complaint that the
policy does not act on (anonymous, verbal, out of scope) is *not* invalid: it is recorded
and gets a reasoned outcome (see ``classification``).

Rules never echo the offending value: it may be complainant identity (policy 6.3.2).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from services.common.errors import FieldViolation, InvalidArgument
from services.intake.domain.matrix import MatrixEntry, MatrixVersion
from services.intake.domain.model import (
    ALL_CHANNELS,
    CHANNELS_311,
    PREFERRED_CONTACT_METHODS,
    VERBAL_CAPABLE_CHANNELS,
    ComplainantIdentity,
    Location,
    Submission,
)
from services.intake.domain.referral import ReferralService
from services.intake.domain.service_definition import (
    ABOUT_STAFF_OR_COUNCIL,
    ATTRIBUTES_BY_CODE,
    COMPLAINANT_ADDRESS,
    PREFERRED_CONTACT,
)

MAX_DESCRIPTION = 4000  # Open311 GeoReport v2 request.description maxLength
MAX_ADDRESS = 300
MAX_NAME = 100
MAX_EXTERNAL_ID = 100
MAX_URL = 2000
# Clocks of other systems drift; a request "from the future" beyond this is an error.
CLOCK_SKEW = timedelta(minutes=5)

_EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
_PHONE_CHARS = re.compile(r"^\+?[0-9 ().\-]+(?:\s*(?:x|ext\.?)\s*[0-9]{1,6})?$", re.IGNORECASE)
_EXTENSION = re.compile(r"\s*(?:x|ext\.?)\s*", re.IGNORECASE)
_EXTERNAL_ID = re.compile(r"^[A-Za-z0-9._:\-/]+$")


@dataclass(frozen=True, slots=True)
class ValidComplaint:
    """A well-formed submission, trimmed, with its matrix row and the identity assembled
    from the Open311 fields and attributes."""

    submission: Submission
    entry: MatrixEntry
    matrix_version: str
    identity: ComplainantIdentity
    requested_at: datetime
    restricted: bool  # policy 6.10
    # Set when the service is a referral-only service (policy 6.2.1 g, 6.5.9, 6.11.2).
    referral: ReferralService | None = None


def _clean(value: str) -> str:
    return " ".join(value.split())


def validate_submission(
    sub: Submission,
    matrix: MatrixVersion,
    now: datetime,
    referrals: Mapping[str, ReferralService] | None = None,
) -> ValidComplaint:
    """Check every rule; raise one ``InvalidArgument`` listing all violations."""
    v: list[FieldViolation] = []

    # What is complained about: a service of the matrix in force (policy 6.2.1 a, 6.5.4),
    # or a referral-only service (6.2.1 g, 6.5.9), which the matrix never shadows.
    code = sub.service_code.strip()
    entry = matrix.get(code) if code else None
    referral = (referrals or {}).get(code) if code and entry is None else None
    if referral is not None:
        entry = referral.as_entry()
    if not code:
        v.append(FieldViolation("service_code", "is required: the nature of the complaint", "6.5.3"))
    elif entry is None:
        v.append(
            FieldViolation(
                "service_code",
                f"is not a service of the Service Level Matrix in force ({matrix.label})",
                "6.8.3",
            )
        )

    location = _check_location(sub.location, v)

    description = sub.description.strip()
    if not description:
        v.append(FieldViolation("description", "is required: a brief description of the nature", "6.5.3"))
    elif len(description) > MAX_DESCRIPTION:
        v.append(FieldViolation("description", f"must be at most {MAX_DESCRIPTION} characters (Open311)"))

    channel = sub.channel.strip()
    if channel not in ALL_CHANNELS:
        v.append(FieldViolation("channel", f"must be one of {', '.join(sorted(ALL_CHANNELS))}", "6.5.1"))

    external_id = sub.external_request_id.strip()
    if channel in CHANNELS_311 and not external_id:
        v.append(
            FieldViolation("service_request_id", "is required on 311 channels (the 311 system's own id)")
        )
    if external_id and (len(external_id) > MAX_EXTERNAL_ID or not _EXTERNAL_ID.match(external_id)):
        v.append(
            FieldViolation(
                "service_request_id",
                f"must be at most {MAX_EXTERNAL_ID} letters, digits or . _ : - /",
            )
        )

    requested_at = sub.requested_at or now
    if requested_at.tzinfo is None:
        v.append(FieldViolation("requested_datetime", "must include a time zone (ISO-8601)"))
    elif requested_at > now + CLOCK_SKEW:
        v.append(FieldViolation("requested_datetime", "must not be in the future", "6.5.10"))

    if sub.verbal and channel in ALL_CHANNELS and channel not in VERBAL_CAPABLE_CHANNELS:
        v.append(
            FieldViolation(
                "verbal",
                f"a complaint on channel {channel} is in writing; verbal applies to phone or walk-in",
                "6.5.1",
            )
        )

    media_url = sub.media_url.strip()
    if media_url and (len(media_url) > MAX_URL or not re.match(r"^https?://\S+$", media_url)):
        v.append(FieldViolation("media_url", "must be an http(s) URL (Open311)"))

    identity, restricted = _check_identity_and_attributes(sub, v)

    if v:
        raise InvalidArgument(v)
    assert entry is not None
    return ValidComplaint(
        submission=replace(
            sub,
            service_code=code,
            location=location,
            description=description,
            channel=channel,
            external_request_id=external_id,
            media_url=media_url,
        ),
        entry=entry,
        matrix_version=matrix.label,
        identity=identity,
        requested_at=requested_at,
        restricted=restricted,
        referral=referral,
    )


def _check_location(loc: Location, v: list[FieldViolation]) -> Location:
    address = _clean(loc.address)
    has_point = loc.lat is not None or loc.lon is not None
    if not address and not has_point:
        v.append(
            FieldViolation(
                "address_string",
                "the location is required: an address or lat and long",
                "4.10",
            )
        )
    if len(address) > MAX_ADDRESS:
        v.append(FieldViolation("address_string", f"must be at most {MAX_ADDRESS} characters"))
    if has_point:
        if loc.lat is None or loc.lon is None:
            missing = "lat" if loc.lat is None else "long"
            v.append(FieldViolation(missing, "lat and long must be given together (WGS84)", "4.10"))
        if loc.lat is not None and not -90.0 <= loc.lat <= 90.0:
            v.append(FieldViolation("lat", "must be between -90 and 90 (WGS84)"))
        if loc.lon is not None and not -180.0 <= loc.lon <= 180.0:
            v.append(FieldViolation("long", "must be between -180 and 180 (WGS84)"))
    address_id = loc.address_id.strip()
    if len(address_id) > 64:
        v.append(FieldViolation("address_id", "must be at most 64 characters"))
    postal = loc.postal_code.strip()
    if len(postal) > 16:
        v.append(FieldViolation("zipcode", "must be at most 16 characters"))
    return Location(address=address, lat=loc.lat, lon=loc.lon, address_id=address_id, postal_code=postal)


def _check_identity_and_attributes(
    sub: Submission, v: list[FieldViolation]
) -> tuple[ComplainantIdentity, bool]:
    attrs = {k.strip(): val.strip() for k, val in sub.attributes.items()}
    for code, value in attrs.items():
        spec = ATTRIBUTES_BY_CODE.get(code)
        if spec is None:
            v.append(FieldViolation(f"attribute[{code}]", "is not an attribute of this service (Open311)"))
        elif value and not spec.allows(value):
            allowed = ", ".join(key for key, _ in spec.values) or f"at most {spec.max_length} characters"
            v.append(FieldViolation(f"attribute[{code}]", f"must be {allowed}", "6.5.3"))

    who = sub.complainant
    identity = ComplainantIdentity(
        first_name=_clean(who.first_name),
        last_name=_clean(who.last_name),
        email=who.email.strip(),
        phone=_clean(who.phone),
        # The Open311 attribute is how HTTP and 311 clients supply the complainant's own
        # address (policy 4.10); staff channels fill the identity field directly.
        address=_clean(who.address) or _clean(attrs.get(COMPLAINANT_ADDRESS, "")),
        preferred_contact=(who.preferred_contact.strip() or attrs.get(PREFERRED_CONTACT, "")).lower(),
    )
    for name, value in (("first_name", identity.first_name), ("last_name", identity.last_name)):
        if len(value) > MAX_NAME:
            v.append(FieldViolation(name, f"must be at most {MAX_NAME} characters"))
    if len(identity.address) > MAX_ADDRESS:
        v.append(FieldViolation(COMPLAINANT_ADDRESS, f"must be at most {MAX_ADDRESS} characters"))
    if identity.email and (len(identity.email) > 254 or not _EMAIL.match(identity.email)):
        v.append(FieldViolation("email", "must be a valid email address", "6.5.3"))
    if identity.phone:
        number = _EXTENSION.split(identity.phone)[0]
        digits = sum(ch.isdigit() for ch in number)
        if not _PHONE_CHARS.match(identity.phone) or not 7 <= digits <= 15:
            v.append(FieldViolation("phone", "must be a telephone number of 7 to 15 digits", "6.5.3"))
    preferred = identity.preferred_contact
    if preferred:
        if preferred not in PREFERRED_CONTACT_METHODS:
            v.append(
                FieldViolation(
                    PREFERRED_CONTACT, f"must be one of {', '.join(PREFERRED_CONTACT_METHODS)}", "6.5.3"
                )
            )
        elif preferred == "email" and not identity.email:
            v.append(FieldViolation("email", "is required when the preferred contact is email", "6.5.3"))
        elif preferred == "phone" and not identity.phone:
            v.append(FieldViolation("phone", "is required when the preferred contact is phone", "6.5.3"))
        elif preferred == "mail" and not identity.address:
            v.append(
                FieldViolation(COMPLAINANT_ADDRESS, "is required when the preferred contact is mail", "6.5.3")
            )
    elif identity.email or identity.phone:
        identity = replace(identity, preferred_contact="email" if identity.email else "phone")

    restricted = sub.about_staff_or_council or attrs.get(ABOUT_STAFF_OR_COUNCIL, "") == "yes"
    return identity, restricted
