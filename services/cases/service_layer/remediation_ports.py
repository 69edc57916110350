"""What the remediation use cases need from storage: a repository of work orders (with
their costs, invoice, payments and tax-roll item), tax-roll exports and Council report
items, inside the cases unit of work (one transaction with the case, audit and outbox)."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from datetime import date, datetime

from services.cases.domain.cases import Case
from services.cases.domain.remediation import (
    CostEntry,
    CouncilItemKind,
    CouncilReportItem,
    Invoice,
    Payment,
    TaxRollExport,
    TaxRollItem,
    WorkOrder,
)
from services.cases.service_layer.ports import AbstractUnitOfWork


class RemediationRepository(abc.ABC):
    @abc.abstractmethod
    async def get(self, case_number: str, seq: int, *, for_update: bool = False) -> WorkOrder | None:
        """The work order with its costs, invoice (and payments) and tax-roll item, and the
        property, owner and by-law read from the case and the assessment roll."""

    @abc.abstractmethod
    async def by_step(self, case_number: str, step_key: str) -> WorkOrder | None: ...

    @abc.abstractmethod
    async def for_case(self, case_number: str) -> list[WorkOrder]: ...

    @abc.abstractmethod
    async def add(self, case: Case, order: WorkOrder) -> None: ...

    @abc.abstractmethod
    async def save(self, order: WorkOrder) -> None:
        """Writes the mutable fields (status, approval, schedule, completion, cancellation)."""

    @abc.abstractmethod
    async def add_costs(self, order: WorkOrder, costs: Sequence[CostEntry]) -> None: ...

    @abc.abstractmethod
    async def add_invoice(self, order: WorkOrder, invoice: Invoice) -> None: ...

    @abc.abstractmethod
    async def add_payment(self, invoice: Invoice, payment: Payment) -> None:
        """Stores the payment and the invoice's new paid amount and status."""

    @abc.abstractmethod
    async def add_tax_roll_item(self, invoice: Invoice, item: TaxRollItem) -> None:
        """Stores the item and marks the invoice as on the tax roll."""

    @abc.abstractmethod
    async def tax_roll_items(self, *, unexported_only: bool) -> list[TaxRollItem]:
        """In the order they were added."""

    @abc.abstractmethod
    async def export(self, export_key: str) -> TaxRollExport | None: ...

    @abc.abstractmethod
    async def add_export(self, export: TaxRollExport) -> None:
        """Stores the batch and marks its items exported (the first export's time stays)."""

    @abc.abstractmethod
    async def add_council_item(self, order: WorkOrder, item: CouncilReportItem) -> None: ...

    @abc.abstractmethod
    async def close_council_items(
        self,
        order: WorkOrder,
        kind: CouncilItemKind,
        reason: str,
        reported_meeting_on: date | None,
        at: datetime,
    ) -> None:
        """Takes the work order's pending item of ``kind`` off the list for the next report."""

    @abc.abstractmethod
    async def council_items(self, *, include_reported: bool) -> list[CouncilReportItem]: ...

    @abc.abstractmethod
    async def mark_council_items_reported(
        self, item_ids: Sequence[int], meeting_on: date, at: datetime
    ) -> list[int]:
        """Marks pending items reported; returns the ids that exist."""


class RemediationUnitOfWork(AbstractUnitOfWork):
    remediation: RemediationRepository

    async def __aenter__(self) -> RemediationUnitOfWork:
        return self
