"""The worker of the open-cases footprint benchmark: ``python -m tests.bench.lifecycle_worker``.

The real ``CaseLifecycleWorkflow`` on a real Worker configured as ``workflows.worker``
configures it (same task queue settings, the SDK's default workflow cache), with lean
in-memory activities that answer like the services and keep nothing: the benchmark measures
what 10,000 open cases cost the worker and the Temporal server, not the cases service.
Reads ``BYLAW_TEMPORAL_ADDRESS``, ``BYLAW_TEMPORAL_NAMESPACE`` and
``BYLAW_TEMPORAL_TASK_QUEUE``; logs "worker started" once polling; stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from workflows import activities as case_activities
from workflows import lifecycle_activities as steps
from workflows.case_lifecycle import CaseLifecycleWorkflow
from workflows.contracts import LifecycleTargets, ScheduledInspection
from workflows.worker import GRACEFUL_SHUTDOWN


@activity.defn(name=case_activities.GET_CASE)
async def get_case(request: case_activities.GetCaseInput) -> case_activities.CaseSnapshot:
    return case_activities.CaseSnapshot(
        case_number=request.case_number,
        status="received",
        priority="high",
        service_code="pool-fence",
        bylaw_number="2010-0049",
        zone_code="DOWNTOWN",
        assigned_officer_id="OFF-BD-01",
        restricted=False,
        department="BD",
    )


@activity.defn(name=case_activities.RECORD_STATUS)
async def record_status(request: case_activities.RecordStatusInput) -> case_activities.RecordStatusResult:
    return case_activities.RecordStatusResult(case_number=request.case_number, status=request.status)


@activity.defn(name=steps.LIFECYCLE_POLICY)
async def lifecycle_policy(request: steps.LifecyclePolicyInput) -> LifecycleTargets:
    return LifecycleTargets("bench", 1, 2, 10, [])


@activity.defn(name=steps.TOWN_CALENDAR)
async def town_calendar(request: steps.CalendarInput) -> list[str]:
    return []


@activity.defn(name=steps.ASSIGN_CASE)
async def assign_case(request: steps.AssignInput) -> steps.AssignResult:
    return steps.AssignResult(officer_id=request.officer_id, department="BD")


@activity.defn(name=steps.SCHEDULE_INSPECTION)
async def schedule_inspection(request: steps.ScheduleInput) -> ScheduledInspection:
    return ScheduledInspection(request.step_key, request.kind, request.scheduled_for, request.officer_id)


@activity.defn(name=steps.RECORD_INSPECTION)
async def record_inspection(request: steps.RecordInspectionInput) -> steps.InspectionOutcome:
    failed = [f for f in request.findings if f.result == "non_compliant"]
    return steps.InspectionOutcome(
        step_key=request.step_key,
        violation_found=bool(failed),
        bylaw_sections=["5.1"] if failed else [],
        checklist_id=request.checklist_id,
        checklist_title="Pool Enclosure Inspection",
        checklist_version="2026.1",
        finding_lines=[f"{f.item_id}: {f.result}" for f in request.findings],
        evidence_lines=[f.note for f in failed],
    )


@activity.defn(name=steps.RECORD_ACTION)
async def record_enforcement_action(request: steps.RecordActionInput) -> steps.RecordedAction:
    return steps.RecordedAction(
        seq=1, number=f"{request.case_number}-W1", bylaw_section=request.bylaw_section
    )


@activity.defn(name=steps.ISSUE_DOCUMENT)
async def issue_document(request: steps.IssueDocumentInput) -> steps.DocumentRef:
    return steps.DocumentRef(
        document_id=f"doc-{request.step_key}", template=request.template, title=request.template
    )


@activity.defn(name=steps.RECORD_DEADLINE_CHANGE)
async def record_deadline_change(request: steps.DeadlineChangeInput) -> None:
    return None


@activity.defn(name=steps.RAISE_ALERT)
async def raise_alert(request: steps.RaiseAlertInput) -> None:
    return None


@activity.defn(name=steps.CLEAR_ALERT)
async def clear_alert(request: steps.ClearAlertInput) -> None:
    return None


@activity.defn(name=steps.RECORD_CLOSURE)
async def record_closure(request: steps.RecordClosureInput) -> None:
    return None


ACTIVITIES: list[Any] = [
    get_case,
    record_status,
    lifecycle_policy,
    town_calendar,
    assign_case,
    schedule_inspection,
    record_inspection,
    record_enforcement_action,
    issue_document,
    record_deadline_change,
    raise_alert,
    clear_alert,
    record_closure,
]


async def main() -> None:
    client = await Client.connect(
        os.environ["BYLAW_TEMPORAL_ADDRESS"], namespace=os.environ.get("BYLAW_TEMPORAL_NAMESPACE", "default")
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    worker = Worker(
        client,
        task_queue=os.environ["BYLAW_TEMPORAL_TASK_QUEUE"],
        workflows=[CaseLifecycleWorkflow],
        activities=ACTIVITIES,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
    )
    async with worker:
        print("worker started", file=sys.stderr, flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
