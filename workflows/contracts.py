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
    # What intake already knows when it starts the case (from OpenCase and its own SLA
    # targets and calendar). With ``case_record_known`` the workflow starts in a single
    # workflow task, without reading the record back or asking for its targets: at 311
    # volume every activity and task at start is paid for once per complaint.
    case_record_known: bool = False
    assigned_officer: str = ""
    department: str = ""
    targets: LifecycleTargets | None = None
    # When the acknowledgement already went out (portal, 311, email: at once, policy
    # 6.5.5), so no acknowledgement signal follows and no overdue timer is needed.
    acknowledged_at: datetime | None = None


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
    # --- issue 4 (lifecycle version 2; absent from runs started before it) -------------
    lifecycle_version: int = 1
    department: str = ""
    acknowledged_at: datetime | None = None
    targets: LifecycleTargets | None = None
    inspection_due: datetime | None = None  # the priority's first-inspection target
    scheduled: ScheduledInspection | None = None
    inspections: list[InspectionRecord] = field(default_factory=list)
    violation_identified: bool = False
    violation_sections: list[str] = field(default_factory=list)
    recorded_risk: str = ""  # a risk to health or safety an officer recorded (6.2.4 c)
    actions: list[ActionRecord] = field(default_factory=list)
    deadline: ComplianceDeadlineState | None = None
    reinspection_due: datetime | None = None
    order_followup_due: datetime | None = None
    order_followup_step: str = ""  # the order whose follow-up is awaited
    alerts: list[AlertRecord] = field(default_factory=list)
    remediation: RemediationState | None = None
    work_orders: int = 0
    counters: dict[str, int] = field(default_factory=dict)  # numbers the step keys per kind
    closure: ClosureSummary | None = None


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
    # Issue 4: the closure's total timeline (seed journey, close step).
    days_since_order: int = -1  # -1 when no order was issued
    business_days_open: int = 0


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
    # Days the owner has to pay the invoice, stated in the owner's notice (policy 6.7.10);
    # 0: the cases service's configured period (BYLAW_CASES_REMEDIATION_PAYMENT_DAYS, 30).
    payment_period_days: int = 0
    # The Town's zone for local dates (a Council meeting date, a completion date).
    town_timezone: str = "America/Toronto"


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
    work_order_number: str = ""  # e.g. "BL-2026-000123-W1"


# ---------------------------------------------------------------------------------------
# The case lifecycle of issue 4: staff actions as validated updates (the gateway's staff API
# sends these), the state they build, and the summary query. Dates a person reads as a day
# (compliance dates, the date of a written request) travel as "YYYY-MM-DD" in the Town's
# time zone; instants as zoned datetimes.

QUERY_SUMMARY = "summary"
UPDATE_ASSIGN_OFFICER = "assign_officer"
UPDATE_SCHEDULE_INSPECTION = "schedule_inspection"
UPDATE_RECORD_INSPECTION = "record_inspection"
UPDATE_TAKE_ENFORCEMENT_ACTION = "take_enforcement_action"
UPDATE_EXTEND_DEADLINE = "extend_deadline"
UPDATE_SHORTEN_DEADLINE = "shorten_deadline"
ERROR_NOT_SUPPORTED = "NotSupported"  # a run started before issue 4 was asked for a new step


@dataclass
class AssignOfficerRequest:
    """A supervisor reassigns the case (spec 1.2)."""

    officer_id: str
    reason: str
    actor: str = ""


@dataclass
class ScheduleInspectionRequest:
    kind: str  # "initial" | "reinspection"
    scheduled_for: datetime
    officer_id: str = ""  # default: the assigned officer
    reason: str = ""  # required when later than the target (policy 6.5.4)
    actor: str = ""


@dataclass
class InspectionFinding:
    item_id: str  # an item of the checklist (config/checklists/*.yaml)
    result: str  # "compliant" | "non_compliant" | "not_applicable"
    note: str = ""  # what was observed; required when non-compliant (policy 6.7.1 a)
    evidence_ids: list[str] = field(default_factory=list)


@dataclass
class RecordInspectionRequest:
    kind: str  # "initial" | "reinspection"
    inspected_at: datetime
    checklist_id: str
    findings: list[InspectionFinding]
    notes: str = ""
    health_safety_risk: str = ""  # a risk to life, health or safety observed (6.2.4 c)
    actor: str = ""


