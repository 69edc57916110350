"""Loading the template catalogue (``manifest.yaml``) from the templates directory."""

from __future__ import annotations

from pathlib import Path

import yaml

from services.notices.domain.templates import Catalogue, ManifestError, parse_manifest

DEFAULT_TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
MANIFEST = "manifest.yaml"


def load_catalogue(directory: Path = DEFAULT_TEMPLATES_DIR) -> Catalogue:
    path = directory / MANIFEST
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ManifestError(f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ManifestError(f"{path}: must be a YAML mapping")
    catalogue = parse_manifest(data)
    for spec in catalogue.templates.values():
        if not (directory / spec.file).is_file():
            raise ManifestError(f"templates.{spec.name}.file: {spec.file} not found in {directory}")
    return catalogue
