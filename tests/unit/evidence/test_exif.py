"""EXIF GPS and DateTimeOriginal: the conversions and reading real JPEGs with Pillow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from services.evidence.adapters.exif_reader import PillowExifReader
from services.evidence.domain.exif import capture_time, dms_to_decimal, gps_point
from services.evidence.domain.model import GeoPoint
from tests.unit.evidence.photos import jpeg_with_exif, png_bytes

TORONTO = ZoneInfo("America/Toronto")


def test_dms_to_decimal_degrees_with_hemispheres() -> None:
    assert dms_to_decimal((44, 15, 30.5), "N") == pytest.approx(44.2584722, abs=1e-7)
    assert dms_to_decimal((76, 57, 12.5), "W") == pytest.approx(-76.9534722, abs=1e-7)
    assert dms_to_decimal((33, 52, 4), "S") == pytest.approx(-33.8677778, abs=1e-7)


@pytest.mark.parametrize(
    ("dms", "ref"),
    [((44, 61, 0), "N"), ((44, 0, 60), "N"), ((44, 0), "N"), ((44, 0, 0), "X"), ((float("nan"), 0, 0), "N")],
)
def test_malformed_dms_is_rejected(dms: tuple[float, ...], ref: str) -> None:
    assert dms_to_decimal(dms, ref) is None


def test_gps_point_requires_both_coordinates_and_valid_refs() -> None:
    assert gps_point((44, 15, 30.5), "N", (76, 57, 12.5), "W") == GeoPoint(44.2584722, -76.9534722)
    assert gps_point((44, 15, 30.5), "N", None, "W") is None
    assert gps_point((44, 15, 30.5), "E", (76, 57, 12.5), "W") is None  # latitude cannot be east
    assert gps_point((91, 0, 0), "N", (76, 0, 0), "W") is None
    assert gps_point((0, 0, 0), "N", (0, 0, 0), "E") is None  # no fix


def test_capture_time_uses_the_exif_offset_when_present() -> None:
    taken = capture_time("2026:05:14 09:30:05", "-04:00", TORONTO)
    assert taken == datetime(2026, 5, 14, 13, 30, 5, tzinfo=UTC)
    assert taken is not None and taken.utcoffset() == timedelta(hours=-4)


def test_capture_time_without_offset_is_town_local_time_across_dst() -> None:
    summer = capture_time("2026:07:01 12:00:00", None, TORONTO)
    winter = capture_time("2026:01:15 12:00:00", None, TORONTO)
    assert summer is not None and summer.astimezone(UTC).hour == 16  # EDT, UTC-4
    assert winter is not None and winter.astimezone(UTC).hour == 17  # EST, UTC-5


@pytest.mark.parametrize("value", ["", "2026:13:01 00:00:00", "yesterday", "0000:00:00 00:00:00"])
def test_unparseable_capture_time_is_none(value: str) -> None:
    assert capture_time(value, None, TORONTO) is None


def test_reader_extracts_gps_and_time_from_a_pillow_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(jpeg_with_exif(offset="-04:00"))
    meta = PillowExifReader(TORONTO)(path)
    assert meta.point == GeoPoint(44.2584722, -76.9534722)
    assert meta.captured_at == datetime(2026, 5, 14, 9, 30, 5, tzinfo=timezone(timedelta(hours=-4)))


def test_reader_southern_eastern_hemisphere(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(jpeg_with_exif(lat=(33, 52, 4), lat_ref="S", lon=(151, 12, 36), lon_ref="E"))
    meta = PillowExifReader(TORONTO)(path)
    assert meta.point == GeoPoint(-33.8677778, 151.21)


def test_reader_photo_without_exif_has_no_place_or_time(tmp_path: Path) -> None:
    path = tmp_path / "plain.jpg"
    path.write_bytes(jpeg_with_exif(lat=None, lon=None, taken=None))
    meta = PillowExifReader(TORONTO)(path)
    assert meta.point is None and meta.captured_at is None
    png = tmp_path / "p.png"
    png.write_bytes(png_bytes())
    assert PillowExifReader(TORONTO)(png).point is None


def test_reader_survives_a_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00garbage")
    meta = PillowExifReader(TORONTO)(path)
    assert meta.point is None and meta.captured_at is None
