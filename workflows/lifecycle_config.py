"""Service-level targets of the case lifecycle (policy 6.5.4, 6.8.5): how many business
days a first inspection, a re-inspection and an order's follow-up may take, read from
``config/sla_targets.yaml`` (the file intake also reads for its own targets) over the
defaults below, and the Town's declared closure days that count against them (4.2).

Pure: used by the worker's ``lifecycle_policy`` activity and by intake, which passes the
targets in the workflow's input so a new case starts without an activity.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from workflows.contracts import LifecycleTargets

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
SLA_TARGETS_FILE = CONFIG_DIR / "sla_targets.yaml"
MATRIX_FILE = CONFIG_DIR / "service_level_matrix.csv"
# Used when config/sla_targets.yaml has no entry: first inspection per priority (policy
# 6.8.6: high "as soon as reasonably possible"), re-inspection within 2 business days of a
# compliance date, and an order's follow-up within 10 business days of its expiry.
DEFAULT_INSPECTION_BUSINESS_DAYS = {"high": 1, "medium": 5, "low": 10}
DEFAULT_REINSPECTION_BUSINESS_DAYS = 2
DEFAULT_ORDER_FOLLOWUP_BUSINESS_DAYS = 10
CALENDAR_YEARS_AHEAD = 2


@dataclass(frozen=True)
class LifecycleConfig:
    sla_version: str
    inspection_business_days: Mapping[str, int]
    reinspection_business_days: int
    order_followup_business_days: int
    bylaw_titles: Mapping[str, str]  # service code -> by-law short title (Appendix A)


def _positive(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{where} must be a whole number of days >= 1")
    return value


def load_config(sla_file: Path = SLA_TARGETS_FILE, matrix_file: Path = MATRIX_FILE) -> LifecycleConfig:
    """The targets in force: ``config/sla_targets.yaml`` (intake's file: ``targets.<priority>.
    first_inspection_business_days``; optional ``lifecycle.reinspection_business_days`` and
    ``lifecycle.order_followup_business_days``) over the defaults above."""
    inspection = dict(DEFAULT_INSPECTION_BUSINESS_DAYS)
    reinspection, followup, version = (
        DEFAULT_REINSPECTION_BUSINESS_DAYS,
        DEFAULT_ORDER_FOLLOWUP_BUSINESS_DAYS,
        "defaults",
    )
    if sla_file.exists():
        data = yaml.safe_load(sla_file.read_text(encoding="utf-8")) or {}
        version = str(data.get("version") or sla_file.name)
        for priority, target in (data.get("targets") or {}).items():
            if isinstance(target, Mapping) and "first_inspection_business_days" in target:
                inspection[str(priority)] = _positive(
                    target["first_inspection_business_days"], f"{sla_file.name}: targets.{priority}"
                )
        lifecycle = data.get("lifecycle") or {}
        if "reinspection_business_days" in lifecycle:
            reinspection = _positive(lifecycle["reinspection_business_days"], f"{sla_file.name}: lifecycle")
        if "order_followup_business_days" in lifecycle:
            followup = _positive(lifecycle["order_followup_business_days"], f"{sla_file.name}: lifecycle")
    titles: dict[str, str] = {}
    if matrix_file.exists():
        with matrix_file.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                titles[row["service_code"]] = row["bylaw_short_title"]
    return LifecycleConfig(version, inspection, reinspection, followup, titles)


def targets_for(config: LifecycleConfig, priority: str, closure_days: Iterable[str]) -> LifecycleTargets:
    """The targets a case of ``priority`` runs under, with the Town's closure days
    (YYYY-MM-DD) from its date of receipt on."""
    return LifecycleTargets(
        sla_version=config.sla_version,
        inspection_business_days=config.inspection_business_days.get(
            priority, DEFAULT_INSPECTION_BUSINESS_DAYS["low"]
        ),
        reinspection_business_days=config.reinspection_business_days,
        order_followup_business_days=config.order_followup_business_days,
        closure_days=sorted(closure_days),
    )
