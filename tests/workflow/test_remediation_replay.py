"""Replays every committed RemediationWorkflow history
(tests/workflow/histories/remediation_workflow/) against the current workflow code: a
change that running remediations — some waiting months for Council or for a payment period
— could not replay fails here. Re-record with
``python -m tests.workflow.record_remediation_histories`` only for new scenarios."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from tests.workflow.record_remediation_histories import HISTORIES, SCENARIOS
from workflows import remediation_activities as acts
from workflows.contracts import REMEDIATION_WORKFLOW_TYPE, RemediationInput, RemediationResult
from workflows.remediation import RemediationWorkflow

HISTORY_FILES = sorted(HISTORIES.glob("*.json"))


def _load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(f"replay-{path.stem}", path.read_text())


@workflow.defn(name=REMEDIATION_WORKFLOW_TYPE)
class NoticeSkippingRemediation(RemediationWorkflow):
    """A careless change: the owner's notice (policy 6.7.10) no longer rendered first."""

    async def _render(self, document: str) -> None:
        if document != acts.OWNER_NOTICE:
            await super()._render(document)

    @workflow.run
    async def run(self, input: RemediationInput) -> RemediationResult:
        return await super().run(input)


def test_every_scenario_has_a_committed_history() -> None:
    assert {p.stem for p in HISTORY_FILES} == set(SCENARIOS), (
        "record missing histories: python -m tests.workflow.record_remediation_histories"
    )


@pytest.mark.parametrize("path", HISTORY_FILES, ids=[p.stem for p in HISTORY_FILES])
async def test_history_replays_against_current_code(path: Path) -> None:
    result = await Replayer(workflows=[RemediationWorkflow]).replay_workflow(_load(path))
    assert result.replay_failure is None


async def test_a_non_deterministic_change_fails_replay() -> None:
    replayer = Replayer(workflows=[NoticeSkippingRemediation])
    for path in HISTORY_FILES:
        result = await replayer.replay_workflow(_load(path), raise_on_replay_failure=False)
        assert isinstance(result.replay_failure, NondeterminismError), path.name


def test_histories_carry_no_owner_or_complainant_identity() -> None:
    for path in HISTORY_FILES:
        text = json.dumps(json.loads(path.read_text()))
        for needle in ("owner_name", "recipient_name", "complainant", "mailing_address"):
            assert needle not in text, (path.name, needle)
