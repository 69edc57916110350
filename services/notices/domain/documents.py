"""Rendered documents and the shape of a render request.

A document is one rendering of one template for one case step (``step_key``): the
workflow step "send the acknowledgement" or "issue compliance notice 1" renders once,
and a retry of that step gets the same document back (policy 6.5.10 f: every action
taken is recorded once, as taken).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from services.common.errors import FieldViolation, InvalidArgument

FORMATS = ("html", "pdf")

_CASE_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_MAX_STEP_KEY = 150  # evidence step keys add a ":pdf"/":html" suffix under its 200 limit


@dataclass(frozen=True, slots=True)
class Document:
    document_id: str
    case_number: str
    step_key: str
    template: str
    template_version: str
    title: str
    html: str
    html_sha256: str
    pdf_sha256: str  # "" when no PDF was rendered
    html_evidence_id: str  # "" when the HTML was not stored as evidence
    pdf_evidence_id: str
    formats: tuple[str, ...]
    legal_references: tuple[str, ...]
    rendered_by: str
    rendered_at: datetime | None  # set by the database

    @property
    def sha256(self) -> str:
        """The digest of what is served: the PDF when there is one, else the HTML."""
        return self.pdf_sha256 or self.html_sha256


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A rendered file as the evidence service recorded it."""

    evidence_id: str
    sha256: str


@dataclass(frozen=True, slots=True)
class RenderRequest:
    case_number: str
    template: str
    step_key: str
    formats: tuple[str, ...]
    rendered_by: str


def validate_render_request(
    *, case_number: str, template: str, step_key: str, formats: list[str], rendered_by: str
) -> RenderRequest:
    violations: list[FieldViolation] = []
    case_number = case_number.strip()
    step_key = step_key.strip()
    if not _CASE_NUMBER.match(case_number):
        violations.append(
            FieldViolation("case_number", "is required: letters, digits, '-' or '_' (at most 64)")
        )
    if not template.strip():
        violations.append(FieldViolation("template", "is required"))
    if not step_key:
        # Without a step key a retry could not be recognised and would issue a second notice.
        violations.append(
            FieldViolation("step_key", "is required: it makes a retried render return the same document")
        )
    elif len(step_key) > _MAX_STEP_KEY:
        violations.append(FieldViolation("step_key", f"must be at most {_MAX_STEP_KEY} characters"))
    chosen = tuple(dict.fromkeys(f.strip().lower() for f in formats)) or FORMATS
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown:
        violations.append(FieldViolation("formats", f"unknown format(s) {unknown}; use {list(FORMATS)}"))
    if violations:
        raise InvalidArgument(violations)
    return RenderRequest(
        case_number=case_number,
        template=template.strip(),
        step_key=step_key,
        formats=tuple(f for f in FORMATS if f in chosen),
        rendered_by=rendered_by.strip()[:200],
    )
