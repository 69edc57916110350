"""Rendering: Jinja2 in a sandboxed, autoescaping environment to HTML, WeasyPrint to PDF.

Templates are data edited outside the development process, so they run in Jinja2's
``ImmutableSandboxedEnvironment`` (as Netflix/dispatch renders its emails): no access to
dunder attributes, no calling methods that mutate lists or dicts. Autoescaping is on, so
text from a request context (an officer's observations, an owner's name) is always
escaped — nothing a caller sends can add markup or script. ``StrictUndefined`` turns a
misspelt variable into an error instead of a silent blank in a legal notice.

WeasyPrint fetches nothing: the URL fetcher only allows inline ``data:`` URIs, so a
template cannot make the server read a local file or call an internal address.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import FileSystemLoader, StrictUndefined, meta
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from weasyprint import HTML  # type: ignore[import-untyped]
from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]

from services.common.errors import FailedPrecondition
from services.notices.domain.templates import RESERVED_NAMES, Catalogue, ManifestError, TemplateSpec

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def long_date(value: date | datetime) -> str:
    """``2026-05-14`` → ``May 14, 2026`` (locale-independent)."""
    if not isinstance(value, date):
        raise TypeError(f"long_date expects a date, got {type(value).__name__}")
    return f"{_MONTHS[value.month - 1]} {value.day}, {value.year}"


def paragraphs(value: str) -> list[str]:
    """Split text on blank lines; single line breaks inside a paragraph become spaces."""
    return [" ".join(block.split()) for block in re.split(r"\n\s*\n", str(value)) if block.strip()]


def make_environment(directory: Path) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(directory),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        keep_trailing_newline=True,
    )
    env.filters["long_date"] = long_date
    env.filters["paragraphs"] = paragraphs
    return env


class SandboxedHtmlRenderer:
    def __init__(
        self,
        directory: Path,
        catalogue: Catalogue,
        *,
        municipality: str,
        today: Callable[[], date],
    ) -> None:
        self.directory = directory
        self.catalogue = catalogue
        self.municipality = municipality
        self.today = today
        self.env = make_environment(directory)

    def verify(self) -> None:
        """Compile every template and check it uses only variables its manifest entry
        declares (shared layouts only the always-provided names). Run at startup so a
        broken edit stops the service instead of failing a notice later."""
        by_file = {spec.file: spec for spec in self.catalogue.templates.values()}
        for name in self.env.list_templates(extensions=["j2"]):
            source = (self.directory / name).read_text(encoding="utf-8")
            try:
                used = meta.find_undeclared_variables(self.env.parse(source))
            except jinja2.TemplateSyntaxError as exc:
                raise ManifestError(f"{name}:{exc.lineno}: {exc.message}") from exc
            spec = by_file.get(name)
            allowed = set(RESERVED_NAMES) | ({v.name for v in spec.variables} if spec else set())
            if unknown := used - allowed:
                raise ManifestError(f"{name} uses undeclared variables: {', '.join(sorted(unknown))}")
            self.env.get_template(name)

    def render(self, spec: TemplateSpec, case_number: str, values: Mapping[str, Any]) -> str:
        template = self.env.get_template(spec.file)
        provided: dict[str, Any] = {
            "case_number": case_number,
            "municipality": self.municipality,
            "letterhead": dict(self.catalogue.letterhead),
            "doc": {
                "name": spec.name,
                "title": spec.title,
                "version": spec.version,
                "legal_references": list(spec.legal_references),
                "policy": list(spec.policy_sections),
            },
            "text": dict(spec.text),
            "today": self.today(),
        }
        try:
            return template.render({**values, **provided})
        except SecurityError as exc:
            raise FailedPrecondition(f"template {spec.name!r} attempted unsafe access: {exc}") from exc
        except jinja2.UndefinedError as exc:
            raise FailedPrecondition(f"template {spec.name!r} refers to something undefined: {exc}") from exc


class WeasyPdfRenderer:
    def __init__(self) -> None:
        # Only inline data: URIs; every other URL (file:, http:) is refused.
        self.fetcher = URLFetcher(allowed_protocols={"data"}, timeout=1)

    def __call__(self, html: str) -> bytes:
        pdf = HTML(string=html, base_url=None, url_fetcher=self.fetcher).write_pdf()
        assert isinstance(pdf, bytes)
        return pdf
