"""Reading a photo's EXIF with Pillow: GPS position and DateTimeOriginal.

Only the header is parsed (``Image.open`` is lazy; pixels are never decoded), so a large
photo costs a few kilobytes of reading. A photo without EXIF, or with EXIF that Pillow
cannot parse, simply has no place or time: it is still valid evidence.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image, UnidentifiedImageError
from PIL.ExifTags import GPS, IFD, Base

from services.evidence.domain.exif import capture_time, gps_point
from services.evidence.domain.model import PhotoMetadata

log = logging.getLogger(__name__)

# Pillow refuses images over this many pixels as a decompression bomb; we never decode
# pixels, but keep the guard explicit rather than relying on the default.
Image.MAX_IMAGE_PIXELS = 200_000_000


def _triple(value: Any) -> Sequence[float] | None:
    try:
        return tuple(float(part) for part in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "ignore")
    return value.strip("\x00 ") if isinstance(value, str) else None


class PillowExifReader:
    def __init__(self, local_zone: ZoneInfo) -> None:
        self.local_zone = local_zone

    def __call__(self, path: Path) -> PhotoMetadata:
        try:
            with Image.open(path) as image:
                exif = image.getexif()
                gps = exif.get_ifd(IFD.GPSInfo)
                details = exif.get_ifd(IFD.Exif)
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
            log.info("no readable EXIF: %s", type(exc).__name__)
            return PhotoMetadata()
        point = gps_point(
            _triple(gps.get(GPS.GPSLatitude)),
            _text(gps.get(GPS.GPSLatitudeRef)),
            _triple(gps.get(GPS.GPSLongitude)),
            _text(gps.get(GPS.GPSLongitudeRef)),
        )
        taken = capture_time(
            # Only the capture time: DateTime is when the file was last changed.
            _text(details.get(Base.DateTimeOriginal)),
            _text(details.get(Base.OffsetTimeOriginal)),
            self.local_zone,
        )
        return PhotoMetadata(point=point, captured_at=taken)
