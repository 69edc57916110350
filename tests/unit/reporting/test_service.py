"""Reporting over the in-memory read model: KPI arithmetic from a sequence of events,
idempotent re-application, the monthly report, validation."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from services.common.errors import InvalidArgument
from services.reporting.adapters.labels import load_service_labels
from services.reporting.domain.kpis import Dashboard
from services.reporting.service_layer.services import ReportingService
from tests.unit.reporting import scenario
from tests.unit.reporting.fakes import MemoryReadModel, MemoryUnitOfWork

TORONTO = ZoneInfo("America/Toronto")


def make_service(model: MemoryReadModel) -> ReportingService:
    return ReportingService(
        uow=lambda snapshot=False: MemoryUnitOfWork(model),
        service_labels=load_service_labels(),
        zone=TORONTO,
        clock=lambda: datetime(2026, 4, 2, 12, 0, tzinfo=UTC),
    )


def figures(dashboard: Dashboard) -> dict[str, tuple[float, float]]:
    return {
        name: (getattr(dashboard, name).value, getattr(dashboard, name).previous)
        for name in scenario.DASHBOARD
    }


def samples(dashboard: Dashboard) -> dict[str, tuple[int, int]]:
    return {
        name: (getattr(dashboard, name).sample_size, getattr(dashboard, name).previous_sample_size)
        for name in scenario.DASHBOARD
    }


@pytest.fixture
def model() -> MemoryReadModel:
    return MemoryReadModel()


async def test_kpis_from_a_sequence_of_events(model: MemoryReadModel) -> None:
    service = make_service(model)
    events = scenario.events()
    assert await service.apply(events) == len(events)
    dashboard = await service.dashboard(scenario.AS_OF)
    assert figures(dashboard) == scenario.DASHBOARD
    assert samples(dashboard) == scenario.SAMPLE_SIZES
    assert dashboard.events_applied == len(events)
    assert dashboard.timezone == "America/Toronto"


async def test_order_of_arrival_does_not_matter(model: MemoryReadModel) -> None:
    # The outbox relay publishes batches concurrently: events may arrive in any order.
    events = scenario.events()
    random.Random(7).shuffle(events)
    service = make_service(model)
    for event in events:
        await service.apply([event])
    assert figures(await service.dashboard(scenario.AS_OF)) == scenario.DASHBOARD


async def test_reapplying_the_same_events_changes_nothing(model: MemoryReadModel) -> None:
    service = make_service(model)
    await service.apply(scenario.events())
    before = await service.dashboard(scenario.AS_OF)
    assert await service.apply(scenario.events()) == 0
    assert await service.apply(scenario.events()[:5]) == 0
    after = await service.dashboard(scenario.AS_OF)
    assert figures(after) == figures(before) == scenario.DASHBOARD
    assert after.events_applied == before.events_applied
    report = await service.monthly_report(2026, 3)
    assert {c.key: c.count for c in report.complaints_received} == scenario.MARCH_RECEIVED


async def test_the_same_event_twice_in_one_batch_counts_once(model: MemoryReadModel) -> None:
    service = make_service(model)
    first = scenario.created(scenario.C, "2026-02-27T17:00:00+00:00")
    assert await service.apply([first, first]) == 1
    assert (await service.dashboard(scenario.AS_OF)).open_cases.value == 1.0


async def test_monthly_report_counts_by_type(model: MemoryReadModel) -> None:
    service = make_service(model)
    await service.apply(scenario.events())
    march = await service.monthly_report(2026, 3)
    assert {c.key: c.count for c in march.complaints_received} == scenario.MARCH_RECEIVED
    assert {c.key: c.count for c in march.complaints_closed} == scenario.MARCH_CLOSED
    assert {c.key: c.count for c in march.enforcement_methods} == scenario.MARCH_METHODS
    assert march.emergency_actions == [
        f"2026-03-19 {scenario.G}: unsafe structure secured by contractor, approved by cao"
    ]
    labels = {c.key: c.label for c in march.complaints_received}
    assert labels["grass-cutting"] == "Grass Cutting"
    assert labels["property-standards-major-safety"].startswith("Property Standards")
    assert {c.key: c.label for c in march.enforcement_methods}["compliance_notice"].startswith(
        "Notice of Violation"
    )
    assert march.complaints_received[0].key == "grass-cutting"  # largest first

    february = await service.monthly_report(2026, 2)
    assert {c.key: c.count for c in february.complaints_received} == scenario.FEBRUARY_RECEIVED
    assert {c.key: c.count for c in february.complaints_closed} == scenario.FEBRUARY_CLOSED
    assert {c.key: c.count for c in february.enforcement_methods} == scenario.FEBRUARY_METHODS
    assert february.emergency_actions == []


async def test_month_zero_means_the_last_complete_month(model: MemoryReadModel) -> None:
    report = await make_service(model).monthly_report(0, 0)  # clock: April 2, 2026
    assert (report.year, report.month) == (2026, 3)


@pytest.mark.parametrize(("year", "month", "fields"), [(2026, 13, {"month"}), (1999, 0, {"year", "month"})])
async def test_report_period_is_validated(
    model: MemoryReadModel, year: int, month: int, fields: set[str]
) -> None:
    with pytest.raises(InvalidArgument) as err:
        await make_service(model).monthly_report(year, month)
    assert {v.field for v in err.value.violations} == fields
    assert all(v.policy == "6.5.11" for v in err.value.violations)


async def test_recent_activity_is_newest_first_and_skips_unmodelled_events(model: MemoryReadModel) -> None:
    service = make_service(model)
    await service.apply(scenario.events())
    dashboard = await service.dashboard(scenario.AS_OF, recent_limit=3)
    assert [a.occurred_at for a in dashboard.recent_activity] == sorted(
        (a.occurred_at for a in dashboard.recent_activity), reverse=True
    )
    assert len(dashboard.recent_activity) == 3
    assert dashboard.recent_activity[0].summary.startswith("Inspection completed")
    assert all(a.event_type != "officer.updated" for a in dashboard.recent_activity)
    assert all(a.occurred_at <= scenario.AS_OF for a in dashboard.recent_activity)
    assert model.processed[scenario.events()[-1].event_id].note.startswith("no read model")
    with pytest.raises(InvalidArgument):
        await service.dashboard(scenario.AS_OF, recent_limit=101)


async def test_empty_read_model_shows_zeros_with_no_samples(model: MemoryReadModel) -> None:
    dashboard = await make_service(model).dashboard(scenario.AS_OF)
    assert figures(dashboard) == {name: (0.0, 0.0) for name in scenario.DASHBOARD}
    assert samples(dashboard) == {name: (0, 0) for name in scenario.DASHBOARD}
    assert "no inspection events" in dashboard.inspections_today.note


async def test_intake_outcomes_without_a_case_show_in_the_feed_and_the_rest_stay_out(
    model: MemoryReadModel,
) -> None:
    """Intake announces every complaint. Those on a case are already shown (and counted)
    through the case's events; those that ended at intake are shown here, without a case."""
    service = make_service(model)
    await service.apply(scenario.events())
    dashboard = await service.dashboard(scenario.AS_OF, recent_limit=100)
    shown = [
        (a.case_number, a.summary) for a in dashboard.recent_activity if a.event_type == "complaint.received"
    ]
    assert len(shown) == 2, shown
    (rejected_case, rejected), (referred_case, referred) = shown  # newest first
    assert rejected_case == referred_case == ""
    assert rejected.startswith("Complaint received via 311-online, not acted on (anonymous): ")
    assert referred.startswith(
        "Complaint received via 311-online and referred to Ontario Provincial Police: "
    )
    intake_events = [e for e in scenario.events() if e.event_type == "complaint.received"]
    assert all(model.processed[e.event_id].handled for e in intake_events)