@dataclass
class WorkOrderRequest:
    """Direct enforcement's work order, handed to the remediation child workflow."""

    work_description: str
    estimate_cents: int
    contractor: str
    private_land: bool = True


@dataclass
class EnforcementActionRequest:
    action: str  # workflows.enforcement_rules.Action value (policy 6.2.2)
    details: str = ""  # how the by-law is contravened; for "no_action", why (6.2.2 g)
    required_action: str = ""  # what must be done (policy 6.7.4)
    comply_by: str = ""  # YYYY-MM-DD (policy 6.7.4 b)
    fine_code: str = ""  # config/set_fines.yaml code, for "ticket" and "amp"
    bylaw_section: str = ""  # default: the section the inspection found contravened
    deviation_reason: str = ""  # given to the person when the usual path is departed from (6.4.7)
    justification: str = ""  # workflows.enforcement_rules.Justification value
    work_order: WorkOrderRequest | None = None  # "direct_enforcement" only
    actor: str = ""


@dataclass
class ExtendDeadlineRequest:
    new_date: str  # YYYY-MM-DD
    reason: str
    written_request_on: str  # YYYY-MM-DD: extensions are requested in writing (6.7.8)
    actor: str = ""


@dataclass
class ShortenDeadlineRequest:
    new_date: str  # YYYY-MM-DD
    reason: str  # the extraordinary circumstances (6.7.7)
    contact_attempted_at: datetime | None = None  # when contact with the resident was tried
    contact_method: str = ""
    actor: str = ""


@dataclass
class LifecycleTargets:
    """Service-level targets in force for the case (config/sla_targets.yaml, Town calendar)."""

    sla_version: str
    inspection_business_days: int
    reinspection_business_days: int
    order_followup_business_days: int
    closure_days: list[str] = field(default_factory=list)  # YYYY-MM-DD Town closure days


@dataclass
class ScheduledInspection:
    step_key: str
    kind: str
    scheduled_for: datetime
    officer_id: str = ""


@dataclass
class InspectionRecord:
    step_key: str
    kind: str
    inspected_at: datetime
    violation_found: bool
    bylaw_sections: list[str] = field(default_factory=list)
    checklist_id: str = ""
    report_document_id: str = ""
    evidence: list[str] = field(default_factory=list)  # non-compliant findings, for notices


@dataclass
class ActionRecord:
    seq: int
    step_key: str
    action: str
    number: str
    occurred_at: datetime
    comply_by: str = ""
    amount_cents: int = 0
    total_payable_cents: int = 0
    document_id: str = ""
    deviation: bool = False


@dataclass
class ComplianceDeadlineState:
    due_on: str  # YYYY-MM-DD, the compliance date as printed
    due_at: datetime  # the end of that day in the Town
    set_at: datetime
    action_step_key: str
    number: str  # the notice or order that set it
    issued_on: str  # YYYY-MM-DD
    changes: int = 0  # extensions and shortenings so far
    expired: bool = False


@dataclass
class AlertRecord:
    kind: str  # acknowledgement_overdue | inspection_sla_missed | reinspection_missed | order_overdue
    step_key: str
    due_at: datetime
    raised_at: datetime
    detail: str
    cleared_at: datetime | None = None
    subject: str = ""  # what it is about, so one condition raises one alert


@dataclass
class RemediationState:
    work_order_seq: int
    workflow_id: str
    case_status: str = ""
    detail: str = ""
    outcome: str = ""
    running: bool = True


@dataclass
class ClosureSummary:
    outcome: str
    closed_at: datetime
    days_since_complaint: int
    days_since_order: int  # -1 when no order was issued
    business_days_open: int
    first_order_at: datetime | None = None
    closure_document_id: str = ""


@dataclass
class CaseSummary:
    """What the ``summary`` query answers: the timeline in figures (seed spec 1.3)."""

    case_number: str
    status: str
    outcome: str
    received_at: datetime
    closed_at: datetime | None
    days_since_complaint: int
    days_since_order: int  # -1 when no order was issued
    business_days_open: int
    compliance_deadline: str  # YYYY-MM-DD or ""
    open_alerts: list[str]
    next_usual_action: str
    actions: list[str]
