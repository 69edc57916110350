"""The remediation use cases (seed spec 3.4; policy 6.5.13-6.5.14, 6.7.9-6.7.10): create a
contractor work order, record Council's decision or an emergency approval, schedule the
work, record actual costs, complete or cancel it, invoice the owner, record payments, add
the unpaid balance to the tax roll, export the Treasurer's load file, and keep the list of
items for Council's next report.

Every write runs in one unit of work with its audit entry and domain event (outbox), and
is idempotent on its step key: a retry returns the record as the first call left it and
publishes nothing new; unique constraints are the backstop when two attempts race.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from services.cases.domain import remediation_events as events
from services.cases.domain.cases import TERMINAL_STATUSES, check_case_number, may_see_restricted
from services.cases.domain.properties import canonical_roll_number, roll_number_problem
from services.cases.domain.remediation import (
    COUNCIL_DECISION_RECORDER_ROLE,
    MAX_PAYMENT_PERIOD_DAYS,
    ApprovalKind,
    ApprovalRequest,
    CouncilItemKind,
    CouncilReportItem,
    InvoiceStatus,
    NewWorkOrder,
    TaxRollExport,
    TaxRollItem,
    WorkOrder,
    WorkOrderStatus,
    apply_approval,
    apply_payment,
    check_approval,
    check_cancellation,
    check_completion,
    check_costs,
    check_costs_allowed,
    check_export_key,
    check_new_work_order,
    check_payment,
    check_schedule,
    check_tax_roll,
    council_approval_required,
    initial_status,
    local_date,
    money,
    new_invoice,
    parse_date,
    same_approval,
    same_cost,
    work_order_number,
)
from services.cases.service_layer.commands import Actor
from services.cases.service_layer.ports import AuditEntry, Conflict
from services.cases.service_layer.remediation_commands import (
    AddToTaxRoll,
    CancelWorkOrder,
    CompleteWork,
    CreateWorkOrder,
    ExportTaxRoll,
    IssueInvoice,
    MarkCouncilItemsReported,
    RecordApproval,
    RecordCosts,
    RecordPayment,
    ScheduleWork,
    WorkOrderRef,
)
from services.cases.service_layer.remediation_ports import RemediationUnitOfWork
from services.common.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unavailable,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_ATTEMPTS = 4
STEP_KEY_LIMIT = 200
SUBJECT_LIMIT = 200
TREASURER_ROLE = "treasurer"
# One export at a time, so two Treasurer requests cannot both take the same new items.
EXPORT_LOCK = "cases-tax-roll-export"


@dataclass(frozen=True, slots=True)
class RemediationPolicy:
    """Tunable rules (environment: see services.cases.config.RemediationSettings)."""

    payment_period_days: int = 30  # policy 6.7.9: "paid within a specified period"
    timezone: str = "America/Toronto"


RemediationUowFactory = Callable[[], RemediationUnitOfWork]
Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class RemediationService:
    def __init__(
        self, uow: RemediationUowFactory, policy: RemediationPolicy | None = None, clock: Clock = _utcnow
    ) -> None:
        self._uow = uow
        self.policy = policy or RemediationPolicy()
        self.zone = ZoneInfo(self.policy.timezone)
        self._now = clock

    async def _write(self, body: Callable[[RemediationUnitOfWork], Awaitable[T]]) -> T:
        """Run ``body`` in a transaction; on a lost race, run it again from the start."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                async with self._uow() as uow:
                    result = await body(uow)
                    await uow.commit()
                    return result
            except Conflict:
                log.info("remediation write conflict; retrying", extra={"attempt": attempt})
        raise Unavailable("the work order kept changing concurrently; retry the call")

    # --- shared checks ---------------------------------------------------------------------

    @staticmethod
    def _ref(ref: WorkOrderRef, step_key: str | None = None, actor: Actor | None = None) -> WorkOrderRef:
        number = check_case_number(ref.case_number)
        violations: list[FieldViolation] = []
        if ref.work_order_seq < 1:
            violations.append(FieldViolation("work_order_seq", "must be 1 or more"))
        if step_key is not None:
            if not step_key.strip():
                violations.append(FieldViolation("step_key", "is required (idempotency key of the step)"))
            elif len(step_key) > STEP_KEY_LIMIT:
                violations.append(FieldViolation("step_key", f"must be at most {STEP_KEY_LIMIT} characters"))
        if actor is not None and len(actor.subject) > SUBJECT_LIMIT:
            violations.append(FieldViolation("actor.subject", f"must be at most {SUBJECT_LIMIT} characters"))
        if violations:
            raise InvalidArgument(violations)
        return WorkOrderRef(number, ref.work_order_seq)

    @staticmethod
    async def _order(uow: RemediationUnitOfWork, ref: WorkOrderRef) -> WorkOrder:
        order = await uow.remediation.get(ref.case_number, ref.work_order_seq, for_update=True)
        if order is None:
            raise NotFound(f"work order {ref.work_order_seq} of case {ref.case_number} not found")
        return order

    def _today(self, at: datetime) -> date:
        return local_date(at, self.zone)

    async def _audit(
        self, uow: RemediationUnitOfWork, actor: Actor, action: str, order: WorkOrder, details: dict[str, Any]
    ) -> None:
        await uow.audit(
            AuditEntry(
                actor_subject=actor.audit_subject,
                action=action,
                occurred_at=self._now(),
                case_number=order.case_number,
                details={"work_order_seq": order.work_order_seq, **details},
            )
        )

    # --- work orders -----------------------------------------------------------------------

    async def create_work_order(self, cmd: CreateWorkOrder) -> WorkOrder:
        ref = self._ref(cmd.ref, cmd.step_key, cmd.actor)
        new = NewWorkOrder(
            description=cmd.description.strip(),
            contractor=cmd.contractor.strip(),
            estimate_cents=cmd.estimate_cents,
            private_land=cmd.private_land,
            requested_by=cmd.requested_by.strip(),
        )
        violations = check_new_work_order(ref.work_order_seq, new)
        roll = canonical_roll_number(cmd.property_roll_number)
        if roll and (problem := roll_number_problem(roll)):
            violations.append(FieldViolation("property_roll_number", problem))
        if not 0 <= cmd.payment_period_days <= MAX_PAYMENT_PERIOD_DAYS:
            violations.append(
                FieldViolation(
                    "payment_period_days",
                    f"must be between 1 and {MAX_PAYMENT_PERIOD_DAYS} days (0: the configured period)",
                    "6.7.9",
                )
            )
        period = cmd.payment_period_days or self.policy.payment_period_days
        if violations:
            raise InvalidArgument(violations)

        async def body(uow: RemediationUnitOfWork) -> WorkOrder:
            case = await uow.cases.get(ref.case_number, for_update=True)
            if case is None:
                raise NotFound(f"case {ref.case_number} not found")
            if (done := await uow.remediation.by_step(ref.case_number, cmd.step_key)) is not None:
                if done.work_order_seq != ref.work_order_seq:
                    raise FailedPrecondition(
                        f"step {cmd.step_key!r} of case {ref.case_number} already created work order "
                        f"{done.work_order_seq}, not {ref.work_order_seq}"
                    )
                return done  # a retry: the work order as it stands, no second event
            if (other := await uow.remediation.get(ref.case_number, ref.work_order_seq)) is not None:
                raise AlreadyExists(
                    f"work order {other.work_order_number} already exists "
                    f"(created by step {other.step_key!r})"
                )
            if case.status in TERMINAL_STATUSES:
                raise FailedPrecondition(
                    f"case {ref.case_number} is {case.status.value}; no remedial work is ordered"
                )
            roll_number = roll or case.property_roll_number
            parcel = await uow.properties.get(roll_number) if roll_number else None
            if parcel is None:
                raise InvalidArgument(
                    FieldViolation(
                        "property_roll_number",
                        "remedial work needs its parcel on the assessment roll: the costs are recovered from "
                        "the registered owner and unpaid costs are added to the parcel's tax roll",
                        "6.7.9",
                    )
                )
            now = self._now()
            occurred_at = cmd.occurred_at or now
            required = council_approval_required(new.private_land, new.estimate_cents)
            status, approval = initial_status(required)
            if approval is not None:
                approval.decided_at = occurred_at
                approval.step_key = cmd.step_key
            order = WorkOrder(
                case_number=case.case_number,
                work_order_seq=ref.work_order_seq,
                work_order_number=work_order_number(case.case_number, ref.work_order_seq),
                step_key=cmd.step_key,
                property_roll_number=parcel.roll_number,
                description=new.description,
                contractor=new.contractor,
                estimate_cents=new.estimate_cents,
                private_land=new.private_land,
                council_approval_required=required,
                payment_period_days=period,
                status=status,
                requested_by=new.requested_by,
                created_at=occurred_at,
                updated_at=occurred_at,
                approval=approval,
                property_address=parcel.address,
                owner_name=parcel.owner_name,
                owner_mailing_address=parcel.owner_mailing_address,
                bylaw_number=case.bylaw_number,
                service_code=case.service_code,
                restricted=case.restricted,
            )
            await uow.remediation.add(case, order)
            if required:
                # Policy 6.5.13: reported to Council before the action is taken.
                await uow.remediation.add_council_item(
                    order,
                    CouncilReportItem(
                        case_number=order.case_number,
                        work_order_seq=order.work_order_seq,
                        work_order_number=order.work_order_number,
                        kind=CouncilItemKind.APPROVAL_REQUEST,
                        summary=(
                            f"Approval requested: remedial work on private land estimated at "
                            f"{money(order.estimate_cents)} (over $5,000, policy 6.5.13)"
                            + ("" if order.restricted else f": {order.description}")
                        ),
                        estimate_cents=order.estimate_cents,
                        occurred_at=occurred_at,
                    ),
                )
            await uow.publish(events.work_order_created(order))
            await self._audit(
                uow,
                cmd.actor,
                "remediation.work_order_created",
                order,
                {
                    "step_key": cmd.step_key,
                    "estimate_cents": order.estimate_cents,
                    "private_land": order.private_land,
                    "council_approval_required": required,
                    "property_roll_number": order.property_roll_number,
                    "requested_by": order.requested_by,
                },
            )
            log.info(
                "work order created",
                extra={
                    "case_number": order.case_number,
                    "work_order": order.work_order_number,
                    "gated": required,
                },
            )
            return order

        return await self._write(body)

    async def get_work_order(self, ref: WorkOrderRef, actor: Actor) -> WorkOrder:
        ref = self._ref(ref)
        async with self._uow() as uow:
            order = await uow.remediation.get(ref.case_number, ref.work_order_seq)
        # A restricted case's records are reported missing, like the case itself (6.10).
        if order is None or (order.restricted and not may_see_restricted(actor.roles)):
            raise NotFound(f"work order {ref.work_order_seq} of case {ref.case_number} not found")
        return order

    async def list_work_orders(self, case_number: str, actor: Actor) -> list[WorkOrder]:
        number = check_case_number(case_number)
        async with self._uow() as uow:
            case = await uow.cases.get(number)
            if case is None or (case.restricted and not may_see_restricted(actor.roles)):
                raise NotFound(f"case {number} not found")
            return await uow.remediation.for_case(number)

    # --- approvals -------------------------------------------------------------------------

    async def record_approval(self, cmd: RecordApproval) -> WorkOrder:
        ref = self._ref(cmd.ref, cmd.step_key, cmd.actor)
        request = ApprovalRequest(
            kind=cmd.kind,
            decision=cmd.decision,
            council_resolution=cmd.council_resolution,
            council_meeting_on=cmd.council_meeting_on,
            emergency_risk=cmd.emergency_risk,
            emergency_description=cmd.emergency_description,
            emergency_urgency=cmd.emergency_urgency,
            no_time_for_council=cmd.no_time_for_council,
            decided_by=cmd.decided_by,
            decided_by_role=cmd.decided_by_role,
            note=cmd.note,
        )

        async def body(uow: RemediationUnitOfWork) -> WorkOrder:
            order = await self._order(uow, ref)
            occurred_at = cmd.occurred_at or self._now()
            if order.approval is not None and order.approval.step_key == cmd.step_key:
                wanted = check_approval(
                    dataclasses.replace(order, status=WorkOrderStatus.AWAITING_COUNCIL),
                    request,
                    self._today(occurred_at),
                )
                if not same_approval(order.approval, wanted):
                    raise FailedPrecondition(
                        f"step {cmd.step_key!r} of work order {order.work_order_number} already recorded a "
                        f"different decision ({order.approval.kind.value}, "
                        f"{order.approval.decision.value if order.approval.decision else 'pending'})"
                    )
                return order
            approval = check_approval(order, request, self._today(occurred_at))
            approval.decided_at = occurred_at
            approval.step_key = cmd.step_key
            apply_approval(order, approval, occurred_at)
            await uow.remediation.save(order)
            if approval.kind is ApprovalKind.COUNCIL:
                await uow.remediation.close_council_items(
                    order,
                    CouncilItemKind.APPROVAL_REQUEST,
                    "decided",
                    approval.council_meeting_on,
                    occurred_at,
                )
            else:
                # Policy 6.5.14: no longer a request for approval, but reported to Council
                # for information at the earliest opportunity.
                await uow.remediation.close_council_items(
                    order, CouncilItemKind.APPROVAL_REQUEST, "emergency_approved", None, occurred_at
                )
                risk = approval.emergency_risk.value if approval.emergency_risk else ""
                approver = _ROLE_TITLES.get(approval.decided_by_role, approval.decided_by_role)
                await uow.remediation.add_council_item(
                    order,
                    CouncilReportItem(
                        case_number=order.case_number,
                        work_order_seq=order.work_order_seq,
                        work_order_number=order.work_order_number,
                        kind=CouncilItemKind.EMERGENCY_APPROVAL,
                        summary=(
                            "For information: remedial work estimated at "
                            f"{money(order.estimate_cents)} approved by the {approver} "
                            f"without Council because of a risk to {risk} (policy 6.5.14)"
                            + ("" if order.restricted else f": {approval.emergency_description}")
                        ),
                        estimate_cents=order.estimate_cents,
                        occurred_at=occurred_at,
                    ),
                )
            await uow.publish(events.approval_recorded(order, approval, occurred_at))
            await self._audit(
                uow,
                cmd.actor,
                "remediation.approval_recorded",
                order,
                {
                    "step_key": cmd.step_key,
                    "kind": approval.kind.value,
                    "decision": approval.decision.value if approval.decision else "",
                    "council_resolution": approval.council_resolution,
                    "decided_by": approval.decided_by,
                    "decided_by_role": approval.decided_by_role,
                    "emergency_risk": approval.emergency_risk.value if approval.emergency_risk else "",
                },
            )
            return order

        return await self._write(body)

    # --- the work ----------------------------------------------------------------------------

    async def schedule_work(self, cmd: ScheduleWork) -> WorkOrder:
        ref = self._ref(cmd.ref, cmd.step_key, cmd.actor)
        violations: list[FieldViolation] = []
        scheduled_on = parse_date(cmd.scheduled_on, "scheduled_on", violations)
        if violations:
            raise InvalidArgument(violations)
        assert scheduled_on is not None

        async def body(uow: RemediationUnitOfWork) -> WorkOrder:
            order = await self._order(uow, ref)
            if order.status is WorkOrderStatus.SCHEDULED and order.scheduled_on == scheduled_on:
                return order
            check_schedule(order, scheduled_on, self.zone)
            occurred_at = cmd.occurred_at or self._now()
            order.scheduled_on = scheduled_on
            order.status = WorkOrderStatus.SCHEDULED
            order.updated_at = occurred_at
            await uow.remediation.save(order)
            await uow.publish(events.work_scheduled(order, cmd.step_key, occurred_at))
            await self._audit(
                uow,
                cmd.actor,
                "remediation.work_scheduled",
                order,
                {
                    "step_key": cmd.step_key,
                    "scheduled_on": scheduled_on.isoformat(),
                    "note": cmd.note.strip(),
                },
            )
            return order

        return await self._write(body)

    async def record_costs(self, cmd: RecordCosts) -> WorkOrder:
        ref = self._ref(cmd.ref, actor=cmd.actor)

        async def body(uow: RemediationUnitOfWork) -> WorkOrder:
            order = await self._order(uow, ref)
            occurred_at = cmd.occurred_at or self._now()
            entries = check_costs(cmd.costs, self._today(occurred_at))
            recorded = {c.step_key: c for c in order.costs}
            fresh = []
            for index, entry in enumerate(entries):
                if (done := recorded.get(entry.step_key)) is None:
                    fresh.append(
                        dataclasses.replace(
                            entry, recorded_by=cmd.actor.audit_subject, recorded_at=occurred_at
                        )
                    )
                elif not same_cost(done, entry):
                    raise FailedPrecondition(
                        f"costs[{index}]: step {entry.step_key!r} already recorded a different cost "
                        f"({done.kind.value}, {money(done.amount_cents)})"
                    )
            if not fresh:
                return order  # a retry of recorded entries
            check_costs_allowed(order)
            await uow.remediation.add_costs(order, fresh)
            order.costs.extend(fresh)
            order.updated_at = occurred_at
            await uow.remediation.save(order)
            await uow.publish(events.costs_recorded(order, fresh, occurred_at))
            await self._audit(
                uow,
                cmd.actor,
                "remediation.costs_recorded",
                order,
                {
                    "entries": [
                        {"step_key": c.step_key, "kind": c.kind.value, "amount_cents": c.amount_cents}
                        for c in fresh
                    ],
                    "actual_cost_cents": order.actual_cost_cents,
                },
            )
            return order

        return await self._write(body)

    async def complete_work(self, cmd: CompleteWork) -> WorkOrder:
        ref = self._ref(cmd.ref, cmd.step_key, cmd.actor)
        violations: list[FieldViolation] = []
        completed_on = parse_date(cmd.completed_on, "completed_on", violations)
        if len(cmd.note) > 2000:
            violations.append(FieldViolation("note", "must be at most 2000 characters"))
        if violations:
            raise InvalidArgument(violations)
        assert completed_on is not None

        async def body(uow: RemediationUnitOfWork) -> WorkOrder:
            order = await self._order(uow, ref)
            if order.completed_on is not None:
                if order.completed_on != completed_on:
                    raise FailedPrecondition(
                        f"work order {order.work_order_number} was already completed on "
                        f"{order.completed_on.isoformat()}"
                    )
                return order
            occurred_at = cmd.occurred_at or self._now()
            check_completion(order, completed_on, self._today(occurred_at), self.zone)
            order.completed_on = completed_on
            order.completion_note = cmd.note.strip()
            order.status = WorkOrderStatus.COMPLETED
            order.updated_at = occurred_at
            await uow.remediation.save(order)
            await uow.publish(events.work_completed(order, cmd.step_key, occurred_at))
            await self._audit(
                uow,
                cmd.actor,
                "remediation.work_completed",
                order,
                {
                    "step_key": cmd.step_key,
                    "completed_on": completed_on.isoformat(),
                    "actual_cost_cents": order.actual_cost_cents,
                },
            )
            return order

        return await self._write(body)

    async def cancel_work_order(self, cmd: CancelWorkOrder) -> WorkOrder:
        ref = self._ref(cmd.ref, cmd.step_key, cmd.actor)

        async def body(uow: RemediationUnitOfWork) -> WorkOrder:
            order = await self._order(uow, ref)
            if order.status is WorkOrderStatus.CANCELLED:
                return order
            reason = check_cancellation(order, cmd.reason)
            occurred_at = cmd.occurred_at or self._now()
            order.status = WorkOrderStatus.CANCELLED
            order.cancelled_reason = reason
            order.updated_at = occurred_at
            await uow.remediation.save(order)
            await uow.remediation.close_council_items(
                order, CouncilItemKind.APPROVAL_REQUEST, "cancelled", None, occurred_at
            )
            await uow.publish(events.work_order_cancelled(order, cmd.step_key, occurred_at))
            await self._audit(
                uow,
                cmd.actor,
                "remediation.work_order_cancelled",
                order,
                {"step_key": cmd.step_key, "reason": reason},
            )
            return order

        return await self._write(body)

    # --- cost recovery -----------------------------------------------------------------------

    async def issue_invoice(self, cmd: IssueInvoice) -> WorkOrder:
        ref = self._ref(cmd.ref, cmd.step_key, cmd.actor)

        async def body(uow: RemediationUnitOfWork) -> WorkOrder:
            order = await self._order(uow, ref)
            if order.invoice is not None:
                if order.invoice.step_key != cmd.step_key:
                    raise FailedPrecondition(
                        f"work order {order.work_order_number} was already invoiced as "
                        f"{order.invoice.invoice_number} by step {order.invoice.step_key!r}"
                    )
                return order  # a retry: the same invoice, never a second one
            occurred_at = cmd.occurred_at or self._now()
            # The registered owner now, from the assessment roll: the invoice goes to whoever
            # owns the parcel when the costs are recovered (Municipal Act, 2001, s.446).
            parcel = await uow.properties.get(order.property_roll_number)
            invoice = new_invoice(
                order,
                cmd.step_key,
                occurred_at,
                self.zone,
                cmd.payment_period_days or order.payment_period_days,
                parcel.owner_name if parcel else order.owner_name,
                parcel.owner_mailing_address if parcel else order.owner_mailing_address,
            )
            await uow.remediation.add_invoice(order, invoice)
            order.invoice = invoice
            order.status = WorkOrderStatus.INVOICED
            order.updated_at = occurred_at
            await uow.remediation.save(order)
            await uow.publish(events.invoice_issued(order, invoice))
            await self._audit(
                uow,
                cmd.actor,
                "remediation.invoice_issued",
                order,
                {
                    "step_key": cmd.step_key,
                    "invoice_number": invoice.invoice_number,
                    "amount_cents": invoice.amount_cents,
                    "due_on": invoice.due_on.isoformat(),
                },
            )
            log.info(
                "remediation invoice issued",
                extra={"case_number": order.case_number, "invoice": invoice.invoice_number},
            )
            return order

        return await self._write(body)

    async def record_payment(self, cmd: RecordPayment) -> WorkOrder:
        ref = self._ref(cmd.ref, cmd.step_key, cmd.actor)

        async def body(uow: RemediationUnitOfWork) -> WorkOrder:
            order = await self._order(uow, ref)
            invoice = order.invoice
            if invoice is not None and (
                done := next((p for p in invoice.payments if p.step_key == cmd.step_key), None)
            ):
                if done.amount_cents != cmd.payment.amount_cents:
                    raise FailedPrecondition(
                        f"step {cmd.step_key!r} already recorded a payment of {money(done.amount_cents)}"
                    )
                return order
            occurred_at = cmd.occurred_at or self._now()
            payment = check_payment(order, cmd.payment, cmd.step_key, self._today(occurred_at))
            payment = dataclasses.replace(
                payment, recorded_by=cmd.actor.audit_subject, recorded_at=occurred_at
            )
            assert invoice is not None
            apply_payment(invoice, payment)
            await uow.remediation.add_payment(invoice, payment)
            if invoice.balance_cents == 0:
                order.status = WorkOrderStatus.PAID
            order.updated_at = occurred_at
            await uow.remediation.save(order)
            await uow.publish(events.payment_recorded(order, invoice, payment, occurred_at))
            await self._audit(
                uow,
                cmd.actor,
                "remediation.payment_recorded",
                order,
                {
                    "step_key": cmd.step_key,
                    "invoice_number": invoice.invoice_number,
                    "amount_cents": payment.amount_cents,
                    "balance_cents": invoice.balance_cents,
                },
            )
            return order

        return await self._write(body)

    async def add_to_tax_roll(self, cmd: AddToTaxRoll) -> WorkOrder:
        ref = self._ref(cmd.ref, cmd.step_key, cmd.actor)

        async def body(uow: RemediationUnitOfWork) -> WorkOrder:
            order = await self._order(uow, ref)
            if order.tax_roll_item is not None:
                return order  # one item per invoice: a retry adds nothing
            occurred_at = cmd.occurred_at or self._now()
            invoice = check_tax_roll(order, occurred_at, self.zone)
            item = TaxRollItem(
                step_key=cmd.step_key,
                roll_number=invoice.roll_number,
                owner_name=invoice.owner_name,
                amount_cents=invoice.balance_cents,
                invoice_number=invoice.invoice_number,
                case_number=order.case_number,
                bylaw_number=order.bylaw_number,
                added_on=self._today(occurred_at),
                added_at=occurred_at,
            )
            await uow.remediation.add_tax_roll_item(invoice, item)
            invoice.status = InvoiceStatus.ON_TAX_ROLL
            order.tax_roll_item = item
            order.status = WorkOrderStatus.ON_TAX_ROLL
            order.updated_at = occurred_at
            await uow.remediation.save(order)
            await uow.publish(events.added_to_tax_roll(order, item))
            await self._audit(
                uow,
                cmd.actor,
                "remediation.added_to_tax_roll",
                order,
                {
                    "step_key": cmd.step_key,
                    "invoice_number": item.invoice_number,
                    "amount_cents": item.amount_cents,
                },
            )
            return order

        return await self._write(body)

    # --- the Treasurer's export --------------------------------------------------------------

    async def export_tax_roll(self, cmd: ExportTaxRoll) -> TaxRollExport:
        key = check_export_key(cmd.export_key)
        _require_role(cmd.actor, TREASURER_ROLE, "the tax roll is exported by the Treasurer")

        async def body(uow: RemediationUnitOfWork) -> TaxRollExport:
            await uow.lock([EXPORT_LOCK])
            if (done := await uow.remediation.export(key)) is not None:
                return done  # a retry: the same batch, whatever was added since
            now = self._now()
            items = await uow.remediation.tax_roll_items(unexported_only=not cmd.re_export)
            export = TaxRollExport(
                export_key=key,
                exported_at=now,
                exported_by=cmd.actor.audit_subject,
                re_export=cmd.re_export,
                items=tuple(
                    dataclasses.replace(i, first_exported_at=i.first_exported_at or now) for i in items
                ),
            )
            await uow.remediation.add_export(export)
            await uow.audit(
                AuditEntry(
                    actor_subject=cmd.actor.audit_subject,
                    action="remediation.tax_roll_exported",
                    occurred_at=now,
                    details={
                        "export_key": key,
                        "re_export": cmd.re_export,
                        "items": len(export.items),
                        "total_cents": export.total_cents,
                    },
                )
            )
            return export

        return await self._write(body)

    async def get_tax_roll_export(self, export_key: str, actor: Actor) -> TaxRollExport:
        key = check_export_key(export_key)
        _require_role(actor, TREASURER_ROLE, "tax-roll exports are read by the Treasurer")
        async with self._uow() as uow:
            export = await uow.remediation.export(key)
        if export is None:
            raise NotFound(f"tax-roll export {key!r} not found")
        return export

    # --- Council's next report -------------------------------------------------------------

    async def council_items(self, include_reported: bool) -> list[CouncilReportItem]:
        async with self._uow() as uow:
            return await uow.remediation.council_items(include_reported=include_reported)

    async def mark_council_items_reported(self, cmd: MarkCouncilItemsReported) -> list[CouncilReportItem]:
        _require_role(
            cmd.actor, COUNCIL_DECISION_RECORDER_ROLE, "the Clerk records what was reported to Council"
        )
        violations: list[FieldViolation] = []
        if not cmd.item_ids:
            violations.append(FieldViolation("item_ids", "at least one item is required"))
        meeting_on = parse_date(cmd.meeting_on, "meeting_on", violations)
        if violations:
            raise InvalidArgument(violations)
        assert meeting_on is not None
        ids = sorted(set(cmd.item_ids))

        async def body(uow: RemediationUnitOfWork) -> list[CouncilReportItem]:
            now = self._now()
            if meeting_on > self._today(now):
                raise InvalidArgument(
                    FieldViolation("meeting_on", "must not be after today: items are marked once reported")
                )
            found = await uow.remediation.mark_council_items_reported(ids, meeting_on, now)
            if missing := sorted(set(ids) - set(found)):
                raise InvalidArgument(
                    FieldViolation("item_ids", f"unknown items: {', '.join(map(str, missing))}")
                )
            await uow.audit(
                AuditEntry(
                    actor_subject=cmd.actor.audit_subject,
                    action="remediation.council_items_reported",
                    occurred_at=now,
                    details={"item_ids": ids, "meeting_on": meeting_on.isoformat()},
                )
            )
            return await uow.remediation.council_items(include_reported=False)

        return await self._write(body)


_ROLE_TITLES = {
    "cao": "Chief Administrative Officer",
    "cbo": "Chief Building Official",
    "fire_chief": "Fire Chief",
}


def _require_role(actor: Actor, role: str, why: str) -> None:
    if role not in actor.roles:
        raise PermissionDenied(f"requires the role {role!r}: {why}")
