"""Starts ``CaseLifecycleWorkflow`` for a new case (workflows/contracts.py, DESIGN.md §3).

Idempotent by construction: the id is ``case-<case_number>``; a running workflow with that
id is reused (USE_EXISTING) and a closed one is never started again (REJECT_DUPLICATE,
the case's lifecycle already ran). The search attributes a supervisor filters on are set
at start so the case is findable before the worker picks it up. Nothing here carries
complainant identity: the input, the id, the attributes and the summary are case data.
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from services.common.errors import Unavailable
from workflows import contracts

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
    def __init__(self, client: Client, task_queue: str = contracts.TASK_QUEUE) -> None:
        self.client = client
        self.task_queue = task_queue

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
