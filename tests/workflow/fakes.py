"""In-memory stand-ins for the lifecycle activities (same names and payloads as
``workflows.lifecycle_activities.LifecycleActivities``) and a fake remediation child
workflow, for the time-skipping workflow tests and the history recorder.

The fakes keep the contracts that matter to the workflow: each write is idempotent on its
step key (a retried step records nothing new), findings are checked against a checklist,
fines come from a schedule, and business refusals are non-retryable ApplicationErrors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.exceptions import ApplicationError

# The fake child workflow is validated in the sandbox: what it imports passes through.
with workflow.unsafe.imports_passed_through():
    from workflows.contracts import (
        COUNCIL_GATE_CENTS,
        LifecycleTargets,
        RemediationInput,
        RemediationProgress,
        RemediationResult,
        ScheduledInspection,
    )
    from workflows.lifecycle_activities import (
        ASSIGN_CASE,
        CLEAR_ALERT,
        ISSUE_DOCUMENT,
        LIFECYCLE_POLICY,
        RAISE_ALERT,
        RECORD_ACTION,
        RECORD_CLOSURE,
        RECORD_DEADLINE_CHANGE,
        RECORD_INSPECTION,
        SCHEDULE_INSPECTION,
        TOWN_CALENDAR,
        AssignInput,
        AssignResult,
        CalendarInput,
        ClearAlertInput,
        DeadlineChangeInput,
        DocumentRef,
        InspectionOutcome,
        IssueDocumentInput,
        LifecyclePolicyInput,
        RaiseAlertInput,
        RecordActionInput,
        RecordClosureInput,
        RecordedAction,
        RecordInspectionInput,
        ScheduleInput,
    )

# A pool-fence checklist in miniature: item -> by-law section.
CHECKLIST = {"enclosure-complete": "4.1", "gate-self-closing": "5.1", "condition": "6.1"}
FINES = {"POOL-GATE": ("ticket", 20000, 25500, "Fail to equip a gate with a self-latching device", "5.1")}
PREFIX = {
    "education": "W",
    "compliance_notice": "N",
    "order_to_comply": "O",
    "ticket": "T",
    "amp": "P",
    "prosecution_referral": "R",
    "direct_enforcement": "D",
    "no_action": "X",
}
OFFICERS = {"officer-7": "BD", "officer-9": "BE", "officer-12": "BD"}


def findings(failing: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Findings for every item of the miniature checklist, as update payload dicts."""
    failing = failing or {}
    return [
        {"item_id": item, "result": "non_compliant", "note": failing[item]}
        if item in failing
        else {"item_id": item, "result": "compliant"}
        for item in CHECKLIST
    ]


