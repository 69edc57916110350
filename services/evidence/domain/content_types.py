"""Which files the evidence store accepts, decided from the bytes themselves.

Evidence supports enforcement decisions (policy 6.7.1 a) and may be shown in court, so the
stored content type must describe the bytes, not whatever a client claimed: the type is
sniffed from the file's leading bytes ("magic numbers"), checked against an allow-list
(images, video, PDF, HTML), and compared with the declared type when one was given.
"""

from __future__ import annotations

from services.common.errors import FieldViolation, InvalidArgument

# How many leading bytes sniffing looks at (PDF allows its header within the first KiB).
SNIFF_BYTES = 4096

IMAGE_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/heic",
        "image/heif",
        "image/avif",
        "image/tiff",
    }
)
VIDEO_TYPES = frozenset(
    {"video/mp4", "video/quicktime", "video/3gpp", "video/webm", "video/x-matroska", "video/x-msvideo"}
)
DOCUMENT_TYPES = frozenset({"application/pdf", "text/html"})
ALLOWED_TYPES = IMAGE_TYPES | VIDEO_TYPES | DOCUMENT_TYPES

# Declared spellings clients commonly send for an allowed type.
_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/x-png": "image/png",
    "image/heic-sequence": "image/heic",
    "image/heif-sequence": "image/heif",
    "application/x-pdf": "application/pdf",
    "video/avi": "video/x-msvideo",
    "video/msvideo": "video/x-msvideo",
    "video/x-m4v": "video/mp4",
    "video/mkv": "video/x-matroska",
}

# Types that share a container format: a phone may label an ISO-BMFF movie either way, so a
# declared type in the same group as the sniffed one is not a contradiction.
_EQUIVALENT_GROUPS = (
    frozenset({"image/heic", "image/heif", "image/avif"}),
    frozenset({"video/mp4", "video/quicktime", "video/3gpp"}),
    frozenset({"video/webm", "video/x-matroska"}),
)

_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"}
_HEIF_BRANDS = {b"mif1", b"msf1"}
_MP4_BRANDS = {
    b"isom",
    b"iso2",
    b"iso4",
    b"iso5",
    b"iso6",
    b"mp41",
    b"mp42",
    b"avc1",
    b"dash",
    b"M4V ",
    b"mmp4",
}
_3GP_BRANDS = {b"3gp4", b"3gp5", b"3gp6", b"3g2a", b"3ge6", b"3gg6"}

_HTML_OPENINGS = (b"<!doctype html", b"<html", b"<head", b"<body")

_ALLOWED_DESCRIPTION = (
    "images (JPEG, PNG, GIF, WebP, HEIC/HEIF, AVIF, TIFF), video (MP4, MOV, 3GP, WebM, MKV, AVI), PDF or HTML"
)


def sniff(head: bytes) -> str | None:
    """The content type the leading bytes identify, or None when not an allowed format."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    if head.startswith(b"RIFF") and len(head) >= 12:
        form = head[8:12]
        if form == b"WEBP":
            return "image/webp"
        if form == b"AVI ":
            return "video/x-msvideo"
        return None
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return _sniff_iso_bmff(head[8:12])
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        # Matroska and WebM share EBML; the DocType element names which one it is.
        return "video/webm" if b"webm" in head[:64] else "video/x-matroska"
    if b"%PDF-" in head[:1024]:
        return "application/pdf"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip().lower()
    if text.startswith(_HTML_OPENINGS):
        return "text/html"
    return None


def _sniff_iso_bmff(brand: bytes) -> str | None:
    if brand in _HEIC_BRANDS:
        return "image/heic"
    if brand in _HEIF_BRANDS:
        return "image/heif"
    if brand in (b"avif", b"avis"):
        return "image/avif"
    if brand == b"qt  ":
        return "video/quicktime"
    if brand in _3GP_BRANDS:
        return "video/3gpp"
    if brand in _MP4_BRANDS:
        return "video/mp4"
    return None  # e.g. "M4A " audio: not evidence we accept


def normalise_declared(content_type: str) -> str:
    """``"Image/JPG; charset=x"`` → ``"image/jpeg"``; empty stays empty."""
    base = content_type.split(";", 1)[0].strip().lower()
    return _ALIASES.get(base, base)


def _equivalent(a: str, b: str) -> bool:
    return a == b or any(a in group and b in group for group in _EQUIVALENT_GROUPS)


def resolve_content_type(declared: str, head: bytes) -> str:
    """The type to store: sniffed from ``head``, checked against the allow-list and the
    declared type. Raises InvalidArgument naming ``metadata.content_type`` or ``data``."""
    declared_type = normalise_declared(declared)
    if declared_type in ("", "application/octet-stream"):
        declared_type = ""
    if declared_type and declared_type not in ALLOWED_TYPES:
        raise InvalidArgument(
            FieldViolation(
                "metadata.content_type",
                f"{declared_type!r} is not accepted as evidence; allowed: {_ALLOWED_DESCRIPTION}",
            )
        )
    sniffed = sniff(head)
    if sniffed is None:
        raise InvalidArgument(
            FieldViolation("data", f"content is not a recognised file type; allowed: {_ALLOWED_DESCRIPTION}")
        )
    if declared_type and not _equivalent(declared_type, sniffed):
        raise InvalidArgument(
            FieldViolation(
                "metadata.content_type",
                f"declared {declared_type!r} but the content is {sniffed!r}",
            )
        )
    return sniffed
