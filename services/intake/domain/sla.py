"""Service-level targets per priority (policy 6.5.4, 6.8.5), as data.

``config/sla_targets.yaml`` says, for each priority of the Service Level Matrix, how many
business days until the acknowledgement (capped at 2 by policy 6.5.5) and the first
inspection, and how many calendar days until resolution. ``parse_sla_targets`` is the gate
every file passes; ``SlaTargets.due`` turns a priority and a receipt time into dates on
the Town's business-day calendar (policy 4.2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import yaml

from services.common.errors import FieldViolation, InvalidArgument
from services.intake.domain.calendar import ACKNOWLEDGEMENT_BUSINESS_DAYS, CLOSE_TIME, BusinessCalendar
from services.intake.domain.model import Priority

_FIELDS = ("acknowledge_business_days", "first_inspection_business_days", "resolution_days")
MAX_DAYS = 3650


@dataclass(frozen=True, slots=True)
class SlaTarget:
    acknowledge_business_days: int
    first_inspection_business_days: int
    resolution_days: int


@dataclass(frozen=True, slots=True)
class SlaDue:
    acknowledge: datetime
    first_inspection: datetime
    resolution: datetime
    version: str


@dataclass(frozen=True, slots=True)
class SlaTargets:
    version: str
    by_priority: Mapping[Priority, SlaTarget]

    def due(self, priority: Priority, received_at: datetime, calendar: BusinessCalendar) -> SlaDue:
        target = self.by_priority[priority]
        resolution_day = (received_at.astimezone(calendar.tz) + timedelta(days=target.resolution_days)).date()
        if not calendar.is_business_day(resolution_day):
            resolution_day = calendar.next_business_day(resolution_day)
        return SlaDue(
            acknowledge=calendar.close_of_business_after(received_at, target.acknowledge_business_days),
            first_inspection=calendar.close_of_business_after(
                received_at, target.first_inspection_business_days
            ),
            resolution=datetime.combine(resolution_day, CLOSE_TIME, tzinfo=calendar.tz),
            version=self.version,
        )


def parse_sla_targets(text: str) -> SlaTargets:
    """Parse and check the targets file; ``InvalidArgument`` lists every problem."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidArgument(FieldViolation("file", f"is not valid YAML ({type(exc).__name__})")) from None
    if not isinstance(data, dict):
        raise InvalidArgument(FieldViolation("file", "must be a mapping with version and targets"))
    problems: list[FieldViolation] = []
    version = data.get("version")
    if not isinstance(version, str) or not version.strip() or len(version) > 64:
        problems.append(FieldViolation("version", "is required, at most 64 characters"))
    raw_targets = data.get("targets")
    if not isinstance(raw_targets, dict):
        raise InvalidArgument([*problems, FieldViolation("targets", "must map each priority to its targets")])
    unknown = sorted(str(k) for k in raw_targets if k not in {p.value for p in Priority})
    if unknown:
        problems.append(FieldViolation("targets", f"unknown priorities: {', '.join(unknown)}", "6.8"))
    by_priority: dict[Priority, SlaTarget] = {}
    for priority in Priority:
        raw = raw_targets.get(priority.value)
        where = f"targets.{priority.value}"
        if not isinstance(raw, dict):
            problems.append(FieldViolation(where, "is required: every priority has targets", "6.5.4"))
            continue
        values: dict[str, int] = {}
        for name in _FIELDS:
            value = raw.get(name)
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_DAYS:
                problems.append(
                    FieldViolation(f"{where}.{name}", f"must be a whole number from 1 to {MAX_DAYS}")
                )
            else:
                values[name] = value
        extra = sorted(str(k) for k in raw if k not in _FIELDS)
        if extra:
            problems.append(FieldViolation(where, f"unknown targets: {', '.join(extra)}"))
        if len(values) != len(_FIELDS):
            continue
        if values["acknowledge_business_days"] > ACKNOWLEDGEMENT_BUSINESS_DAYS:
            problems.append(
                FieldViolation(
                    f"{where}.acknowledge_business_days",
                    f"must be at most {ACKNOWLEDGEMENT_BUSINESS_DAYS}: a valid complaint is "
                    "acknowledged within 2 business days",
                    "6.5.5",
                )
            )
        by_priority[priority] = SlaTarget(**values)
    if problems:
        raise InvalidArgument(problems)
    assert isinstance(version, str)
    return SlaTargets(version=version.strip(), by_priority=by_priority)
