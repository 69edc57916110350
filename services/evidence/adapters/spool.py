"""Spooling an upload stream to a temporary file while hashing it.

The SHA-256 (the object's address) is only known once the last byte has arrived, and S3
wants the length up front, so bytes go to a private temp file first — never the whole
file in memory — and from there to the object store.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from services.common.errors import FieldViolation, InvalidArgument
from services.evidence.domain.content_types import SNIFF_BYTES


@dataclass(frozen=True, slots=True)
class SpooledUpload:
    path: Path
    sha256: str
    size: int
    head: bytes  # the first bytes, for content-type sniffing


@contextlib.asynccontextmanager
async def spool(
    chunks: AsyncIterable[bytes], *, max_bytes: int, directory: Path | None = None
) -> AsyncIterator[SpooledUpload]:
    """Write ``chunks`` to a temp file (deleted on exit); refuse more than ``max_bytes``."""
    fd, name = tempfile.mkstemp(prefix="evidence-", suffix=".part", dir=directory)
    path = Path(name)
    try:
        digest = hashlib.sha256()
        size = 0
        head = bytearray()
        with os.fdopen(fd, "wb") as out:

            def absorb(chunk: bytes) -> None:
                digest.update(chunk)
                out.write(chunk)

            async for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if size > max_bytes:
                    raise InvalidArgument(
                        FieldViolation("data", f"upload exceeds the {max_bytes}-byte limit for one item")
                    )
                if len(head) < SNIFF_BYTES:
                    head.extend(chunk[: SNIFF_BYTES - len(head)])
                # Hashing and the disk write run off the event loop (hashlib releases the
                # GIL), so other uploads and calls keep flowing meanwhile.
                await asyncio.to_thread(absorb, chunk)
        if size == 0:
            raise InvalidArgument(FieldViolation("data", "the upload carried no bytes"))
        yield SpooledUpload(path=path, sha256=digest.hexdigest(), size=size, head=bytes(head))
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)
