"""Evidence use cases over fakes: content addressing, idempotency, validation, cleanup."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from services.common.errors import InvalidArgument, NotFound
from services.evidence.adapters.exif_reader import PillowExifReader
from services.evidence.domain.model import GeoPoint, UploadRequest, validate_upload
from services.evidence.service_layer.services import EvidenceService
from tests.unit.evidence.fakes import FakeObjectStore, FakeRepository, FakeUnitOfWork
from tests.unit.evidence.photos import jpeg_with_exif

CASE = "BL-2026-000042"


def request(**overrides: str) -> UploadRequest:
    fields = {
        "case_number": CASE,
        "filename": "front-yard.jpg",
        "content_type": "image/jpeg",
        "kind": "photo",
        "captured_by": "officer-7",
        "caption": "Long grass at the front",
        "step_key": "",
        "uploaded_by": "officer-7",
    } | overrides
    return validate_upload(**fields)


def spool_files(directory: Path) -> list[Path]:
    return list(directory.iterdir())


async def chunks(data: bytes, size: int = 1000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.fixture
def store() -> FakeObjectStore:
    return FakeObjectStore()


@pytest.fixture
def repo() -> FakeRepository:
    return FakeRepository()


@pytest.fixture
def service(repo: FakeRepository, store: FakeObjectStore, tmp_path: Path) -> EvidenceService:
    return EvidenceService(
        uow=lambda: FakeUnitOfWork(repo),
        store=store,
        read_photo_metadata=PillowExifReader(ZoneInfo("America/Toronto")),
        spool_dir=tmp_path,
        max_upload_bytes=1_000_000,
    )


async def test_photo_is_content_addressed_with_exif_place_and_time(
    service: EvidenceService, store: FakeObjectStore, tmp_path: Path
) -> None:
    photo = jpeg_with_exif()
    item = await service.upload(request(), chunks(photo))
    digest = hashlib.sha256(photo).hexdigest()
    assert item.sha256 == digest
    assert item.object_key == f"sha256/{digest}"
    assert item.size_bytes == len(photo)
    assert item.content_type == "image/jpeg"
    assert item.captured_point == GeoPoint(44.2584722, -76.9534722)
    assert item.captured_at is not None and item.captured_at.isoformat() == "2026-05-14T09:30:05-04:00"
    assert store.objects == {f"sha256/{digest}": photo}
    assert spool_files(tmp_path) == []  # the spool file is gone


async def test_same_bytes_for_the_same_case_return_the_existing_item(
    service: EvidenceService, store: FakeObjectStore, repo: FakeRepository
) -> None:
    photo = jpeg_with_exif()
    first = await service.upload(request(), chunks(photo))
    again = await service.upload(request(caption="another caption"), chunks(photo, size=7))
    assert again.evidence_id == first.evidence_id
    assert again.caption == first.caption  # the record is not rewritten
    assert store.puts == 1
    assert len(repo.rows) == 1


async def test_same_bytes_for_another_case_share_one_object(
    service: EvidenceService, store: FakeObjectStore, repo: FakeRepository
) -> None:
    photo = jpeg_with_exif()
    a = await service.upload(request(), chunks(photo))
    b = await service.upload(request(case_number="BL-2026-000043"), chunks(photo))
    assert a.evidence_id != b.evidence_id
    assert a.object_key == b.object_key
    assert store.puts == 1
    assert len(repo.rows) == 2


async def test_a_retried_step_returns_its_first_result_even_with_new_bytes(
    service: EvidenceService, store: FakeObjectStore
) -> None:
    first = await service.upload(
        request(kind="rendered_notice", content_type="application/pdf", step_key="ack/pdf"),
        chunks(b"%PDF-1.7\nfirst render"),
    )
    retry = await service.upload(
        request(kind="rendered_notice", content_type="application/pdf", step_key="ack/pdf"),
        chunks(b"%PDF-1.7\nsecond render with another timestamp"),
    )
    assert retry.evidence_id == first.evidence_id
    assert store.puts == 1


async def test_kind_must_fit_the_content(service: EvidenceService) -> None:
    with pytest.raises(InvalidArgument) as err:
        await service.upload(request(kind="video", content_type=""), chunks(jpeg_with_exif()))
    assert err.value.violations[0].field == "metadata.kind"


async def test_disallowed_content_names_the_data_field(service: EvidenceService, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument) as err:
        await service.upload(request(kind="document", content_type=""), chunks(b"MZ\x90\x00 an exe"))
    assert err.value.violations[0].field == "data"
    assert spool_files(tmp_path) == []


async def test_empty_and_oversized_uploads_are_refused(service: EvidenceService, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="no bytes"):
        await service.upload(request(), chunks(b""))
    with pytest.raises(InvalidArgument, match="limit") as err:
        await service.upload(request(kind="document", content_type=""), chunks(b"%PDF-" + b"x" * 1_000_000))
    assert err.value.violations[0].field == "data"
    assert spool_files(tmp_path) == []


def test_metadata_validation_reports_every_field() -> None:
    with pytest.raises(InvalidArgument) as err:
        validate_upload(
            case_number="",
            filename="x.jpg",
            content_type="",
            kind="selfie",
            captured_by="",
            caption="c" * 2001,
            step_key="",
            uploaded_by="",
        )
    fields = {v.field for v in err.value.violations}
    assert fields == {"metadata.case_number", "metadata.kind", "metadata.caption"}


def test_client_paths_are_reduced_to_a_base_name() -> None:
    assert request(filename="C:\\DCIM\\100APPLE\\IMG_0001.JPG").filename == "IMG_0001.JPG"
    assert request(filename="../../etc/passwd").filename == "passwd"
    assert request(filename='evil"name.jpg').filename == "evilname.jpg"


async def test_get_and_list(service: EvidenceService) -> None:
    photo = await service.upload(request(), chunks(jpeg_with_exif()))
    pdf = await service.upload(
        request(kind="document", content_type="", filename="letter.pdf"), chunks(b"%PDF-1.4 x")
    )
    assert (await service.get(photo.evidence_id)).evidence_id == photo.evidence_id
    assert {i.evidence_id for i in await service.list_for_case(CASE)} == {photo.evidence_id, pdf.evidence_id}
    assert [i.evidence_id for i in await service.list_for_case(CASE, "document")] == [pdf.evidence_id]
    assert await service.list_for_case("BL-2026-999999") == []


async def test_get_unknown_or_malformed_id(service: EvidenceService) -> None:
    with pytest.raises(NotFound):
        await service.get("00000000-0000-0000-0000-000000000000")
    with pytest.raises(InvalidArgument) as err:
        await service.get("not-a-uuid")
    assert err.value.violations[0].field == "evidence_id"


async def test_presign_validates_expiry(service: EvidenceService) -> None:
    item = await service.upload(request(), chunks(jpeg_with_exif()))
    link = await service.presign_download(item.evidence_id, 0, "officer-7")
    assert link.url.endswith(f"{item.object_key}?expires=900&name=front-yard.jpg")
    link = await service.presign_download(item.evidence_id, 60, "officer-7")
    assert "expires=60" in link.url
    for bad in (-1, 7 * 24 * 3600 + 1):
        with pytest.raises(InvalidArgument) as err:
            await service.presign_download(item.evidence_id, bad, "officer-7")
        assert err.value.violations[0].field == "expires_seconds"
