"""Test photos built with Pillow, with EXIF written through Pillow's Exif API."""

from __future__ import annotations

import io

from PIL import Image
from PIL.ExifTags import GPS, IFD, Base
from PIL.TiffImagePlugin import IFDRational


def jpeg_with_exif(
    *,
    lat: tuple[float, float, float] | None = (44, 15, 30.5),
    lat_ref: str = "N",
    lon: tuple[float, float, float] | None = (76, 57, 12.5),
    lon_ref: str = "W",
    taken: str | None = "2026:05:14 09:30:05",
    offset: str | None = None,
    size: tuple[int, int] = (32, 24),
    color: str = "green",
) -> bytes:
    image = Image.new("RGB", size, color)
    exif = Image.Exif()
    if lat is not None and lon is not None:
        exif[IFD.GPSInfo] = {
            GPS.GPSLatitudeRef: lat_ref,
            GPS.GPSLatitude: tuple(IFDRational(v) for v in lat),
            GPS.GPSLongitudeRef: lon_ref,
            GPS.GPSLongitude: tuple(IFDRational(v) for v in lon),
        }
    details: dict[int, str] = {}
    if taken is not None:
        details[Base.DateTimeOriginal] = taken
    if offset is not None:
        details[Base.OffsetTimeOriginal] = offset
    if details:
        exif[IFD.Exif] = details
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), "blue").save(out, "PNG")
    return out.getvalue()
