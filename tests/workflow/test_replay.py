"""Replays every committed history (tests/workflow/histories/) against the current
CaseLifecycleWorkflow: a change to workflow code that running cases could not replay
fails here (DESIGN.md section 6). Re-record with ``python -m tests.workflow.record_histories``
only for new scenarios; old histories stay as long as such runs may exist."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from tests.workflow.nondeterministic_variant import ReorderedStartWorkflow
from tests.workflow.record_histories import HISTORIES, SCENARIOS
from workflows.case_lifecycle import CaseLifecycleWorkflow

HISTORY_FILES = sorted(HISTORIES.glob("*.json"))


def _load(path: Path) -> WorkflowHistory:
    # The workflow id is recorded in no event; any stable id will do for replay.
    return WorkflowHistory.from_json(f"replay-{path.stem}", path.read_text())


def test_every_scenario_has_a_committed_history() -> None:
    recorded = {path.name.split(".")[0] for path in HISTORY_FILES}
    assert recorded == set(SCENARIOS), "record missing histories: python -m tests.workflow.record_histories"


@pytest.mark.parametrize("path", HISTORY_FILES, ids=[p.name for p in HISTORY_FILES])
async def test_history_replays_against_current_code(path: Path) -> None:
    result = await Replayer(workflows=[CaseLifecycleWorkflow]).replay_workflow(_load(path))
    assert result.replay_failure is None


async def test_a_non_deterministic_change_fails_replay() -> None:
    replayer = Replayer(workflows=[ReorderedStartWorkflow])
    for path in HISTORY_FILES:
        result = await replayer.replay_workflow(_load(path), raise_on_replay_failure=False)
        assert isinstance(result.replay_failure, NondeterminismError), path.name
