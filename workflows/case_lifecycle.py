"""``CaseLifecycleWorkflow``: the durable process of one enforcement case.

Temporal owns time and process (DESIGN.md section 2): this workflow is the authority on
lifecycle transitions. Staff actions arrive as validated *updates*; each accepted step is
written to the cases service (the system of record) by activities, its document rendered
by the notices service, then mirrored in the typed search attributes and the workflow's
*current details* so a supervisor can find and read any case in the Temporal UI (DESIGN.md
section 3).

From assignment to closure (issue 4): reassignment; inspections scheduled within the
priority's target and recorded on the by-law's checklist; enforcement actions under the
progressive enforcement rules (workflows.enforcement_rules); the compliance deadline as a
durable, updatable timer that staff may extend or, exceptionally, shorten; re-inspection at
expiry; escalation alerts (overdue acknowledgement, inspection target missed, re-inspection
missed, order overdue) as durable timers; municipal remediation as a child workflow; and
closure with its total timeline. All timers are derived from the state, so they resume
exactly after a worker restart or a continue-as-new.

Deterministic by construction: no I/O, time only from ``workflow.now()``, rules from the
pure ``workflows.lifecycle_rules`` and ``workflows.enforcement_rules``. Inputs, state and
history carry no complainant identity (policy 6.3.4). Long cases continue as new with their
state (never while a remediation child runs: its result returns to the run that started it).

Patch ids (named constants; histories recorded before each change stay under
``tests/workflow/histories/`` so the replay tests prove old runs still replay):

- ``PATCH_LIFECYCLE_V2`` (issue 4): runs started before it keep the first version's
  behaviour (status transitions only, no timers) until they continue as new; runs started
  after it load their targets, run the timers and accept the lifecycle updates.
- ``PATCH_START_FROM_INPUT``: when intake passes what it knows (``case_record_known``:
  zone, officer, department, targets, acknowledgement), a case starts in one workflow task
  with no activity; runs started before it read the record and targets by activities.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    # `import a.b as c`, not `from a import b`: the sandbox already holds its own copy of
    # the `workflows` package (this module's parent), and a from-import of a submodule
    # would load a sandboxed copy instead of passing the host's through.
    import workflows.enforcement_rules as enforcement
    import workflows.lifecycle_rules as rules
    from workflows.activities import CaseActivities, GetCaseInput, RecordStatusInput
    from workflows.contracts import (
        ASSIGNED_OFFICER,
        BYLAW_NUMBER,
        CASE_NUMBER,
        CASE_PRIORITY,
        CASE_STATUS,
        COMPLIANCE_DEADLINE,
        ERROR_INVALID_ARGUMENT,
        ERROR_INVALID_TRANSITION,
        ERROR_NOT_SUPPORTED,
        QUERY_STATE,
        QUERY_SUMMARY,
        QUERY_TIMELINE,
        REMEDIATION_WORKFLOW_TYPE,
        SERVICE_CODE,
        SIGNAL_ACKNOWLEDGEMENT_RECORDED,
        SIGNAL_REMEDIATION_PROGRESS,
        UPDATE_ASSIGN_OFFICER,
        UPDATE_CLOSE_CASE,
        UPDATE_EXTEND_DEADLINE,
        UPDATE_RECORD_INSPECTION,
        UPDATE_SCHEDULE_INSPECTION,
        UPDATE_SHORTEN_DEADLINE,
        UPDATE_TAKE_ENFORCEMENT_ACTION,
        UPDATE_TRANSITION_STATUS,
        WORKFLOW_TYPE,
        ZONE,
        AcknowledgementRecorded,
        ActionRecord,
        AlertRecord,
        AssignOfficerRequest,
        CaseDeadlines,
        CaseLifecycleInput,
        CaseLifecycleResult,
        CaseLifecycleState,
        CaseSummary,
        CloseCaseRequest,
        ClosureSummary,
        ComplianceDeadlineState,
        EnforcementActionRequest,
        ExtendDeadlineRequest,
        InspectionRecord,
        RecordInspectionRequest,
        RemediationInput,
        RemediationProgress,
        RemediationResult,
        RemediationState,
        ScheduledInspection,
        ScheduleInspectionRequest,
        ShortenDeadlineRequest,
        TimelineEntry,
        TransitionStatusRequest,
        remediation_workflow_id,
        workflow_id,
    )
    from workflows.lifecycle_activities import (
        AssignInput,
        AssignResult,
        CalendarInput,
        ClearAlertInput,
        DeadlineChangeInput,
        DocumentRef,
        InspectionOutcome,
        IssueDocumentInput,
        LifecycleActivities,
        LifecyclePolicyInput,
        RaiseAlertInput,
        RecordActionInput,
        RecordClosureInput,
        RecordedAction,
        RecordInspectionInput,
        ScheduleInput,
    )

SYSTEM = "system"
# Issue 4: the lifecycle from assignment to closure (see the module docstring).
PATCH_LIFECYCLE_V2 = "case-lifecycle-v2-issue-4"
# Start from what intake passed (zone, officer, department, targets) instead of two
# activities; cases started before it read them as before.
PATCH_START_FROM_INPUT = "case-start-from-input"

# The cases service may restart; keep retrying a write for a while, but give the staff
# member waiting on the update an answer within minutes rather than never.
RECORD_STATUS_START_TO_CLOSE = timedelta(seconds=30)
RECORD_STATUS_SCHEDULE_TO_CLOSE = timedelta(minutes=5)
# Reading the record at start has nobody waiting on it: retry until cases answers.
GET_CASE_START_TO_CLOSE = timedelta(seconds=30)
# Rendering a PDF can take seconds; the activity heartbeats, so a dead worker is noticed fast.
DOCUMENT_START_TO_CLOSE = timedelta(minutes=3)
DOCUMENT_HEARTBEAT = timedelta(seconds=20)
DEFAULT_TIMEZONE = "America/Toronto"
ACTIVITY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
CALENDAR_LOOKAHEAD = timedelta(days=400)

S = rules.CaseStatus
A = enforcement.Action
CLOSED_OR_OUT = frozenset({S.CLOSED, S.REFERRED, S.REJECTED})

ALERT_PHRASE = {
    "acknowledgement_overdue": "acknowledgement overdue",
    "inspection_sla_missed": "inspection target missed",
    "reinspection_missed": "re-inspection missed",
    "order_overdue": "order overdue",
}
ACTION_NAME = {
    A.EDUCATION.value: "Warning letter",
    A.COMPLIANCE_NOTICE.value: "Notice",
    A.ORDER_TO_COMPLY.value: "Order",
    A.TICKET.value: "Ticket",
    A.AMP.value: "Penalty notice",
    A.PROSECUTION_REFERRAL.value: "Prosecution referral",
    A.DIRECT_ENFORCEMENT.value: "Direct enforcement",
    A.NO_ACTION.value: "No action",
}


@workflow.defn(name=WORKFLOW_TYPE)
class CaseLifecycleWorkflow:
    @workflow.init
    def __init__(self, input: CaseLifecycleInput) -> None:
        self._input = input
        # Decided once per run, before any command: runs begun before issue 4 keep their
        # original behaviour on replay.
        self._v2 = workflow.patched(PATCH_LIFECYCLE_V2)
        # A bad zone must fail the workflow from run() (below), not crash every task here.
        self._input_problems: list[str] = []
        try:
            self._zone = rules.town_zone(input.town_timezone)
        except rules.RuleViolation as violation:
            self._input_problems.append(str(violation))
            self._zone = rules.town_zone(DEFAULT_TIMEZONE)
        # Serialises staff actions: two concurrent updates must not both pass the rules
        # against the same old status.
        self._lock = asyncio.Lock()
        self._closing = False
        self._changes_this_run = 0
        # Bumped on every change the main loop must look at (new deadline, signal, result).
        self._wake = 0
        self._progress_inbox: list[RemediationProgress] = []
        self._child_result: RemediationResult | None = None
        self._child_failure = ""
        self._child_done = False
        self._attributes: dict[str, object] | None = None
        if input.carried is not None:
            self._state = dataclasses.replace(input.carried, runs=input.carried.runs + 1)
            if self._v2:
                self._state.lifecycle_version = 2
            return
        received_at = _aware(input.received_at)
        ack_due = (
            _aware(input.acknowledgement_due)
            if input.acknowledgement_due is not None
            # Intake normally passes the due date (it knows declared closure days); this
            # fallback counts weekends and Ontario holidays only (policy 4.2, 6.5.5).
            else rules.acknowledgement_due(received_at, self._zone)
        )
        self._state = CaseLifecycleState(
            case_number=input.case_number,
            status=rules.CaseStatus.RECEIVED.value,
            priority=input.priority,
            service_code=input.service_code,
            bylaw_number=input.bylaw_number,
            zone=input.zone,
            assigned_officer="",
            current_details="",
            deadlines=CaseDeadlines(acknowledgement_due=ack_due),
            timeline=[
                TimelineEntry(
                    at=received_at,
                    event="received",
                    status=rules.CaseStatus.RECEIVED.value,
                    note=(
                        f"priority {input.priority}, {input.service_code}, matrix {input.matrix_version}; "
                        f"acknowledgement due {ack_due.astimezone(self._zone).date().isoformat()}"
                    ),
                    actor=SYSTEM,
                )
            ],
            lifecycle_version=2 if self._v2 else 1,
        )
        if input.acknowledged_at is not None:
            # Reading the input changes no command: safe for histories begun before it.
            self._state.acknowledged_at = _aware(input.acknowledged_at)
        # Zone, officer and department as cases assigned them when intake opened the case,
        # so the first search attribute upsert is already complete.
        self._from_input = input.case_record_known and workflow.patched(PATCH_START_FROM_INPUT)
        if self._from_input:
            self._state.zone = input.zone or self._state.zone
            self._state.assigned_officer = input.assigned_officer
            if self._v2:
                self._state.department = input.department

    @workflow.run
    async def run(self, input: CaseLifecycleInput) -> CaseLifecycleResult:
        _check_input(input, self._input_problems)
        self._publish()
        if input.carried is None and not self._from_input:
            await self._adopt_case_record()
        if self._v2:
            return await self._run_lifecycle()
        while True:
            await workflow.wait_condition(lambda: self._is_closed() or self._history_too_long())
            # Let accepted updates answer their callers before this run ends.
            await workflow.wait_condition(workflow.all_handlers_finished)
            if self._is_closed():
                return self._result()
            workflow.continue_as_new(dataclasses.replace(self._input, carried=self._state))

    async def _run_lifecycle(self) -> CaseLifecycleResult:
        """The issue 4 main loop: sleep until the next timer is due or something changes,
        then fire what is due and settle alerts, under the same lock as staff actions."""
        if self._state.targets is None:
            await self._load_targets()
        while True:
            async with self._lock:
                try:
                    await self._process()
                except ApplicationError as err:
                    # A step the record refused (each is marked done before it runs, so
                    # it is not retried in a loop): visible on the timeline, not fatal.
                    self._note("problem", err.message, SYSTEM)
                    self._changed()
            if self._is_closed():
                await workflow.wait_condition(workflow.all_handlers_finished)
                async with self._lock:
                    await self._process()  # alerts resolved by an update that just finished
                return self._result()
            if self._history_too_long():
                await workflow.wait_condition(workflow.all_handlers_finished)
                if self._is_closed():
                    continue
                workflow.continue_as_new(dataclasses.replace(self._input, carried=self._state))
            wake = self._wake
            due = self._next_due()
            timeout = max(due - workflow.now(), timedelta(0)) if due is not None else None
            if timeout == timedelta(0):
                continue
            # On timeout a timer is due: the next pass fires it.
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda wake=wake: self._wake != wake or self._is_closed() or self._history_too_long(),  # type: ignore[misc]
                    timeout=timeout,
                )

    # ------------------------------------------------------------------ queries

    @workflow.query(name=QUERY_STATE)
    def state(self) -> CaseLifecycleState:
        return self._state

    @workflow.query(name=QUERY_TIMELINE)
    def timeline(self) -> list[TimelineEntry]:
        return self._state.timeline

    @workflow.query(name=QUERY_SUMMARY)
    def summary(self) -> CaseSummary:
        state = self._state
        until = state.closed_at or workflow.now()
        figures = self._figures(until)
        return CaseSummary(
            case_number=state.case_number,
            status=state.status,
            outcome=state.outcome,
            received_at=state.timeline[0].at,
            closed_at=state.closed_at,
            days_since_complaint=figures.days_since_complaint,
            days_since_order=figures.days_since_order,
            business_days_open=figures.business_days_open,
            compliance_deadline=state.deadline.due_on if state.deadline else "",
            open_alerts=[a.kind for a in state.alerts if a.cleared_at is None],
            next_usual_action=enforcement.usual_next(a.action for a in state.actions).value,
            actions=[f"{a.number} {a.action}" for a in state.actions],
        )

    # ------------------------------------------------------------------ signals

    @workflow.signal(name=SIGNAL_ACKNOWLEDGEMENT_RECORDED)
    def acknowledgement_recorded(self, ack: AcknowledgementRecorded) -> None:
        """Intake sent the complainant's acknowledgement (policy 6.5.5): the overdue timer
        stops, and an alert it raised is cleared."""
        if self._state.acknowledged_at is not None:
            return
        self._state.acknowledged_at = _aware(ack.sent_at)
        if not self._v2:
            return  # runs begun before issue 4 have no acknowledgement timer
        self._note("acknowledged", f"acknowledgement sent by {ack.channel}", SYSTEM)
        self._changed()

    @workflow.signal(name=SIGNAL_REMEDIATION_PROGRESS)
    def remediation_progress(self, progress: RemediationProgress) -> None:
        # Recorded in cases by the main loop, under the lock (signals cannot wait).
        self._progress_inbox.append(progress)
        self._wake += 1

    # ------------------------------------------------------------------ updates (status)

    @workflow.update(name=UPDATE_TRANSITION_STATUS)
    async def transition_status(self, request: TransitionStatusRequest) -> CaseLifecycleState:
        async with self._lock:
            # Checked again under the lock: an update admitted by the validator may have
            # waited behind another that changed the status.
            target = self._checked_transition(request)
            await self._move(target, request.reason, request.actor)
            return self._state

    @transition_status.validator
    def validate_transition_status(self, request: TransitionStatusRequest) -> None:
        self._checked_transition(request)

    @workflow.update(name=UPDATE_CLOSE_CASE)
    async def close_case(self, request: CloseCaseRequest) -> CaseLifecycleResult:
        async with self._lock:
            outcome = self._checked_closure(request)
            if self._v2:
                await self._close(outcome, request.reason, request.actor, durable=False)
                return self._result()
            # Refuse further transitions while the closing write is in flight.
            self._closing = True
            seq = self._state.transitions + 1
            try:
                await self._record_status(
                    rules.CaseStatus.CLOSED, seq, request.reason, request.actor, outcome=outcome.value
                )
            except ApplicationError:
                self._closing = False
                raise
            now = workflow.now()
            self._state.transitions = seq
            self._state.status = rules.CaseStatus.CLOSED.value
            self._state.outcome = outcome.value
            self._state.closed_at = now
            self._state.timeline.append(
                TimelineEntry(
                    at=now,
                    event="closed",
                    status=rules.CaseStatus.CLOSED.value,
                    note=f"{outcome.value}: {request.reason}",
                    actor=request.actor or SYSTEM,
                )
            )
            self._publish()
            return self._result()

    @close_case.validator
    def validate_close_case(self, request: CloseCaseRequest) -> None:
        self._checked_closure(request)

    # ------------------------------------------------------------------ updates (issue 4)

    @workflow.update(name=UPDATE_ASSIGN_OFFICER)
    async def assign_officer(self, request: AssignOfficerRequest) -> CaseLifecycleState:
        async with self._lock:
            self._check_assign(request)
            step = self._step("assign")
            result: AssignResult = await self._activity(
                LifecycleActivities.assign_case,
                AssignInput(
                    case_number=self._state.case_number,
                    officer_id=request.officer_id.strip(),
                    step_key=step,
                    reason=request.reason.strip(),
                    occurred_at=workflow.now(),
                    actor=request.actor,
                ),
                bounded=True,
            )
            previous = self._state.assigned_officer
            self._state.assigned_officer = result.officer_id
            self._state.department = result.department
            self._note(
                "assigned",
                f"{previous or 'unassigned'} -> {result.officer_id} ({result.department}): "
                f"{request.reason.strip()}",
                request.actor,
            )
            self._changed()
            return self._state

    @assign_officer.validator
    def validate_assign_officer(self, request: AssignOfficerRequest) -> None:
        self._check_assign(request)

    @workflow.update(name=UPDATE_SCHEDULE_INSPECTION)
    async def schedule_inspection(self, request: ScheduleInspectionRequest) -> CaseLifecycleState:
        async with self._lock:
            due = self._check_schedule(request)
            step = self._step("inspection-schedule")
            scheduled: ScheduledInspection = await self._activity(
                LifecycleActivities.schedule_inspection,
                ScheduleInput(
                    case_number=self._state.case_number,
                    step_key=step,
                    kind=request.kind,
                    scheduled_for=_aware(request.scheduled_for),
                    occurred_at=workflow.now(),
                    due_by=due,
                    officer_id=request.officer_id.strip(),
                    reason=request.reason.strip(),
                    actor=request.actor,
                ),
                bounded=True,
            )
            self._state.scheduled = scheduled
            self._note(
                "inspection_scheduled",
                f"{request.kind} inspection on {self._local(scheduled.scheduled_for).isoformat()}"
                + (f" ({request.reason.strip()})" if request.reason.strip() else ""),
                request.actor,
            )
            if self._status() is S.RECEIVED:
                await self._move(S.UNDER_INVESTIGATION, "inspection scheduled", request.actor, durable=True)
            self._changed()
            return self._state

    @schedule_inspection.validator
    def validate_schedule_inspection(self, request: ScheduleInspectionRequest) -> None:
        self._check_schedule(request)

    @workflow.update(name=UPDATE_RECORD_INSPECTION)
    async def record_inspection(self, request: RecordInspectionRequest) -> CaseLifecycleState:
        async with self._lock:
            self._check_inspection(request)
            step = self._step("inspection")
            scheduled = self._state.scheduled
            matching = scheduled if scheduled is not None and scheduled.kind == request.kind else None
            # The cases service validates the findings against the checklist: a refusal
            # fails this update and changes nothing.
            outcome: InspectionOutcome = await self._activity(
                LifecycleActivities.record_inspection,
                RecordInspectionInput(
                    case_number=self._state.case_number,
                    step_key=step,
                    kind=request.kind,
                    inspected_at=_aware(request.inspected_at),
                    checklist_id=request.checklist_id,
                    findings=request.findings,
                    notes=request.notes,
                    scheduled_step_key=matching.step_key if matching else "",
                    actor=request.actor,
                ),
                bounded=True,
            )
            record = InspectionRecord(
                step_key=step,
                kind=request.kind,
                inspected_at=_aware(request.inspected_at),
                violation_found=outcome.violation_found,
                bylaw_sections=list(outcome.bylaw_sections),
                checklist_id=outcome.checklist_id,
                evidence=list(outcome.evidence_lines),
            )
            self._state.inspections.append(record)
            if matching is not None:
                self._state.scheduled = None
            if request.health_safety_risk.strip():
                self._state.recorded_risk = request.health_safety_risk.strip()
            found = (
                f"violation of section(s) {', '.join(outcome.bylaw_sections)}"
                if outcome.violation_found
                else "no violation"
            )
            self._note("inspection", f"{request.kind} inspection: {found}", request.actor)
            report: DocumentRef | None = await self._document(
                "inspection_report",
                f"{step}:report",
                {
                    "kind": request.kind,
                    "inspected_on": self._local(request.inspected_at).isoformat(),
                    "scheduled_for": self._local(matching.scheduled_for).isoformat() if matching else "",
                    "checklist_title": outcome.checklist_title,
                    "checklist_version": outcome.checklist_version,
                    "findings": outcome.finding_lines,
                    "violation_found": outcome.violation_found,
                    "bylaw_sections": outcome.bylaw_sections,
                    "evidence": [],
                    "notes": request.notes.strip(),
                },
                request.actor,
                attach=("inspection", step),
            )
            if report is not None:
                record.report_document_id = report.document_id
            if request.kind == "initial":
                if outcome.violation_found:
                    self._state.violation_identified = True
                    self._state.violation_sections = list(outcome.bylaw_sections)
                if self._status() is S.RECEIVED:
                    await self._move(S.UNDER_INVESTIGATION, "inspected", request.actor, durable=True)
            else:
                await self._after_reinspection(outcome, request.actor)
            self._changed()
            return self._state

    @record_inspection.validator
    def validate_record_inspection(self, request: RecordInspectionRequest) -> None:
        self._check_inspection(request)

    @workflow.update(name=UPDATE_TAKE_ENFORCEMENT_ACTION)
    async def take_enforcement_action(self, request: EnforcementActionRequest) -> CaseLifecycleState:
        async with self._lock:
            decision = self._check_action(request)
            await self._take_action(request, decision)
            self._changed()
            return self._state

    @take_enforcement_action.validator
    def validate_take_enforcement_action(self, request: EnforcementActionRequest) -> None:
        self._check_action(request)

    @workflow.update(name=UPDATE_EXTEND_DEADLINE)
    async def extend_deadline(self, request: ExtendDeadlineRequest) -> CaseLifecycleState:
        async with self._lock:
            new_date, requested_on = self._check_extension(request)
            await self._change_deadline(
                "extended",
                new_date,
                request.reason.strip(),
                request.actor,
                written_request_on=datetime.combine(requested_on, datetime.min.time(), self._zone),
            )
            if self._status() is S.REINSPECTION:
                # More time to achieve compliance after the date passed (policy 6.7.6).
                await self._move(
                    S.AWAITING_COMPLIANCE, f"extended to {new_date.isoformat()}", request.actor, durable=True
                )
            self._changed()
            return self._state

    @extend_deadline.validator
    def validate_extend_deadline(self, request: ExtendDeadlineRequest) -> None:
        self._check_extension(request)

    @workflow.update(name=UPDATE_SHORTEN_DEADLINE)
    async def shorten_deadline(self, request: ShortenDeadlineRequest) -> CaseLifecycleState:
        async with self._lock:
            new_date = self._check_shortening(request)
            await self._change_deadline(
                "shortened",
                new_date,
                request.reason.strip(),
                request.actor,
                contact_attempted_at=_aware(request.contact_attempted_at)
                if request.contact_attempted_at
                else None,
                note=f" after contact attempted ({request.contact_method})" if request.contact_method else "",
            )
            self._changed()
            return self._state

    @shorten_deadline.validator
    def validate_shorten_deadline(self, request: ShortenDeadlineRequest) -> None:
        self._check_shortening(request)

    # ------------------------------------------------------------------ checks (validators)

    def _require_v2(self) -> None:
        if not self._v2:
            raise ApplicationError(
                "this case started before the lifecycle steps existed; it accepts status changes only",
                type=ERROR_NOT_SUPPORTED,
                non_retryable=True,
            )

    def _require_open(self) -> None:
        if self._closing or self._status() in CLOSED_OR_OUT:
            raise _rejection(rules.RuleViolation("status", f"the case is {self._state.status}"))

    def _checked_transition(self, request: TransitionStatusRequest) -> rules.CaseStatus:
        if self._closing:
            raise _rejection(rules.RuleViolation("status", "the case is being closed"))
        try:
            target = rules.parse_status(request.status)
            rules.check_transition(rules.CaseStatus(self._state.status), target, request.reason)
            if self._v2 and target not in (S.UNDER_INVESTIGATION, S.REFERRED, S.REJECTED):
                # The lifecycle steps move the case through these, with their records and
                # timers (issue 4); a bare status change would skip both.
                raise rules.RuleViolation(
                    "status", f"{target.value} is reached by {_STEP_FOR.get(target, 'a step')}"
                )
        except rules.RuleViolation as violation:
            raise _rejection(violation) from None
        return target

    def _checked_closure(self, request: CloseCaseRequest) -> rules.ClosureOutcome:
        if self._closing:
            raise _rejection(rules.RuleViolation("status", "the case is already being closed"))
        try:
            outcome = rules.parse_outcome(request.outcome)
            rules.check_closure(rules.CaseStatus(self._state.status), outcome, request.reason)
            if self._v2:
                enforcement.check_closure_basis(
                    outcome,
                    [a.action for a in self._state.actions],
                    self._state.remediation is not None and self._state.remediation.outcome == "completed",
                )
                if self._state.remediation is not None and self._state.remediation.running:
                    raise rules.RuleViolation("status", "municipal remediation is under way", "6.5.13")
        except rules.RuleViolation as violation:
            raise _rejection(violation) from None
        return outcome

    def _check_assign(self, request: AssignOfficerRequest) -> None:
        self._require_v2()
        self._require_open()
        try:
            if not request.officer_id.strip():
                raise rules.RuleViolation("officer_id", "is required")
            if request.officer_id.strip() == self._state.assigned_officer:
                raise rules.RuleViolation(
                    "officer_id", f"the case is already assigned to {request.officer_id}"
                )
            if len(request.reason.strip()) < enforcement.MIN_TEXT:
                raise rules.RuleViolation("reason", "a reassignment records why", "6.5.10 f")
        except rules.RuleViolation as violation:
            raise _rejection(violation) from None

    def _check_schedule(self, request: ScheduleInspectionRequest) -> datetime | None:
        """Returns the target the visit should meet (inspection SLA or re-inspection due)."""
        self._require_v2()
        self._require_open()
        status = self._status()
        try:
            if request.kind == "initial":
                if status not in (S.RECEIVED, S.UNDER_INVESTIGATION):
                    raise rules.RuleViolation(
                        "kind", f"an initial inspection is for a new case; it is {status.value}"
                    )
                due = self._state.inspection_due
            elif request.kind == "reinspection":
                if status not in (S.AWAITING_COMPLIANCE, S.REINSPECTION):
                    raise rules.RuleViolation(
                        "kind", f"a re-inspection follows a compliance deadline; case is {status.value}"
                    )
                due = self._state.reinspection_due if status is S.REINSPECTION else None
            else:
                raise rules.RuleViolation(
                    "kind", f"unknown inspection kind {request.kind!r}; initial or reinspection"
                )
            when = _aware(request.scheduled_for)
            if self._local(when) < self._today():
                raise rules.RuleViolation("scheduled_for", "cannot be in the past")
            if due is not None and when > due and len(request.reason.strip()) < enforcement.MIN_TEXT:
                raise rules.RuleViolation(
                    "reason",
                    f"a visit after the target {self._local(due).isoformat()} needs a recorded reason",
                    "6.5.4",
                )
        except rules.RuleViolation as violation:
            raise _rejection(violation) from None
        return due

    def _check_inspection(self, request: RecordInspectionRequest) -> None:
        self._require_v2()
        self._require_open()
        status = self._status()
        try:
            if request.kind == "initial":
                if status not in (S.RECEIVED, S.UNDER_INVESTIGATION) or self._state.actions:
                    raise rules.RuleViolation(
                        "kind", f"an initial inspection is for a new case; it is {status.value}"
                    )
            elif request.kind == "reinspection":
                if status not in (S.REINSPECTION, S.AWAITING_COMPLIANCE):
                    raise rules.RuleViolation(
                        "kind", f"a re-inspection follows a compliance deadline; the case is {status.value}"
                    )
            else:
                raise rules.RuleViolation(
                    "kind", f"unknown inspection kind {request.kind!r}; initial or reinspection"
                )
            inspected = _aware(request.inspected_at)
            if inspected > workflow.now() + timedelta(minutes=5):
                raise rules.RuleViolation("inspected_at", "cannot be in the future")
            if inspected < self._state.timeline[0].at:
                raise rules.RuleViolation("inspected_at", "cannot be before the complaint was received")
            if not request.checklist_id.strip():
                raise rules.RuleViolation("checklist_id", "is required (seed spec 2.2)")
            if not request.findings:
                raise rules.RuleViolation("findings", "answer every item of the checklist")
        except rules.RuleViolation as violation:
            raise _rejection(violation) from None

    def _action_facts(self) -> enforcement.ActionFacts:
        deadline = self._state.deadline
        return enforcement.ActionFacts(
            status=self._status(),
            priority=self._state.priority,
            service_code=self._state.service_code,
            violation_identified=self._state.violation_identified,
            recorded_risk=self._state.recorded_risk,
            taken=tuple(a.action for a in self._state.actions),
            deadline_on=date.fromisoformat(deadline.due_on) if deadline and not deadline.expired else None,
            remediation_running=self._state.remediation is not None and self._state.remediation.running,
            today=self._today(),
        )

    def _check_action(self, request: EnforcementActionRequest) -> enforcement.ActionDecision:
        self._require_v2()
        self._require_open()
        try:
            return enforcement.check_action(
                self._action_facts(),
                enforcement.ActionChoice(
                    action=request.action,
                    details=request.details,
                    required_action=request.required_action,
                    comply_by=request.comply_by,
                    fine_code=request.fine_code,
                    deviation_reason=request.deviation_reason,
                    justification=request.justification,
                    has_work_order=request.work_order is not None,
                ),
            )
        except rules.RuleViolation as violation:
            raise _rejection(violation) from None

    def _check_extension(self, request: ExtendDeadlineRequest) -> tuple[date, date]:
        self._require_v2()
        self._require_open()
        deadline = self._state.deadline
        try:
            new_date = enforcement.parse_local_date(request.new_date, "new_date")
            requested = enforcement.check_extension(
                status=self._status(),
                current=date.fromisoformat(deadline.due_on) if deadline else None,
                new=new_date,
                today=self._today(),
                written_request_on=request.written_request_on,
                issued_on=date.fromisoformat(deadline.issued_on) if deadline else None,
                reason=request.reason,
            )
        except rules.RuleViolation as violation:
            raise _rejection(violation) from None
        return new_date, requested

    def _check_shortening(self, request: ShortenDeadlineRequest) -> date:
        self._require_v2()
        self._require_open()
        deadline = self._state.deadline
        try:
            new_date = enforcement.parse_local_date(request.new_date, "new_date")
            enforcement.check_shortening(
                status=self._status(),
                current=date.fromisoformat(deadline.due_on) if deadline and not deadline.expired else None,
                new=new_date,
                today=self._today(),
                contact_attempted_at=_aware(request.contact_attempted_at)
                if request.contact_attempted_at
                else None,
                set_at=deadline.set_at if deadline else None,
                now=workflow.now(),
                reason=request.reason,
            )
        except rules.RuleViolation as violation:
            raise _rejection(violation) from None
        return new_date

    # ------------------------------------------------------------------ steps

    async def _take_action(
        self, request: EnforcementActionRequest, decision: enforcement.ActionDecision
    ) -> None:
        action = decision.action
        now = workflow.now()
        comply_by_at = enforcement.end_of_day(decision.comply_by, self._zone) if decision.comply_by else None
        section = request.bylaw_section.strip() or ", ".join(self._state.violation_sections)
        step = self._step("action")
        recorded: RecordedAction = await self._activity(
            LifecycleActivities.record_enforcement_action,
            RecordActionInput(
                case_number=self._state.case_number,
                step_key=step,
                action=action.value,
                occurred_at=now,
                details=request.details.strip(),
                bylaw_section=section,
                comply_by=comply_by_at,
                fine_code=request.fine_code.strip(),
                deviation_reason=request.deviation_reason.strip(),
                justification=request.justification.strip(),
                actor=request.actor,
            ),
            bounded=True,
        )
        record = ActionRecord(
            seq=recorded.seq,
            step_key=step,
            action=action.value,
            number=recorded.number,
            occurred_at=now,
            comply_by=decision.comply_by.isoformat() if decision.comply_by else "",
            amount_cents=recorded.amount_cents,
            total_payable_cents=recorded.total_payable_cents,
            deviation=decision.deviation,
        )
        previous_actions = list(self._state.actions)
        self._state.actions.append(record)
        fine = f", {enforcement_money(recorded.amount_cents)}" if recorded.amount_cents else ""
        deviation = f"; departs from the usual {decision.usual.value}: {request.deviation_reason.strip()}"
        self._note(
            "action",
            f"{ACTION_NAME[action.value]} {recorded.number}{fine}"
            + (deviation if decision.deviation else ""),
            request.actor,
        )
        if action is A.NO_ACTION:
            await self._close(
                rules.ClosureOutcome.DISMISSED, request.details.strip(), request.actor, durable=True
            )
            return
        status = self._status()
        if decision.comply_by is not None:
            # A notice sets a reasonable time to comply (6.7.4); the deadline timer starts.
            await self._move(
                S.NOTICE_ISSUED, f"{ACTION_NAME[action.value]} {recorded.number}", request.actor, durable=True
            )
            await self._change_deadline(
                "set", decision.comply_by, f"{recorded.number} issued", request.actor, action=record
            )
            await self._move(
                S.AWAITING_COMPLIANCE,
                f"comply by {decision.comply_by.isoformat()} ({recorded.number})",
                request.actor,
                durable=True,
            )
        elif status is S.UNDER_INVESTIGATION:
            await self._move(
                S.ESCALATED, f"{ACTION_NAME[action.value]} {recorded.number}", request.actor, durable=True
            )
        template = enforcement.TEMPLATE.get(action)
        if template is not None:
            document = await self._document(
                template,
                f"{step}:document",
                self._action_facts_for_document(request, record, recorded, section, previous_actions),
                request.actor,
                attach=("enforcement_action", step),
            )
            if document is not None:
                record.document_id = document.document_id
        if action is A.DIRECT_ENFORCEMENT:
            assert request.work_order is not None
            await self._start_remediation(request, record)

    def _action_facts_for_document(
        self,
        request: EnforcementActionRequest,
        record: ActionRecord,
        recorded: RecordedAction,
        section: str,
        previous: list[ActionRecord],
    ) -> dict[str, Any]:
        initial = [i for i in self._state.inspections if i.violation_found]
        latest = initial[-1] if initial else None
        return {
            "number": record.number,
            "issued_on": self._today().isoformat(),
            "offence_date": self._local(latest.inspected_at).isoformat()
            if latest
            else self._today().isoformat(),
            "bylaw_section": recorded.bylaw_section or section,
            "contravention": request.details.strip(),
            "required_action": request.required_action.strip(),
            "comply_by": record.comply_by,
            "inspection_date": self._local(latest.inspected_at).isoformat() if latest else "",
            "evidence": latest.evidence if latest else [],
            "deviation_reason": request.deviation_reason.strip(),
            "amount_cents": recorded.amount_cents,
            "total_payable_cents": recorded.total_payable_cents,
            "fine_description": recorded.fine_description,
            "prior_actions": [
                f"{a.number}: {ACTION_NAME.get(a.action, a.action)} issued "
                f"{self._local(a.occurred_at).isoformat()}"
                for a in previous
            ],
        }

    async def _after_reinspection(self, outcome: InspectionOutcome, actor: str) -> None:
        status = self._status()
        if not outcome.violation_found:
            if status is S.AWAITING_COMPLIANCE:
                # Complied before the date: re-inspected early, then compliance confirmed.
                await self._move(
                    S.REINSPECTION, "re-inspected before the compliance deadline", actor, durable=True
                )
            await self._move(S.COMPLIED, "compliance confirmed at re-inspection", actor, durable=True)
            result = enforcement.outcome_after_compliance([a.action for a in self._state.actions])
            await self._close(result, "compliance confirmed at re-inspection", actor, durable=True)
        elif status is S.REINSPECTION:
            await self._change_deadline(
                "cleared", None, "the contravention continues after the deadline", actor
            )
            await self._move(
                S.ESCALATED, "re-inspection found the contravention continuing", actor, durable=True
            )
        else:
            # Before the deadline nothing more may be done (policy 6.7.5): recorded only.
            self._note("inspection", "contravention continues; the deadline has not expired (6.7.5)", actor)

    async def _change_deadline(
        self,
        kind: str,
        new_date: date | None,
        reason: str,
        actor: str,
        *,
        action: ActionRecord | None = None,
        written_request_on: datetime | None = None,
        contact_attempted_at: datetime | None = None,
        note: str = "",
    ) -> None:
        due_at = enforcement.end_of_day(new_date, self._zone) if new_date else None
        current = self._state.deadline
        await self._activity(
            LifecycleActivities.record_deadline_change,
            DeadlineChangeInput(
                case_number=self._state.case_number,
                step_key=self._step("deadline"),
                kind=kind,
                occurred_at=workflow.now(),
                deadline=due_at,
                reason=reason,
                written_request_on=written_request_on,
                contact_attempted_at=contact_attempted_at,
                action_step_key=action.step_key if action else (current.action_step_key if current else ""),
                actor=actor,
            ),
            bounded=kind in ("extended", "shortened"),
            tolerate=kind == "cleared",
        )
        if kind == "cleared" or new_date is None or due_at is None:
            self._state.deadline = None
            self._state.deadlines.compliance_deadline = None
            self._state.reinspection_due = None
            self._note("deadline", f"compliance deadline cleared: {reason}", actor)
            return
        if kind == "set":
            assert action is not None
            self._state.deadline = ComplianceDeadlineState(
                due_on=new_date.isoformat(),
                due_at=due_at,
                set_at=workflow.now(),
                action_step_key=action.step_key,
                number=action.number,
                issued_on=self._today().isoformat(),
            )
        else:
            assert current is not None
            current.due_on = new_date.isoformat()
            current.due_at = due_at
            current.changes += 1
            current.expired = False
            self._state.reinspection_due = None
        self._state.deadlines.compliance_deadline = due_at
        self._note("deadline", f"compliance deadline {kind}: {new_date.isoformat()} ({reason}){note}", actor)

    async def _start_remediation(self, request: EnforcementActionRequest, record: ActionRecord) -> None:
        """Direct enforcement (policy 6.2.2 e): the remediation child runs the work order,
        the $5,000 Council gate and cost recovery; it survives this run (ABANDON) so a
        reset or termination of the case never strands a contractor or a Council decision."""
        order = request.work_order
        assert order is not None
        seq = self._state.work_orders + 1
        child_id = remediation_workflow_id(self._state.case_number, seq)
        handle = await workflow.start_child_workflow(
            REMEDIATION_WORKFLOW_TYPE,
            RemediationInput(
                case_number=self._state.case_number,
                work_order_seq=seq,
                work_description=order.work_description,
                estimate_cents=order.estimate_cents,
                contractor=order.contractor,
                private_land=order.private_land,
                requested_by=request.actor or SYSTEM,
                property_roll_number=self._input.property_roll_number,
                parent_workflow_id=workflow_id(self._state.case_number),
            ),
            id=child_id,
            task_queue=workflow.info().task_queue,
            result_type=RemediationResult,
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
        )
        self._state.work_orders = seq
        self._state.remediation = RemediationState(work_order_seq=seq, workflow_id=child_id)
        self._child_done = False
        self._child_result = None
        self._child_failure = ""
        self._note("remediation", f"work order {seq} started ({record.number})", request.actor)

        async def watch() -> None:
            try:
                self._child_result = await handle
            except ChildWorkflowError as err:
                self._child_failure = str(err.cause or err)
            finally:
                self._child_done = True
                self._wake += 1

        asyncio.create_task(watch())  # noqa: RUF006 - the workflow keeps no reference; it ends with the run

    async def _close(self, outcome: rules.ClosureOutcome, reason: str, actor: str, *, durable: bool) -> None:
        """Close the case: its status, the closure letter, the closure summary."""
        self._closing = True
        try:
            await self._move(S.CLOSED, reason, actor, durable=durable, outcome=outcome.value)
        except ApplicationError:
            self._closing = False
            raise
        now = self._state.closed_at or workflow.now()
        if self._state.deadline is not None:
            await self._change_deadline("cleared", None, f"case closed as {outcome.value}", actor)
        letter: DocumentRef | None = None
        if outcome.value in {
            "voluntary_compliance",
            "order_compliance",
            "remediation",
            "prosecution",
            "dismissed",
        }:
            letter = await self._document(
                "closure_letter",
                f"{self._state.case_number}:closure:letter",
                {"closed_on": self._local(now).isoformat(), "outcome": outcome.value, "summary": reason},
                actor,
            )
        figures = self._figures(now)
        orders = [a for a in self._state.actions if a.action == A.ORDER_TO_COMPLY.value]
        summary = ClosureSummary(
            outcome=outcome.value,
            closed_at=now,
            days_since_complaint=figures.days_since_complaint,
            days_since_order=figures.days_since_order,
            business_days_open=figures.business_days_open,
            first_order_at=orders[0].occurred_at if orders else None,
            closure_document_id=letter.document_id if letter else "",
        )
        await self._activity(
            LifecycleActivities.record_closure,
            RecordClosureInput(
                case_number=self._state.case_number,
                outcome=outcome.value,
                closed_at=now,
                days_since_complaint=summary.days_since_complaint,
                days_since_order=summary.days_since_order,
                business_days_open=summary.business_days_open,
                first_order_at=summary.first_order_at,
                reason=reason,
                closure_document_id=summary.closure_document_id,
                actor=actor,
            ),
            bounded=False,
            tolerate=True,
        )
        self._state.closure = summary
        self._changed()

    async def _move(
        self, target: rules.CaseStatus, reason: str, actor: str, *, durable: bool = False, outcome: str = ""
    ) -> None:
        """Record a status in cases and mirror it here (one RecordStatus per step)."""
        seq = self._state.transitions + 1
        await self._record_status(target, seq, reason, actor, outcome=outcome, durable=durable)
        now = workflow.now()
        self._state.transitions = seq
        self._changes_this_run += 1
        self._state.status = target.value
        if target is S.CLOSED:
            self._state.outcome = outcome
            self._state.closed_at = now
        self._state.timeline.append(
            TimelineEntry(
                at=now,
                event="closed" if target is S.CLOSED else "status",
                status=target.value,
                note=f"{outcome}: {reason}" if target is S.CLOSED else reason,
                actor=actor or SYSTEM,
            )
        )
        if self._v2:
            self._changed()
        else:
            self._publish()

    # ------------------------------------------------------------------ timers and alerts

    def _next_due(self) -> datetime | None:
        candidates = [due for _, due in self._pending_timers()]
        return min(candidates) if candidates else None

    def _pending_timers(self) -> list[tuple[str, datetime]]:
        state = self._state
        status = self._status()
        if status in CLOSED_OR_OUT:
            return []
        pending: list[tuple[str, datetime]] = []
        ack_due = state.deadlines.acknowledgement_due
        if ack_due is not None and state.acknowledged_at is None and not self._raised("acknowledgement"):
            pending.append(("acknowledgement_overdue", ack_due))
        initial_done = any(i.kind == "initial" for i in state.inspections)
        if (
            state.inspection_due is not None
            and not initial_done
            and status in (S.RECEIVED, S.UNDER_INVESTIGATION)
            and not self._raised("initial-inspection")
        ):
            pending.append(("inspection_sla_missed", state.inspection_due))
        deadline = state.deadline
        if deadline is not None and status is S.AWAITING_COMPLIANCE and not deadline.expired:
            pending.append(("deadline_expired", deadline.due_at))
        if (
            status is S.REINSPECTION
            and state.reinspection_due is not None
            and not self._raised(self._reinspection_subject())
        ):
            pending.append(("reinspection_missed", state.reinspection_due))
        if (
            state.order_followup_due is not None
            and not self._order_followed_up()
            and not self._raised(f"order:{state.order_followup_step}")
        ):
            pending.append(("order_overdue", state.order_followup_due))
        return pending

    def _raised(self, subject: str) -> bool:
        return any(a.subject == subject for a in self._state.alerts)

    def _reinspection_subject(self) -> str:
        deadline = self._state.deadline
        return f"reinspection:{deadline.action_step_key}:{deadline.changes}" if deadline else "reinspection"

    def _order_followed_up(self) -> bool:
        """An order's deadline passed: followed up once a later action, compliance or
        closure happened (else the order is overdue)."""
        state = self._state
        if self._status() in (S.COMPLIED, S.CLOSED, S.REMEDIATION, S.AWAITING_COUNCIL_APPROVAL):
            return True
        steps = [a.step_key for a in state.actions]
        return state.order_followup_step in steps and steps.index(state.order_followup_step) < len(steps) - 1

    async def _process(self) -> None:
        """Fire every timer that is due, apply remediation news, settle alerts."""
        now = workflow.now()
        for kind, due in self._pending_timers():
            if due > now:
                continue
            if kind == "deadline_expired":
                await self._deadline_expired()
            elif kind == "acknowledgement_overdue":
                await self._raise_alert(
                    kind,
                    "acknowledgement",
                    due,
                    f"complainant not acknowledged by {self._local(due)} (policy 6.5.5)",
                )
            elif kind == "inspection_sla_missed":
                targets = self._state.targets
                days = targets.inspection_business_days if targets else 0
                await self._raise_alert(
                    kind,
                    "initial-inspection",
                    due,
                    f"no inspection by {self._local(due)} "
                    f"({self._state.priority} priority: {days} business day(s))",
                )
            elif kind == "reinspection_missed":
                deadline = self._state.deadline
                await self._raise_alert(
                    kind,
                    self._reinspection_subject(),
                    due,
                    f"no re-inspection by {self._local(due)} after compliance deadline "
                    f"{deadline.due_on if deadline else '?'}",
                )
            elif kind == "order_overdue":
                await self._raise_alert(
                    kind,
                    f"order:{self._state.order_followup_step}",
                    due,
                    f"order not complied with and no follow-up by {self._local(due)}",
                )
        await self._apply_remediation_news()
        await self._clear_resolved_alerts()

    async def _deadline_expired(self) -> None:
        deadline = self._state.deadline
        assert deadline is not None
        deadline.expired = True
        due_on = date.fromisoformat(deadline.due_on)
        closures = await self._calendar(due_on)
        targets = self._state.targets
        assert targets is not None
        self._state.reinspection_due = enforcement.close_of_business_after(
            due_on, targets.reinspection_business_days, self._zone, closures
        )
        order = next((a for a in self._state.actions if a.step_key == deadline.action_step_key), None)
        if order is not None and order.action == A.ORDER_TO_COMPLY.value:
            self._state.order_followup_due = enforcement.close_of_business_after(
                due_on, targets.order_followup_business_days, self._zone, closures
            )
            self._state.order_followup_step = order.step_key
        try:
            await self._move(
                S.REINSPECTION,
                f"compliance deadline {deadline.due_on} ({deadline.number}) expired; re-inspection due by "
                f"{self._local(self._state.reinspection_due).isoformat()}",
                SYSTEM,
                durable=True,
            )
        except ApplicationError as err:
            # The record refused the step: visible on the timeline rather than failing the case.
            self._note("problem", f"re-inspection status not recorded: {err.message}", SYSTEM)
            self._changed()

    async def _raise_alert(self, kind: str, subject: str, due: datetime, detail: str) -> None:
        step = self._step("alert")
        now = workflow.now()
        await self._activity(
            LifecycleActivities.raise_alert,
            RaiseAlertInput(
                case_number=self._state.case_number,
                step_key=step,
                kind=kind,
                due_at=due,
                detail=detail,
                occurred_at=now,
            ),
            bounded=False,
            tolerate=True,
        )
        self._state.alerts.append(
            AlertRecord(kind=kind, step_key=step, due_at=due, raised_at=now, detail=detail, subject=subject)
        )
        self._note("alert", f"{ALERT_PHRASE[kind]}: {detail}", SYSTEM)
        self._changed()

    def _resolved(self, alert: AlertRecord) -> str:
        """Why an open alert no longer applies, or "" while it still does."""
        state = self._state
        status = self._status()
        if status in CLOSED_OR_OUT:
            return f"case {status.value}"
        if alert.kind == "acknowledgement_overdue" and state.acknowledged_at is not None:
            return "acknowledgement sent"
        if alert.kind == "inspection_sla_missed" and any(i.kind == "initial" for i in state.inspections):
            return "inspected"
        if alert.kind == "reinspection_missed" and (
            status is not S.REINSPECTION or alert.subject != self._reinspection_subject()
        ):
            return "re-inspected or deadline changed"
        if alert.kind == "order_overdue" and (
            self._order_followed_up() or alert.subject != f"order:{state.order_followup_step}"
        ):
            return "order followed up"
        return ""

    async def _clear_resolved_alerts(self) -> None:
        for alert in self._state.alerts:
            if alert.cleared_at is not None:
                continue
            reason = self._resolved(alert)
            if not reason:
                continue
            await self._activity(
                LifecycleActivities.clear_alert,
                ClearAlertInput(
                    case_number=self._state.case_number,
                    step_key=alert.step_key,
                    reason=reason,
                    occurred_at=workflow.now(),
                ),
                bounded=False,
                tolerate=True,
            )
            alert.cleared_at = workflow.now()
            self._note("alert_cleared", f"{ALERT_PHRASE[alert.kind]} cleared: {reason}", SYSTEM)
            self._changed()

    async def _apply_remediation_news(self) -> None:
        remediation = self._state.remediation
        while self._progress_inbox:
            progress = self._progress_inbox.pop(0)
            if remediation is None or progress.work_order_seq != remediation.work_order_seq:
                continue
            remediation.detail = progress.detail
            remediation.case_status = progress.case_status
            try:
                target = rules.parse_status(progress.case_status)
                rules.check_transition(self._status(), target, progress.detail)
            except rules.RuleViolation:
                # Same status again, or a step the lifecycle does not take: noted only.
                self._note("remediation", progress.detail, SYSTEM)
                self._changed()
                continue
            await self._move(target, progress.detail, SYSTEM, durable=True)
        if remediation is None or not remediation.running or not self._child_done:
            return
        remediation.running = False
        result = self._child_result
        if result is not None and result.outcome == "completed":
            remediation.outcome = "completed"
            if (
                self._status() is not S.REMEDIATION
                and S.REMEDIATION in rules.ALLOWED_TRANSITIONS[self._status()]
            ):
                await self._move(S.REMEDIATION, "remediation work completed", SYSTEM, durable=True)
            recovery = (
                "paid"
                if result.paid
                else ("added to the tax roll" if result.added_to_tax_roll else "invoiced to the owner")
            )
            await self._close(
                rules.ClosureOutcome.REMEDIATION,
                f"work order {result.work_order_seq} completed at the owner's expense "
                f"({enforcement_money(result.actual_cost_cents)}, invoice {result.invoice_number or '-'}, "
                f"{recovery})"
                + ("; emergency approval reported to Council (6.5.14)" if result.emergency else ""),
                SYSTEM,
                durable=True,
            )
            return
        remediation.outcome = result.outcome if result is not None else "failed"
        why = {
            "refused_by_council": "Council refused the remediation (policy 6.5.13); enforcement continues",
            "cancelled": "the remediation was cancelled; enforcement continues",
        }.get(
            remediation.outcome,
            f"the remediation did not complete ({self._child_failure}); enforcement continues",
        )
        if self._status() is not S.ESCALATED and S.ESCALATED in rules.ALLOWED_TRANSITIONS[self._status()]:
            await self._move(S.ESCALATED, why, SYSTEM, durable=True)
        else:
            self._note("remediation", why, SYSTEM)
            self._changed()

    # ------------------------------------------------------------------ activities

    async def _load_targets(self) -> None:
        received_on = self._local(self._state.timeline[0].at)
        if self._input.targets is not None and self._from_input:
            targets = self._input.targets
        else:
            targets = await workflow.execute_activity_method(
                LifecycleActivities.lifecycle_policy,
                LifecyclePolicyInput(
                    case_number=self._state.case_number,
                    priority=self._state.priority,
                    received_on=received_on.isoformat(),
                ),
                start_to_close_timeout=RECORD_STATUS_START_TO_CLOSE,
                retry_policy=ACTIVITY_RETRY,
            )
        self._state.targets = targets
        if self._state.inspection_due is None:
            self._state.inspection_due = enforcement.close_of_business_after(
                received_on, targets.inspection_business_days, self._zone, _dates(targets.closure_days)
            )
        self._note(
            "targets",
            f"first inspection due by {self._local(self._state.inspection_due).isoformat()} "
            f"({targets.inspection_business_days} business day(s), targets {targets.sla_version})",
            SYSTEM,
        )
        self._changed()

    async def _calendar(self, start: date) -> list[date]:
        """The Town's declared closure days from ``start`` on (read afresh: a snow day may
        have been declared since the case began)."""
        days: list[str] = await workflow.execute_activity_method(
            LifecycleActivities.town_calendar,
            CalendarInput(from_date=start.isoformat(), to_date=(start + CALENDAR_LOOKAHEAD).isoformat()),
            start_to_close_timeout=RECORD_STATUS_START_TO_CLOSE,
            retry_policy=ACTIVITY_RETRY,
        )
        if self._state.targets is not None:
            known = set(self._state.targets.closure_days) | set(days)
            self._state.targets.closure_days = sorted(known)
        return _dates(days)

    async def _document(
        self,
        template: str,
        step_key: str,
        facts: dict[str, Any],
        actor: str,
        attach: tuple[str, str] | None = None,
    ) -> DocumentRef | None:
        result: DocumentRef | None = await self._activity(
            LifecycleActivities.issue_document,
            IssueDocumentInput(
                case_number=self._state.case_number,
                template=template,
                step_key=step_key,
                facts={k: v for k, v in facts.items() if v not in ("", None, [])},
                actor=actor,
                attach_record=attach[0] if attach else "",
                attach_step_key=attach[1] if attach else "",
            ),
            bounded=False,
            tolerate=True,
            document=True,
        )
        return result

    async def _activity(
        self, method: Any, arg: Any, *, bounded: bool, tolerate: bool = False, document: bool = False
    ) -> Any:
        """Run a lifecycle activity. ``bounded``: the first write of a staff action, which
        may fail the update (nothing changed yet). Otherwise the step follows writes already
        made, so it retries until it succeeds; a business refusal is then noted on the
        timeline (``tolerate``) or fails the update."""
        try:
            return await workflow.execute_activity_method(
                method,
                arg,
                start_to_close_timeout=DOCUMENT_START_TO_CLOSE if document else RECORD_STATUS_START_TO_CLOSE,
                heartbeat_timeout=DOCUMENT_HEARTBEAT if document else None,
                schedule_to_close_timeout=RECORD_STATUS_SCHEDULE_TO_CLOSE if bounded else None,
                retry_policy=ACTIVITY_RETRY,
            )
        except ActivityError as err:
            cause = err.cause
            message = cause.message if isinstance(cause, ApplicationError) else str(cause or err)
            if tolerate and not bounded:
                self._note("problem", f"{getattr(method, '__name__', 'step')} refused: {message}", SYSTEM)
                return None
            error_type = cause.type if isinstance(cause, ApplicationError) and cause.type else "RecordFailed"
            details = cause.details if isinstance(cause, ApplicationError) else ()
            raise ApplicationError(message, *details, type=error_type, non_retryable=True) from err

    async def _record_status(
        self,
        status: rules.CaseStatus,
        seq: int,
        reason: str,
        actor: str,
        outcome: str = "",
        durable: bool = False,
    ) -> None:
        case_number = self._state.case_number
        try:
            await workflow.execute_activity_method(
                CaseActivities.record_status,
                RecordStatusInput(
                    case_number=case_number,
                    status=status.value,
                    # Same key on every retry of this step, so cases records it once.
                    step_key=f"{case_number}:{seq}:{status.value}",
                    occurred_at=workflow.now(),
                    reason=reason,
                    actor=actor or SYSTEM,
                    outcome=outcome,
                ),
                start_to_close_timeout=RECORD_STATUS_START_TO_CLOSE,
                # A step that follows writes already made retries until cases answers.
                schedule_to_close_timeout=None if durable else RECORD_STATUS_SCHEDULE_TO_CLOSE,
                retry_policy=ACTIVITY_RETRY,
            )
        except ActivityError as err:
            # The update fails with a readable answer; the workflow and its status stay as
            # they were, so the staff member can correct the request or try again.
            cause = err.cause
            message = cause.message if isinstance(cause, ApplicationError) else str(cause or err)
            error_type = cause.type if isinstance(cause, ApplicationError) and cause.type else "RecordFailed"
            raise ApplicationError(
                f"the cases service did not record status {status.value}: {message}",
                type=error_type,
                non_retryable=True,
            ) from err

    async def _adopt_case_record(self) -> None:
        """Zone and assigned officer come from the system of record when cases knows them
        (it may assign at creation), so the search attributes are true from the start."""
        snapshot = await workflow.execute_activity_method(
            CaseActivities.get_case,
            GetCaseInput(case_number=self._state.case_number),
            start_to_close_timeout=GET_CASE_START_TO_CLOSE,
            retry_policy=ACTIVITY_RETRY,
        )
        changed = False
        if snapshot.zone_code and snapshot.zone_code != self._state.zone:
            self._state.zone = snapshot.zone_code
            changed = True
        if snapshot.assigned_officer_id and snapshot.assigned_officer_id != self._state.assigned_officer:
            self._state.assigned_officer = snapshot.assigned_officer_id
            changed = True
        if self._v2 and snapshot.department:
            self._state.department = snapshot.department
        if changed:
            self._publish()

    # ------------------------------------------------------------------ publishing

    def _changed(self) -> None:
        self._changes_this_run += 1
        self._wake += 1
        self._publish()

    def _note(self, event: str, note: str, actor: str) -> None:
        self._state.timeline.append(
            TimelineEntry(
                at=workflow.now(), event=event, status=self._state.status, note=note, actor=actor or SYSTEM
            )
        )

    def _publish(self) -> None:
        """Search attributes and current details follow the state (DESIGN.md section 3)."""
        state = self._state
        updates: list[SearchAttributeUpdate] = [  # type: ignore[type-arg]
            CASE_NUMBER.value_set(state.case_number),
            CASE_STATUS.value_set(state.status),
            CASE_PRIORITY.value_set(state.priority),
            SERVICE_CODE.value_set(state.service_code),
            BYLAW_NUMBER.value_set(state.bylaw_number),
        ]
        if state.zone:
            updates.append(ZONE.value_set(state.zone))
        if state.assigned_officer:
            updates.append(ASSIGNED_OFFICER.value_set(state.assigned_officer))
        if self._v2:
            # ComplianceDeadline is true while a deadline governs the case: pending, or
            # passed and awaiting re-inspection; unset once it no longer does.
            deadline = state.deadline
            if deadline is not None:
                updates.append(COMPLIANCE_DEADLINE.value_set(deadline.due_at))
            elif self._attributes is not None and self._attributes.get("ComplianceDeadline") is not None:
                updates.append(COMPLIANCE_DEADLINE.value_unset())
            wanted: dict[str, object] = {u.key.name: getattr(u, "value", None) for u in updates}
            # Only real changes become commands: a long case would otherwise fill its
            # history with identical upserts.
            if wanted != self._attributes:
                workflow.upsert_search_attributes(updates)
                self._attributes = {k: v for k, v in wanted.items() if v is not None}
        else:
            workflow.upsert_search_attributes(updates)
        state.current_details = rules.current_details(self._details_facts())
        workflow.set_current_details(state.current_details)

    def _details_facts(self) -> rules.DetailsFacts:
        state = self._state
        base: dict[str, Any] = {
            "status": rules.CaseStatus(state.status),
            "priority": state.priority,
            "service_code": state.service_code,
            "bylaw_number": state.bylaw_number,
            "received_on": self._local_date(state.timeline[0].at),
            "acknowledgement_due_on": (
                self._local_date(state.deadlines.acknowledgement_due)
                if state.deadlines.acknowledgement_due
                else None
            ),
            "assigned_officer": state.assigned_officer,
            "outcome": state.outcome,
            "closed_on": self._local_date(state.closed_at) if state.closed_at else None,
        }
        if not self._v2:
            return rules.DetailsFacts(**base)
        deadline = state.deadline
        return rules.DetailsFacts(
            **base,
            acknowledged=state.acknowledged_at is not None,
            inspection_due_on=(
                self._local_date(state.inspection_due)
                if state.inspection_due and not any(i.kind == "initial" for i in state.inspections)
                else None
            ),
            inspection_scheduled_on=self._local_date(state.scheduled.scheduled_for)
            if state.scheduled
            else None,
            compliance_due_on=date.fromisoformat(deadline.due_on) if deadline else None,
            deadline_document=(
                f"{ACTION_NAME.get(self._action_of(deadline.action_step_key), 'Notice')} {deadline.number}"
                if deadline
                else ""
            ),
            reinspection_due_on=self._local_date(state.reinspection_due) if state.reinspection_due else None,
            next_step=enforcement.usual_next(a.action for a in state.actions).value,
            remediation_detail=state.remediation.detail if state.remediation else "",
            alerts=tuple(ALERT_PHRASE[a.kind] for a in state.alerts if a.cleared_at is None),
        )

    def _action_of(self, step_key: str) -> str:
        return next((a.action for a in self._state.actions if a.step_key == step_key), "")

    # ------------------------------------------------------------------ helpers

    def _step(self, kind: str) -> str:
        """The next step key of this kind: the same on every retry of the step's activity,
        and never reused across steps (continue-as-new carries the counters)."""
        counters = self._state.counters
        counters[kind] = counters.get(kind, 0) + 1
        return f"{self._state.case_number}:{kind}:{counters[kind]}"

    def _status(self) -> rules.CaseStatus:
        return rules.CaseStatus(self._state.status)

    def _today(self) -> date:
        return self._local_date(workflow.now())

    def _local(self, at: datetime) -> date:
        return self._local_date(at)

    def _figures(self, until: datetime) -> enforcement.ClosureFigures:
        orders = [a for a in self._state.actions if a.action == A.ORDER_TO_COMPLY.value]
        targets = self._state.targets
        return enforcement.closure_figures(
            self._local_date(self._state.timeline[0].at),
            self._local_date(until),
            self._local_date(orders[0].occurred_at) if orders else None,
            _dates(targets.closure_days) if targets else (),
        )

    def _is_closed(self) -> bool:
        return self._state.status == rules.CaseStatus.CLOSED.value

    def _history_too_long(self) -> bool:
        if self._changes_this_run == 0:
            # A fresh run has nothing new to carry; continuing again would only loop.
            return False
        if self._v2 and self._state.remediation is not None and self._state.remediation.running:
            return False  # the child's result returns to this run
        info = workflow.info()
        limit = self._input.history_event_limit
        return info.is_continue_as_new_suggested() or (0 < limit <= info.get_current_history_length())

    def _result(self) -> CaseLifecycleResult:
        closed_at = self._state.closed_at or workflow.now()
        received_on = self._local_date(self._state.timeline[0].at)
        closure = self._state.closure
        return CaseLifecycleResult(
            case_number=self._state.case_number,
            outcome=self._state.outcome,
            closed_at=closed_at,
            days_open=(self._local_date(closed_at) - received_on).days,
            transitions=self._state.transitions,
            days_since_order=closure.days_since_order if closure else -1,
            business_days_open=closure.business_days_open if closure else 0,
        )

    def _local_date(self, at: datetime) -> date:
        return _aware(at).astimezone(self._zone).date()


_STEP_FOR = {
    S.NOTICE_ISSUED: "an enforcement action (take_enforcement_action)",
    S.AWAITING_COMPLIANCE: "an enforcement action with a compliance date",
    S.REINSPECTION: "the compliance deadline expiring",
    S.COMPLIED: "a re-inspection that confirms compliance (record_inspection)",
    S.ESCALATED: "a failed re-inspection or an enforcement action",
    S.AWAITING_COUNCIL_APPROVAL: "direct enforcement (the remediation workflow)",
    S.REMEDIATION: "direct enforcement (the remediation workflow)",
}


def enforcement_money(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"


def _dates(values: list[str]) -> list[date]:
    return [date.fromisoformat(v) for v in values]


def _check_input(input: CaseLifecycleInput, found: list[str]) -> None:
    """A malformed start fails the workflow at once instead of running a broken case."""
    problems = list(found)
    if not input.case_number:
        problems.append("case_number: required")
    if not input.service_code:
        problems.append("service_code: required (Appendix A)")
    try:
        rules.parse_priority(input.priority)
    except rules.RuleViolation as violation:
        problems.append(str(violation))
    if problems:
        raise ApplicationError("; ".join(problems), type=ERROR_INVALID_ARGUMENT, non_retryable=True)


def _rejection(violation: rules.RuleViolation) -> ApplicationError:
    error_type = (
        ERROR_INVALID_TRANSITION if violation.field in ("status", "outcome") else ERROR_INVALID_ARGUMENT
    )
    return ApplicationError(
        str(violation),
        {"field": violation.field, "rule": violation.rule, "policy": violation.policy},
        type=error_type,
        non_retryable=True,
    )


def _aware(at: datetime) -> datetime:
    # Payloads should carry zoned datetimes; a naive one is taken as UTC, never local.
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
