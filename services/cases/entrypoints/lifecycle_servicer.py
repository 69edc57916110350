"""The case lifecycle RPCs of ``bylaw.v1.CasesService`` (issue 4): officers, checklists,
the pre-inspection packet, inspections, enforcement actions, attached documents, deadline
changes, alerts and closure — a thin translation between protobuf and
:class:`services.cases.service_layer.lifecycle.LifecycleService`.

:class:`LifecycleRpcs` is a mixin: the cases process serves one servicer class that
combines it with the case RPCs (see services.cases.bootstrap).
"""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc
from bylaw.v1 import cases_pb2, cases_pb2_grpc

from services.cases.domain.cases import CaseStatus, Priority, StatusChange
from services.cases.domain.checklists import Checklist, Finding
from services.cases.domain.lifecycle import (
    Alert,
    Closure,
    DeadlineChange,
    EnforcementAction,
    Inspection,
    PriorCase,
)
from services.cases.domain.properties import Officer
from services.cases.entrypoints import convert
from services.cases.entrypoints.convert import timestamp_or_none, to_timestamp
from services.cases.entrypoints.grpc_servicer import _actor
from services.cases.service_layer.lifecycle import LifecycleService
from services.cases.service_layer.lifecycle_commands import (
    AttachDocument,
    ClearAlert,
    ListAlerts,
    RaiseAlert,
    RecordAction,
    RecordClosure,
    RecordDeadlineChange,
    RecordInspection,
    ScheduleInspection,
)

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]


# --- domain -> protobuf ------------------------------------------------------------------------


def officer_to_proto(officer: Officer) -> cases_pb2.Officer:
    return cases_pb2.Officer(
        officer_id=officer.officer_id,
        display_name=officer.display_name,
        badge_number=officer.badge_number,
        department=officer.department,
        specialties=list(officer.specialties),
        zone_codes=list(officer.zone_codes),
        active=officer.active,
    )


def checklist_to_proto(checklist: Checklist) -> cases_pb2.Checklist:
    return cases_pb2.Checklist(
        checklist_id=checklist.checklist_id,
        title=checklist.title,
        version=checklist.version,
        bylaw_number=checklist.bylaw_number,
        bylaw_title=checklist.bylaw_title,
        service_codes=list(checklist.service_codes),
        items=[
            cases_pb2.ChecklistItem(
                item_id=i.item_id, section=i.section, question=i.question, guidance=i.guidance
            )
            for i in checklist.items
        ],
    )


def finding_to_proto(finding: Finding) -> cases_pb2.Finding:
    return cases_pb2.Finding(
        item_id=finding.item_id,
        result=finding.result,
        note=finding.note,
        evidence_ids=list(finding.evidence_ids),
    )


def inspection_to_proto(inspection: Inspection) -> cases_pb2.Inspection:
    return cases_pb2.Inspection(
        case_number=inspection.case_number,
        step_key=inspection.step_key,
        kind=inspection.kind.value,
        state=inspection.state.value,
        scheduled_for=to_timestamp(inspection.scheduled_for),
        due_by=to_timestamp(inspection.due_by),
        inspected_at=to_timestamp(inspection.inspected_at),
        officer_id=inspection.officer_id,
        checklist_id=inspection.checklist_id,
        checklist_version=inspection.checklist_version,
        findings=[finding_to_proto(f) for f in inspection.findings],
        violation_found=inspection.violation_found,
        bylaw_sections=list(inspection.bylaw_sections),
        notes=inspection.notes,
        report_document_id=inspection.report_document_id,
        reason=inspection.reason,
    )


def action_to_proto(action: EnforcementAction) -> cases_pb2.EnforcementAction:
    return cases_pb2.EnforcementAction(
        case_number=action.case_number,
        step_key=action.step_key,
        seq=action.seq,
        action=action.action.value,
        number=action.number,
        bylaw_section=action.bylaw_section,
        comply_by=to_timestamp(action.comply_by),
        fine_code=action.fine_code,
        amount_cents=action.amount_cents,
        total_payable_cents=action.total_payable_cents,
        fine_description=action.fine_description,
        deviation_reason=action.deviation_reason,
        justification=action.justification,
        details=action.details,
        document_id=action.document_id,
        officer_id=action.officer_id,
        actor_subject=action.actor_subject,
        occurred_at=to_timestamp(action.occurred_at),
    )


