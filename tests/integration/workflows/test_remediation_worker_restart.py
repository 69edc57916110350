"""The worker process (``python -m workflows.worker``) is killed while the invoice activity
is in flight — after the cases service recorded the invoice, before the answer reached the
worker — and restarted: the remediation completes with exactly one invoice, one invoice
document and one stored copy of each file (idempotent on case + step), on the Temporal dev
server with the real cases, notices and evidence services."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from bylaw.v1 import cases_pb2, common_pb2, evidence_pb2, notices_pb2
from sqlalchemy import func, select
from temporalio.client import Client

from services.cases.adapters.remediation_orm import RemediationInvoiceRow
from services.cases.bootstrap import CasesApp
from tests import infra
from tests.integration.workflows.test_remediation_stack import (
    RemediationStack,
    open_case,
    remediation_stack,
    state_when,
)
from tests.workflow import remediation_support as rs
from workflows.contracts import RemediationResult, remediation_workflow_id
from workflows.remediation import (
    UPDATE_COMPLETE_WORK,
    UPDATE_RECORD_COSTS,
    UPDATE_RECORD_PAYMENT,
    RemediationWorkflow,
)

REPO = Path(__file__).resolve().parents[3]
TREASURER = common_pb2.Actor(subject="treasurer-1", roles=["treasurer"])


class InvoiceAnswerHeldBack:
    """The cases servicer, except that the first invoice is recorded and its answer held
    back until released (the worker that asked is killed meanwhile); later calls answer
    at once. Every other RPC goes straight to the real servicer."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.invoice_calls = 0
        self.recorded = asyncio.Event()
        self.release = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def IssueRemediationInvoice(
        self, request: cases_pb2.IssueRemediationInvoiceRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> cases_pb2.WorkOrder:
        self.invoice_calls += 1
        reply: cases_pb2.WorkOrder = await self._inner.IssueRemediationInvoice(request, context)
        if self.invoice_calls == 1:
            self.recorded.set()
            await self.release.wait()
        return reply


@pytest.fixture
async def held(
    database_url: str, nats_url: str, s3_server: infra.S3
) -> AsyncIterator[tuple[RemediationStack, InvoiceAnswerHeldBack]]:
    servicers: list[InvoiceAnswerHeldBack] = []

    def factory(app: CasesApp) -> InvoiceAnswerHeldBack:
        servicers.append(InvoiceAnswerHeldBack(app.servicer))
        return servicers[0]

    async with remediation_stack(database_url, nats_url, s3_server, servicer=factory) as running:
        yield running, servicers[0]
        servicers[0].release.set()


async def _start_worker(env: dict[str, str]) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "workflows.worker",
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    seen: list[str] = []
    async with asyncio.timeout(60):
        while True:
            line = (await process.stderr.readline()).decode(errors="replace")
            if not line:
                raise AssertionError("worker exited early:\n" + "".join(seen))
            seen.append(line)
            if "worker started" in line:
                break
    # Keep draining its log so the pipe never fills and blocks the worker.
    asyncio.get_running_loop().create_task(_drain(process))
    return process


async def _drain(process: asyncio.subprocess.Process) -> None:
    assert process.stderr is not None
    while await process.stderr.readline():
        pass


async def test_worker_killed_mid_invoice_restarts_without_a_second_invoice(
    temporal_address: str, temporal_namespace: str, held: tuple[RemediationStack, InvoiceAnswerHeldBack]
) -> None:
    stack, cases_servicer = held
    number = await open_case(stack)
    queue = f"case-lifecycle-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "BYLAW_ENV": "test",
        "BYLAW_TEMPORAL_ADDRESS": temporal_address,
        "BYLAW_TEMPORAL_NAMESPACE": temporal_namespace,
        "BYLAW_TEMPORAL_TASK_QUEUE": queue,
        "BYLAW_CASES_ADDR": stack.cases_address,
        "BYLAW_NOTICES_ADDR": stack.notices_address,
    }
    client = await Client.connect(temporal_address, namespace=temporal_namespace)
    first = await _start_worker(env)
    second: asyncio.subprocess.Process | None = None
    try:
        input = rs.make_input(number, parent_workflow_id="")
        handle = await client.start_workflow(
            RemediationWorkflow.run, input, id=remediation_workflow_id(number, 1), task_queue=queue
        )
        approved = await state_when(handle, "approved")
        today = approved.timeline[-1].at.astimezone(rs.TORONTO).date().isoformat()
        await handle.execute_update(UPDATE_RECORD_COSTS, rs.costs(rs.contractor_cost()))
        await handle.execute_update(UPDATE_COMPLETE_WORK, rs.completion(today, rs.staff_cost()))

        # The invoice is recorded; its answer is held back while the worker dies.
        await asyncio.wait_for(cases_servicer.recorded.wait(), timeout=30)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        cases_servicer.release.set()

        second = await _start_worker(env)
        # Temporal retries the lost activity once its start-to-close timeout passes.
        invoiced = await state_when(handle, "invoiced", seconds=120)
        await handle.execute_update(UPDATE_RECORD_PAYMENT, rs.payment(invoiced.balance_cents, today))
        result: RemediationResult = await asyncio.wait_for(handle.result(), timeout=60)
    finally:
        for process in (first, second):
            if process is not None and process.returncode is None:
                process.kill()
                await process.wait()

    assert result.paid and result.invoice_number == f"{number}-INV1"
    assert cases_servicer.invoice_calls == 2  # the retry reached cases, which answered with the same invoice
    async with stack.app.relay.engine.connect() as conn:
        invoices = await conn.scalar(select(func.count()).select_from(RemediationInvoiceRow))
    assert invoices == 1
    listed = await stack.notices.ListDocuments(notices_pb2.ListDocumentsRequest(case_number=number))
    assert [d.template for d in listed.documents].count("remediation_invoice") == 1
    stored = await stack.evidence.ListEvidence(evidence_pb2.ListEvidenceRequest(case_number=number))
    step_keys = [i.step_key for i in stored.items]
    assert len(step_keys) == len(set(step_keys))  # nothing stored twice
    assert sorted(k for k in step_keys if k.startswith(f"{number}:remediation-1:invoice")) == [
        f"{number}:remediation-1:invoice:html",
        f"{number}:remediation-1:invoice:pdf",
    ]
    order = await stack.cases.GetWorkOrder(
        cases_pb2.GetWorkOrderRequest(case_number=number, work_order_seq=1, actor=TREASURER)
    )
    assert (order.status, order.invoice.balance_cents) == ("paid", 0)
