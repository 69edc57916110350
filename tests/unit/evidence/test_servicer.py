"""The evidence gRPC servicer called directly: stream framing and proto mapping."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from bylaw.v1 import common_pb2, evidence_pb2

from services.common.errors import InvalidArgument
from services.evidence.adapters.exif_reader import PillowExifReader
from services.evidence.entrypoints.grpc_servicer import EvidenceServicer
from services.evidence.service_layer.services import EvidenceService
from tests.unit.evidence.fakes import FakeObjectStore, FakeRepository, FakeUnitOfWork
from tests.unit.evidence.photos import jpeg_with_exif


@pytest.fixture
def servicer(tmp_path: Path) -> EvidenceServicer:
    repo = FakeRepository()
    return EvidenceServicer(
        EvidenceService(
            uow=lambda: FakeUnitOfWork(repo),
            store=FakeObjectStore(),
            read_photo_metadata=PillowExifReader(ZoneInfo("America/Toronto")),
            spool_dir=tmp_path,
        )
    )


def metadata(**overrides: str) -> evidence_pb2.UploadChunk:
    fields = {
        "case_number": "BL-2026-000001",
        "filename": "a.jpg",
        "content_type": "image/jpeg",
        "kind": "photo",
    }
    return evidence_pb2.UploadChunk(
        metadata=evidence_pb2.UploadMetadata(
            **(fields | overrides), actor=common_pb2.Actor(subject="officer-1", roles=["officer"])
        )
    )


async def stream(messages: Iterable[evidence_pb2.UploadChunk]) -> AsyncIterator[evidence_pb2.UploadChunk]:
    for message in messages:
        yield message


def data_chunks(data: bytes, size: int = 4096) -> list[evidence_pb2.UploadChunk]:
    return [evidence_pb2.UploadChunk(data=data[i : i + size]) for i in range(0, len(data), size)]


async def test_upload_maps_the_item_to_proto(servicer: EvidenceServicer) -> None:
    photo = jpeg_with_exif()
    item = await servicer.Upload(stream([metadata(), *data_chunks(photo)]), None)
    assert item.case_number == "BL-2026-000001"
    assert item.HasField("captured_point")
    assert (item.captured_point.lat, item.captured_point.lon) == (44.2584722, -76.9534722)
    assert item.captured_at.ToJsonString() == "2026-05-14T13:30:05Z"
    assert item.uploaded_by == "officer-1"
    assert item.size_bytes == len(photo)
    fetched = await servicer.GetEvidence(evidence_pb2.GetEvidenceRequest(evidence_id=item.evidence_id), None)
    assert fetched == item


async def test_photo_without_gps_has_no_point(servicer: EvidenceServicer) -> None:
    item = await servicer.Upload(
        stream([metadata(), *data_chunks(jpeg_with_exif(lat=None, lon=None, taken=None))]), None
    )
    assert not item.HasField("captured_point")
    assert not item.HasField("captured_at")


async def test_first_message_must_be_metadata(servicer: EvidenceServicer) -> None:
    with pytest.raises(InvalidArgument) as err:
        await servicer.Upload(stream(data_chunks(b"%PDF-1.4")), None)
    assert err.value.violations[0].field == "metadata"
    with pytest.raises(InvalidArgument):
        await servicer.Upload(stream([]), None)


async def test_metadata_only_once(servicer: EvidenceServicer) -> None:
    with pytest.raises(InvalidArgument, match="only the first message"):
        await servicer.Upload(stream([metadata(), *data_chunks(jpeg_with_exif()), metadata()]), None)


async def test_list_validates_its_filters(servicer: EvidenceServicer) -> None:
    with pytest.raises(InvalidArgument) as err:
        await servicer.ListEvidence(evidence_pb2.ListEvidenceRequest(case_number="", kind="selfie"), None)
    assert {v.field for v in err.value.violations} == {"case_number", "kind"}
