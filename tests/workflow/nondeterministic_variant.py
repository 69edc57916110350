"""A CaseLifecycleWorkflow whose start differs from the real one by a single command (it
schedules the case-record read before upserting its search attributes). Registered under
the same workflow type, it must fail to replay the committed histories: the proof that
the replay test catches a non-deterministic change."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.activities import CaseActivities, GetCaseInput
    from workflows.contracts import CASE_STATUS, WORKFLOW_TYPE, CaseLifecycleInput


@workflow.defn(name=WORKFLOW_TYPE)
class ReorderedStartWorkflow:
    @workflow.run
    async def run(self, input: CaseLifecycleInput) -> None:
        await workflow.execute_activity_method(
            CaseActivities.get_case,
            GetCaseInput(case_number=input.case_number),
            start_to_close_timeout=timedelta(seconds=30),
        )
        workflow.upsert_search_attributes([CASE_STATUS.value_set("received")])
        await workflow.wait_condition(lambda: False)
