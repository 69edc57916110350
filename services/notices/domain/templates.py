"""Template specifications and the rules a render request's context must satisfy.

Templates are data the Clerk maintains (``services/notices/templates/manifest.yaml`` and the
``*.html.j2`` files): each has a name, title, version, the legal references it cites, the
policy sections it implements, the variables it needs, and fixed wording (consequences,
appeal options). Keeping the statute citations in data means a correction is an edit to
the manifest with a new version number, not a code change (DESIGN.md section 4).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from services.common.errors import FieldViolation, InvalidArgument

VARIABLE_TYPES = ("text", "date", "list", "number", "bool")

# Complainant identity never leaves intake (policy 6.3.4): a render request carrying it is
# refused outright, whatever the template, so it cannot end up in a stored document.
_IDENTITY_PREFIXES = ("complainant", "requestor", "requester")
_IDENTITY_KEYS = frozenset({"first_name", "last_name", "email", "phone", "email_address", "phone_number"})

# Names every template gets from the renderer; a variable may not shadow them.
RESERVED_NAMES = frozenset({"case_number", "municipality", "letterhead", "doc", "text", "today"})

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_MAX_TEXT = 20_000


class ManifestError(ValueError):
    """The template manifest is malformed; raised at startup, never at request time."""


@dataclass(frozen=True, slots=True)
class Variable:
    name: str
    type: str
    required: bool
    description: str = ""
    policy: str | None = None  # the policy section that makes the variable necessary


@dataclass(frozen=True, slots=True)
class TemplateSpec:
    name: str
    title: str
    version: str
    file: str
    description: str
    policy_sections: tuple[str, ...]
    legal_references: tuple[str, ...]
    variables: tuple[Variable, ...]
    # (earlier, later) pairs of date variables: e.g. a notice is issued before compliance
    # is due (policy 6.7.4 b: a reasonable time to comply).
    ordered_dates: tuple[tuple[str, str], ...] = ()
    text: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables if v.required)

    @property
    def optional(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables if not v.required)

    def variable(self, name: str) -> Variable | None:
        return next((v for v in self.variables if v.name == name), None)


@dataclass(frozen=True, slots=True)
class Catalogue:
    letterhead: Mapping[str, Any]
    templates: Mapping[str, TemplateSpec]

    def get(self, name: str) -> TemplateSpec:
        spec = self.templates.get(name)
        if spec is None:
            known = ", ".join(sorted(self.templates))
            raise InvalidArgument(FieldViolation("template", f"unknown template {name!r}; known: {known}"))
        return spec


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise ManifestError(f"{where} must be a list of strings")
    return tuple(str(v) for v in value)


def _variables(spec: Mapping[str, Any], where: str) -> tuple[Variable, ...]:
    found: list[Variable] = []
    for required, key in ((True, "required"), (False, "optional")):
        entries = spec.get(key) or {}
        if not isinstance(entries, Mapping):
            raise ManifestError(f"{where}.{key} must map variable names to types")
        for name, declared in entries.items():
            if isinstance(declared, str):
                declared = {"type": declared}
            if not isinstance(declared, Mapping):
                raise ManifestError(f"{where}.{key}.{name} must be a type name or a mapping")
            kind = declared.get("type", "text")
            if not _NAME.match(str(name)) or kind not in VARIABLE_TYPES:
                raise ManifestError(
                    f"{where}.{key}.{name}: bad name or type {kind!r} (one of {VARIABLE_TYPES})"
                )
            if str(name) in RESERVED_NAMES:
                raise ManifestError(f"{where}.{key}.{name}: reserved name (always provided)")
            if is_identity_key(str(name)):
                raise ManifestError(
                    f"{where}.{key}.{name}: complainant identity cannot be a variable (6.3.4)"
                )
            policy = declared.get("policy")
            found.append(
                Variable(
                    str(name), kind, required, str(declared.get("description", "")), policy and str(policy)
                )
            )
    names = [v.name for v in found]
    if len(names) != len(set(names)):
        raise ManifestError(f"{where}: a variable is declared twice")
    return tuple(found)


def parse_manifest(data: Mapping[str, Any]) -> Catalogue:
    """Validate the manifest's structure; every problem names where it is."""
    templates_data = data.get("templates")
    if not isinstance(templates_data, Mapping) or not templates_data:
        raise ManifestError("manifest: 'templates' must map template names to specifications")
    templates: dict[str, TemplateSpec] = {}
    for name, raw in templates_data.items():
        where = f"templates.{name}"
        if not isinstance(raw, Mapping) or not _NAME.match(str(name)):
            raise ManifestError(f"{where}: must be a mapping under a lowercase name")
        for key in ("title", "version", "file"):
            if not isinstance(raw.get(key), str | int | float) or not str(raw.get(key)).strip():
                raise ManifestError(f"{where}.{key} is required")
        variables = _variables(raw, where)
        declared = {v.name: v for v in variables}
        ordered: list[tuple[str, str]] = []
        for pair in raw.get("ordered_dates") or []:
            if not (isinstance(pair, list) and len(pair) == 2) or any(
                p not in declared or declared[p].type != "date" for p in pair
            ):
                raise ManifestError(f"{where}.ordered_dates: {pair!r} must name two declared date variables")
            ordered.append((str(pair[0]), str(pair[1])))
        text = raw.get("text") or {}
        if not isinstance(text, Mapping):
            raise ManifestError(f"{where}.text must be a mapping of fixed wording")
        templates[str(name)] = TemplateSpec(
            name=str(name),
            title=str(raw["title"]).strip(),
            version=str(raw["version"]).strip(),
            file=str(raw["file"]).strip(),
            description=str(raw.get("description", "")).strip(),
            policy_sections=_strings(raw.get("policy"), f"{where}.policy"),
            legal_references=_strings(raw.get("legal_references"), f"{where}.legal_references"),
            variables=variables,
            ordered_dates=tuple(ordered),
            text=MappingProxyType(dict(text)),
        )
    letterhead = data.get("letterhead") or {}
    if not isinstance(letterhead, Mapping):
        raise ManifestError("manifest: 'letterhead' must be a mapping")
    return Catalogue(letterhead=MappingProxyType(dict(letterhead)), templates=MappingProxyType(templates))


