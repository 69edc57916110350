"""Cost recovery in the cases service, over gRPC on real PostgreSQL (policy 6.7.9;
Municipal Act, 2001, s.446): one invoice per work order for the actual costs with its due
date from the configured payment period, payments, the unpaid balance on the tax roll only
after the due date, and the Treasurer's load file: its exact contents, only unexported
items unless re-export is asked, marked exported once, and a retried export returning the
same batch."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from bylaw.v1 import cases_pb2, common_pb2
from sqlalchemy import func, select

from services.cases.adapters.remediation_orm import (
    RemediationInvoiceRow,
    RemediationPaymentRow,
    TaxRollItemRow,
)
from services.cases.config import CasesSettings
from services.common.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from tests.integration.cases.conftest import CasesHarness
from tests.integration.cases.support import rpc_error, ts
from tests.integration.cases.test_remediation_records import (
    DUNDAS,
    SYSTEM,
    TREASURER,
    complete_request,
    cost,
    costs_request,
    create_request,
    open_case,
)

ISSUED_AT = datetime(2026, 6, 1, 15, 0, tzinfo=UTC)  # June 1, 11:00 in Napanee


@pytest.fixture
def cases_settings() -> CasesSettings:
    # The payment period is a setting (BYLAW_CASES_REMEDIATION_PAYMENT_DAYS); 21 days here
    # proves the service uses it rather than a constant.
    return CasesSettings(match_radius_m=25.0, repeat_lookback_days=180, remediation_payment_days=21)


async def completed_work_order(cases: CasesHarness, *amounts: int) -> str:
    number = await open_case(cases)
    await cases.stub.CreateWorkOrder(create_request(number))
    await cases.stub.RecordRemediationCosts(
        costs_request(number, *(cost(f"{number}:cost-{i}", amount=a) for i, a in enumerate(amounts)))
    )
    await cases.stub.CompleteRemediationWork(complete_request(number))
    return number


def invoice_request(
    number: str, step: str = "invoice", at: datetime = ISSUED_AT, period: int = 0
) -> cases_pb2.IssueRemediationInvoiceRequest:
    request = cases_pb2.IssueRemediationInvoiceRequest(
        case_number=number,
        work_order_seq=1,
        step_key=f"{number}:remediation-1:{step}",
        payment_period_days=period,
        actor=SYSTEM,
    )
    request.occurred_at.CopyFrom(ts(at))
    return request


def payment(
    number: str, step: str, amount: int, received_on: str, at: datetime
) -> cases_pb2.RecordRemediationPaymentRequest:
    request = cases_pb2.RecordRemediationPaymentRequest(
        case_number=number,
        work_order_seq=1,
        step_key=f"{number}:remediation-1:{step}",
        amount_cents=amount,
        received_on=received_on,
        method="cheque",
        reference="chq 1043",
        actor=SYSTEM,
    )
    request.occurred_at.CopyFrom(ts(at))
    return request


def tax_roll(number: str, at: datetime) -> cases_pb2.AddRemediationToTaxRollRequest:
    request = cases_pb2.AddRemediationToTaxRollRequest(
        case_number=number, work_order_seq=1, step_key=f"{number}:remediation-1:tax-roll", actor=SYSTEM
    )
    request.occurred_at.CopyFrom(ts(at))
    return request


async def rows(cases: CasesHarness, model: type[Any]) -> int:
    async with cases.app_sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_one_invoice_for_the_actual_costs_due_after_the_configured_period(cases: CasesHarness) -> None:
    number = await completed_work_order(cases, 180_000, 45_050)
    request = invoice_request(number)
    # A retry racing the first attempt (a worker restarted mid-activity) converges.
    racing = await asyncio.gather(*(cases.stub.IssueRemediationInvoice(request) for _ in range(5)))
    invoice = racing[0].invoice
    assert {r.invoice.invoice_number for r in racing} == {f"{number}-INV1"}
    assert await rows(cases, RemediationInvoiceRow) == 1
    assert racing[0].status == "invoiced"
    assert invoice.amount_cents == invoice.balance_cents == 225_050
    assert (invoice.issued_on, invoice.due_on, invoice.payment_period_days) == (
        "2026-06-01",
        "2026-06-22",
        21,
    )
    # Due at the end of the due date in the Town's time zone (midnight EDT = 04:00 UTC).
    assert invoice.due_at.ToDatetime(tzinfo=UTC) == datetime(2026, 6, 23, 4, 0, tzinfo=UTC)
    assert (invoice.owner_name, invoice.roll_number) == ("Harbour Holdings Ltd", DUNDAS)
    code, error = await rpc_error(
        cases.stub.IssueRemediationInvoice(invoice_request(number, "second-invoice"))
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "already invoiced" in str(error)


async def test_a_payment_period_given_with_the_request_wins(cases: CasesHarness) -> None:
    number = await completed_work_order(cases, 10_000)
    issued = await cases.stub.IssueRemediationInvoice(invoice_request(number, period=45))
    assert (issued.invoice.due_on, issued.invoice.payment_period_days) == ("2026-07-16", 45)


async def test_no_invoice_before_the_work_is_completed(cases: CasesHarness) -> None:
    number = await open_case(cases)
    await cases.stub.CreateWorkOrder(create_request(number))
    code, error = await rpc_error(cases.stub.IssueRemediationInvoice(invoice_request(number)))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and isinstance(error, FailedPrecondition)


async def test_payments_reduce_the_balance_once_each(cases: CasesHarness) -> None:
    number = await completed_work_order(cases, 100_000)
    await cases.stub.IssueRemediationInvoice(invoice_request(number))
    june_10 = datetime(2026, 6, 10, 15, 0, tzinfo=UTC)
    code, error = await rpc_error(
        cases.stub.RecordRemediationPayment(payment(number, "pay-x", 100_001, "2026-06-10", june_10))
    )
    assert isinstance(error, InvalidArgument) and [v.field for v in error.violations] == ["amount_cents"]
    assert "$1,000.00" in error.violations[0].rule
    code, error = await rpc_error(
        cases.stub.RecordRemediationPayment(payment(number, "pay-x", 1_000, "2026-06-11", june_10))
    )
    assert isinstance(error, InvalidArgument) and [v.field for v in error.violations] == ["received_on"]
    code, error = await rpc_error(
        cases.stub.RecordRemediationPayment(payment(number, "pay-x", 1_000, "2026-05-31", june_10))
    )
    assert isinstance(error, InvalidArgument) and "before the invoice was issued" in error.violations[0].rule
    partial = await cases.stub.RecordRemediationPayment(
        payment(number, "pay-1", 40_000, "2026-06-10", june_10)
    )
    assert (partial.invoice.paid_cents, partial.invoice.balance_cents, partial.status) == (
        40_000,
        60_000,
        "invoiced",
    )
    retried = await cases.stub.RecordRemediationPayment(
        payment(number, "pay-1", 40_000, "2026-06-10", june_10)
    )
    assert retried.invoice.balance_cents == 60_000
    paid = await cases.stub.RecordRemediationPayment(payment(number, "pay-2", 60_000, "2026-06-10", june_10))
    assert (paid.invoice.status, paid.invoice.balance_cents, paid.status) == ("paid", 0, "paid")
    assert [p.amount_cents for p in paid.invoice.payments] == [40_000, 60_000]
    assert await rows(cases, RemediationPaymentRow) == 2
    code, error = await rpc_error(
        cases.stub.RecordRemediationPayment(payment(number, "pay-3", 1, "2026-06-10", june_10))
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "paid in full" in str(error)
    code, error = await rpc_error(
        cases.stub.AddRemediationToTaxRoll(tax_roll(number, datetime(2026, 8, 1, tzinfo=UTC)))
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION


async def test_unpaid_balance_goes_on_the_tax_roll_only_after_the_due_date(cases: CasesHarness) -> None:
    number = await completed_work_order(cases, 200_000, 62_500)
    await cases.stub.IssueRemediationInvoice(invoice_request(number))
    await cases.stub.RecordRemediationPayment(
        payment(number, "pay-1", 12_500, "2026-06-05", datetime(2026, 6, 5, 15, tzinfo=UTC))
    )
    # 23:30 on the due date in Napanee is still within the payment period.
    last_evening = datetime(2026, 6, 23, 3, 30, tzinfo=UTC)
    code, error = await rpc_error(cases.stub.AddRemediationToTaxRoll(tax_roll(number, last_evening)))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "6.7.9" in str(error)
    after = datetime(2026, 6, 23, 4, 0, 1, tzinfo=UTC)
    on_roll = await cases.stub.AddRemediationToTaxRoll(tax_roll(number, after))
    assert on_roll.status == "on_tax_roll" and on_roll.invoice.status == "on_tax_roll"
    item = on_roll.tax_roll_item
    assert (item.amount_cents, item.added_on, item.roll_number) == (250_000, "2026-06-23", DUNDAS)
    assert await cases.stub.AddRemediationToTaxRoll(tax_roll(number, after)) == on_roll
    assert await rows(cases, TaxRollItemRow) == 1
    code, error = await rpc_error(
        cases.stub.RecordRemediationPayment(payment(number, "pay-2", 1_000, "2026-06-24", after))
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "s.446" in str(error)


def _export(
    key: str, *, re_export: bool = False, actor: common_pb2.Actor = TREASURER
) -> cases_pb2.ExportTaxRollRequest:
    return cases_pb2.ExportTaxRollRequest(export_key=key, re_export=re_export, actor=actor)


async def test_tax_roll_export_contents_and_idempotent_marking(cases: CasesHarness) -> None:
    number = await completed_work_order(cases, 300_000, 17_525)
    await cases.stub.IssueRemediationInvoice(invoice_request(number))
    await cases.stub.AddRemediationToTaxRoll(tax_roll(number, datetime(2026, 7, 2, 16, tzinfo=UTC)))

    code, error = await rpc_error(cases.stub.ExportTaxRoll(_export("batch-1", actor=SYSTEM)))
    assert code == grpc.StatusCode.PERMISSION_DENIED and isinstance(error, PermissionDenied)

    first = await cases.stub.ExportTaxRoll(_export("batch-1"))
    assert first.csv == (
        "roll_number,owner,amount,invoice_number,case_number,bylaw,date\r\n"
        f"{DUNDAS},Harbour Holdings Ltd,3175.25,{number}-INV1,{number},2010-0050,2026-07-02\r\n"
    )
    assert (first.total_cents, first.exported_by, first.re_export) == (317_525, "treasurer-1", False)
    [row] = list(csv.DictReader(io.StringIO(first.csv)))
    assert row["amount"] == "3175.25" and row["case_number"] == number
    exported_at = first.items[0].first_exported_at
    assert exported_at.seconds > 0

    # A retried request (same key) returns the same batch; a new one finds nothing new.
    assert await cases.stub.ExportTaxRoll(_export("batch-1")) == first
    second = await cases.stub.ExportTaxRoll(_export("batch-2"))
    assert list(second.items) == [] and second.total_cents == 0
    assert second.csv == "roll_number,owner,amount,invoice_number,case_number,bylaw,date\r\n"
    # Re-export on request: everything, without moving the first export's time.
    again = await cases.stub.ExportTaxRoll(_export("batch-3", re_export=True))
    assert [i.invoice_number for i in again.items] == [f"{number}-INV1"]
    assert again.items[0].first_exported_at == exported_at
    assert again.csv == first.csv
    stored = await cases.stub.GetTaxRollExport(
        cases_pb2.GetTaxRollExportRequest(export_key="batch-1", actor=TREASURER)
    )
    assert stored == first
    code, _ = await rpc_error(
        cases.stub.GetTaxRollExport(cases_pb2.GetTaxRollExportRequest(export_key="nope", actor=TREASURER))
    )
    assert code == grpc.StatusCode.NOT_FOUND


async def test_concurrent_exports_never_share_an_item(cases: CasesHarness) -> None:
    number = await completed_work_order(cases, 50_000)
    await cases.stub.IssueRemediationInvoice(invoice_request(number))
    await cases.stub.AddRemediationToTaxRoll(tax_roll(number, datetime(2026, 7, 2, 16, tzinfo=UTC)))
    batches = await asyncio.gather(*(cases.stub.ExportTaxRoll(_export(f"race-{i}")) for i in range(4)))
    assert sorted(len(b.items) for b in batches) == [0, 0, 0, 1]


def test_csv_cells_cannot_become_spreadsheet_formulas() -> None:
    from datetime import date

    from services.cases.domain.remediation import TaxRollItem, tax_roll_csv

    item = TaxRollItem(
        step_key="s",
        roll_number=DUNDAS,
        owner_name='=HYPERLINK("http://x")',
        amount_cents=1,
        invoice_number="BL-2026-000001-INV1",
        case_number="BL-2026-000001",
        bylaw_number="2010-0050",
        added_on=date(2026, 7, 2),
        added_at=datetime(2026, 7, 2, tzinfo=UTC),
    )
    [row] = list(csv.DictReader(io.StringIO(tax_roll_csv([item]))))
    assert row["owner"] == '\'=HYPERLINK("http://x")' and row["amount"] == "0.01"


async def test_the_period_told_to_the_owner_is_the_invoices(cases: CasesHarness) -> None:
    number = await open_case(cases)
    configured = await cases.stub.CreateWorkOrder(create_request(number, 1))
    assert configured.payment_period_days == 21  # BYLAW_CASES_REMEDIATION_PAYMENT_DAYS
    chosen = await cases.stub.CreateWorkOrder(create_request(number, 2, payment_period_days=10))
    assert chosen.payment_period_days == 10
    _, error = await rpc_error(cases.stub.CreateWorkOrder(create_request(number, 3, payment_period_days=400)))
    assert isinstance(error, InvalidArgument)
    assert [(v.field, v.policy) for v in error.violations] == [("payment_period_days", "6.7.9")]
    costs = cases_pb2.RecordRemediationCostsRequest(
        case_number=number, work_order_seq=2, costs=[cost("w2-cost")], actor=SYSTEM
    )
    costs.occurred_at.CopyFrom(ts(ISSUED_AT))
    await cases.stub.RecordRemediationCosts(costs)
    done = complete_request(number)
    done.work_order_seq, done.step_key = 2, "w2-completed"
    await cases.stub.CompleteRemediationWork(done)
    issue = invoice_request(number)
    issue.work_order_seq = 2
    invoiced = await cases.stub.IssueRemediationInvoice(issue)
    assert (invoiced.invoice.due_on, invoiced.invoice.payment_period_days) == ("2026-06-11", 10)
