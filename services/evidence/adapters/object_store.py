"""The S3 object store (MinIO in production, ``rclone serve s3`` on the embedded default).

The minio SDK is synchronous, so every call runs in a worker thread. The region is always
passed explicitly: otherwise the SDK asks the server for the bucket's location before
signing, which the embedded stand-in does not answer the way MinIO does, and presigning
would need a network round trip.

Objects are written once and never overwritten or deleted: the key is the content's
SHA-256, so an object already under a key *is* those bytes.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit

from minio import Minio
from minio.error import S3Error

from services.common.errors import Unavailable
from services.common.settings import Settings

log = logging.getLogger(__name__)

_MISSING_CODES = ("NoSuchKey", "NoSuchObject", "NotFound")


def public_endpoint(value: str) -> tuple[str, bool]:
    """``https://files.town.ca`` → (``files.town.ca``, True); a bare ``host:port`` keeps
    the scheme of the internal endpoint (decided by the caller). Presigned URLs are signed
    for the host that browsers will use, so the URL path cannot carry a prefix."""
    if "://" not in value:
        return value.strip().rstrip("/"), False
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"BYLAW_S3_PUBLIC_ENDPOINT must be http(s)://host[:port], got {value!r}")
    if parts.path not in ("", "/") or parts.query:
        raise ValueError(
            "BYLAW_S3_PUBLIC_ENDPOINT cannot have a path: S3 signatures cover the path, so the "
            f"endpoint must serve buckets at its root (got {value!r})"
        )
    return parts.netloc, parts.scheme == "https"


class MinioObjectStore:
    def __init__(self, settings: Settings) -> None:
        self.bucket = settings.s3_bucket
        secret = settings.s3_secret_key.get_secret_value()
        self.client = Minio(
            settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=secret,
            secure=settings.s3_secure,
            region=settings.s3_region,
        )
        self.signer = self.client
        if settings.s3_public_endpoint:
            host, secure = public_endpoint(settings.s3_public_endpoint)
            if "://" not in settings.s3_public_endpoint:
                secure = settings.s3_secure
            # Signing is local (no request is sent) because the region is given.
            self.signer = Minio(
                host,
                access_key=settings.s3_access_key,
                secret_key=secret,
                secure=secure,
                region=settings.s3_region,
            )

    async def ensure_bucket(self, attempts: int = 30, delay: float = 1.0) -> None:
        """Create the bucket if missing; waits for the server while it starts up."""
        for attempt in range(1, attempts + 1):
            try:
                await asyncio.to_thread(self._ensure_bucket_sync)
                return
            except S3Error:
                raise
            except Exception as exc:  # connection refused while S3 starts: retry
                if attempt == attempts:
                    raise Unavailable(f"S3 endpoint unreachable: {exc}") from exc
                log.info("waiting for S3 (attempt %d): %s", attempt, exc)
                await asyncio.sleep(delay)

    def _ensure_bucket_sync(self) -> None:
        if self.client.bucket_exists(self.bucket):
            return
        try:
            self.client.make_bucket(self.bucket)
            log.info("created bucket", extra={"bucket": self.bucket})
        except S3Error as exc:
            # Another replica created it between our check and our create.
            if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise

    async def put_if_absent(self, key: str, path: Path, size: int, content_type: str) -> bool:
        return await asyncio.to_thread(self._put_if_absent_sync, key, path, size, content_type)

    def _put_if_absent_sync(self, key: str, path: Path, size: int, content_type: str) -> bool:
        existing = self._stat_size(key)
        if existing is not None:
            if existing != size:
                # Same SHA-256 but another length cannot be the same bytes: the store was
                # tampered with or truncated. Refuse rather than paper over it.
                raise RuntimeError(f"object {key} exists with {existing} bytes, expected {size}")
            return False
        with path.open("rb") as data:
            # The SDK sends the file in 5 MiB parts (multipart above 5 MiB); with one
            # upload thread at most two parts are in memory (about 10 MiB measured),
            # whatever the file's size.
            self.client.put_object(
                self.bucket, key, data, size, content_type=content_type, num_parallel_uploads=1
            )
        return True

    def _stat_size(self, key: str) -> int | None:
        try:
            stat = self.client.stat_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in _MISSING_CODES:
                return None
            raise
        return int(stat.size) if stat.size is not None else None

    async def presign_get(self, key: str, expires: timedelta, filename: str, content_type: str) -> str:
        # The stand-in server does not keep content types, so the download's type and name
        # are set by response overrides carried (and signed) in the URL.
        return await asyncio.to_thread(
            self.signer.presigned_get_object,
            self.bucket,
            key,
            expires=expires,
            response_headers={
                "response-content-type": content_type,
                "response-content-disposition": content_disposition(filename),
            },
        )


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact UTF-8 name (RFC 6266)."""
    if not filename:
        return "attachment"
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
