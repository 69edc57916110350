"""The 311 feed's message body (DESIGN.md section 3) → a ``Submission``.

JSON with the Open311 POST fields (``service_code``, ``lat``, ``long``, ``address_string``,
``address_id``, ``zipcode``, ``description``, ``first_name``, ``last_name``, ``email``,
``phone``, ``media_url``, ``attribute``: {code: value}) plus ``service_request_id`` (the 311
system's id; header ``Nats-Msg-Id`` carries the same), ``requested_datetime`` (ISO-8601
with zone), ``channel`` (``311-phone``, ``311-online``, ``311-mobile``, ``311-other``) and
``complainant_address``. Unknown keys (``api_key``, ``device_id`` ...) are ignored.

Only the shape is checked here (types, parseable values); the rules are the domain's. A
problem raises ``InvalidArgument`` naming the field, as the domain does.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime

from services.common.errors import FieldViolation, InvalidArgument
from services.intake.domain.model import CHANNELS_311, ComplainantIdentity, Location, Submission
from services.intake.domain.service_definition import COMPLAINANT_ADDRESS

MSG_ID_HEADER = "Nats-Msg-Id"


def decode_311(body: bytes, headers: Mapping[str, str] | None = None) -> Submission:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidArgument(
            FieldViolation("body", f"is not valid UTF-8 JSON ({type(exc).__name__})")
        ) from None
    if not isinstance(data, dict):
        raise InvalidArgument(FieldViolation("body", "must be a JSON object of Open311 POST fields"))

    violations: list[FieldViolation] = []

    def text(name: str) -> str:
        value = data.get(name)
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)  # numeric ids are common in 311 systems
        violations.append(FieldViolation(name, "must be a string"))
        return ""

    def number(name: str) -> float | None:
        value = data.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            violations.append(FieldViolation(name, "must be a number (WGS84 degrees)"))
            return None
        try:
            result = float(value)
        except (TypeError, ValueError):
            violations.append(FieldViolation(name, "must be a number (WGS84 degrees)"))
            return None
        if not math.isfinite(result):
            violations.append(FieldViolation(name, "must be a finite number (WGS84 degrees)"))
            return None
        return result

    external_id = text("service_request_id").strip()
    header_id = (headers or {}).get(MSG_ID_HEADER, "").strip()
    if external_id and header_id and external_id != header_id:
        violations.append(FieldViolation("service_request_id", f"does not match the {MSG_ID_HEADER} header"))
    external_id = external_id or header_id

    requested_at: datetime | None = None
    raw_when = text("requested_datetime").strip()
    if raw_when:
        try:
            requested_at = datetime.fromisoformat(raw_when)
        except ValueError:
            violations.append(
                FieldViolation("requested_datetime", "must be an ISO-8601 date-time with a zone")
            )
        else:
            if requested_at.tzinfo is None:
                violations.append(FieldViolation("requested_datetime", "must include a time zone (ISO-8601)"))
                requested_at = None

    attributes: dict[str, str] = {}
    raw_attributes = data.get("attribute") or {}
    if not isinstance(raw_attributes, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw_attributes.items()
    ):
        violations.append(FieldViolation("attribute", "must be an object of attribute code to string value"))
    else:
        attributes.update(raw_attributes)
    complainant_address = text(COMPLAINANT_ADDRESS)
    if complainant_address:
        attributes.setdefault(COMPLAINANT_ADDRESS, complainant_address)

    channel = text("channel").strip()
    if channel not in CHANNELS_311:
        # Portal and staff complaints come through the gateway, where they are
        # authenticated; on this feed only the 311 system speaks.
        violations.append(FieldViolation("channel", f"must be one of {', '.join(sorted(CHANNELS_311))}"))

    sub = Submission(
        service_code=text("service_code"),
        location=Location(
            address=text("address_string"),
            lat=number("lat"),
            lon=number("long"),
            address_id=text("address_id"),
            postal_code=text("zipcode"),
        ),
        description=text("description"),
        complainant=ComplainantIdentity(
            first_name=text("first_name"),
            last_name=text("last_name"),
            email=text("email"),
            phone=text("phone"),
        ),
        channel=channel,
        external_request_id=external_id,
        requested_at=requested_at,
        attributes=attributes,
        media_url=text("media_url"),
    )
    if violations:
        raise InvalidArgument(violations)
    return sub


def ordering_key(sub: Submission) -> str:
    """Messages about the same place are processed one after another, in arrival order,
    so the first opens the case and the next joins it (policy 6.6.5) deterministically
    instead of racing. Empty when the message names no place."""
    address = " ".join(sub.location.address.lower().split())
    if address:
        return "a:" + address
    if sub.location.lat is not None and sub.location.lon is not None:
        # ~100 m cells: coordinates of one property from different devices fall together.
        return f"p:{round(sub.location.lat, 3)}:{round(sub.location.lon, 3)}"
    return ""
