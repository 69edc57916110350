"""One case-status vocabulary (DESIGN.md section 3) across the parts that keep their own
enum: the cases domain, the gateway's API models and the lifecycle rules each spell every
status of the proto contract (bylaw.v1.CaseStatus), and nothing else. A status added in
one place and not the others fails here, not in a running case."""

from __future__ import annotations

from enum import StrEnum

import pytest
from bylaw.v1 import common_pb2

from services.cases.domain.cases import CaseStatus as CasesStatus
from services.gateway.api.models import CaseStatusName as GatewayStatus
from workflows.lifecycle_rules import CaseStatus as LifecycleStatus

CONTRACT = {
    value.name.removeprefix("CASE_STATUS_").lower()
    for value in common_pb2.CaseStatus.DESCRIPTOR.values
    if value.number != common_pb2.CASE_STATUS_UNSPECIFIED
}


def test_the_contract_names_the_twelve_statuses_of_the_design() -> None:
    assert len(CONTRACT) == 12 and {"received", "awaiting_council_approval", "closed"} <= CONTRACT


@pytest.mark.parametrize("vocabulary", [CasesStatus, GatewayStatus, LifecycleStatus])
def test_every_vocabulary_spells_exactly_the_contracts_statuses(vocabulary: type[StrEnum]) -> None:
    assert {status.value for status in vocabulary} == CONTRACT
    # Member names follow the proto's, so conversions by name cannot miss.
    assert {status.name.lower() for status in vocabulary} == CONTRACT
