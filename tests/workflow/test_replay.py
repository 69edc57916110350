"""Replays every committed history (tests/workflow/histories/) against the current
CaseLifecycleWorkflow: a change to workflow code that running cases could not replay
fails here (DESIGN.md section 6). Re-record with ``python -m tests.workflow.record_histories``
only for new scenarios; old histories stay as long as such runs may exist."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from tests.workflow.nondeterministic_variant import ReorderedStartWorkflow
from tests.workflow.record_histories import HISTORIES, LEGACY, SCENARIOS
from workflows.case_lifecycle import PATCH_LIFECYCLE_V2, PATCH_START_FROM_INPUT, CaseLifecycleWorkflow

HISTORY_FILES = sorted(HISTORIES.glob("*.json"))
# Scenarios recorded after a later patch carry its marker too.
EXPECTED_PATCHES = {"lifecycle_started_from_input": [PATCH_LIFECYCLE_V2, PATCH_START_FROM_INPUT]}


def _load(path: Path) -> WorkflowHistory:
    # The workflow id is recorded in no event; any stable id will do for replay.
    return WorkflowHistory.from_json(f"replay-{path.stem}", path.read_text())


def test_every_scenario_has_a_committed_history() -> None:
    recorded = {path.name.split(".")[0] for path in HISTORY_FILES}
    # The legacy ones were recorded before PATCH_LIFECYCLE_V2 and stay for as long as
    # runs begun then may exist.
    assert recorded == set(SCENARIOS) | LEGACY, (
        "record missing histories: python -m tests.workflow.record_histories"
    )


@pytest.mark.parametrize("path", HISTORY_FILES, ids=[p.name for p in HISTORY_FILES])
def test_each_history_is_of_its_lifecycle_version(path: Path) -> None:
    """Legacy histories predate the patch (no marker); every new one carries it, so the
    replay above exercises both branches of ``workflow.patched``."""
    patches = [
        json.loads(payload.data)["id"]
        for event in _load(path).events
        if event.HasField("marker_recorded_event_attributes")
        and event.marker_recorded_event_attributes.marker_name == "core_patch"
        for detail in event.marker_recorded_event_attributes.details.values()
        for payload in detail.payloads
    ]
    scenario = path.name.split(".")[0]
    expected = EXPECTED_PATCHES.get(scenario, [PATCH_LIFECYCLE_V2])
    assert patches == ([] if scenario in LEGACY else expected)


@pytest.mark.parametrize("path", HISTORY_FILES, ids=[p.name for p in HISTORY_FILES])
async def test_history_replays_against_current_code(path: Path) -> None:
    result = await Replayer(workflows=[CaseLifecycleWorkflow]).replay_workflow(_load(path))
    assert result.replay_failure is None


async def test_a_non_deterministic_change_fails_replay() -> None:
    replayer = Replayer(workflows=[ReorderedStartWorkflow])
    for path in HISTORY_FILES:
        result = await replayer.replay_workflow(_load(path), raise_on_replay_failure=False)
        assert isinstance(result.replay_failure, NondeterminismError), path.name
