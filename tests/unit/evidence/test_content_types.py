"""Content-type sniffing and the evidence allow-list."""

from __future__ import annotations

import pytest

from services.common.errors import InvalidArgument
from services.evidence.domain.content_types import normalise_declared, resolve_content_type, sniff
from tests.unit.evidence.photos import jpeg_with_exif, png_bytes


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"RIFF\x00\x00\x00\x00AVI LIST", "video/x-msvideo"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "image/heic"),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00", "image/heif"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00", "video/mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00", "video/quicktime"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "video/webm"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska", "video/x-matroska"),
        (b"%PDF-1.7\n%\xe2\xe3", "application/pdf"),
        (b"\xef\xbb\xbf  <!DOCTYPE html><html>", "text/html"),
        (b"\n<html lang='en'>", "text/html"),
        (b"II*\x00\x08\x00", "image/tiff"),
    ],
)
def test_sniff_recognises_allowed_formats(head: bytes, expected: str) -> None:
    assert sniff(head) == expected


@pytest.mark.parametrize(
    "head",
    [
        b"MZ\x90\x00\x03",  # a Windows executable
        b"PK\x03\x04",  # a zip / docx
        b"\x00\x00\x00\x18ftypM4A \x00\x00",  # audio in an MP4 container
        b"#!/bin/sh\necho hi",
        b"<svg xmlns='http://www.w3.org/2000/svg'>",  # SVG can carry script: not accepted
        b"",
    ],
)
def test_sniff_refuses_everything_else(head: bytes) -> None:
    assert sniff(head) is None


def test_real_pillow_images_are_sniffed() -> None:
    assert sniff(jpeg_with_exif()[:4096]) == "image/jpeg"
    assert sniff(png_bytes()) == "image/png"


def test_declared_aliases_and_parameters_are_normalised() -> None:
    assert normalise_declared("Image/JPG") == "image/jpeg"
    assert normalise_declared("text/html; charset=utf-8") == "text/html"
    assert normalise_declared("") == ""


def test_stored_type_comes_from_the_bytes_when_nothing_is_declared() -> None:
    assert resolve_content_type("", b"%PDF-1.4") == "application/pdf"
    assert resolve_content_type("application/octet-stream", b"%PDF-1.4") == "application/pdf"


def test_declared_type_outside_the_allow_list_names_the_field() -> None:
    with pytest.raises(InvalidArgument) as err:
        resolve_content_type("application/zip", b"PK\x03\x04")
    assert [v.field for v in err.value.violations] == ["metadata.content_type"]
    assert "not accepted" in err.value.violations[0].rule


def test_unrecognised_bytes_name_the_data_field() -> None:
    with pytest.raises(InvalidArgument) as err:
        resolve_content_type("", b"MZ\x90\x00")
    assert [v.field for v in err.value.violations] == ["data"]


def test_declared_type_contradicting_the_bytes_is_refused() -> None:
    with pytest.raises(InvalidArgument) as err:
        resolve_content_type("image/jpeg", b"%PDF-1.7")
    violation = err.value.violations[0]
    assert violation.field == "metadata.content_type"
    assert "application/pdf" in violation.rule


def test_same_container_family_is_not_a_contradiction() -> None:
    # iPhones label .mov as quicktime; a sniffed ISO-BMFF mp4 brand is the same container.
    assert resolve_content_type("video/quicktime", b"\x00\x00\x00\x18ftypisom\x00\x00") == "video/mp4"
    assert resolve_content_type("image/heif", b"\x00\x00\x00\x18ftypheic\x00\x00") == "image/heic"
