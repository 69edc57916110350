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
    # The Town's zone for local dates (acknowledgement due at the end of a local business day).
    town_timezone: str = "America/Toronto"
    # Continue-as-new once history has this many events, whichever comes first with the
    # server's own suggestion; 0 means only the server's suggestion.
    history_event_limit: int = 10_000
    # Set by the workflow itself when it continues as new: the state of the previous run.
    carried: CaseLifecycleState | None = None


# Message names of CaseLifecycleWorkflow (the gateway sends these).
QUERY_STATE = "state"
QUERY_TIMELINE = "timeline"
UPDATE_TRANSITION_STATUS = "transition_status"
UPDATE_CLOSE_CASE = "close_case"

# Error types of the ApplicationError a rejected update fails with.
ERROR_INVALID_TRANSITION = "InvalidTransition"
ERROR_INVALID_ARGUMENT = "InvalidArgument"


@dataclass
class TimelineEntry:
    """One dated step of a case (policy 6.5.10 f: all actions and steps are recorded)."""

    at: datetime
    event: str  # "received", "acknowledgement_due", "status", "closed", "continued", ...
    status: str  # the case status after this step
    note: str = ""
    actor: str = ""  # staff subject id or "system"; never a complainant


@dataclass
class CaseDeadlines:
    acknowledgement_due: datetime | None = None  # policy 6.5.5
    compliance_deadline: datetime | None = None  # policy 6.7.4-6.7.5


@dataclass
class CaseLifecycleState:
    """What the ``state`` query answers, and what continue-as-new carries."""

    case_number: str
    status: str
    priority: str
    service_code: str
    bylaw_number: str
    zone: str
    assigned_officer: str
    current_details: str
    deadlines: CaseDeadlines
    timeline: list[TimelineEntry]
    transitions: int = 0  # status changes so far; numbers each RecordStatus step_key
    outcome: str = ""
    closed_at: datetime | None = None
    runs: int = 1  # runs of this workflow id, counting continue-as-new


@dataclass
class TransitionStatusRequest:
    """Move a case to another status (validated against workflows.lifecycle_rules)."""

    status: str
    reason: str = ""
    actor: str = ""  # staff subject id from the verified token


@dataclass
class CloseCaseRequest:
    outcome: str  # workflows.lifecycle_rules.ClosureOutcome value
    reason: str
    actor: str = ""


@dataclass
class CaseLifecycleResult:
    case_number: str
    outcome: str
    closed_at: datetime
    days_open: int
    transitions: int


# ---------------------------------------------------------------------------------------
# Interfaces between the case lifecycle and its neighbours (issue 4). Pinned here so the
# parent workflow, the remediation child workflow, intake and the gateway can be built in
# parallel; extend with new optional fields only.

# Intake tells the case workflow when the complainant's acknowledgement went out (policy
# 6.5.5: within 2 business days). Until then the workflow's acknowledgement timer may
# raise an "acknowledgement overdue" alert.
SIGNAL_ACKNOWLEDGEMENT_RECORDED = "acknowledgement_recorded"


@dataclass
class AcknowledgementRecorded:
    sent_at: datetime
    channel: str  # "portal" | "email" | "311" | "mail" | "phone" ...
    complaint_id: str = ""  # our Open311 service_request_id; never the complainant identity


# Municipal remediation behind the $5,000 Council gate (policy 6.5.13-6.5.14, seed 3.4)
# runs as a child workflow of the case, one per work order.
REMEDIATION_WORKFLOW_TYPE = "RemediationWorkflow"
COUNCIL_GATE_CENTS = 500_000  # "expected to exceed $5,000" (policy 6.5.13)


def remediation_workflow_id(case_number: str, work_order_seq: int) -> str:
    return f"case-{case_number}-remediation-{work_order_seq}"


@dataclass
class RemediationInput:
    case_number: str
    work_order_seq: int  # 1, 2 ... within the case
    work_description: str  # what the contractor must do (no complainant identity)
    estimate_cents: int
    contractor: str
    private_land: bool  # the Council gate applies to entry onto private lands (6.5.13)
    requested_by: str  # officer subject
    property_roll_number: str = ""
    parent_workflow_id: str = ""  # the case workflow, which receives progress signals


# The child reports every status change to its parent, which stays the single authority
# on the case status (DESIGN.md section 2): it records it in cases and upserts CaseStatus,
# e.g. "awaiting_council_approval" while the child waits for Council.
SIGNAL_REMEDIATION_PROGRESS = "remediation_progress"


@dataclass
class RemediationProgress:
    work_order_seq: int
    case_status: str  # a case status: "awaiting_council_approval" | "remediation" | ...
    detail: str  # one human sentence for the parent's current details


@dataclass
class RemediationResult:
    work_order_seq: int
    # "completed" (work done and cost recovered or on the tax roll),
    # "refused_by_council", "cancelled"
    outcome: str
    actual_cost_cents: int = 0
    invoice_number: str = ""
    paid: bool = False
    added_to_tax_roll: bool = False
    emergency: bool = False  # approved under 6.5.14, reported to Council afterwards
