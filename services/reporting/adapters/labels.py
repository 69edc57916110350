"""Human labels for service codes, from the Council-approved Service Level Matrix
(``config/service_level_matrix.csv``): reports show "Dog Control: Barking; pet waste",
not ``dog-barking-pet-waste``."""

from __future__ import annotations

import csv
from pathlib import Path

DEFAULT_MATRIX_CSV = Path(__file__).resolve().parents[3] / "config" / "service_level_matrix.csv"


def load_service_labels(path: Path = DEFAULT_MATRIX_CSV) -> dict[str, str]:
    labels: dict[str, str] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            code = (row.get("service_code") or "").strip()
            if not code:
                continue
            title = (row.get("bylaw_short_title") or code).strip()
            infraction = (row.get("infraction") or "").strip()
            labels[code] = f"{title}: {infraction}" if infraction else title
    return labels
