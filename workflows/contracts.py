"""Names and payloads other components depend on (DESIGN.md section 3): the workflow
type, task queue, workflow id scheme, search attributes and the workflow's input.

Imported by intake (which starts workflows), the gateway (which signals/queries them) and
devstack (which registers the search attributes on the dev server); keep it free of
anything the Temporal sandbox would reject.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from temporalio.common import SearchAttributeKey

WORKFLOW_TYPE = "CaseLifecycleWorkflow"
TASK_QUEUE = "case-lifecycle"


def workflow_id(case_number: str) -> str:
    return f"case-{case_number}"


CASE_NUMBER = SearchAttributeKey.for_keyword("CaseNumber")
CASE_STATUS = SearchAttributeKey.for_keyword("CaseStatus")
CASE_PRIORITY = SearchAttributeKey.for_keyword("CasePriority")
SERVICE_CODE = SearchAttributeKey.for_keyword("ServiceCode")
BYLAW_NUMBER = SearchAttributeKey.for_keyword("BylawNumber")
ASSIGNED_OFFICER = SearchAttributeKey.for_keyword("AssignedOfficer")
ZONE = SearchAttributeKey.for_keyword("Zone")
COMPLIANCE_DEADLINE = SearchAttributeKey.for_datetime("ComplianceDeadline")

SEARCH_ATTRIBUTE_KEYS: tuple[SearchAttributeKey, ...] = (  # type: ignore[type-arg]
    CASE_NUMBER,
    CASE_STATUS,
    CASE_PRIORITY,
    SERVICE_CODE,
    BYLAW_NUMBER,
    ASSIGNED_OFFICER,
    ZONE,
    COMPLIANCE_DEADLINE,
)


@dataclass
class CaseLifecycleInput:
    """Everything the workflow needs to run a case. Never complainant identity: the
    workflow history is visible to every supervisor in the Temporal UI (policy 6.3.4)."""

    case_number: str
    service_code: str
    bylaw_number: str
    priority: str  # "high" | "medium" | "low"
    matrix_version: str
    received_at: datetime
    enforced_by: list[str] = field(default_factory=list)
    zone: str = ""
    property_roll_number: str = ""
    acknowledgement_due: datetime | None = None
    restricted: bool = False  # policy 6.10
    anonymous: bool = False  # policy 4.1
