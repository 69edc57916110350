"""The Temporal worker process: ``python -m workflows.worker``.

Connects to ``BYLAW_TEMPORAL_ADDRESS`` / ``BYLAW_TEMPORAL_NAMESPACE``, registers the custom
search attributes if the namespace lacks them, and runs ``CaseLifecycleWorkflow``, its
``RemediationWorkflow`` child and their activities (the lifecycle's reach cases, notices
and intake, whose declared closure days make the Town's calendar) on the
``case-lifecycle`` task queue until SIGTERM/SIGINT, then lets in-flight activities finish
(graceful shutdown) before exiting. Logs "worker started" once polling; devstack waits for that line.
"""

from __future__ import annotations

import asyncio
import compileall
import gc
import inspect
import logging
import time
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from bylaw.v1.cases_pb2_grpc import CasesServiceStub
from bylaw.v1.intake_pb2_grpc import IntakeServiceStub
from bylaw.v1.notices_pb2_grpc import NoticesServiceStub
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from services.common.grpc_client import insecure_channel
from services.common.grpc_server import install_stop_signals
from services.common.logging import configure_logging
from services.common.runtime import run_event_loop
from services.common.settings import Settings, get_settings
from workflows.activities import CaseActivities
from workflows.case_lifecycle import CaseLifecycleWorkflow
from workflows.lifecycle_activities import LifecycleActivities
from workflows.lifecycle_config import load_config
from workflows.remediation import RemediationWorkflow
from workflows.remediation_activities import RemediationActivities
from workflows.search_attributes import ensure_search_attributes

if TYPE_CHECKING:  # the async stub type exists only in the generated .pyi
    from bylaw.v1.cases_pb2_grpc import CasesServiceAsyncStub
    from bylaw.v1.intake_pb2_grpc import IntakeServiceAsyncStub
    from bylaw.v1.notices_pb2_grpc import NoticesServiceAsyncStub

log = logging.getLogger(__name__)

GRACEFUL_SHUTDOWN = timedelta(seconds=20)
CONNECT_TIMEOUT_SECONDS = 60.0


async def connect(settings: Settings, wait_seconds: float = CONNECT_TIMEOUT_SECONDS) -> Client:
    """The Temporal client, retrying while the server comes up (compose starts us beside it)."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
        except RuntimeError as err:
            if time.monotonic() >= deadline:
                raise RuntimeError(f"Temporal at {settings.temporal_address} unreachable: {err}") from err
            log.warning("waiting for Temporal", extra={"address": settings.temporal_address})
            await asyncio.sleep(1.0)


WORKFLOW_CLASSES: tuple[type, ...] = (CaseLifecycleWorkflow, RemediationWorkflow)


def precompile_workflow_modules(classes: Iterable[type] = WORKFLOW_CLASSES) -> list[str]:
    """Write the bytecode of each workflow's module if it is missing or stale; return the
    files that could not be written.

    The sandbox imports a workflow's module afresh for every workflow it starts or rebuilds
    from history (how temporalio keeps runs apart). With no ``.pyc`` on disk (and
    PYTHONDONTWRITEBYTECODE, common in containers and CI, keeps Python from writing one)
    each of those imports compiles the source again: measured 11.1 ms per sandboxed import
    of case_lifecycle without bytecode against 3.1 ms with it — most of the worker's CPU per
    new case. A read-only install is left as it is (the image compiles at build time).
    """
    unwritable: list[str] = []
    for cls in classes:
        path = inspect.getsourcefile(cls)
        if path is None:
            continue
        try:
            ok = compileall.compile_file(path, quiet=2)
        except OSError:
            ok = False
        if not ok:
            unwritable.append(path)
            log.warning("workflow bytecode not written; sandboxed imports compile it", extra={"path": path})
    return unwritable


def build_worker(
    client: Client,
    activities: CaseActivities,
    task_queue: str,
    remediation: RemediationActivities | None = None,
    *,
    lifecycle: LifecycleActivities | None = None,
    sandboxed: bool = True,
) -> Worker:
    workflows: list[type] = [CaseLifecycleWorkflow]
    registered: list[Any] = [activities.record_status, activities.get_case]
    # --- the case lifecycle's steps (issue 4): inspections, actions, deadlines, alerts.
    if lifecycle is not None:
        registered.extend(lifecycle.all())
    # --- municipal remediation (issue 4 item 6): the case's child workflow, same queue.
    if remediation is not None:
        workflows.append(RemediationWorkflow)
        registered.extend(remediation.methods())
    # --- end remediation
    return Worker(
        client,
        task_queue=task_queue,
        workflows=workflows,
        activities=registered,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        # Sandboxed unless the operator chose otherwise (Settings.workflow_sandbox).
        workflow_runner=SandboxedWorkflowRunner() if sandboxed else UnsandboxedWorkflowRunner(),
    )


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    precompile_workflow_modules()
    client = await connect(settings)
    await ensure_search_attributes(client, settings.temporal_namespace)
    channel = insecure_channel(settings.cases_addr)
    notices_channel = insecure_channel(settings.notices_addr)  # remediation's documents
    intake_channel = insecure_channel(settings.intake_addr)  # the Town's declared closure days
    try:
        cases = cast("CasesServiceAsyncStub", CasesServiceStub(channel))
        notices = cast("NoticesServiceAsyncStub", NoticesServiceStub(notices_channel))
        intake = cast("IntakeServiceAsyncStub", IntakeServiceStub(intake_channel))
        remediation = RemediationActivities(cases, notices, settings.timezone)
        lifecycle = LifecycleActivities(cases, notices, intake, load_config())
        worker = build_worker(
            client,
            CaseActivities(cases),
            settings.temporal_task_queue,
            remediation,
            lifecycle=lifecycle,
            sandboxed=settings.workflow_sandbox,
        )
        async with worker:
            log.info(
                "worker started",
                extra={
                    "task_queue": settings.temporal_task_queue,
                    "namespace": settings.temporal_namespace,
                    "sandboxed": settings.workflow_sandbox,
                },
            )
            await stop.wait()
            log.info("worker stopping")
        log.info("worker stopped")
    finally:
        await channel.close()
        await notices_channel.close()
        await intake_channel.close()


async def _main(settings: Settings) -> None:
    stop = asyncio.Event()
    install_stop_signals(stop)
    await run_worker(settings, stop)


def main() -> None:
    settings = get_settings()
    configure_logging("worker", settings.log_level, settings.log_json)
    run_event_loop(_main(settings), settings.event_loop)
    # Release the gRPC channel (and with it grpc.aio's poller thread) now, while the
    # interpreter is whole: left to interpreter finalization, that thread can take the
    # GIL after Python has torn down and abort the process (exit -6) after a clean stop.
    gc.collect()


if __name__ == "__main__":
    main()
