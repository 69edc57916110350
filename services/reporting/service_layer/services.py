"""Reporting use cases: apply events to the read model (once each), and compute the
dashboard and the monthly report to Council from it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from services.common.errors import FieldViolation, InvalidArgument
from services.common.events import DomainEvent
from services.reporting.domain.facts import ProcessedEvent, interpret, merge_case_facts, method_label
from services.reporting.domain.kpis import (
    Dashboard,
    Kpi,
    MonthlyReport,
    average,
    counts_by_type,
    per_day,
    percentage,
)
from services.reporting.domain.periods import (
    day_bounds,
    local_month,
    month_bounds,
    previous_month,
    weekdays_in_month,
)
from services.reporting.service_layer.ports import ReadModel, UnitOfWorkFactory

log = logging.getLogger(__name__)

DEFAULT_RECENT = 10
MAX_RECENT = 100


async def apply_events(model: ReadModel, events: Sequence[DomainEvent], labels: Mapping[str, str]) -> int:
    """Apply a batch inside the caller's unit of work; returns how many were new.

    The ledger is claimed first and only newly claimed events contribute facts, so a
    redelivered event (in this batch or a later one) changes nothing. Facts are written
    with one statement per table for the whole batch."""
    unique: dict[str, DomainEvent] = {}
    for event in events:
        unique.setdefault(event.event_id, event)
    meanings = {event_id: interpret(event, labels) for event_id, event in unique.items()}
    new_ids = await model.claim(
        [
            ProcessedEvent(
                event_id=event_id,
                event_type=event.event_type,
                case_number=event.case_number or "",
                occurred_at=event.occurred_at,
                handled=meanings[event_id].handled,
                summary=meanings[event_id].summary,
                note=meanings[event_id].note,
            )
            for event_id, event in unique.items()
        ]
    )
    fresh = [meanings[event_id] for event_id in unique if event_id in new_ids]
    for event_id in unique:
        if event_id in new_ids and not meanings[event_id].handled:
            log.warning(
                "event recorded without facts",
                extra={
                    "event_id": event_id,
                    "event_type": unique[event_id].event_type,
                    "note": meanings[event_id].note,
                },
            )
    await model.upsert_cases(merge_case_facts([m.case for m in fresh if m.case is not None]))
    await model.add_complaints([m.complaint for m in fresh if m.complaint is not None])
    await model.add_status_changes([m.status_change for m in fresh if m.status_change is not None])
    await model.add_inspections([m.inspection for m in fresh if m.inspection is not None])
    await model.add_enforcement_actions([m.enforcement for m in fresh if m.enforcement is not None])
    await model.add_emergency_actions([m.emergency for m in fresh if m.emergency is not None])
    return len(new_ids)


class ReportingService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        service_labels: Mapping[str, str],
        zone: ZoneInfo,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.uow = uow
        self.labels = dict(service_labels)
        self.zone = zone
        self.clock = clock

    async def apply(self, events: Sequence[DomainEvent]) -> int:
        """Apply a batch in one transaction; returns how many were new. A redelivered
        event is skipped by its id, so the figures never count it twice."""
        async with self.uow() as uow:
            applied = await apply_events(uow.read_model, events, self.labels)
            await uow.commit()
        return applied

    async def record_unprocessable(
        self, *, event_id: str, event_type: str, case_number: str, occurred_at: datetime, note: str
    ) -> None:
        """Record a message that cannot be applied, so it is visible and not retried forever.
        Deleting its ``processed_events`` row lets a replay apply it after a fix."""
        async with self.uow() as uow:
            await uow.read_model.claim(
                [
                    ProcessedEvent(
                        event_id=event_id,
                        event_type=event_type or "unknown",
                        case_number=case_number,
                        occurred_at=occurred_at,
                        handled=False,
                        summary=f"{event_type or 'message'} (not applied)",
                        note=note,
                    )
                ]
            )
            await uow.commit()

    async def dashboard(self, as_of: datetime | None = None, recent_limit: int = 0) -> Dashboard:
        as_of = (as_of or self.clock()).astimezone(UTC)
        if not 0 <= recent_limit <= MAX_RECENT:
            raise InvalidArgument(FieldViolation("recent_limit", f"must be between 0 and {MAX_RECENT}"))
        year, month = local_month(as_of, self.zone)
        month_start, _ = month_bounds(year, month, self.zone)
        prev_year, prev_month = previous_month(year, month)
        prev_start, prev_end = month_bounds(prev_year, prev_month, self.zone)
        day_start, day_end = day_bounds(as_of.astimezone(self.zone).date(), self.zone)
        # Windows are half-open; this makes the as-of moment itself count.
        upto = as_of + timedelta(microseconds=1)

        async with self.uow(snapshot=True) as uow:
            model = uow.read_model
            open_now = await model.open_cases_at(as_of)
            open_before = await model.open_cases_at(month_start)
            resolved = await model.resolution_days(month_start, upto)
            resolved_before = await model.resolution_days(prev_start, prev_end)
            inspected = await model.inspections_between(day_start, min(upto, day_end))
            inspected_before = await model.inspections_between(prev_start, prev_end)
            complied, not_complied = await model.compliance_outcomes(month_start, upto)
            complied_before, not_complied_before = await model.compliance_outcomes(prev_start, prev_end)
            activity = await model.recent_activity(as_of, recent_limit or DEFAULT_RECENT)
            applied = await model.events_applied()

        weekdays = weekdays_in_month(prev_year, prev_month)
        inspection_note = "inspections carried out today; previous: last month's average per weekday"
        if not inspected and not inspected_before:
            inspection_note += " (no inspection events in either period)"
        return Dashboard(
            open_cases=Kpi(
                "Open cases",
                float(open_now),
                float(open_before),
                "cases",
                open_now,
                open_before,
                "open now; previous: open at the end of last month",
            ),
            average_resolution_days=Kpi(
                "Average resolution",
                average(resolved),
                average(resolved_before),
                "days",
                len(resolved),
                len(resolved_before),
                "received to closed, for cases closed this month vs last month",
            ),
            inspections_today=Kpi(
                "Inspections today",
                float(inspected),
                per_day(inspected_before, weekdays),
                "inspections",
                inspected,
                inspected_before,
                inspection_note,
            ),
            order_compliance=Kpi(
                "Order compliance",
                percentage(complied, complied + not_complied),
                percentage(complied_before, complied_before + not_complied_before),
                "percent",
                complied + not_complied,
                complied_before + not_complied_before,
                "noticed cases that complied vs were escalated, this month vs last month",
            ),
            recent_activity=activity,
            as_of=as_of,
            events_applied=applied,
            timezone=str(self.zone),
        )

    async def monthly_report(self, year: int, month: int) -> MonthlyReport:
        """Complaints received and closed by type, enforcement methods by type, and
        emergency actions to report (policy 6.5.11, 6.5.12, 6.5.14). Year and month 0
        mean the last complete month, the one the monthly report to Council covers."""
        if year == 0 and month == 0:
            year, month = previous_month(*local_month(self.clock(), self.zone))
        violations = []
        if not 2000 <= year <= 2100:
            violations.append(
                FieldViolation("year", "must be between 2000 and 2100 (or 0 with month 0)", "6.5.11")
            )
        if not 1 <= month <= 12:
            violations.append(
                FieldViolation("month", "must be between 1 and 12 (or 0 with year 0)", "6.5.11")
            )
        if violations:
            raise InvalidArgument(violations)
        start, end = month_bounds(year, month, self.zone)
        async with self.uow(snapshot=True) as uow:
            model = uow.read_model
            received = await model.complaints_received(start, end)
            closed = await model.complaints_closed(start, end)
            methods = await model.enforcement_methods(start, end)
            emergencies = await model.emergency_actions(start, end)
            applied = await model.events_applied()
        return MonthlyReport(
            year=year,
            month=month,
            complaints_received=counts_by_type(received, self.labels),
            complaints_closed=counts_by_type(closed, self.labels),
            enforcement_methods=counts_by_type(methods, {m: method_label(m) for m in methods}),
            emergency_actions=[
                f"{when.astimezone(self.zone).date().isoformat()} {description}"
                for when, description in emergencies
            ],
            generated_at=self.clock(),
            timezone=str(self.zone),
            events_applied=applied,
        )
