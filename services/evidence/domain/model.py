"""Evidence items and the rules an upload's metadata must satisfy.

An evidence item is one file attached to one case. The bytes are content-addressed
(object key ``sha256/<hex>``) so identical bytes are stored once however many cases or
uploads refer to them; the item row records who, what and when, and is never changed or
deleted once written (evidence may be disclosed in a prosecution, policy 6.3.6, so it must
be exactly what was captured).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath, PureWindowsPath

from services.common.errors import FieldViolation, InvalidArgument

KINDS = ("photo", "video", "document", "rendered_notice")

# A single upload larger than this is refused while it streams (an hour of 1080p phone
# video is about 4 GB; evidence clips are minutes long).
MAX_UPLOAD_BYTES = 2 * 1024**3

_CASE_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_MAX_FILENAME = 255
_MAX_CAPTION = 2000
_MAX_STEP_KEY = 200
_MAX_PERSON_ID = 200


@dataclass(frozen=True, slots=True)
class GeoPoint:
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class PhotoMetadata:
    """What a photo's EXIF says about where and when it was taken."""

    point: GeoPoint | None = None
    captured_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class UploadRequest:
    """Validated metadata of one upload (the first message of the stream)."""

    case_number: str
    filename: str
    declared_content_type: str
    kind: str
    captured_by: str
    caption: str
    step_key: str  # "" when the upload is not a workflow step
    uploaded_by: str  # staff subject from the gateway-verified actor


@dataclass(frozen=True, slots=True)
class EvidenceItem:
    evidence_id: str
    case_number: str
    sha256: str
    size_bytes: int
    content_type: str
    filename: str
    kind: str
    captured_point: GeoPoint | None
    captured_at: datetime | None
    stored_at: datetime | None  # set by the database when the row is written
    captured_by: str
    caption: str
    object_key: str
    step_key: str
    uploaded_by: str


def object_key_for(sha256_hex: str) -> str:
    if not _SHA256_HEX.match(sha256_hex):
        raise ValueError(f"not a lowercase SHA-256 hex digest: {sha256_hex!r}")
    return f"sha256/{sha256_hex}"


def new_evidence_id() -> str:
    return str(uuid.uuid4())


def safe_filename(filename: str) -> str:
    """The base name only: a client path like ``C:\\DCIM\\a.jpg`` or ``../../x`` keeps ``a.jpg``
    / ``x``, so a filename can never address anything when it is used in a header."""
    name = PureWindowsPath(PurePosixPath(filename.strip()).name).name
    return "".join(ch for ch in name if ch.isprintable() and ch not in '"\\')


def validate_upload(
    *,
    case_number: str,
    filename: str,
    content_type: str,
    kind: str,
    captured_by: str,
    caption: str,
    step_key: str,
    uploaded_by: str,
) -> UploadRequest:
    """Check the metadata message; every problem is reported at once, each naming its field."""
    violations: list[FieldViolation] = []
    case_number = case_number.strip()
    if not case_number:
        violations.append(FieldViolation("metadata.case_number", "is required: evidence belongs to a case"))
    elif not _CASE_NUMBER.match(case_number):
        violations.append(
            FieldViolation("metadata.case_number", "must be letters, digits, '-' or '_' (at most 64)")
        )
    if kind not in KINDS:
        violations.append(FieldViolation("metadata.kind", f"must be one of {', '.join(KINDS)}; got {kind!r}"))
    name = safe_filename(filename)
    if len(name) > _MAX_FILENAME:
        violations.append(FieldViolation("metadata.filename", f"must be at most {_MAX_FILENAME} characters"))
    if len(caption) > _MAX_CAPTION:
        violations.append(FieldViolation("metadata.caption", f"must be at most {_MAX_CAPTION} characters"))
    if len(step_key) > _MAX_STEP_KEY:
        violations.append(FieldViolation("metadata.step_key", f"must be at most {_MAX_STEP_KEY} characters"))
    if len(captured_by) > _MAX_PERSON_ID:
        violations.append(
            FieldViolation("metadata.captured_by", f"must be at most {_MAX_PERSON_ID} characters")
        )
    if violations:
        raise InvalidArgument(violations)
    return UploadRequest(
        case_number=case_number,
        filename=name,
        declared_content_type=content_type,
        kind=kind,
        captured_by=captured_by.strip(),
        caption=caption.strip(),
        step_key=step_key.strip(),
        uploaded_by=uploaded_by.strip()[:_MAX_PERSON_ID],
    )


def check_kind_matches(kind: str, content_type: str) -> None:
    """A "photo" must be an image and a "video" a video; a rendered notice is the PDF or
    HTML the notices service produced. "document" takes any accepted type."""
    expected: tuple[str, ...] | None = {
        "photo": ("image/",),
        "video": ("video/",),
        "rendered_notice": ("application/pdf", "text/html"),
    }.get(kind)
    if expected is not None and not content_type.startswith(expected):
        raise InvalidArgument(
            FieldViolation("metadata.kind", f"kind {kind!r} does not fit content of type {content_type!r}")
        )


def validate_expiry(expires_seconds: int, *, default: int = 900, maximum: int = 7 * 24 * 3600) -> int:
    """Presigned links are short-lived: S3 (SigV4) refuses more than 7 days."""
    if expires_seconds == 0:
        return default
    if not 1 <= expires_seconds <= maximum:
        raise InvalidArgument(
            FieldViolation("expires_seconds", f"must be between 1 and {maximum} seconds (0 for {default})")
        )
    return expires_seconds


def parse_evidence_id(value: str, field: str = "evidence_id") -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise InvalidArgument(FieldViolation(field, "must be a UUID")) from None