def deadline_to_proto(change: DeadlineChange) -> cases_pb2.DeadlineChange:
    return cases_pb2.DeadlineChange(
        case_number=change.case_number,
        step_key=change.step_key,
        kind=change.kind.value,
        deadline=to_timestamp(change.deadline),
        previous_deadline=to_timestamp(change.previous_deadline),
        reason=change.reason,
        written_request_on=to_timestamp(change.written_request_on),
        contact_attempted_at=to_timestamp(change.contact_attempted_at),
        action_step_key=change.action_step_key,
        actor_subject=change.actor_subject,
        occurred_at=to_timestamp(change.occurred_at),
    )


def alert_to_proto(alert: Alert) -> cases_pb2.Alert:
    priority = convert.priority_to_proto(Priority(alert.priority)) if alert.priority else 0
    return cases_pb2.Alert(
        case_number=alert.case_number,
        step_key=alert.step_key,
        kind=alert.kind.value,
        due_at=to_timestamp(alert.due_at),
        raised_at=to_timestamp(alert.raised_at),
        detail=alert.detail,
        cleared_at=to_timestamp(alert.cleared_at),
        cleared_reason=alert.cleared_reason,
        assigned_officer_id=alert.assigned_officer_id,
        department=alert.department,
        priority=priority,  # type: ignore[arg-type]
    )


def prior_to_proto(prior: PriorCase) -> cases_pb2.PriorCase:
    return cases_pb2.PriorCase(
        case_number=prior.case_number,
        service_code=prior.service_code,
        status=convert.status_to_proto(CaseStatus(prior.status)),
        outcome=prior.outcome,
        received_at=to_timestamp(prior.received_at),
        closed_at=to_timestamp(prior.closed_at),
        actions=list(prior.actions),
    )


def closure_to_proto(closure: Closure, timeline: list[StatusChange]) -> cases_pb2.CaseClosure:
    return cases_pb2.CaseClosure(
        case_number=closure.case_number,
        outcome=closure.outcome,
        received_at=to_timestamp(closure.received_at),
        closed_at=to_timestamp(closure.closed_at),
        first_order_at=to_timestamp(closure.first_order_at),
        days_since_complaint=closure.days_since_complaint,
        days_since_order=closure.days_since_order,
        business_days_open=closure.business_days_open,
        enforcement_actions=closure.enforcement_actions,
        inspections=closure.inspections,
        reason=closure.reason,
        closure_document_id=closure.closure_document_id,
        timeline=[convert.history_entry_to_proto(c) for c in timeline],
    )


def _time(message: Any, name: str) -> Any:
    return timestamp_or_none(getattr(message, name), message.HasField(name))


# --- the RPCs ----------------------------------------------------------------------------------


