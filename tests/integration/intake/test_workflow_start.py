"""Starting the case workflow is idempotent against the real Temporal dev server: the id
is case-<n>, a running workflow is reused, and a finished one is never started again."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from temporalio.client import Client, WorkflowExecutionStatus

from services.intake.adapters.workflow_starter import TemporalWorkflowStarter
from workflows import contracts


def payload(case_number: str) -> contracts.CaseLifecycleInput:
    return contracts.CaseLifecycleInput(
        case_number=case_number,
        service_code="zoning",
        bylaw_number="2002-0022",
        priority="medium",
        matrix_version="2023-07-25 #406/23",
        received_at=datetime.now(UTC),
        zone="Z-NORTH",
    )


async def test_start_is_idempotent_and_never_restarts_a_closed_case(
    temporal_address: str, temporal_namespace: str
) -> None:
    client = await Client.connect(temporal_address, namespace=temporal_namespace)
    starter = TemporalWorkflowStarter(client)
    case = f"BL-2026-{uuid.uuid4().int % 10**9:09d}"
    handle = client.get_workflow_handle(contracts.workflow_id(case))

    await starter.start_case_workflow(payload(case))
    first = await handle.describe()
    await starter.start_case_workflow(payload(case))  # a retry after a crash
    assert (await handle.describe()).run_id == first.run_id
    attrs = first.typed_search_attributes
    assert attrs.get(contracts.ZONE) == "Z-NORTH"
    assert attrs.get(contracts.CASE_STATUS) == "received"

    await handle.terminate("test: the case's lifecycle ended")
    await starter.start_case_workflow(payload(case))  # a very late retry
    after = await handle.describe()
    assert after.run_id == first.run_id
    assert after.status == WorkflowExecutionStatus.TERMINATED