@dataclass
class FakeLifecycle:
    inspection_business_days: int = 1
    closure_days: list[str] = field(default_factory=list)
    inspections: dict[str, RecordInspectionInput] = field(default_factory=dict)
    actions: dict[str, tuple[RecordActionInput, RecordedAction]] = field(default_factory=dict)
    documents: dict[str, IssueDocumentInput] = field(default_factory=dict)
    render_calls: list[str] = field(default_factory=list)
    deadline_changes: dict[str, DeadlineChangeInput] = field(default_factory=dict)
    alerts: dict[str, RaiseAlertInput] = field(default_factory=dict)
    cleared: dict[str, ClearAlertInput] = field(default_factory=dict)
    closures: list[RecordClosureInput] = field(default_factory=list)
    assignments: dict[str, AssignInput] = field(default_factory=dict)
    schedules: dict[str, ScheduleInput] = field(default_factory=dict)
    # Fail the first N attempts of issue_document with a transient error.
    document_failures: int = 0

    def activities(self) -> list[Any]:
        return [
            self.lifecycle_policy,
            self.town_calendar,
            self.assign_case,
            self.schedule_inspection,
            self.record_inspection,
            self.record_enforcement_action,
            self.issue_document,
            self.record_deadline_change,
            self.raise_alert,
            self.clear_alert,
            self.record_closure,
        ]

    @activity.defn(name=LIFECYCLE_POLICY)
    async def lifecycle_policy(self, request: LifecyclePolicyInput) -> LifecycleTargets:
        return LifecycleTargets(
            sla_version="test-targets",
            inspection_business_days=self.inspection_business_days,
            reinspection_business_days=2,
            order_followup_business_days=10,
            closure_days=list(self.closure_days),
        )

    @activity.defn(name=TOWN_CALENDAR)
    async def town_calendar(self, request: CalendarInput) -> list[str]:
        return [d for d in self.closure_days if request.from_date <= d <= request.to_date]

    @activity.defn(name=ASSIGN_CASE)
    async def assign_case(self, request: AssignInput) -> AssignResult:
        if request.officer_id not in OFFICERS:
            raise ApplicationError(
                f"officer_id: no active officer {request.officer_id!r}",
                type="InvalidArgument",
                non_retryable=True,
            )
        self.assignments.setdefault(request.step_key, request)
        return AssignResult(officer_id=request.officer_id, department=OFFICERS[request.officer_id])

    @activity.defn(name=SCHEDULE_INSPECTION)
    async def schedule_inspection(self, request: ScheduleInput) -> ScheduledInspection:
        self.schedules.setdefault(request.step_key, request)
        return ScheduledInspection(
            step_key=request.step_key,
            kind=request.kind,
            scheduled_for=request.scheduled_for,
            officer_id=request.officer_id or "officer-7",
        )

    @activity.defn(name=RECORD_INSPECTION)
    async def record_inspection(self, request: RecordInspectionInput) -> InspectionOutcome:
        answered = {f.item_id for f in request.findings}
        if answered != set(CHECKLIST):
            missing = ", ".join(sorted(set(CHECKLIST) - answered))
            raise ApplicationError(
                f"findings: every checklist item is answered; missing: {missing}",
                {"field": "findings", "rule": "every checklist item is answered", "policy": None},
                type="InvalidArgument",
                non_retryable=True,
            )
        self.inspections.setdefault(request.step_key, request)
        failed = [f for f in request.findings if f.result == "non_compliant"]
        return InspectionOutcome(
            step_key=request.step_key,
            violation_found=bool(failed),
            bylaw_sections=[CHECKLIST[f.item_id] for f in failed],
            checklist_id=request.checklist_id,
            checklist_title="Pool Enclosure Inspection",
            checklist_version="test",
            finding_lines=[f"{f.item_id}: {f.result}" for f in request.findings],
            evidence_lines=[f"section {CHECKLIST[f.item_id]}: {f.note}" for f in failed],
        )

    @activity.defn(name=RECORD_ACTION)
    async def record_enforcement_action(self, request: RecordActionInput) -> RecordedAction:
        if request.step_key in self.actions:
            return self.actions[request.step_key][1]
        amount = total = 0
        description = ""
        section = request.bylaw_section
        if request.action in ("ticket", "amp"):
            if request.fine_code not in FINES:
                raise ApplicationError(
                    f"fine_code: unknown code {request.fine_code!r}",
                    type="InvalidArgument",
                    non_retryable=True,
                )
            _, amount, total, description, section = FINES[request.fine_code]
        same_kind = sum(1 for given, _ in self.actions.values() if given.action == request.action)
        recorded = RecordedAction(
            seq=len(self.actions) + 1,
            number=f"{request.case_number}-{PREFIX[request.action]}{same_kind + 1}",
            bylaw_section=section,
            amount_cents=amount,
            total_payable_cents=total,
            fine_description=description,
        )
        self.actions[request.step_key] = (request, recorded)
        return recorded

    @activity.defn(name=ISSUE_DOCUMENT)
    async def issue_document(self, request: IssueDocumentInput) -> DocumentRef:
        self.render_calls.append(request.step_key)
        if self.document_failures > 0:
            self.document_failures -= 1
            raise RuntimeError("notices service unavailable")
        self.documents.setdefault(request.step_key, request)
        return DocumentRef(
            document_id=f"doc-{request.step_key}",
            template=request.template,
            title=request.template,
            sha256="x",
        )

    @activity.defn(name=RECORD_DEADLINE_CHANGE)
    async def record_deadline_change(self, request: DeadlineChangeInput) -> None:
        self.deadline_changes.setdefault(request.step_key, request)

    @activity.defn(name=RAISE_ALERT)
    async def raise_alert(self, request: RaiseAlertInput) -> None:
        self.alerts.setdefault(request.step_key, request)

    @activity.defn(name=CLEAR_ALERT)
    async def clear_alert(self, request: ClearAlertInput) -> None:
        self.cleared.setdefault(request.step_key, request)

    @activity.defn(name=RECORD_CLOSURE)
    async def record_closure(self, request: RecordClosureInput) -> None:
        if not any(c.case_number == request.case_number for c in self.closures):
            self.closures.append(request)

    # --- what the tests read

    def deadline_kinds(self) -> list[str]:
        return [c.kind for c in self.deadline_changes.values()]

    def alert_kinds(self) -> list[str]:
        return [a.kind for a in self.alerts.values()]


COUNCIL_DECISION = "council_decision"


@workflow.defn(name="RemediationWorkflow")
class FakeRemediationWorkflow:
    """Stands in for the remediation child (workflows/remediation.py): reports progress to
    the parent like the real one, waits for Council when the estimate is over the gate
    (policy 6.5.13), takes the contractor's time, and returns a RemediationResult."""

    def __init__(self) -> None:
        self._decision: str | None = None

    @workflow.signal(name=COUNCIL_DECISION)
    def council_decision(self, decision: str) -> None:
        self._decision = decision

    @workflow.run
    async def run(self, input: RemediationInput) -> RemediationResult:
        parent = workflow.get_external_workflow_handle(input.parent_workflow_id)
        if input.private_land and input.estimate_cents > COUNCIL_GATE_CENTS:
            await parent.signal(
                "remediation_progress",
                RemediationProgress(
                    input.work_order_seq,
                    "awaiting_council_approval",
                    f"Work order {input.work_order_seq}: waiting for Council (estimate over $5,000)",
                ),
            )
            await workflow.wait_condition(lambda: self._decision is not None)
            if self._decision == "refuse":
                return RemediationResult(work_order_seq=input.work_order_seq, outcome="refused_by_council")
        await parent.signal(
            "remediation_progress",
            RemediationProgress(
                input.work_order_seq, "remediation", f"Work order {input.work_order_seq}: contractor at work"
            ),
        )
        await workflow.sleep(timedelta(days=21))  # the contractor's work and the invoice
        return RemediationResult(
            work_order_seq=input.work_order_seq,
            outcome="completed",
            actual_cost_cents=input.estimate_cents - 5000,
            invoice_number=f"INV-{input.case_number}-{input.work_order_seq}",
            paid=False,
            added_to_tax_roll=True,
        )