class LifecycleRpcs(cases_pb2_grpc.CasesServiceServicer):
    lifecycle: LifecycleService

    async def GetOfficer(  # noqa: N802 - gRPC method names
        self, request: cases_pb2.GetOfficerRequest, context: Context
    ) -> cases_pb2.Officer:
        return officer_to_proto(await self.lifecycle.get_officer(request.officer_id))

    async def ListChecklists(  # noqa: N802
        self, request: cases_pb2.ListChecklistsRequest, context: Context
    ) -> cases_pb2.ListChecklistsResponse:
        checklists = self.lifecycle.checklists(request.service_code.strip())
        return cases_pb2.ListChecklistsResponse(checklists=[checklist_to_proto(c) for c in checklists])

    async def GetPreInspectionPacket(  # noqa: N802
        self, request: cases_pb2.GetPreInspectionPacketRequest, context: Context
    ) -> cases_pb2.PreInspectionPacket:
        packet = await self.lifecycle.pre_inspection_packet(
            request.case_number, _actor(request.actor, context)
        )
        reply = cases_pb2.PreInspectionPacket(
            case=convert.case_to_proto(packet.case),
            prior_cases=[prior_to_proto(p) for p in packet.prior_cases],
            inspections=[inspection_to_proto(i) for i in packet.inspections],
            checklists=[checklist_to_proto(c) for c in packet.checklists],
        )
        if packet.property is not None:
            reply.property.CopyFrom(convert.property_to_proto(packet.property))
        if packet.officer is not None:
            reply.officer.CopyFrom(officer_to_proto(packet.officer))
        return reply

    async def ScheduleInspection(  # noqa: N802
        self, request: cases_pb2.ScheduleInspectionRequest, context: Context
    ) -> cases_pb2.Inspection:
        inspection = await self.lifecycle.schedule_inspection(
            ScheduleInspection(
                case_number=request.case_number,
                step_key=request.step_key.strip(),
                kind=request.kind.strip(),
                scheduled_for=_time(request, "scheduled_for"),
                due_by=_time(request, "due_by"),
                officer_id=request.officer_id,
                reason=request.reason,
                occurred_at=_time(request, "occurred_at"),
                actor=_actor(request.actor, context),
            )
        )
        return inspection_to_proto(inspection)

    async def RecordInspection(  # noqa: N802
        self, request: cases_pb2.RecordInspectionRequest, context: Context
    ) -> cases_pb2.Inspection:
        inspection = await self.lifecycle.record_inspection(
            RecordInspection(
                case_number=request.case_number,
                step_key=request.step_key.strip(),
                kind=request.kind.strip(),
                inspected_at=_time(request, "inspected_at"),
                checklist_id=request.checklist_id,
                findings=tuple(
                    Finding(f.item_id.strip(), f.result.strip(), f.note, tuple(f.evidence_ids))
                    for f in request.findings
                ),
                officer_id=request.officer_id,
                notes=request.notes,
                scheduled_step_key=request.scheduled_step_key,
                actor=_actor(request.actor, context),
            )
        )
        return inspection_to_proto(inspection)

    async def ListInspections(  # noqa: N802
        self, request: cases_pb2.ListInspectionsRequest, context: Context
    ) -> cases_pb2.ListInspectionsResponse:
        inspections = await self.lifecycle.inspections(request.case_number, _actor(request.actor, context))
        return cases_pb2.ListInspectionsResponse(inspections=[inspection_to_proto(i) for i in inspections])

    async def RecordEnforcementAction(  # noqa: N802
        self, request: cases_pb2.RecordEnforcementActionRequest, context: Context
    ) -> cases_pb2.EnforcementAction:
        action = await self.lifecycle.record_action(
            RecordAction(
                case_number=request.case_number,
                step_key=request.step_key.strip(),
                action=request.action.strip(),
                bylaw_section=request.bylaw_section,
                comply_by=_time(request, "comply_by"),
                fine_code=request.fine_code,
                deviation_reason=request.deviation_reason,
                justification=request.justification,
                details=request.details,
                officer_id=request.officer_id,
                occurred_at=_time(request, "occurred_at"),
                actor=_actor(request.actor, context),
            )
        )
        return action_to_proto(action)

    async def ListEnforcementActions(  # noqa: N802
        self, request: cases_pb2.ListEnforcementActionsRequest, context: Context
    ) -> cases_pb2.ListEnforcementActionsResponse:
        actions = await self.lifecycle.actions(request.case_number, _actor(request.actor, context))
        return cases_pb2.ListEnforcementActionsResponse(actions=[action_to_proto(a) for a in actions])

    async def AttachDocument(  # noqa: N802
        self, request: cases_pb2.AttachDocumentRequest, context: Context
    ) -> cases_pb2.AttachDocumentResponse:
        document_id = await self.lifecycle.attach_document(
            AttachDocument(
                case_number=request.case_number,
                record=request.record.strip(),
                step_key=request.step_key.strip(),
                document_id=request.document_id,
                actor=_actor(request.actor, context),
            )
        )
        return cases_pb2.AttachDocumentResponse(document_id=document_id)

    async def RecordDeadlineChange(  # noqa: N802
        self, request: cases_pb2.RecordDeadlineChangeRequest, context: Context
    ) -> cases_pb2.DeadlineChange:
        change = await self.lifecycle.record_deadline_change(
            RecordDeadlineChange(
                case_number=request.case_number,
                step_key=request.step_key.strip(),
                kind=request.kind.strip(),
                deadline=_time(request, "deadline"),
                reason=request.reason,
                written_request_on=_time(request, "written_request_on"),
                contact_attempted_at=_time(request, "contact_attempted_at"),
                action_step_key=request.action_step_key,
                occurred_at=_time(request, "occurred_at"),
                actor=_actor(request.actor, context),
            )
        )
        return deadline_to_proto(change)

    async def ListDeadlineChanges(  # noqa: N802
        self, request: cases_pb2.ListDeadlineChangesRequest, context: Context
    ) -> cases_pb2.ListDeadlineChangesResponse:
        changes = await self.lifecycle.deadline_changes(request.case_number, _actor(request.actor, context))
        return cases_pb2.ListDeadlineChangesResponse(changes=[deadline_to_proto(c) for c in changes])

    async def RaiseAlert(  # noqa: N802
        self, request: cases_pb2.RaiseAlertRequest, context: Context
    ) -> cases_pb2.Alert:
        alert = await self.lifecycle.raise_alert(
            RaiseAlert(
                case_number=request.case_number,
                step_key=request.step_key.strip(),
                kind=request.kind.strip(),
                due_at=_time(request, "due_at"),
                detail=request.detail,
                occurred_at=_time(request, "occurred_at"),
                actor=_actor(request.actor, context),
            )
        )
        return alert_to_proto(alert)

    async def ClearAlert(  # noqa: N802
        self, request: cases_pb2.ClearAlertRequest, context: Context
    ) -> cases_pb2.Alert:
        alert = await self.lifecycle.clear_alert(
            ClearAlert(
                case_number=request.case_number,
                step_key=request.step_key.strip(),
                reason=request.reason,
                occurred_at=_time(request, "occurred_at"),
                actor=_actor(request.actor, context),
            )
        )
        return alert_to_proto(alert)

    async def ListAlerts(  # noqa: N802
        self, request: cases_pb2.ListAlertsRequest, context: Context
    ) -> cases_pb2.ListAlertsResponse:
        page = await self.lifecycle.list_alerts(
            ListAlerts(
                case_number=request.case_number.strip(),
                kind=request.kind.strip(),
                open_only=request.open_only,
                department=request.department,
                assigned_officer_id=request.assigned_officer_id,
                page_size=request.page.page_size,
                page_token=request.page.page_token,
                actor=_actor(request.actor, context),
            )
        )
        return cases_pb2.ListAlertsResponse(
            alerts=[alert_to_proto(a) for a in page.alerts], next_page_token=page.next_page_token
        )

    async def RecordClosure(  # noqa: N802
        self, request: cases_pb2.RecordClosureRequest, context: Context
    ) -> cases_pb2.CaseClosure:
        closure = await self.lifecycle.record_closure(
            RecordClosure(
                case_number=request.case_number,
                outcome=request.outcome.strip(),
                closed_at=_time(request, "closed_at"),
                days_since_complaint=request.days_since_complaint,
                days_since_order=request.days_since_order,
                business_days_open=request.business_days_open,
                first_order_at=_time(request, "first_order_at"),
                reason=request.reason,
                closure_document_id=request.closure_document_id,
                actor=_actor(request.actor, context),
            )
        )
        view = await self.lifecycle.closure(closure.case_number, _actor(request.actor, context))
        return closure_to_proto(view.closure, view.timeline)

    async def GetClosure(  # noqa: N802
        self, request: cases_pb2.GetClosureRequest, context: Context
    ) -> cases_pb2.CaseClosure:
        view = await self.lifecycle.closure(request.case_number, _actor(request.actor, context))
        return closure_to_proto(view.closure, view.timeline)
