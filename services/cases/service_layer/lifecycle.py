"""The case lifecycle use cases (issue 4): inspections and their checklists, the
pre-inspection packet, enforcement actions with their numbers and set fines, compliance
deadline changes, escalation alerts and the closure summary.

The case workflow decides when each step happens; these use cases keep the record true:
each write is idempotent on (case_number, step_key) — a retried step returns what the first
attempt recorded and publishes nothing new — and commits with its audit entry and domain
event in one transaction. A step whose key was already used for something else is refused.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from services.cases.domain import lifecycle_events as events
from services.cases.domain.cases import (
    TERMINAL_STATUSES,
    Case,
    CaseStatus,
    check_case_number,
    may_see_restricted,
    visible_to,
)
from services.cases.domain.checklists import Checklist, ChecklistCatalogue, assess
from services.cases.domain.lifecycle import (
    CLOCK_SKEW,
    FINED,
    ActionKind,
    Alert,
    AlertKind,
    Closure,
    DeadlineChange,
    DeadlineChangeKind,
    EnforcementAction,
    Inspection,
    InspectionKind,
    InspectionState,
    action_number,
    action_violations,
    deadline_change_violations,
    schedule_violations,
    text_violations,
)
from services.cases.domain.properties import Officer
from services.cases.domain.set_fines import FineKind, FineSchedule
from services.cases.domain.validation import too_long
from services.cases.service_layer.commands import Actor
from services.cases.service_layer.lifecycle_commands import (
    AlertPage,
    AttachDocument,
    ClearAlert,
    ClosureView,
    ListAlerts,
    PreInspectionPacket,
    RaiseAlert,
    RecordAction,
    RecordClosure,
    RecordDeadlineChange,
    RecordInspection,
    ScheduleInspection,
)
from services.cases.service_layer.lifecycle_ports import AlertCursor, AlertFilter, LifecycleUnitOfWork
from services.cases.service_layer.ports import AuditEntry, Conflict
from services.common.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Unavailable,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_ATTEMPTS = 4
PRIOR_CASES = 20
DEFAULT_ALERT_PAGE = 50
MAX_ALERT_PAGE = 500
ATTACHABLE = ("inspection", "enforcement_action")


@dataclass(frozen=True, slots=True)
class ReferenceData:
    """Data the Clerk maintains, loaded at startup (services.cases.adapters.reference)."""

    checklists: ChecklistCatalogue
    fines: FineSchedule


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _required(step_key: str, actor: Actor) -> list[FieldViolation]:
    violations: list[FieldViolation] = []
    if not step_key.strip():
        violations.append(FieldViolation("step_key", "is required (idempotency key of the step)"))
    violations += too_long(
        [("step_key", "step_key", step_key), ("actor.subject", "actor.subject", actor.subject)]
    )
    return violations


def _raise(violations: list[FieldViolation]) -> None:
    if violations:
        raise InvalidArgument(violations)


class LifecycleService:
    def __init__(
        self,
        uow: Callable[[], LifecycleUnitOfWork],
        reference: ReferenceData,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._uow = uow
        self.reference = reference
        self._now = clock

    async def _write(self, body: Callable[[LifecycleUnitOfWork], Awaitable[T]]) -> T:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                async with self._uow() as uow:
                    result = await body(uow)
                    await uow.commit()
                    return result
            except Conflict:
                log.info("lifecycle write conflict; retrying", extra={"attempt": attempt})
        raise Unavailable("the record kept changing concurrently; retry the call")

    @staticmethod
    async def _case(uow: LifecycleUnitOfWork, number: str) -> Case:
        case = await uow.cases.get(number, for_update=True)
        if case is None:
            raise NotFound(f"case {number} not found")
        return case

    @staticmethod
    def _open(case: Case, what: str) -> None:
        if case.status in TERMINAL_STATUSES:
            raise FailedPrecondition(
                f"case {case.case_number} is {case.status.value}; {what} is not recorded"
            )

    async def _visible(self, number: str, actor: Actor) -> Case:
        number = check_case_number(number)
        async with self._uow() as uow:
            case = await uow.cases.get(number)
        # Restricted cases are reported as missing (policy 6.10), like GetCase does.
        if case is None or not visible_to(case, actor.roles):
            raise NotFound(f"case {number} not found")
        return case

    async def _audit(
        self, uow: LifecycleUnitOfWork, actor: Actor, what: str, case: str, **details: object
    ) -> None:
        await uow.audit(
            AuditEntry(
                actor_subject=actor.audit_subject,
                action=what,
                occurred_at=self._now(),
                case_number=case,
                details=dict(details),
            )
        )

    # --- reference data and reads ----------------------------------------------------------

    async def get_officer(self, officer_id: str) -> Officer:
        if not officer_id.strip():
            raise InvalidArgument(FieldViolation("officer_id", "is required"))
        async with self._uow() as uow:
            officer = await uow.officers.get(officer_id.strip())
        if officer is None:
            raise NotFound(f"officer {officer_id} not found")
        return officer

    def checklists(self, service_code: str = "") -> list[Checklist]:
        catalogue = self.reference.checklists
        return catalogue.for_service_code(service_code) if service_code.strip() else catalogue.all()

    async def pre_inspection_packet(self, case_number: str, actor: Actor) -> PreInspectionPacket:
        """Seed spec 2.1. Other cases at the property that are restricted (complaints about
        Town staff or Council, policy 6.10) stay out of the packet of a reader without the
        need to know, as they do everywhere else."""
        case = await self._visible(case_number, actor)
        async with self._uow() as uow:
            prior = await uow.lifecycle.prior_cases(
                case, PRIOR_CASES, include_restricted=may_see_restricted(actor.roles)
            )
            inspections = await uow.lifecycle.inspections(case.case_number)
            officer = await uow.officers.get(case.assigned_officer_id) if case.assigned_officer_id else None
        return PreInspectionPacket(
            case=case,
            property=case.match.parcel,
            prior_cases=prior,
            inspections=inspections,
            checklists=self.reference.checklists.for_service_code(case.service_code),
            officer=officer,
        )

    async def inspections(self, case_number: str, actor: Actor) -> list[Inspection]:
        case = await self._visible(case_number, actor)
        async with self._uow() as uow:
            return await uow.lifecycle.inspections(case.case_number)

    async def actions(self, case_number: str, actor: Actor) -> list[EnforcementAction]:
        case = await self._visible(case_number, actor)
        async with self._uow() as uow:
            return await uow.lifecycle.actions(case.case_number)

    async def deadline_changes(self, case_number: str, actor: Actor) -> list[DeadlineChange]:
        case = await self._visible(case_number, actor)
        async with self._uow() as uow:
            return await uow.lifecycle.deadline_changes(case.case_number)

    # --- inspections -----------------------------------------------------------------------

    async def schedule_inspection(self, cmd: ScheduleInspection) -> Inspection:
        number = check_case_number(cmd.case_number)
        violations = _required(cmd.step_key, cmd.actor)
        violations += schedule_violations(cmd.kind, cmd.scheduled_for, cmd.due_by, cmd.reason)
        violations += too_long([("officer_id", "officer_id", cmd.officer_id)])
        violations += text_violations([("reason", cmd.reason)])
        _raise(violations)
        assert cmd.scheduled_for is not None

        async def body(uow: LifecycleUnitOfWork) -> Inspection:
            case = await self._case(uow, number)
            if (done := await uow.lifecycle.inspection(number, cmd.step_key)) is not None:
                return done  # retry of a recorded step
            self._open(case, "an inspection")
            officer_id = cmd.officer_id.strip() or case.assigned_officer_id
            if cmd.officer_id.strip():
                officer = await uow.officers.get(cmd.officer_id.strip())
                if officer is None or not officer.active:
                    raise InvalidArgument(
                        FieldViolation("officer_id", f"no active officer {cmd.officer_id!r}")
                    )
            inspection = Inspection(
                case_number=number,
                step_key=cmd.step_key,
                kind=InspectionKind(cmd.kind),
                state=InspectionState.SCHEDULED,
                scheduled_for=cmd.scheduled_for,
                due_by=cmd.due_by,
                reason=cmd.reason.strip(),
                officer_id=officer_id,
                actor_subject=cmd.actor.audit_subject,
            )
            await uow.lifecycle.add_inspection(case, inspection)
            await self._audit(
                uow,
                cmd.actor,
                "case.inspection_scheduled",
                number,
                step_key=cmd.step_key,
                kind=cmd.kind,
                scheduled_for=cmd.scheduled_for.isoformat() if cmd.scheduled_for else None,
                officer_id=officer_id,
            )
            return inspection

        return await self._write(body)

    async def record_inspection(self, cmd: RecordInspection) -> Inspection:
        number = check_case_number(cmd.case_number)
        violations = _required(cmd.step_key, cmd.actor)
        if cmd.kind not in {k.value for k in InspectionKind}:
            violations.append(
                FieldViolation("kind", f"unknown inspection kind {cmd.kind!r}; one of initial, reinspection")
            )
        if cmd.inspected_at is None:
            violations.append(FieldViolation("inspected_at", "is required"))
        elif cmd.inspected_at > self._now() + CLOCK_SKEW:
            violations.append(FieldViolation("inspected_at", "cannot be in the future"))
        violations += too_long([("officer_id", "officer_id", cmd.officer_id)])
        violations += text_violations([("notes", cmd.notes)])
        checklist = self.reference.checklists.get(cmd.checklist_id.strip())
        if checklist is None:
            known = ", ".join(c.checklist_id for c in self.reference.checklists.all())
            violations.append(
                FieldViolation("checklist_id", f"unknown checklist {cmd.checklist_id!r}; one of {known}")
            )
        _raise(violations)
        assert checklist is not None and cmd.inspected_at is not None

        async def body(uow: LifecycleUnitOfWork) -> Inspection:
            case = await self._case(uow, number)
            if (done := await uow.lifecycle.inspection(number, cmd.step_key)) is not None:
                if done.state is not InspectionState.COMPLETED:
                    raise FailedPrecondition(
                        f"step {cmd.step_key!r} of case {number} scheduled an inspection; "
                        "record it with a new step_key"
                    )
                return done
            self._open(case, "an inspection")
            # Checked against the case's own matrix row (seed spec 2.2: by-law-specific).
            assessment = assess(checklist, case.service_code, cmd.findings)
            officer_id = cmd.officer_id.strip() or case.assigned_officer_id
            scheduled: Inspection | None = None
            if cmd.scheduled_step_key.strip():
                scheduled = await uow.lifecycle.inspection(number, cmd.scheduled_step_key.strip())
                if scheduled is None:
                    raise InvalidArgument(
                        FieldViolation(
                            "scheduled_step_key", f"no inspection was scheduled by {cmd.scheduled_step_key!r}"
                        )
                    )
                if scheduled.state is InspectionState.COMPLETED:
                    raise FailedPrecondition(
                        f"the inspection scheduled by {scheduled.step_key!r} is already recorded"
                    )
                if scheduled.kind.value != cmd.kind:
                    raise InvalidArgument(
                        FieldViolation(
                            "kind", f"the scheduled inspection is a {scheduled.kind.value}, not {cmd.kind}"
                        )
                    )
            inspection = scheduled or Inspection(
                case_number=number,
                step_key=cmd.step_key,
                kind=InspectionKind(cmd.kind),
                state=InspectionState.SCHEDULED,
                actor_subject=cmd.actor.audit_subject,
            )
            inspection.state = InspectionState.COMPLETED
            inspection.record_step_key = cmd.step_key
            inspection.inspected_at = cmd.inspected_at
            inspection.officer_id = officer_id or inspection.officer_id
            inspection.checklist_id = checklist.checklist_id
            inspection.checklist_version = checklist.version
            inspection.findings = assessment.findings
            inspection.violation_found = assessment.violation_found
            inspection.bylaw_sections = assessment.bylaw_sections
            inspection.notes = cmd.notes.strip()
            if scheduled is None:
                await uow.lifecycle.add_inspection(case, inspection)
            else:
                await uow.lifecycle.save_inspection(case, inspection)
            await uow.publish(events.inspection_recorded(case, inspection))
            await self._audit(
                uow,
                cmd.actor,
                "case.inspection_recorded",
                number,
                step_key=cmd.step_key,
                kind=cmd.kind,
                checklist=f"{checklist.checklist_id}@{checklist.version}",
                violation_found=assessment.violation_found,
                bylaw_sections=list(assessment.bylaw_sections),
            )
            return inspection

        return await self._write(body)

    # --- enforcement actions ---------------------------------------------------------------

    async def record_action(self, cmd: RecordAction) -> EnforcementAction:
        number = check_case_number(cmd.case_number)
        occurred_at = cmd.occurred_at or self._now()
        violations = _required(cmd.step_key, cmd.actor)
        violations += action_violations(
            cmd.action, cmd.comply_by, occurred_at, cmd.details, cmd.deviation_reason, cmd.justification
        )
        violations += too_long([("officer_id", "officer_id", cmd.officer_id)])
        violations += text_violations(
            [
                ("details", cmd.details),
                ("deviation_reason", cmd.deviation_reason),
                ("bylaw_section", cmd.bylaw_section),
            ]
        )
        if len(cmd.justification) > 64:
            violations.append(FieldViolation("justification", "must be at most 64 characters"))
        _raise(violations)
        kind = ActionKind(cmd.action)

        async def body(uow: LifecycleUnitOfWork) -> EnforcementAction:
            case = await self._case(uow, number)
            if (done := await uow.lifecycle.action(number, cmd.step_key)) is not None:
                if done.action is not kind:
                    raise FailedPrecondition(
                        f"step {cmd.step_key!r} of case {number} already recorded a "
                        f"{done.action.value}, not {kind.value}"
                    )
                return done
            self._open(case, "an enforcement action")
            fine = None
            if kind in FINED:
                # The amount comes from the approved schedule, never from the officer.
                fine = self.reference.fines.choose(cmd.fine_code, FineKind(kind.value), case.bylaw_number)
            elif cmd.fine_code.strip():
                raise InvalidArgument(FieldViolation("fine_code", f"a {kind.value} carries no fine"))
            existing = await uow.lifecycle.actions(number)
            ordinal = 1 + sum(1 for a in existing if a.action is kind)
            action = EnforcementAction(
                case_number=number,
                step_key=cmd.step_key,
                seq=len(existing) + 1,
                action=kind,
                number=action_number(number, kind, ordinal),
                occurred_at=occurred_at,
                actor_subject=cmd.actor.audit_subject,
                bylaw_section=cmd.bylaw_section.strip() or (fine.section if fine else ""),
                comply_by=cmd.comply_by,
                fine_code=fine.code if fine else "",
                amount_cents=fine.amount_cents if fine else 0,
                total_payable_cents=fine.total_payable_cents if fine else 0,
                fine_description=fine.short_form if fine else "",
                fine_schedule_version=self.reference.fines.version if fine else "",
                deviation_reason=cmd.deviation_reason.strip(),
                justification=cmd.justification.strip(),
                details=cmd.details.strip(),
                officer_id=cmd.officer_id.strip() or case.assigned_officer_id,
            )
            await uow.lifecycle.add_action(case, action)
            await uow.publish(events.enforcement_action_taken(case, action))
            await self._audit(
                uow,
                cmd.actor,
                "case.enforcement_action",
                number,
                step_key=cmd.step_key,
                action=kind.value,
                number=action.number,
                amount_cents=action.amount_cents,
                deviation=bool(action.deviation_reason),
            )
            log.info("enforcement action recorded", extra={"case_number": number, "action": kind.value})
            return action

        return await self._write(body)

    async def attach_document(self, cmd: AttachDocument) -> str:
        number = check_case_number(cmd.case_number)
        violations = _required(cmd.step_key, cmd.actor)
        if cmd.record not in ATTACHABLE:
            violations.append(FieldViolation("record", f"one of {', '.join(ATTACHABLE)}"))
        if not cmd.document_id.strip():
            violations.append(FieldViolation("document_id", "is required"))
        elif len(cmd.document_id) > 64:
            violations.append(FieldViolation("document_id", "must be at most 64 characters"))
        _raise(violations)
        document_id = cmd.document_id.strip()

        async def body(uow: LifecycleUnitOfWork) -> str:
            case = await self._case(uow, number)
            if cmd.record == "inspection":
                inspection = await uow.lifecycle.inspection(number, cmd.step_key)
                if inspection is None or inspection.state is not InspectionState.COMPLETED:
                    raise NotFound(f"no recorded inspection {cmd.step_key!r} on case {number}")
                current = inspection.report_document_id
                if current and current != document_id:
                    raise FailedPrecondition(f"inspection {cmd.step_key!r} already has report {current}")
                if not current:
                    inspection.report_document_id = document_id
                    await uow.lifecycle.save_inspection(case, inspection)
            else:
                action = await uow.lifecycle.action(number, cmd.step_key)
                if action is None:
                    raise NotFound(f"no enforcement action {cmd.step_key!r} on case {number}")
                if action.document_id and action.document_id != document_id:
                    raise FailedPrecondition(
                        f"action {action.number} already has document {action.document_id}"
                    )
                if not action.document_id:
                    await uow.lifecycle.set_action_document(case, cmd.step_key, document_id)
            await self._audit(
                uow,
                cmd.actor,
                "case.document_attached",
                number,
                record=cmd.record,
                step_key=cmd.step_key,
                document_id=document_id,
            )
            return document_id

        return await self._write(body)

    # --- deadlines -------------------------------------------------------------------------

    async def record_deadline_change(self, cmd: RecordDeadlineChange) -> DeadlineChange:
        number = check_case_number(cmd.case_number)
        violations = _required(cmd.step_key, cmd.actor)
        violations += text_violations([("reason", cmd.reason)])
        if cmd.kind not in {k.value for k in DeadlineChangeKind}:
            violations.append(
                FieldViolation(
                    "kind",
                    f"unknown deadline change {cmd.kind!r}; "
                    f"one of {', '.join(k.value for k in DeadlineChangeKind)}",
                )
            )
        _raise(violations)
        occurred_at = cmd.occurred_at or self._now()

        async def body(uow: LifecycleUnitOfWork) -> DeadlineChange:
            case = await self._case(uow, number)
            if (done := await uow.lifecycle.deadline_change(number, cmd.step_key)) is not None:
                if done.kind.value != cmd.kind:
                    raise FailedPrecondition(
                        f"step {cmd.step_key!r} of case {number} already recorded "
                        f"a {done.kind.value} deadline"
                    )
                return done
            kind = DeadlineChangeKind(cmd.kind)
            if kind is not DeadlineChangeKind.CLEARED:
                self._open(case, "a compliance deadline")
            _raise(
                deadline_change_violations(
                    cmd.kind,
                    cmd.deadline,
                    case.compliance_deadline,
                    cmd.reason,
                    cmd.written_request_on,
                    cmd.contact_attempted_at,
                    occurred_at,
                )
            )
            change = DeadlineChange(
                case_number=number,
                step_key=cmd.step_key,
                kind=kind,
                occurred_at=occurred_at,
                actor_subject=cmd.actor.audit_subject,
                deadline=None if kind is DeadlineChangeKind.CLEARED else cmd.deadline,
                previous_deadline=case.compliance_deadline,
                reason=cmd.reason.strip(),
                written_request_on=cmd.written_request_on,
                contact_attempted_at=cmd.contact_attempted_at,
                action_step_key=cmd.action_step_key.strip(),
            )
            case.compliance_deadline = change.deadline
            case.updated_at = occurred_at
            await uow.cases.save(case)
            await uow.lifecycle.add_deadline_change(case, change)
            await uow.publish(events.deadline_changed(case, change))
            await self._audit(
                uow,
                cmd.actor,
                "case.deadline_changed",
                number,
                step_key=cmd.step_key,
                kind=kind.value,
                deadline=change.deadline.isoformat() if change.deadline else None,
                previous=change.previous_deadline.isoformat() if change.previous_deadline else None,
            )
            return change

        return await self._write(body)

    # --- alerts ----------------------------------------------------------------------------

    async def raise_alert(self, cmd: RaiseAlert) -> Alert:
        number = check_case_number(cmd.case_number)
        violations = _required(cmd.step_key, cmd.actor)
        if cmd.kind not in {k.value for k in AlertKind}:
            violations.append(
                FieldViolation(
                    "kind", f"unknown alert {cmd.kind!r}; one of {', '.join(k.value for k in AlertKind)}"
                )
            )
        violations += text_violations([("detail", cmd.detail)])
        _raise(violations)

        async def body(uow: LifecycleUnitOfWork) -> Alert:
            case = await self._case(uow, number)
            if (done := await uow.lifecycle.alert(number, cmd.step_key)) is not None:
                if done.kind.value != cmd.kind:
                    raise FailedPrecondition(
                        f"step {cmd.step_key!r} of case {number} already raised {done.kind.value}"
                    )
                return done
            if case.status is CaseStatus.CLOSED:
                raise FailedPrecondition(f"case {number} is closed; no alert is raised")
            alert = Alert(
                case_number=number,
                step_key=cmd.step_key,
                kind=AlertKind(cmd.kind),
                raised_at=cmd.occurred_at or self._now(),
                due_at=cmd.due_at,
                detail=cmd.detail.strip(),
                assigned_officer_id=case.assigned_officer_id,
                department=case.department,
                priority=case.priority.value,
            )
            await uow.lifecycle.add_alert(case, alert)
            await uow.publish(events.alert_raised(case, alert))
            await self._audit(
                uow, cmd.actor, "case.alert_raised", number, step_key=cmd.step_key, kind=cmd.kind
            )
            log.info("alert raised", extra={"case_number": number, "kind": cmd.kind})
            return alert

        return await self._write(body)

    async def clear_alert(self, cmd: ClearAlert) -> Alert:
        number = check_case_number(cmd.case_number)
        violations = _required(cmd.step_key, cmd.actor)
        violations += text_violations([("reason", cmd.reason)])
        _raise(violations)

        async def body(uow: LifecycleUnitOfWork) -> Alert:
            case = await self._case(uow, number)
            alert = await uow.lifecycle.alert(number, cmd.step_key)
            if alert is None:
                raise NotFound(f"no alert {cmd.step_key!r} on case {number}")
            if alert.cleared_at is not None:
                return alert  # cleared already (a retry, or cleared twice)
            alert.cleared_at = cmd.occurred_at or self._now()
            alert.cleared_reason = cmd.reason.strip()
            await uow.lifecycle.clear_alert(case, alert)
            await uow.publish(events.alert_cleared(case, alert))
            await self._audit(uow, cmd.actor, "case.alert_cleared", number, step_key=cmd.step_key)
            return alert

        return await self._write(body)

    async def list_alerts(self, query: ListAlerts) -> AlertPage:
        if query.page_size < 0:
            raise InvalidArgument(FieldViolation("page.page_size", "must not be negative"))
        if query.case_number:
            await self._visible(query.case_number, query.actor)
        if query.kind and query.kind not in {k.value for k in AlertKind}:
            raise InvalidArgument(FieldViolation("kind", f"unknown alert {query.kind!r}"))
        limit = min(query.page_size or DEFAULT_ALERT_PAGE, MAX_ALERT_PAGE)
        after = decode_alert_token(query.page_token) if query.page_token else None
        where = AlertFilter(
            case_number=query.case_number.strip(),
            kind=query.kind,
            open_only=query.open_only,
            department=query.department.strip().upper(),
            assigned_officer_id=query.assigned_officer_id.strip(),
            include_restricted=may_see_restricted(query.actor.roles),
        )
        async with self._uow() as uow:
            rows = await uow.lifecycle.alerts(where, after, limit + 1)
        page = rows[:limit]
        token = encode_alert_token(page[-1]) if len(rows) > limit else ""
        return AlertPage(page, token)

    # --- closure ---------------------------------------------------------------------------

    async def record_closure(self, cmd: RecordClosure) -> Closure:
        number = check_case_number(cmd.case_number)
        violations: list[FieldViolation] = []
        if cmd.closed_at is None:
            violations.append(FieldViolation("closed_at", "is required"))
        if cmd.days_since_complaint < 0 or cmd.business_days_open < 0:
            violations.append(FieldViolation("days_since_complaint", "day counts are not negative"))
        if cmd.days_since_order < -1:
            violations.append(FieldViolation("days_since_order", "is -1 when no order was issued, else >= 0"))
        if len(cmd.closure_document_id) > 64:
            violations.append(FieldViolation("closure_document_id", "must be at most 64 characters"))
        violations += text_violations([("reason", cmd.reason)])
        _raise(violations)
        assert cmd.closed_at is not None
        closed_at = cmd.closed_at

        async def body(uow: LifecycleUnitOfWork) -> Closure:
            case = await self._case(uow, number)
            if (done := await uow.lifecycle.closure(number)) is not None:
                return done
            if case.status is not CaseStatus.CLOSED:
                raise FailedPrecondition(
                    f"case {number} is {case.status.value}; record its closed status first"
                )
            if cmd.outcome != case.outcome:
                raise InvalidArgument(
                    FieldViolation("outcome", f"the case closed as {case.outcome!r}, not {cmd.outcome!r}")
                )
            inspections = [
                i for i in await uow.lifecycle.inspections(number) if i.state is InspectionState.COMPLETED
            ]
            closure = Closure(
                case_number=number,
                outcome=case.outcome,
                received_at=case.received_at,
                closed_at=closed_at,
                first_order_at=cmd.first_order_at,
                days_since_complaint=cmd.days_since_complaint,
                days_since_order=cmd.days_since_order,
                business_days_open=cmd.business_days_open,
                enforcement_actions=len(await uow.lifecycle.actions(number)),
                inspections=len(inspections),
                actor_subject=cmd.actor.audit_subject,
                reason=cmd.reason.strip(),
                closure_document_id=cmd.closure_document_id.strip(),
            )
            await uow.lifecycle.add_closure(case, closure)
            await self._audit(
                uow,
                cmd.actor,
                "case.closure_recorded",
                number,
                outcome=closure.outcome,
                days_since_complaint=closure.days_since_complaint,
                days_since_order=closure.days_since_order,
            )
            return closure

        return await self._write(body)

    async def closure(self, case_number: str, actor: Actor) -> ClosureView:
        case = await self._visible(case_number, actor)
        async with self._uow() as uow:
            closure = await uow.lifecycle.closure(case.case_number)
            timeline = await uow.cases.history(case.case_number)
        if closure is None:
            raise NotFound(f"case {case.case_number} has no closure recorded")
        return ClosureView(closure, timeline)


def encode_alert_token(last: Alert) -> str:
    raw = json.dumps([last.raised_at.isoformat(), last.case_number, last.step_key])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_alert_token(token: str) -> AlertCursor:
    try:
        padded = token + "=" * (-len(token) % 4)
        raised, number, step = json.loads(base64.urlsafe_b64decode(padded.encode()))
        cursor = (datetime.fromisoformat(raised), str(number), str(step))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidArgument(
            FieldViolation("page.page_token", "is not a token from a previous page")
        ) from exc
    if cursor[0].tzinfo is None:
        raise InvalidArgument(FieldViolation("page.page_token", "is not a token from a previous page"))
    return cursor
