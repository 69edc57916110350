"""``python -m services.evidence`` as a real process: migrates, ensures the bucket,
serves health and the API, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import grpc
from bylaw.v1 import evidence_pb2, evidence_pb2_grpc
from minio import Minio

from devstack.processes import free_port
from tests import infra
from tests.integration.evidence.harness import wait_serving

ROOT = Path(__file__).resolve().parents[3]


def test_process_serves_and_stops(database_url: str, s3_server: infra.S3, tmp_path: Path) -> None:
    port = free_port()
    bucket = "evidence-process-test"
    env = os.environ | {
        "BYLAW_ENV": "test",
        "BYLAW_DATABASE_URL": database_url,
        "BYLAW_S3_ENDPOINT": s3_server.endpoint,
        "BYLAW_S3_ACCESS_KEY": s3_server.access_key,
        "BYLAW_S3_SECRET_KEY": s3_server.secret_key,
        "BYLAW_S3_BUCKET": bucket,
        "BYLAW_EVIDENCE_PORT": str(port),
    }
    log = (tmp_path / "evidence.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.evidence"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    try:
        wait_serving(f"127.0.0.1:{port}", "bylaw.v1.EvidenceService")
        client = Minio(
            s3_server.endpoint, s3_server.access_key, s3_server.secret_key, secure=False, region="us-east-1"
        )
        assert client.bucket_exists(bucket)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = evidence_pb2_grpc.EvidenceServiceStub(channel)
            listed = stub.ListEvidence(
                evidence_pb2.ListEvidenceRequest(case_number="BL-2026-000001"), timeout=5
            )
            assert list(listed.items) == []
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