def is_identity_key(key: str) -> bool:
    lowered = key.lower()
    return lowered.startswith(_IDENTITY_PREFIXES) or lowered in _IDENTITY_KEYS


def _identity_paths(value: Any, path: str) -> list[str]:
    found: list[str] = []
    if isinstance(value, Mapping):
        for key, inner in value.items():
            here = f"{path}.{key}"
            if is_identity_key(str(key)):
                found.append(here)
            found.extend(_identity_paths(inner, here))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found.extend(_identity_paths(inner, f"{path}[{index}]"))
    return found


def _parse_date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        return datetime.fromisoformat(value).date()
    except ValueError:
        return None


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _coerce(variable: Variable, value: Any) -> tuple[Any, str | None]:
    """The value in the type the template expects, or a rule it broke."""
    if variable.type == "date":
        parsed = _parse_date(value)
        return (parsed, None) if parsed else (None, "must be an ISO date (YYYY-MM-DD)")
    if variable.type == "list":
        if isinstance(value, str | int | float):
            value = [value]
        if not isinstance(value, Sequence) or not all(isinstance(v, str | int | float) for v in value):
            return None, "must be a list of text items"
        items = [str(v).strip() for v in value if str(v).strip()]
        if any(len(item) > _MAX_TEXT for item in items):
            return None, f"items must be at most {_MAX_TEXT} characters"
        return items, None
    if variable.type == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None, "must be a number"
        return (int(value) if float(value).is_integer() else value), None
    if variable.type == "bool":
        return (value, None) if isinstance(value, bool) else (None, "must be true or false")
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(int(value)) if float(value).is_integer() else str(value)
    if not isinstance(value, str):
        return None, "must be text"
    if len(value) > _MAX_TEXT:
        return None, f"must be at most {_MAX_TEXT} characters"
    return value.strip(), None


def check_context(spec: TemplateSpec, context: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and type the template variables. Every problem is reported at once, each
    naming ``context.<variable>`` and, where the policy requires the content, its section."""
    violations: list[FieldViolation] = [
        FieldViolation(path, "complainant identity must not appear in a stored document", "6.3.4")
        for path in _identity_paths(context, "context")
    ]
    values: dict[str, Any] = {}
    for key in context:
        if spec.variable(str(key)) is None and not is_identity_key(str(key)):
            violations.append(
                FieldViolation(f"context.{key}", f"is not a variable of template {spec.name!r}")
            )
    for variable in spec.variables:
        raw = context.get(variable.name)
        if _is_blank(raw):
            if variable.required:
                violations.append(
                    FieldViolation(
                        f"context.{variable.name}",
                        f"is required by template {spec.name!r}"
                        + (f" ({variable.description})" if variable.description else ""),
                        variable.policy,
                    )
                )
            continue
        value, problem = _coerce(variable, raw)
        if problem:
            violations.append(FieldViolation(f"context.{variable.name}", problem, variable.policy))
        elif variable.required and _is_blank(value):
            violations.append(
                FieldViolation(
                    f"context.{variable.name}", f"is required by template {spec.name!r}", variable.policy
                )
            )
        else:
            values[variable.name] = value
    for earlier, later in spec.ordered_dates:
        first, second = values.get(earlier), values.get(later)
        if isinstance(first, date) and isinstance(second, date) and not first < second:
            later_variable = spec.variable(later)
            violations.append(
                FieldViolation(
                    f"context.{later}",
                    f"must be after {earlier} ({first.isoformat()})",
                    later_variable.policy if later_variable else None,
                )
            )
    if violations:
        raise InvalidArgument(violations)
    return values
