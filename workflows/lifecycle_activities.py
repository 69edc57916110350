"""Activities of the case lifecycle (issue 4): thin gRPC calls that record each step in the
cases service, render its document through the notices service, and read the Town's
calendar (declared closure days) from intake and its service-level targets from
``config/sla_targets.yaml``.

Every write carries the workflow's step key, so a retried activity — after a timeout or a
worker killed mid-call — records the step once and renders its document once. Business
refusals become non-retryable ``ApplicationError`` s (see workflows.activities); anything
else is retried by Temporal. Payloads never carry complainant identity, and the owner's
name and address are read here, inside the activity, so they never enter the workflow
history (only the rendered document's id does).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import grpc
from bylaw.v1 import cases_pb2, intake_pb2, notices_pb2
from google.protobuf.struct_pb2 import Struct
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio import activity

from workflows.activities import RPC_TIMEOUT_SECONDS, _actor, application_error
from workflows.contracts import InspectionFinding, LifecycleTargets, ScheduledInspection
from workflows.documents import CaseFacts, build_context
from workflows.lifecycle_config import CALENDAR_YEARS_AHEAD, LifecycleConfig, targets_for

if TYPE_CHECKING:  # the async stub types exist only in the generated .pyi
    from bylaw.v1.cases_pb2_grpc import CasesServiceAsyncStub
    from bylaw.v1.intake_pb2_grpc import IntakeServiceAsyncStub
    from bylaw.v1.notices_pb2_grpc import NoticesServiceAsyncStub

log = logging.getLogger(__name__)
T = TypeVar("T")

CALENDAR_ATTEMPTS = 5  # then public holidays only (see _closure_days)
RENDER_TIMEOUT_SECONDS = 120.0
HEARTBEAT_EVERY_SECONDS = 5.0

LIFECYCLE_POLICY = "lifecycle_policy"
TOWN_CALENDAR = "town_calendar"
ASSIGN_CASE = "assign_case"
SCHEDULE_INSPECTION = "schedule_inspection"
RECORD_INSPECTION = "record_inspection"
RECORD_ACTION = "record_enforcement_action"
ISSUE_DOCUMENT = "issue_document"
RECORD_DEADLINE_CHANGE = "record_deadline_change"
RAISE_ALERT = "raise_alert"
CLEAR_ALERT = "clear_alert"
RECORD_CLOSURE = "record_closure"


# --- payloads --------------------------------------------------------------------------------


@dataclass
class LifecyclePolicyInput:
    case_number: str
    priority: str
    received_on: str  # YYYY-MM-DD, the Town's local date of receipt


@dataclass
class CalendarInput:
    from_date: str  # YYYY-MM-DD
    to_date: str  # YYYY-MM-DD


@dataclass
class AssignInput:
    case_number: str
    officer_id: str
    step_key: str
    reason: str
    occurred_at: datetime
    actor: str = ""


@dataclass
class AssignResult:
    officer_id: str
    department: str


@dataclass
class ScheduleInput:
    case_number: str
    step_key: str
    kind: str
    scheduled_for: datetime
    occurred_at: datetime
    due_by: datetime | None = None
    officer_id: str = ""
    reason: str = ""
    actor: str = ""


@dataclass
class RecordInspectionInput:
    case_number: str
    step_key: str
    kind: str
    inspected_at: datetime
    checklist_id: str
    findings: list[InspectionFinding]
    notes: str = ""
    scheduled_step_key: str = ""
    actor: str = ""


@dataclass
class InspectionOutcome:
    step_key: str
    violation_found: bool
    bylaw_sections: list[str]
    checklist_id: str
    checklist_title: str
    checklist_version: str
    finding_lines: list[str]  # every item, for the report
    evidence_lines: list[str]  # the non-compliant items, for notices (policy 6.7.1 a)
    officer_id: str = ""


@dataclass
class RecordActionInput:
    case_number: str
    step_key: str
    action: str
    occurred_at: datetime
    details: str = ""
    bylaw_section: str = ""
    comply_by: datetime | None = None
    fine_code: str = ""
    deviation_reason: str = ""
    justification: str = ""
    actor: str = ""


@dataclass
class RecordedAction:
    seq: int
    number: str
    bylaw_section: str
    amount_cents: int = 0
    total_payable_cents: int = 0
    fine_description: str = ""


@dataclass
class IssueDocumentInput:
    case_number: str
    template: str
    step_key: str
    facts: dict[str, Any] = field(default_factory=dict)
    actor: str = ""
    # Link the document to what it records: "inspection" | "enforcement_action" | "".
    attach_record: str = ""
    attach_step_key: str = ""


@dataclass
class DocumentRef:
    document_id: str
    template: str
    title: str
    sha256: str = ""


@dataclass
class DeadlineChangeInput:
    case_number: str
    step_key: str
    kind: str  # set | extended | shortened | cleared
    occurred_at: datetime
    deadline: datetime | None = None
    reason: str = ""
    written_request_on: datetime | None = None
    contact_attempted_at: datetime | None = None
    action_step_key: str = ""
    actor: str = ""


@dataclass
class RaiseAlertInput:
    case_number: str
    step_key: str
    kind: str
    due_at: datetime
    detail: str
    occurred_at: datetime


@dataclass
class ClearAlertInput:
    case_number: str
    step_key: str
    reason: str
    occurred_at: datetime


@dataclass
class RecordClosureInput:
    case_number: str
    outcome: str
    closed_at: datetime
    days_since_complaint: int
    days_since_order: int
    business_days_open: int
    first_order_at: datetime | None = None
    reason: str = ""
    closure_document_id: str = ""
    actor: str = ""


def _ts(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    out = Timestamp()
    out.FromDatetime(value)
    return out


async def _call(call: Awaitable[T]) -> T:
    try:
        return await call
    except grpc.RpcError as err:
        raise application_error(err) from None


async def _heartbeating(call: Awaitable[T]) -> T:
    """Await a long call while heartbeating, so a worker that dies mid-call is noticed
    within the heartbeat timeout rather than the whole start-to-close timeout."""
    task = asyncio.ensure_future(call)
    while True:
        done, _ = await asyncio.wait({task}, timeout=HEARTBEAT_EVERY_SECONDS)
        if done:
            return task.result()
        activity.heartbeat()


class LifecycleActivities:
    def __init__(
        self,
        cases: CasesServiceAsyncStub,
        notices: NoticesServiceAsyncStub,
        intake: IntakeServiceAsyncStub,
        config: LifecycleConfig,
    ) -> None:
        self._cases = cases
        self._notices = notices
        self._intake = intake
        self._config = config

    def all(self) -> list[Any]:
        return [
            self.lifecycle_policy,
            self.town_calendar,
            self.assign_case,
            self.schedule_inspection,
            self.record_inspection,
            self.record_enforcement_action,
            self.issue_document,
            self.record_deadline_change,
            self.raise_alert,
            self.clear_alert,
            self.record_closure,
        ]

    @activity.defn(name=LIFECYCLE_POLICY)
    async def lifecycle_policy(self, request: LifecyclePolicyInput) -> LifecycleTargets:
        received = date.fromisoformat(request.received_on)
        closures = await self._closure_days(received, received + timedelta(days=366 * CALENDAR_YEARS_AHEAD))
        return targets_for(self._config, request.priority, closures)

    @activity.defn(name=TOWN_CALENDAR)
    async def town_calendar(self, request: CalendarInput) -> list[str]:
        return await self._closure_days(
            date.fromisoformat(request.from_date), date.fromisoformat(request.to_date)
        )

    async def _closure_days(self, start: date, end: date) -> list[str]:
        """Declared Town closure days (policy 4.2), kept by intake where staff declare them.

        A brief intake outage is retried by Temporal; a long one must not stop a case from
        starting or its deadline from expiring, so after a few attempts the calendar falls
        back to weekends and public holidays only (and says so in the log)."""
        try:
            reply = await self._intake.ListClosureDays(
                intake_pb2.ListClosureDaysRequest(from_date=start.isoformat(), to_date=end.isoformat()),
                timeout=RPC_TIMEOUT_SECONDS,
            )
        except grpc.RpcError as err:
            error = application_error(err)
            if error is not err or activity.info().attempt < CALENDAR_ATTEMPTS:
                raise error from None
            log.warning(
                "intake unreachable: business days without declared closure days",
                extra={"attempt": activity.info().attempt, "from": start.isoformat()},
            )
            return []
        return sorted(day.date for day in reply.days)

    @activity.defn(name=ASSIGN_CASE)
    async def assign_case(self, request: AssignInput) -> AssignResult:
        case = await _call(
            self._cases.AssignCase(
                cases_pb2.AssignCaseRequest(
                    case_number=request.case_number,
                    officer_id=request.officer_id,
                    step_key=request.step_key,
                    reason=request.reason,
                    actor=_actor(request.actor),
                    occurred_at=_ts(request.occurred_at),
                ),
                timeout=RPC_TIMEOUT_SECONDS,
            )
        )
        return AssignResult(officer_id=case.assigned_officer_id, department=case.department)

    @activity.defn(name=SCHEDULE_INSPECTION)
    async def schedule_inspection(self, request: ScheduleInput) -> ScheduledInspection:
        reply = await _call(
            self._cases.ScheduleInspection(
                cases_pb2.ScheduleInspectionRequest(
                    case_number=request.case_number,
                    step_key=request.step_key,
                    kind=request.kind,
                    scheduled_for=_ts(request.scheduled_for),
                    due_by=_ts(request.due_by),
                    officer_id=request.officer_id,
                    reason=request.reason,
                    actor=_actor(request.actor),
                    occurred_at=_ts(request.occurred_at),
                ),
                timeout=RPC_TIMEOUT_SECONDS,
            )
        )
        return ScheduledInspection(
            step_key=reply.step_key,
            kind=reply.kind,
            scheduled_for=reply.scheduled_for.ToDatetime(tzinfo=request.scheduled_for.tzinfo),
            officer_id=reply.officer_id,
        )

    @activity.defn(name=RECORD_INSPECTION)
    async def record_inspection(self, request: RecordInspectionInput) -> InspectionOutcome:
        reply = await _call(
            self._cases.RecordInspection(
                cases_pb2.RecordInspectionRequest(
                    case_number=request.case_number,
                    step_key=request.step_key,
                    kind=request.kind,
                    inspected_at=_ts(request.inspected_at),
                    checklist_id=request.checklist_id,
                    findings=[
                        cases_pb2.Finding(
                            item_id=f.item_id, result=f.result, note=f.note, evidence_ids=f.evidence_ids
                        )
                        for f in request.findings
                    ],
                    notes=request.notes,
                    scheduled_step_key=request.scheduled_step_key,
                    actor=_actor(request.actor),
                ),
                timeout=RPC_TIMEOUT_SECONDS,
            )
        )
        checklists = await _call(
            self._cases.ListChecklists(cases_pb2.ListChecklistsRequest(), timeout=RPC_TIMEOUT_SECONDS)
        )
        checklist = next((c for c in checklists.checklists if c.checklist_id == reply.checklist_id), None)
        items = {i.item_id: i for i in checklist.items} if checklist else {}
        lines: list[str] = []
        evidence: list[str] = []
        for finding in reply.findings:
            item = items.get(finding.item_id)
            label = f"{item.question} (s. {item.section})" if item else finding.item_id
            result = finding.result.replace("_", " ")
            lines.append(f"{label}: {result}" + (f" — {finding.note}" if finding.note else ""))
            if finding.result == "non_compliant":
                section = f"section {item.section}: " if item else ""
                evidence.append(f"{section}{finding.note}")
        return InspectionOutcome(
            step_key=request.step_key,
            violation_found=reply.violation_found,
            bylaw_sections=list(reply.bylaw_sections),
            checklist_id=reply.checklist_id,
            checklist_title=checklist.title if checklist else reply.checklist_id,
            checklist_version=reply.checklist_version,
            finding_lines=lines,
            evidence_lines=evidence,
            officer_id=reply.officer_id,
        )

    @activity.defn(name=RECORD_ACTION)
    async def record_enforcement_action(self, request: RecordActionInput) -> RecordedAction:
        reply = await _call(
            self._cases.RecordEnforcementAction(
                cases_pb2.RecordEnforcementActionRequest(
                    case_number=request.case_number,
                    step_key=request.step_key,
                    action=request.action,
                    bylaw_section=request.bylaw_section,
                    comply_by=_ts(request.comply_by),
                    fine_code=request.fine_code,
                    deviation_reason=request.deviation_reason,
                    justification=request.justification,
                    details=request.details,
                    actor=_actor(request.actor),
                    occurred_at=_ts(request.occurred_at),
                ),
                timeout=RPC_TIMEOUT_SECONDS,
            )
        )
        return RecordedAction(
            seq=reply.seq,
            number=reply.number,
            bylaw_section=reply.bylaw_section,
            amount_cents=reply.amount_cents,
            total_payable_cents=reply.total_payable_cents,
            fine_description=reply.fine_description,
        )

    @activity.defn(name=ISSUE_DOCUMENT)
    async def issue_document(self, request: IssueDocumentInput) -> DocumentRef:
        facts = await self._case_facts(request.case_number)
        context = Struct()
        context.update(build_context(request.template, facts, request.facts))
        document = await _heartbeating(
            _call(
                self._notices.RenderDocument(
                    notices_pb2.RenderDocumentRequest(
                        case_number=request.case_number,
                        template=request.template,
                        step_key=request.step_key,
                        context=context,
                        actor=_actor(request.actor),
                        formats=["html", "pdf"],
                    ),
                    timeout=RENDER_TIMEOUT_SECONDS,
                )
            )
        )
        if request.attach_record:
            await _call(
                self._cases.AttachDocument(
                    cases_pb2.AttachDocumentRequest(
                        case_number=request.case_number,
                        record=request.attach_record,
                        step_key=request.attach_step_key,
                        document_id=document.document_id,
                        actor=_actor(request.actor),
                    ),
                    timeout=RPC_TIMEOUT_SECONDS,
                )
            )
        log.info(
            "document issued",
            extra={
                "case_number": request.case_number,
                "template": request.template,
                "document_id": document.document_id,
            },
        )
        return DocumentRef(
            document_id=document.document_id,
            template=document.template,
            title=document.title,
            sha256=document.sha256,
        )

    async def _case_facts(self, case_number: str) -> CaseFacts:
        case = await _call(
            self._cases.GetCase(
                cases_pb2.GetCaseRequest(case_number=case_number, actor=_actor("")),
                timeout=RPC_TIMEOUT_SECONDS,
            )
        )
        officer_name = officer_badge = ""
        if case.assigned_officer_id:
            officer = await _call(
                self._cases.GetOfficer(
                    cases_pb2.GetOfficerRequest(officer_id=case.assigned_officer_id),
                    timeout=RPC_TIMEOUT_SECONDS,
                )
            )
            officer_name, officer_badge = officer.display_name, officer.badge_number
        parcel = case.property_match.property if case.property_match.matched else None
        address = case.location.address or (parcel.address if parcel else "")
        if not address and case.location.HasField("point"):
            address = f"GPS {case.location.point.lat:.5f}, {case.location.point.lon:.5f}"
        return CaseFacts(
            case_number=case.case_number,
            property_address=address,
            roll_number=parcel.roll_number if parcel else "",
            owner_name=parcel.owner_name if parcel else "",
            owner_address=parcel.owner_mailing_address if parcel else "",
            bylaw_number=case.bylaw_number,
            bylaw_title=self._config.bylaw_titles.get(case.service_code, ""),
            service_code=case.service_code,
            officer_name=officer_name,
            officer_badge=officer_badge,
        )

    @activity.defn(name=RECORD_DEADLINE_CHANGE)
    async def record_deadline_change(self, request: DeadlineChangeInput) -> None:
        await _call(
            self._cases.RecordDeadlineChange(
                cases_pb2.RecordDeadlineChangeRequest(
                    case_number=request.case_number,
                    step_key=request.step_key,
                    kind=request.kind,
                    deadline=_ts(request.deadline),
                    reason=request.reason,
                    written_request_on=_ts(request.written_request_on),
                    contact_attempted_at=_ts(request.contact_attempted_at),
                    action_step_key=request.action_step_key,
                    actor=_actor(request.actor),
                    occurred_at=_ts(request.occurred_at),
                ),
                timeout=RPC_TIMEOUT_SECONDS,
            )
        )

    @activity.defn(name=RAISE_ALERT)
    async def raise_alert(self, request: RaiseAlertInput) -> None:
        await _call(
            self._cases.RaiseAlert(
                cases_pb2.RaiseAlertRequest(
                    case_number=request.case_number,
                    step_key=request.step_key,
                    kind=request.kind,
                    due_at=_ts(request.due_at),
                    detail=request.detail,
                    actor=_actor(""),
                    occurred_at=_ts(request.occurred_at),
                ),
                timeout=RPC_TIMEOUT_SECONDS,
            )
        )

    @activity.defn(name=CLEAR_ALERT)
    async def clear_alert(self, request: ClearAlertInput) -> None:
        await _call(
            self._cases.ClearAlert(
                cases_pb2.ClearAlertRequest(
                    case_number=request.case_number,
                    step_key=request.step_key,
                    reason=request.reason,
                    actor=_actor(""),
                    occurred_at=_ts(request.occurred_at),
                ),
                timeout=RPC_TIMEOUT_SECONDS,
            )
        )

    @activity.defn(name=RECORD_CLOSURE)
    async def record_closure(self, request: RecordClosureInput) -> None:
        await _call(
            self._cases.RecordClosure(
                cases_pb2.RecordClosureRequest(
                    case_number=request.case_number,
                    outcome=request.outcome,
                    closed_at=_ts(request.closed_at),
                    reason=request.reason,
                    actor=_actor(request.actor),
                    closure_document_id=request.closure_document_id,
                    first_order_at=_ts(request.first_order_at),
                    days_since_complaint=request.days_since_complaint,
                    days_since_order=request.days_since_order,
                    business_days_open=request.business_days_open,
                ),
                timeout=RPC_TIMEOUT_SECONDS,
            )
        )
