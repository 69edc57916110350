"""``CaseLifecycleWorkflow``: the durable process of one enforcement case.

Temporal owns time and process (DESIGN.md section 2): this workflow is the authority on
lifecycle transitions. Staff actions arrive as validated *updates*; each accepted
transition is written to the cases service (the system of record) by an activity, then
mirrored in the typed search attributes and the workflow's *current details* so a
supervisor can find and read any case in the Temporal UI (DESIGN.md section 3).

Deterministic by construction: no I/O, time only from ``workflow.now()``, rules from the
pure ``workflows.lifecycle_rules``. Inputs, state and history carry no complainant
identity (policy 6.3.4). Long cases continue as new with their state.

Patch ids: this is the first released version, so no patch exists yet. Every later change
to the command sequence is guarded by ``workflow.patched(<ID>)`` with the id declared as a
named constant in this module, and the histories recorded before the change stay under
``tests/workflow/histories/`` so the replay tests prove old runs still replay.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, date, datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    # `import a.b as c`, not `from a import b`: the sandbox already holds its own copy of
    # the `workflows` package (this module's parent), and a from-import of a submodule
    # would load a sandboxed copy instead of passing the host's through.
    import workflows.lifecycle_rules as rules
    from workflows.activities import CaseActivities, GetCaseInput, RecordStatusInput
    from workflows.contracts import (
        ASSIGNED_OFFICER,
        BYLAW_NUMBER,
        CASE_NUMBER,
        CASE_PRIORITY,
        CASE_STATUS,
        ERROR_INVALID_ARGUMENT,
        ERROR_INVALID_TRANSITION,
        QUERY_STATE,
        QUERY_TIMELINE,
        SERVICE_CODE,
        UPDATE_CLOSE_CASE,
        UPDATE_TRANSITION_STATUS,
        WORKFLOW_TYPE,
        ZONE,
        CaseDeadlines,
        CaseLifecycleInput,
        CaseLifecycleResult,
        CaseLifecycleState,
        CloseCaseRequest,
        TimelineEntry,
        TransitionStatusRequest,
    )

SYSTEM = "system"

# The cases service may restart; keep retrying a write for a while, but give the staff
# member waiting on the update an answer within minutes rather than never.
RECORD_STATUS_START_TO_CLOSE = timedelta(seconds=30)
RECORD_STATUS_SCHEDULE_TO_CLOSE = timedelta(minutes=5)
# Reading the record at start has nobody waiting on it: retry until cases answers.
GET_CASE_START_TO_CLOSE = timedelta(seconds=30)
DEFAULT_TIMEZONE = "America/Toronto"
ACTIVITY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


@workflow.defn(name=WORKFLOW_TYPE)
class CaseLifecycleWorkflow:
    @workflow.init
    def __init__(self, input: CaseLifecycleInput) -> None:
        self._input = input
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
        if input.carried is not None:
            self._state = dataclasses.replace(input.carried, runs=input.carried.runs + 1)
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
        )

    @workflow.run
    async def run(self, input: CaseLifecycleInput) -> CaseLifecycleResult:
        _check_input(input, self._input_problems)
        self._publish()
        if input.carried is None:
            await self._adopt_case_record()
        while True:
            await workflow.wait_condition(lambda: self._is_closed() or self._history_too_long())
            # Let accepted updates answer their callers before this run ends.
            await workflow.wait_condition(workflow.all_handlers_finished)
            if self._is_closed():
                return self._result()
            workflow.continue_as_new(dataclasses.replace(self._input, carried=self._state))

    # ------------------------------------------------------------------ queries

    @workflow.query(name=QUERY_STATE)
    def state(self) -> CaseLifecycleState:
        return self._state

    @workflow.query(name=QUERY_TIMELINE)
    def timeline(self) -> list[TimelineEntry]:
        return self._state.timeline

    # ------------------------------------------------------------------ updates

    @workflow.update(name=UPDATE_TRANSITION_STATUS)
    async def transition_status(self, request: TransitionStatusRequest) -> CaseLifecycleState:
        async with self._lock:
            # Checked again under the lock: an update admitted by the validator may have
            # waited behind another that changed the status.
            target = self._checked_transition(request)
            seq = self._state.transitions + 1
            await self._record_status(target, seq, request.reason, request.actor)
            self._state.transitions = seq
            self._changes_this_run += 1
            self._state.status = target.value
            self._state.timeline.append(
                TimelineEntry(
                    at=workflow.now(),
                    event="status",
                    status=target.value,
                    note=request.reason,
                    actor=request.actor or SYSTEM,
                )
            )
            self._publish()
            return self._state

    @transition_status.validator
    def validate_transition_status(self, request: TransitionStatusRequest) -> None:
        self._checked_transition(request)

    @workflow.update(name=UPDATE_CLOSE_CASE)
    async def close_case(self, request: CloseCaseRequest) -> CaseLifecycleResult:
        async with self._lock:
            outcome = self._checked_closure(request)
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

    # ------------------------------------------------------------------ internals

    def _checked_transition(self, request: TransitionStatusRequest) -> rules.CaseStatus:
        if self._closing:
            raise _rejection(rules.RuleViolation("status", "the case is being closed"))
        try:
            target = rules.parse_status(request.status)
            rules.check_transition(rules.CaseStatus(self._state.status), target, request.reason)
        except rules.RuleViolation as violation:
            raise _rejection(violation) from None
        return target

    def _checked_closure(self, request: CloseCaseRequest) -> rules.ClosureOutcome:
        if self._closing:
            raise _rejection(rules.RuleViolation("status", "the case is already being closed"))
        try:
            outcome = rules.parse_outcome(request.outcome)
            rules.check_closure(rules.CaseStatus(self._state.status), outcome, request.reason)
        except rules.RuleViolation as violation:
            raise _rejection(violation) from None
        return outcome

    async def _record_status(
        self, status: rules.CaseStatus, seq: int, reason: str, actor: str, outcome: str = ""
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
                schedule_to_close_timeout=RECORD_STATUS_SCHEDULE_TO_CLOSE,
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
        if changed:
            self._publish()

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
        workflow.upsert_search_attributes(updates)
        state.current_details = rules.current_details(
            rules.DetailsFacts(
                status=rules.CaseStatus(state.status),
                priority=state.priority,
                service_code=state.service_code,
                bylaw_number=state.bylaw_number,
                received_on=self._local_date(state.timeline[0].at),
                acknowledgement_due_on=(
                    self._local_date(state.deadlines.acknowledgement_due)
                    if state.deadlines.acknowledgement_due
                    else None
                ),
                assigned_officer=state.assigned_officer,
                outcome=state.outcome,
                closed_on=self._local_date(state.closed_at) if state.closed_at else None,
            )
        )
        workflow.set_current_details(state.current_details)

    def _is_closed(self) -> bool:
        return self._state.status == rules.CaseStatus.CLOSED.value

    def _history_too_long(self) -> bool:
        if self._changes_this_run == 0:
            # A fresh run has nothing new to carry; continuing again would only loop.
            return False
        info = workflow.info()
        limit = self._input.history_event_limit
        return info.is_continue_as_new_suggested() or (0 < limit <= info.get_current_history_length())

    def _result(self) -> CaseLifecycleResult:
        closed_at = self._state.closed_at or workflow.now()
        received_on = self._local_date(self._state.timeline[0].at)
        return CaseLifecycleResult(
            case_number=self._state.case_number,
            outcome=self._state.outcome,
            closed_at=closed_at,
            days_open=(self._local_date(closed_at) - received_on).days,
            transitions=self._state.transitions,
        )

    def _local_date(self, at: datetime) -> date:
        return _aware(at).astimezone(self._zone).date()


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
