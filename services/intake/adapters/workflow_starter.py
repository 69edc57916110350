"""Intake's side of ``CaseLifecycleWorkflow`` (workflows/contracts.py, DESIGN.md §3):
starting it for a new case, telling it the acknowledgement went out (signal
``acknowledgement_recorded``), and closing a case whose only complaint staff found
frivolous or vexatious (updates ``transition_status`` / ``close_case``).

Idempotent by construction: the id is ``case-<case_number>``; a running workflow with that
id is reused (USE_EXISTING) and a closed one is never started again (REJECT_DUPLICATE,
the case's lifecycle already ran). The search attributes a supervisor filters on are set
at start so the case is findable before the worker picks it up. Nothing here carries
complainant identity: the input, the id, the attributes and the summary are case data.
"""

from __future__ import annotations

import asyncio

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from services.common.errors import Unavailable
from services.intake.domain.model import MarkKind
from workflows import contracts

# Case statuses after which there is nothing to close.
_CLOSED = frozenset({"closed"})

INITIAL_STATUS = "received"
_TRANSIENT = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.ABORTED,
    RPCStatusCode.CANCELLED,
}


def initial_search_attributes(payload: contracts.CaseLifecycleInput) -> TypedSearchAttributes:
    pairs: list[SearchAttributePair[str]] = [
        SearchAttributePair(contracts.CASE_NUMBER, payload.case_number),
        SearchAttributePair(contracts.CASE_STATUS, INITIAL_STATUS),
        SearchAttributePair(contracts.CASE_PRIORITY, payload.priority),
        SearchAttributePair(contracts.SERVICE_CODE, payload.service_code),
        SearchAttributePair(contracts.BYLAW_NUMBER, payload.bylaw_number),
    ]
    if payload.zone:
        pairs.append(SearchAttributePair(contracts.ZONE, payload.zone))
    return TypedSearchAttributes(pairs)


class TemporalWorkflowStarter:
    def __init__(
        self, client: Client, task_queue: str = contracts.TASK_QUEUE, *, update_timeout: float = 10.0
    ) -> None:
        self.client = client
        self.task_queue = task_queue
        self.update_timeout = update_timeout

    async def start_case_workflow(self, payload: contracts.CaseLifecycleInput) -> None:
        try:
            await self.client.start_workflow(
                contracts.WORKFLOW_TYPE,
                payload,
                id=contracts.workflow_id(payload.case_number),
                task_queue=self.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=initial_search_attributes(payload),
                static_summary=f"Case {payload.case_number}: {payload.service_code} ({payload.priority})",
            )
        except WorkflowAlreadyStartedError:
            # Closed earlier with this id: the case's lifecycle already ran; nothing to do.
            return
        except RPCError as err:
            if err.status in _TRANSIENT:
                raise Unavailable(f"temporal: {err.status.name}") from err
            raise

    async def signal_acknowledgement(
        self, case_number: str, signal: contracts.AcknowledgementRecorded
    ) -> bool:
        handle = self.client.get_workflow_handle(contracts.workflow_id(case_number))
        try:
            await handle.signal(contracts.SIGNAL_ACKNOWLEDGEMENT_RECORDED, signal)
        except RPCError as err:
            if err.status in _TRANSIENT:
                raise Unavailable(f"temporal: {err.status.name}") from err
            if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                return False  # no such workflow, or it already completed
            raise
        return True

    async def reject_case(self, case_number: str, kind: MarkKind, complaint_id: str, actor: str) -> str:
        # The reason goes into the workflow history, which every supervisor can read: ids
        # and the policy only, never the staff's free-text reason (it may name people).
        reason = (
            f"Complaint {complaint_id}, the only complaint on this case, was found {kind.value} by staff "
            f"(policy {kind.policy}); the case is not acted on."
        )
        try:
            async with asyncio.timeout(self.update_timeout):
                return await self._reject(case_number, reason, actor)
        except TimeoutError:
            # The workflow did not answer (no worker, or its activity keeps retrying): the
            # closure stays pending and the sweep tries again, instead of holding the
            # staff member's request open.
            raise Unavailable("temporal: the case workflow did not answer in time") from None

    async def _reject(self, case_number: str, reason: str, actor: str) -> str:
        handle = self.client.get_workflow_handle(contracts.workflow_id(case_number))
        try:
            state = await handle.query(contracts.QUERY_STATE, result_type=contracts.CaseLifecycleState)
            if state.status in _CLOSED:
                return "already_closed"
            if state.status == "received":
                # Not investigated yet: the complaint is rejected outright (lifecycle:
                # received → rejected, closed with outcome rejected).
                await handle.execute_update(
                    contracts.UPDATE_TRANSITION_STATUS,
                    contracts.TransitionStatusRequest(status="rejected", reason=reason, actor=actor),
                )
                outcome = "rejected"
            elif state.status == "rejected":
                outcome = "rejected"
            else:
                # Investigation had started: no further action (policy 6.2.2 g).
                outcome = "dismissed"
            await handle.execute_update(
                contracts.UPDATE_CLOSE_CASE,
                contracts.CloseCaseRequest(outcome=outcome, reason=reason, actor=actor),
            )
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            return f"refused: {getattr(cause, 'message', None) or err}"
        except RPCError as err:
            if err.status in _TRANSIENT:
                raise Unavailable(f"temporal: {err.status.name}") from err
            if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                return "no_workflow"
            raise
        return "closed"
