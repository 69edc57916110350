"""RemediationWorkflow with its real activities against the real cases, notices and
evidence services: on the Temporal dev server as the child of a (stand-in) case workflow —
the Council gate, a refused and an accepted emergency approval, costs, the invoice rendered
and recorded, payment — and on the time-skipping server across the payment period to the
tax roll and the Treasurer's load file."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from bylaw.v1 import cases_pb2, common_pb2, evidence_pb2, notices_pb2
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests import infra
from tests.integration.workflows.test_remediation_stack import (
    RemediationStack,
    open_case,
    remediation_stack,
    state_when,
)
from tests.workflow import remediation_support as rs
from workflows.contracts import RemediationResult
from workflows.remediation import (
    UPDATE_COMPLETE_WORK,
    UPDATE_EMERGENCY_APPROVAL,
    UPDATE_RECORD_COSTS,
    UPDATE_RECORD_PAYMENT,
    RemediationWorkflow,
)
from workflows.search_attributes import ensure_search_attributes

TREASURER = common_pb2.Actor(subject="treasurer-1", roles=["treasurer"])
CLERK = common_pb2.Actor(subject="clerk-1", roles=["clerk"])


@pytest.fixture
async def stack(database_url: str, nats_url: str, s3_server: infra.S3) -> AsyncIterator[RemediationStack]:
    async with remediation_stack(database_url, nats_url, s3_server) as running:
        yield running


async def documents(stack: RemediationStack, case_number: str) -> list[notices_pb2.Document]:
    reply = await stack.notices.ListDocuments(notices_pb2.ListDocumentsRequest(case_number=case_number))
    return list(reply.documents)


async def test_gated_work_with_an_emergency_approval_on_the_dev_server(
    temporal_address: str, temporal_namespace: str, stack: RemediationStack
) -> None:
    client = await Client.connect(temporal_address, namespace=temporal_namespace)
    number = await open_case(stack)
    queue = f"remediation-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[RemediationWorkflow, rs.ParentStandIn],
        activities=stack.activities().methods(),
    ):
        input = rs.make_input(number, estimate_cents=1_250_000, property_roll_number="")
        parent, child = await rs.start_with_parent(client, queue, input)
        waiting = await state_when(child, "awaiting_council")
        assert waiting.work_order_number == f"{number}-W1"
        # Policy 6.5.13: on the list for Council's next report before any work.
        items = await stack.cases.ListCouncilReportItems(cases_pb2.ListCouncilReportItemsRequest(actor=CLERK))
        assert [(i.work_order_number, i.kind) for i in items.items] == [(f"{number}-W1", "approval_request")]

        with pytest.raises(WorkflowUpdateFailedError) as caught:
            await child.execute_update(UPDATE_EMERGENCY_APPROVAL, rs.emergency(actor_roles=["supervisor"]))
        assert (
            isinstance(caught.value.cause, ApplicationError) and caught.value.cause.type == "PermissionDenied"
        )
        with pytest.raises(WorkflowUpdateFailedError) as caught:
            await child.execute_update(UPDATE_EMERGENCY_APPROVAL, rs.emergency(risk_description=""))
        assert (
            isinstance(caught.value.cause, ApplicationError) and caught.value.cause.type == "InvalidArgument"
        )
        await child.execute_update(UPDATE_EMERGENCY_APPROVAL, rs.emergency(actor_roles=["cao"]))
        await state_when(child, "approved")

        today = (
            (await state_when(child, "approved")).timeline[-1].at.astimezone(rs.TORONTO).date().isoformat()
        )
        await child.execute_update(UPDATE_RECORD_COSTS, rs.costs(rs.contractor_cost(1_180_000)))
        await child.execute_update(UPDATE_COMPLETE_WORK, rs.completion(today, rs.staff_cost()))
        invoiced = await state_when(child, "invoiced")
        assert invoiced.invoice_amount_cents == 1_199_500
        await child.execute_update(UPDATE_RECORD_PAYMENT, rs.payment(1_199_500, today))
        result: RemediationResult = await parent.result()
        progress = await rs.reported(parent)
    assert (result.outcome, result.paid, result.emergency) == ("completed", True, True)
    assert progress == ["awaiting_council_approval", "remediation", "complied"]

    order = await stack.cases.GetWorkOrder(
        cases_pb2.GetWorkOrderRequest(case_number=number, work_order_seq=1, actor=TREASURER)
    )
    assert (order.status, order.approval.kind, order.approval.decided_by_role) == ("paid", "emergency", "cao")
    assert order.invoice.invoice_number == result.invoice_number == f"{number}-INV1"
    assert order.invoice.due_on > order.invoice.issued_on and order.invoice.payment_period_days == 30
    # The emergency approval is listed for Council's next report; the request is not.
    items = await stack.cases.ListCouncilReportItems(cases_pb2.ListCouncilReportItemsRequest(actor=CLERK))
    assert [i.kind for i in items.items] == ["emergency_approval"]

    rendered = {d.template: d for d in await documents(stack, number)}
    assert sorted(rendered) == [
        "contractor_work_order",
        "council_report_item",
        "remediation_invoice",
        "remediation_notice",
    ]
    assert len(await documents(stack, number)) == 5  # two Council items: the request and the report
    notice = rendered["remediation_notice"].html
    # Policy 6.7.10: the owner is told every step the Town will take.
    for text in (
        "Harbour Holdings Ltd",
        "$12,500.00",
        "reported to Town Council",
        "payable within 30 days",
        "added to the tax roll",
        "s. 446",
    ):
        assert text in notice, text
    work_order = rendered["contractor_work_order"].html
    assert "Emergency approval by the Chief Administrative Officer" in work_order
    invoice = rendered["remediation_invoice"].html
    assert "$11,995.00" in invoice and "ref. NPS-4411" in invoice and "3.00 h" in invoice
    # Stored as evidence, html and pdf, once each.
    items_stored = await stack.evidence.ListEvidence(evidence_pb2.ListEvidenceRequest(case_number=number))
    invoice_files = [
        i for i in items_stored.items if i.step_key.startswith(f"{number}:remediation-1:invoice")
    ]
    assert sorted(i.content_type for i in invoice_files) == ["application/pdf", "text/html"]


async def test_unpaid_costs_reach_the_tax_roll_export_across_the_payment_period(
    stack: RemediationStack,
) -> None:
    number = await open_case(stack)
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=infra.temporal_test_server_path()
    ) as env:
        await ensure_search_attributes(env.client, env.client.namespace)
        queue = f"remediation-{uuid.uuid4().hex[:8]}"
        async with Worker(
            env.client,
            task_queue=queue,
            workflows=[RemediationWorkflow, rs.ParentStandIn],
            activities=stack.activities().methods(),
        ):
            parent, child = await rs.start_with_parent(
                env.client, queue, rs.make_input(number, estimate_cents=480_000, payment_period_days=21)
            )

            async def tick() -> Any:
                return await env.sleep(timedelta(seconds=1))

            await state_when(child, "approved", sleep=tick)
            now = await env.get_current_time()
            today = now.astimezone(rs.TORONTO).date().isoformat()
            await child.execute_update(UPDATE_RECORD_COSTS, rs.costs(rs.contractor_cost(410_000)))
            await child.execute_update(UPDATE_COMPLETE_WORK, rs.completion(today))
            await state_when(child, "invoiced", sleep=tick)
            await env.sleep(timedelta(days=3))
            paid_on = (await env.get_current_time()).astimezone(rs.TORONTO).date().isoformat()
            await child.execute_update(UPDATE_RECORD_PAYMENT, rs.payment(10_000, paid_on))
            result: RemediationResult = await parent.result()  # 21 days pass
    assert (result.outcome, result.added_to_tax_roll, result.paid) == ("completed", True, False)

    order = await stack.cases.GetWorkOrder(
        cases_pb2.GetWorkOrderRequest(case_number=number, work_order_seq=1, actor=TREASURER)
    )
    assert order.status == "on_tax_roll" and order.tax_roll_item.amount_cents == 400_000
    assert order.tax_roll_item.added_on > order.invoice.due_on
    export = await stack.cases.ExportTaxRoll(
        cases_pb2.ExportTaxRollRequest(export_key=f"x-{uuid.uuid4().hex}", actor=TREASURER)
    )
    assert export.csv.splitlines()[1] == (
        f"1121010001001000000,Harbour Holdings Ltd,4000.00,{number}-INV1,{number},2010-0050,"
        f"{order.tax_roll_item.added_on}"
    )
    templates = [d.template for d in await documents(stack, number)]
    assert templates == [
        "remediation_notice",
        "contractor_work_order",
        "remediation_invoice",
        "tax_roll_notice",
    ]
    tax_notice = next(d for d in await documents(stack, number) if d.template == "tax_roll_notice")
    assert "$4,000.00" in tax_notice.html and "Harbour Holdings Ltd" in tax_notice.html
