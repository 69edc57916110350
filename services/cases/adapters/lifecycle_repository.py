"""PostgreSQL implementation of the case lifecycle repository, and the unit of work that
carries it next to the cases repositories (one transaction, one outbox)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.adapters.lifecycle_orm import (
    AlertRow,
    ClosureRow,
    DeadlineChangeRow,
    EnforcementActionRow,
    InspectionRow,
)
from services.cases.adapters.orm import CaseRow
from services.cases.adapters.repository import SqlUnitOfWork
from services.cases.domain.cases import Case, priority_from_rank
from services.cases.domain.checklists import Finding
from services.cases.domain.lifecycle import (
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
    PriorCase,
)
from services.cases.service_layer.lifecycle_ports import (
    AlertCursor,
    AlertFilter,
    LifecycleRepository,
    LifecycleUnitOfWork,
)


def _findings_json(findings: tuple[Finding, ...]) -> list[dict[str, Any]]:
    return [
        {"item_id": f.item_id, "result": f.result, "note": f.note, "evidence_ids": list(f.evidence_ids)}
        for f in findings
    ]


def _findings(raw: list[dict[str, Any]]) -> tuple[Finding, ...]:
    return tuple(
        Finding(
            str(f.get("item_id", "")),
            str(f.get("result", "")),
            str(f.get("note", "")),
            tuple(str(e) for e in f.get("evidence_ids", [])),
        )
        for f in raw
    )


def _inspection(case_number: str, row: InspectionRow) -> Inspection:
    return Inspection(
        case_number=case_number,
        step_key=row.step_key,
        kind=InspectionKind(row.kind),
        state=InspectionState(row.state),
        scheduled_for=row.scheduled_for,
        due_by=row.due_by,
        reason=row.reason,
        officer_id=row.officer_id,
        record_step_key=row.record_step_key or "",
        inspected_at=row.inspected_at,
        checklist_id=row.checklist_id,
        checklist_version=row.checklist_version,
        findings=_findings(row.findings),
        violation_found=row.violation_found,
        bylaw_sections=tuple(row.bylaw_sections),
        notes=row.notes,
        report_document_id=row.report_document_id,
        actor_subject=row.actor_subject,
    )


def _action(case_number: str, row: EnforcementActionRow) -> EnforcementAction:
    return EnforcementAction(
        case_number=case_number,
        step_key=row.step_key,
        seq=row.seq,
        action=ActionKind(row.action),
        number=row.number,
        occurred_at=row.occurred_at,
        actor_subject=row.actor_subject,
        bylaw_section=row.bylaw_section,
        comply_by=row.comply_by,
        fine_code=row.fine_code,
        amount_cents=row.amount_cents,
        total_payable_cents=row.total_payable_cents,
        fine_description=row.fine_description,
        fine_schedule_version=row.fine_schedule_version,
        deviation_reason=row.deviation_reason,
        justification=row.justification,
        details=row.details,
        document_id=row.document_id,
        officer_id=row.officer_id,
    )


def _deadline(case_number: str, row: DeadlineChangeRow) -> DeadlineChange:
    return DeadlineChange(
        case_number=case_number,
        step_key=row.step_key,
        kind=DeadlineChangeKind(row.kind),
        occurred_at=row.occurred_at,
        actor_subject=row.actor_subject,
        deadline=row.deadline,
        previous_deadline=row.previous_deadline,
        reason=row.reason,
        written_request_on=row.written_request_on,
        contact_attempted_at=row.contact_attempted_at,
        action_step_key=row.action_step_key,
    )


def _alert(row: AlertRow, case: CaseRow) -> Alert:
    return Alert(
        case_number=case.case_number,
        step_key=row.step_key,
        kind=AlertKind(row.kind),
        raised_at=row.raised_at,
        due_at=row.due_at,
        detail=row.detail,
        cleared_at=row.cleared_at,
        cleared_reason=row.cleared_reason,
        assigned_officer_id=case.assigned_officer_id,
        department=case.department,
        priority=priority_from_rank(case.priority_rank).value,
    )


class SqlLifecycleRepository(LifecycleRepository):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    def _id(case: Case) -> int:
        assert case.id is not None, "the case must be read from storage first"
        return case.id

    # --- inspections

    async def inspection(self, case_number: str, step_key: str) -> Inspection | None:
        row = await self.session.scalar(
            select(InspectionRow)
            .join(CaseRow, CaseRow.id == InspectionRow.case_id)
            .where(
                CaseRow.case_number == case_number,
                or_(InspectionRow.step_key == step_key, InspectionRow.record_step_key == step_key),
            )
            .limit(1)
        )
        return _inspection(case_number, row) if row else None

    async def inspections(self, case_number: str) -> list[Inspection]:
        rows = await self.session.scalars(
            select(InspectionRow)
            .join(CaseRow, CaseRow.id == InspectionRow.case_id)
            .where(CaseRow.case_number == case_number)
            .order_by(InspectionRow.id)
        )
        return [_inspection(case_number, r) for r in rows]

    @staticmethod
    def _inspection_values(inspection: Inspection) -> dict[str, Any]:
        return {
            "state": inspection.state.value,
            "scheduled_for": inspection.scheduled_for,
            "due_by": inspection.due_by,
            "reason": inspection.reason,
            "officer_id": inspection.officer_id,
            "record_step_key": inspection.record_step_key or None,
            "inspected_at": inspection.inspected_at,
            "checklist_id": inspection.checklist_id,
            "checklist_version": inspection.checklist_version,
            "findings": _findings_json(inspection.findings),
            "violation_found": inspection.violation_found,
            "bylaw_sections": list(inspection.bylaw_sections),
            "notes": inspection.notes,
            "report_document_id": inspection.report_document_id,
        }

    async def add_inspection(self, case: Case, inspection: Inspection) -> None:
        await self.session.execute(
            insert(InspectionRow).values(
                case_id=self._id(case),
                step_key=inspection.step_key,
                kind=inspection.kind.value,
                actor_subject=inspection.actor_subject,
                **self._inspection_values(inspection),
            )
        )

    async def save_inspection(self, case: Case, inspection: Inspection) -> None:
        await self.session.execute(
            update(InspectionRow)
            .where(InspectionRow.case_id == self._id(case), InspectionRow.step_key == inspection.step_key)
            .values(**self._inspection_values(inspection))
        )

    # --- enforcement actions

    async def action(self, case_number: str, step_key: str) -> EnforcementAction | None:
        row = await self.session.scalar(
            select(EnforcementActionRow)
            .join(CaseRow, CaseRow.id == EnforcementActionRow.case_id)
            .where(CaseRow.case_number == case_number, EnforcementActionRow.step_key == step_key)
        )
        return _action(case_number, row) if row else None

    async def actions(self, case_number: str) -> list[EnforcementAction]:
        rows = await self.session.scalars(
            select(EnforcementActionRow)
            .join(CaseRow, CaseRow.id == EnforcementActionRow.case_id)
            .where(CaseRow.case_number == case_number)
            .order_by(EnforcementActionRow.seq)
        )
        return [_action(case_number, r) for r in rows]

    async def add_action(self, case: Case, action: EnforcementAction) -> None:
        await self.session.execute(
            insert(EnforcementActionRow).values(
                case_id=self._id(case),
                step_key=action.step_key,
                seq=action.seq,
                action=action.action.value,
                number=action.number,
                bylaw_section=action.bylaw_section,
                comply_by=action.comply_by,
                fine_code=action.fine_code,
                amount_cents=action.amount_cents,
                total_payable_cents=action.total_payable_cents,
                fine_description=action.fine_description,
                fine_schedule_version=action.fine_schedule_version,
                deviation_reason=action.deviation_reason,
                justification=action.justification,
                details=action.details,
                document_id=action.document_id,
                officer_id=action.officer_id,
                actor_subject=action.actor_subject,
                occurred_at=action.occurred_at,
            )
        )

    async def set_action_document(self, case: Case, step_key: str, document_id: str) -> None:
        await self.session.execute(
            update(EnforcementActionRow)
            .where(EnforcementActionRow.case_id == self._id(case), EnforcementActionRow.step_key == step_key)
            .values(document_id=document_id)
        )

    # --- deadlines

    async def deadline_change(self, case_number: str, step_key: str) -> DeadlineChange | None:
        row = await self.session.scalar(
            select(DeadlineChangeRow)
            .join(CaseRow, CaseRow.id == DeadlineChangeRow.case_id)
            .where(CaseRow.case_number == case_number, DeadlineChangeRow.step_key == step_key)
        )
        return _deadline(case_number, row) if row else None

    async def deadline_changes(self, case_number: str) -> list[DeadlineChange]:
        rows = await self.session.scalars(
            select(DeadlineChangeRow)
            .join(CaseRow, CaseRow.id == DeadlineChangeRow.case_id)
            .where(CaseRow.case_number == case_number)
            .order_by(DeadlineChangeRow.id)
        )
        return [_deadline(case_number, r) for r in rows]

    async def add_deadline_change(self, case: Case, change: DeadlineChange) -> None:
        await self.session.execute(
            insert(DeadlineChangeRow).values(
                case_id=self._id(case),
                step_key=change.step_key,
                kind=change.kind.value,
                deadline=change.deadline,
                previous_deadline=change.previous_deadline,
                reason=change.reason,
                written_request_on=change.written_request_on,
                contact_attempted_at=change.contact_attempted_at,
                action_step_key=change.action_step_key,
                actor_subject=change.actor_subject,
                occurred_at=change.occurred_at,
            )
        )

    # --- alerts

    def _alert_select(self) -> Any:
        return select(AlertRow, CaseRow).join(CaseRow, CaseRow.id == AlertRow.case_id)

    async def alert(self, case_number: str, step_key: str) -> Alert | None:
        row = (
            await self.session.execute(
                self._alert_select().where(CaseRow.case_number == case_number, AlertRow.step_key == step_key)
            )
        ).first()
        return _alert(row[0], row[1]) if row else None

    async def add_alert(self, case: Case, alert: Alert) -> None:
        await self.session.execute(
            insert(AlertRow).values(
                case_id=self._id(case),
                step_key=alert.step_key,
                kind=alert.kind.value,
                due_at=alert.due_at,
                raised_at=alert.raised_at,
                detail=alert.detail,
                actor_subject="system",
            )
        )

    async def clear_alert(self, case: Case, alert: Alert) -> None:
        await self.session.execute(
            update(AlertRow)
            .where(AlertRow.case_id == self._id(case), AlertRow.step_key == alert.step_key)
            .values(cleared_at=alert.cleared_at, cleared_reason=alert.cleared_reason)
        )

    async def alerts(self, where: AlertFilter, after: AlertCursor | None, limit: int) -> list[Alert]:
        filters: list[ColumnElement[bool]] = []
        if where.case_number:
            filters.append(CaseRow.case_number == where.case_number)
        if where.kind:
            filters.append(AlertRow.kind == where.kind)
        if where.open_only:
            filters.append(AlertRow.cleared_at.is_(None))
        if where.department:
            filters.append(CaseRow.department == where.department)
        if where.assigned_officer_id:
            filters.append(CaseRow.assigned_officer_id == where.assigned_officer_id)
        if not where.include_restricted:
            filters.append(CaseRow.restricted.is_(False))
        if after is not None:
            raised, number, step = after
            filters.append(
                or_(
                    AlertRow.raised_at < raised,
                    and_(AlertRow.raised_at == raised, CaseRow.case_number > number),
                    and_(
                        AlertRow.raised_at == raised, CaseRow.case_number == number, AlertRow.step_key > step
                    ),
                )
            )
        stmt = (
            self._alert_select()
            .where(*filters)
            .order_by(AlertRow.raised_at.desc(), CaseRow.case_number, AlertRow.step_key)
            .limit(limit)
        )
        return [_alert(r[0], r[1]) for r in (await self.session.execute(stmt)).all()]

    # --- closure

    async def closure(self, case_number: str) -> Closure | None:
        row = (
            await self.session.execute(
                select(ClosureRow, CaseRow.case_number)
                .join(CaseRow, CaseRow.id == ClosureRow.case_id)
                .where(CaseRow.case_number == case_number)
            )
        ).first()
        if row is None:
            return None
        c: ClosureRow = row[0]
        return Closure(
            case_number=case_number,
            outcome=c.outcome,
            received_at=c.received_at,
            closed_at=c.closed_at,
            first_order_at=c.first_order_at,
            days_since_complaint=c.days_since_complaint,
            days_since_order=c.days_since_order,
            business_days_open=c.business_days_open,
            enforcement_actions=c.enforcement_actions,
            inspections=c.inspections,
            reason=c.reason,
            closure_document_id=c.closure_document_id,
            actor_subject=c.actor_subject,
        )

    async def add_closure(self, case: Case, closure: Closure) -> None:
        await self.session.execute(
            insert(ClosureRow).values(
                case_id=self._id(case),
                outcome=closure.outcome,
                received_at=closure.received_at,
                closed_at=closure.closed_at,
                first_order_at=closure.first_order_at,
                days_since_complaint=closure.days_since_complaint,
                days_since_order=closure.days_since_order,
                business_days_open=closure.business_days_open,
                enforcement_actions=closure.enforcement_actions,
                inspections=closure.inspections,
                reason=closure.reason,
                closure_document_id=closure.closure_document_id,
                actor_subject=closure.actor_subject,
            )
        )

    # --- prior cases at the property

    async def prior_cases(self, case: Case, limit: int, *, include_restricted: bool) -> list[PriorCase]:
        # Same parcel when the roll matched, else the same normalised address or GPS key.
        same_place = (
            CaseRow.property_roll_number == case.property_roll_number
            if case.property_roll_number
            else CaseRow.dedupe_key == case.dedupe_key
        )
        rows = (
            await self.session.execute(
                select(CaseRow)
                .where(
                    same_place,
                    CaseRow.case_number != case.case_number,
                    true() if include_restricted else CaseRow.restricted.is_(False),
                )
                .order_by(CaseRow.received_at.desc(), CaseRow.case_number.desc())
                .limit(limit)
            )
        ).scalars()
        cases = list(rows)
        if not cases:
            return []
        actions: dict[int, list[str]] = {}
        action_rows = await self.session.execute(
            select(EnforcementActionRow.case_id, EnforcementActionRow.action)
            .where(EnforcementActionRow.case_id.in_([c.id for c in cases]))
            .order_by(EnforcementActionRow.case_id, EnforcementActionRow.seq)
        )
        for case_id, action in action_rows.all():
            actions.setdefault(case_id, []).append(action)
        return [
            PriorCase(
                case_number=c.case_number,
                service_code=c.service_code,
                status=c.status,
                outcome=c.outcome,
                received_at=c.received_at,
                closed_at=c.closed_at,
                actions=tuple(actions.get(c.id, [])),
            )
            for c in cases
        ]


class SqlLifecycleUnitOfWork(SqlUnitOfWork, LifecycleUnitOfWork):
    async def __aenter__(self) -> SqlLifecycleUnitOfWork:
        await super().__aenter__()
        self.lifecycle = SqlLifecycleRepository(self.session)
        return self
