"""Turning EXIF values into a place and a time.

Officers' phones stamp photos with GPS and the moment of capture (the product's "GPS-stamped
evidence"); an inspection record can then show where and when each photo was taken. EXIF
stores latitude/longitude as degrees, minutes, seconds plus a hemisphere letter, and the
capture time as local wall-clock text with an optional UTC offset.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from services.evidence.domain.model import GeoPoint

_EXIF_DATETIME = re.compile(r"^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_EXIF_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")


def dms_to_decimal(dms: Sequence[float], ref: str) -> float | None:
    """``(44, 15, 30.0)`` with ``"N"`` → 44.258333…; ``"S"``/``"W"`` make it negative.
    None when the value is malformed (wrong arity, NaN, minutes/seconds out of range)."""
    if len(dms) != 3:
        return None
    degrees, minutes, seconds = (float(v) for v in dms)
    if any(math.isnan(v) or math.isinf(v) or v < 0 for v in (degrees, minutes, seconds)):
        return None
    if minutes >= 60 or seconds >= 60:
        return None
    value = degrees + minutes / 60 + seconds / 3600
    ref = ref.strip().upper()
    if ref in ("S", "W"):
        return -value
    if ref in ("N", "E"):
        return value
    return None


def gps_point(
    lat_dms: Sequence[float] | None,
    lat_ref: str | None,
    lon_dms: Sequence[float] | None,
    lon_ref: str | None,
) -> GeoPoint | None:
    """The WGS84 point, or None when any part is missing or out of range."""
    if lat_dms is None or lon_dms is None or not lat_ref or not lon_ref:
        return None
    if lat_ref.strip().upper() not in ("N", "S") or lon_ref.strip().upper() not in ("E", "W"):
        return None
    lat = dms_to_decimal(lat_dms, lat_ref)
    lon = dms_to_decimal(lon_dms, lon_ref)
    if lat is None or lon is None or not -90 <= lat <= 90 or not -180 <= lon <= 180:
        return None
    # A receiver without a fix writes 0/0; "Null Island" is never a by-law property.
    if lat == 0 and lon == 0:
        return None
    return GeoPoint(round(lat, 7), round(lon, 7))


def capture_time(value: str | None, offset: str | None, local_zone: ZoneInfo) -> datetime | None:
    """EXIF ``DateTimeOriginal`` ("2026:05:14 09:30:05") as an aware datetime.

    With ``OffsetTimeOriginal`` ("-04:00") the offset is exact. Without it the camera's
    wall clock is taken to be the municipality's local time (officers photograph inside
    the town), so daylight saving is resolved by the zone rules."""
    if not value:
        return None
    match = _EXIF_DATETIME.match(value.strip())
    if not match:
        return None
    try:
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        naive = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    if offset and (off := _EXIF_OFFSET.match(offset.strip())):
        sign = -1 if off.group(1) == "-" else 1
        delta = timedelta(hours=int(off.group(2)), minutes=int(off.group(3)))
        if delta <= timedelta(hours=14):
            return naive.replace(tzinfo=timezone(sign * delta))
    return naive.replace(tzinfo=local_zone)
