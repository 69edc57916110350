"""Loading the data the Clerk maintains for the case lifecycle: inspection checklists
(``config/checklists/*.yaml``) and the set fine schedule (``config/set_fines.yaml``).
Read once at startup; a malformed file stops the service with a message naming the file
and the key, rather than failing an officer's request later."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from services.cases.domain.checklists import ChecklistCatalogue, ChecklistError, parse_checklist
from services.cases.domain.set_fines import FineSchedule, FineScheduleError, parse_schedule
from services.cases.service_layer.lifecycle import ReferenceData

CONFIG_DIR = Path(__file__).resolve().parents[3] / "config"
DEFAULT_CHECKLISTS_DIR = CONFIG_DIR / "checklists"
DEFAULT_SET_FINES = CONFIG_DIR / "set_fines.yaml"


def _yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot be read as YAML: {exc}") from exc


def load_checklists(directory: Path = DEFAULT_CHECKLISTS_DIR) -> ChecklistCatalogue:
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise ChecklistError(f"{directory}: no checklist files (*.yaml)")
    checklists = []
    for path in files:
        data = _yaml(path)
        if not isinstance(data, dict):
            raise ChecklistError(f"{path.name}: must be a mapping")
        checklists.append(parse_checklist(data, path.name))
    return ChecklistCatalogue(checklists)


def load_fines(path: Path = DEFAULT_SET_FINES) -> FineSchedule:
    data = _yaml(path)
    if not isinstance(data, dict):
        raise FineScheduleError(f"{path.name}: must be a mapping")
    return parse_schedule(data, path.name)


def load_reference(
    checklists_dir: Path = DEFAULT_CHECKLISTS_DIR, set_fines: Path = DEFAULT_SET_FINES
) -> ReferenceData:
    return ReferenceData(checklists=load_checklists(checklists_dir), fines=load_fines(set_fines))
