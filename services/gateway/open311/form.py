"""Validation of Open311 input at the edge: the POST requests.json form and the GET
requests.json filters.

Only the shape of the input is checked here (types, ranges, lengths, the Open311 rule that
a location must be given); whether a complaint is valid under the policy is intake's
decision. Violations name the field and the rule but never repeat the value: a rejected
field may be a complainant's name, email or phone number (policy 6.3.4).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from urllib.parse import urlsplit

from bylaw.v1 import common_pb2, intake_pb2
from starlette.datastructures import FormData, UploadFile

from services.common.errors import FieldViolation, InvalidArgument

PORTAL_CHANNEL = "portal"
OPEN311 = "Open311 GeoReport v2"

# Attribute codes that carry complainant identity: they go to the identity vault with the
# name and contact details, never into the complaint's attribute map (policy 6.3, 6.5.3).
IDENTITY_ATTRIBUTES = {"complainant_address": "address", "preferred_contact": "preferred_contact"}

FORM_FIELD_LIMITS = {
    "service_code": 100,
    "lat": 40,
    "long": 40,
    "address_string": 300,
    "address_id": 100,
    "description": 4000,  # Open311 request schema maxLength
    "first_name": 100,
    "last_name": 100,
    "email": 254,
    "phone": 40,
    "device_id": 200,
    "account_id": 200,
    "media_url": 2000,
    "api_key": 200,
    "jurisdiction_id": 100,
}
_ATTRIBUTE_KEY = re.compile(r"^attribute\[([A-Za-z0-9_.\-]{1,64})\](\[\])?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^[0-9+()\-. x]+$")
_ATTRIBUTE_VALUE_MAX = 1000
_ATTRIBUTES_MAX = 50
STATUSES = ("open", "closed")
# Open311: "may not span more than 90 days"; also the default window.
MAX_SPAN = timedelta(days=90)
MAX_IDS = 100


class _Collector:
    def __init__(self) -> None:
        self.violations: list[FieldViolation] = []

    def add(self, field: str, rule: str, policy: str | None = None) -> None:
        self.violations.append(FieldViolation(field, rule, policy))

    def raise_if_any(self) -> None:
        if self.violations:
            raise InvalidArgument(self.violations)


def _coordinate(raw: str, field: str, limit: float, errors: _Collector) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        errors.add(field, "must be a number (WGS84 decimal degrees)")
        return None
    if not math.isfinite(value) or not -limit <= value <= limit:
        errors.add(field, f"must be between -{limit:g} and {limit:g}")
        return None
    return value


def submission_from_form(form: FormData, *, received_at: datetime) -> intake_pb2.ComplaintSubmission:
    """A portal complaint from an Open311 POST form; raises InvalidArgument naming every
    field that is wrong."""
    errors = _Collector()
    values: dict[str, str] = {}
    attributes: dict[str, list[str]] = {}
    seen: set[str] = set()
    for key, raw in form.multi_items():
        if isinstance(raw, UploadFile):
            errors.add(key, "file uploads are not accepted here; give media_url")
            continue
        value = raw.strip()
        if key.startswith("attribute"):
            match = _ATTRIBUTE_KEY.match(key)
            if match is None:
                errors.add(key, "must look like attribute[code]=value or attribute[code][]=value")
                continue
            code, multi = match.group(1), match.group(2) is not None
            if code in attributes and not multi:
                errors.add(f"attribute[{code}]", "must be given once (use attribute[code][] for lists)")
                continue
            if len(value) > _ATTRIBUTE_VALUE_MAX:
                errors.add(f"attribute[{code}]", f"must be at most {_ATTRIBUTE_VALUE_MAX} characters")
                continue
            attributes.setdefault(code, []).append(value)
            continue
        if key not in FORM_FIELD_LIMITS:
            continue  # unknown fields are ignored, as Open311 clients send extras
        if key in seen:
            errors.add(key, "must be given once")
            continue
        seen.add(key)
        if len(value) > FORM_FIELD_LIMITS[key]:
            errors.add(key, f"must be at most {FORM_FIELD_LIMITS[key]} characters")
            continue
        values[key] = value
    if len(attributes) > _ATTRIBUTES_MAX:
        errors.add("attribute", f"at most {_ATTRIBUTES_MAX} attributes")

    if not values.get("service_code"):
        errors.add("service_code", f"is required ({OPEN311})")

    lat = lon = None
    if values.get("lat"):
        lat = _coordinate(values["lat"], "lat", 90, errors)
    if values.get("long"):
        lon = _coordinate(values["long"], "long", 180, errors)
    if bool(values.get("lat")) != bool(values.get("long")):
        missing = "long" if values.get("lat") else "lat"
        errors.add(missing, "is required when the other coordinate is given")
    has_point = bool(values.get("lat") and values.get("long"))
    if not (has_point or values.get("address_string") or values.get("address_id")):
        # Open311 requires one; the policy's valid complaint describes the location (4.10).
        errors.add("location", "give lat and long, address_string or address_id", "4.10")

    if values.get("email") and not _EMAIL.match(values["email"]):
        errors.add("email", "must be an email address")
    phone = values.get("phone", "")
    if phone and (not _PHONE.match(phone) or not 7 <= sum(c.isdigit() for c in phone) <= 15):
        errors.add("phone", "must be a telephone number (7 to 15 digits)")
    media_url = values.get("media_url", "")
    if media_url:
        parts = urlsplit(media_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            errors.add("media_url", "must be an http(s) URL")
    errors.raise_if_any()

    identity = intake_pb2.ComplainantIdentity(
        first_name=values.get("first_name", ""),
        last_name=values.get("last_name", ""),
        email=values.get("email", ""),
        phone=phone,
    )
    plain: dict[str, str] = {}
    for code, items in attributes.items():
        joined = ",".join(items)
        if code in IDENTITY_ATTRIBUTES:
            setattr(identity, IDENTITY_ATTRIBUTES[code], joined)
        else:
            plain[code] = joined
    location = common_pb2.Location(
        address=values.get("address_string", ""), address_id=values.get("address_id", "")
    )
    if lat is not None and lon is not None:
        location.point.CopyFrom(common_pb2.GeoPoint(lat=lat, lon=lon))
    submission = intake_pb2.ComplaintSubmission(
        service_code=values["service_code"],
        location=location,
        description=values.get("description", ""),
        complainant=identity,
        media_url=media_url,
        channel=PORTAL_CHANNEL,
        attributes=plain,
        # device_id and account_id are accepted but not kept: the Town collects only the
        # personal information it needs (policy 6.3.3).
        client_id=values.get("api_key", ""),
    )
    submission.requested_at.FromDatetime(received_at)
    return submission


@dataclass(frozen=True, slots=True)
class RequestFilters:
    service_request_ids: tuple[str, ...] = ()
    service_code: str = ""
    start: datetime | None = None
    end: datetime | None = None
    status: str = ""  # "" = both


def _parse_datetime(raw: str, field: str, tz: tzinfo, errors: _Collector) -> datetime | None:
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        errors.add(field, "must be an ISO-8601 date-time, e.g. 2026-01-31T00:00:00-05:00")
        return None
    # A date-time without an offset means the Town's local time.
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def _split(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def request_filters(
    *,
    service_request_id: str | None,
    service_code: str | None,
    start_date: str | None,
    end_date: str | None,
    status: Iterable[str],
    tz: tzinfo,
    now: datetime,
) -> RequestFilters:
    """The GET requests.json filters. Per the spec, ids override every other filter, and a
    query without dates covers the last 90 days; a range may not span more than 90 days."""
    errors = _Collector()
    # An empty parameter (``service_request_id=``) is no filter, as clients send blanks.
    if service_request_id is not None and service_request_id.strip():
        ids = _split(service_request_id)
        if not ids:
            errors.add("service_request_id", "must list one or more ids, comma-separated")
        elif len(ids) > MAX_IDS:
            errors.add("service_request_id", f"at most {MAX_IDS} ids")
        errors.raise_if_any()
        return RequestFilters(service_request_ids=tuple(dict.fromkeys(ids)))

    statuses = {s.lower() for raw in status for s in _split(raw)}
    for bad in sorted(statuses - set(STATUSES)):
        errors.add("status", f"must be open or closed, not {bad!r}")
    start = _parse_datetime(start_date, "start_date", tz, errors) if start_date else None
    end = _parse_datetime(end_date, "end_date", tz, errors) if end_date else None
    if start and end:
        if start > end:
            errors.add("end_date", "must not be before start_date")
        elif end - start > MAX_SPAN:
            errors.add("end_date", f"the range may not span more than {MAX_SPAN.days} days ({OPEN311})")
    errors.raise_if_any()
    if start is None and end is None:
        end = now
        start = now - MAX_SPAN
    elif start is None:
        assert end is not None
        start = end - MAX_SPAN
    elif end is None:
        end = start + MAX_SPAN
    return RequestFilters(
        service_code=(service_code or "").strip(),
        start=start,
        end=end,
        status=statuses.pop() if len(statuses) == 1 else "",
    )
