"""``python -m services.notices`` as a real process, storing through an evidence service:
migrates, verifies its templates, renders, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from bylaw.v1 import notices_pb2, notices_pb2_grpc
from google.protobuf import struct_pb2

from devstack.processes import free_port
from services.common.grpc_client import insecure_channel
from tests import infra
from tests.integration.evidence.harness import evidence_settings, running_evidence, wait_serving
from tests.unit.notices import contexts

ROOT = Path(__file__).resolve().parents[3]


async def test_process_renders_and_stops(database_url: str, s3_server: infra.S3, tmp_path: Path) -> None:
    settings = evidence_settings(database_url, s3_server, s3_bucket=f"np-{os.urandom(4).hex()}")
    async with running_evidence(settings) as evidence:
        port = free_port()
        env = os.environ | {
            "BYLAW_ENV": "test",
            "BYLAW_DATABASE_URL": database_url,
            "BYLAW_EVIDENCE_ADDR": evidence.address,
            "BYLAW_NOTICES_PORT": str(port),
        }
        with (tmp_path / "notices.log").open("wb") as log:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "services.notices", cwd=ROOT, env=env, stdout=log, stderr=log
            )
            try:
                await asyncio.to_thread(wait_serving, f"127.0.0.1:{port}", "bylaw.v1.NoticesService")
                context = struct_pb2.Struct()
                context.update(contexts.plain())
                channel = insecure_channel(f"127.0.0.1:{port}")
                try:
                    document = await notices_pb2_grpc.NoticesServiceStub(channel).RenderDocument(
                        notices_pb2.RenderDocumentRequest(
                            case_number="BL-2026-000555",
                            template="plain",
                            step_key="letter-1",
                            context=context,
                        )
                    )
                finally:
                    await channel.close()
                assert document.pdf_evidence_id and document.html_evidence_id
                proc.send_signal(signal.SIGTERM)
                assert await asyncio.wait_for(proc.wait(), 30) == 0
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
