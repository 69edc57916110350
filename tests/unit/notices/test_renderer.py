"""The sandboxed, autoescaping Jinja2 renderer and the WeasyPrint PDF renderer."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from services.common.errors import FailedPrecondition
from services.notices.adapters.renderer import SandboxedHtmlRenderer, WeasyPdfRenderer, long_date, paragraphs
from services.notices.adapters.template_store import DEFAULT_TEMPLATES_DIR, load_catalogue
from services.notices.domain.templates import ManifestError, check_context, parse_manifest
from tests.unit.notices import contexts

TODAY = date(2026, 6, 1)


def one_template(
    tmp_path: Path, source: str, variables: dict[str, str] | None = None
) -> SandboxedHtmlRenderer:
    (tmp_path / "t.html.j2").write_text(source)
    catalogue = parse_manifest(
        {"templates": {"t": {"title": "T", "version": "1", "file": "t.html.j2", "optional": variables or {}}}}
    )
    return SandboxedHtmlRenderer(tmp_path, catalogue, municipality="Town", today=lambda: TODAY)


def render(renderer: SandboxedHtmlRenderer, **values: object) -> str:
    return renderer.render(renderer.catalogue.get("t"), "BL-2026-000001", values)


@pytest.fixture(scope="module")
def shipped() -> SandboxedHtmlRenderer:
    renderer = SandboxedHtmlRenderer(
        DEFAULT_TEMPLATES_DIR, load_catalogue(), municipality="Town of Greater Napanee", today=lambda: TODAY
    )
    renderer.verify()
    return renderer


def render_shipped(renderer: SandboxedHtmlRenderer, name: str, context: dict[str, object]) -> str:
    spec = renderer.catalogue.get(name)
    return renderer.render(spec, "BL-2026-000123", check_context(spec, context))


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ case_number.__class__.__init__.__globals__ }}",
        "{{ letterhead.__class__ }}",
    ],
)
def test_sandbox_refuses_dunder_attribute_tricks(tmp_path: Path, source: str) -> None:
    with pytest.raises(FailedPrecondition, match="unsafe"):
        render(one_template(tmp_path, source))


def test_immutable_sandbox_refuses_mutating_methods(tmp_path: Path) -> None:
    renderer = one_template(tmp_path, "{{ items.append('x') }}{{ items }}", {"items": "list"})
    with pytest.raises(FailedPrecondition, match="unsafe"):
        render(renderer, items=["a"])


def test_context_text_is_escaped(tmp_path: Path) -> None:
    html = render(
        one_template(tmp_path, "<p>{{ note }}</p>", {"note": "text"}), note="<script>alert(1)</script>"
    )
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_context_text_is_never_evaluated_as_a_template(tmp_path: Path) -> None:
    html = render(
        one_template(tmp_path, "{{ note }}", {"note": "text"}), note="{{ 7 * 7 }} {% if 1 %}x{% endif %}"
    )
    assert "49" not in html and "{{ 7 * 7 }}" in html


def test_undefined_names_fail_instead_of_printing_blank(tmp_path: Path) -> None:
    with pytest.raises(FailedPrecondition, match="undefined"):
        render(one_template(tmp_path, "{{ letterhead.no_such_thing }}"))


def test_verify_refuses_undeclared_variables(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="undeclared variables: owner_email"):
        one_template(tmp_path, "{{ owner_email }}").verify()


def test_verify_refuses_syntax_errors(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"t\.html\.j2"):
        one_template(tmp_path, "{% if %}").verify()


def test_filters() -> None:
    assert long_date(date(2026, 5, 4)) == "May 4, 2026"
    assert paragraphs("one\nline\n\n  two  \n\n\n") == ["one line", "two"]


def test_acknowledgement_content(shipped: SandboxedHtmlRenderer) -> None:
    html = render_shipped(shipped, "acknowledgement", contexts.acknowledgement())
    assert html.count("BL-2026-000123") >= 2  # case number to quote (6.5.7)
    assert "An officer will inspect the property" in html  # next steps (6.5.6)
    assert "June 10, 2026" in html  # when to expect a response (6.5.6)
    assert "civil" in html and "lengthy time" in html  # 6.5.8
    assert "kept confidential" in html  # 6.3.5
    assert "Dear" not in html  # salutation-free: no complainant identity (6.3.4)


def test_compliance_notice_content(shipped: SandboxedHtmlRenderer) -> None:
    html = render_shipped(shipped, "compliance_notice", contexts.compliance_notice())
    assert "By-law 2000-0066, Grass Cutting By-law, section 3(1)" in html  # 6.7.1 b
    assert "taller than 20 cm" in html  # how contravened (6.7.4 a)
    assert "Grass about 45 cm high across the front yard" in html  # evidence (6.7.1 a)
    assert "June 15, 2026" in html  # time to comply (6.7.4 b)
    assert "No enforcement action will be taken before the compliance date" in html  # 6.7.5
    assert "added to the tax roll" in html  # consequences (6.7.9)
    assert "Property Standards Committee within 14 days" in html  # appeal options (6.7.1 d)
    assert "in writing" in html  # extensions (6.7.8)
    for reference in shipped.catalogue.get("compliance_notice").legal_references:
        assert reference.replace("'", "&#39;") in html


def test_plain_letter(shipped: SandboxedHtmlRenderer) -> None:
    html = render_shipped(shipped, "plain", contexts.plain())
    assert "<p>An officer will attend on Monday.</p>" in html and "<p>Thank you.</p>" in html


def test_pdf_is_a_real_pdf(shipped: SandboxedHtmlRenderer) -> None:
    pdf = WeasyPdfRenderer()(render_shipped(shipped, "compliance_notice", contexts.compliance_notice()))
    assert pdf.startswith(b"%PDF-")
    assert b"%%EOF" in pdf[-32:]


def test_pdf_renderer_fetches_no_files_or_urls() -> None:
    fetcher = WeasyPdfRenderer().fetcher
    for url in ("file:///etc/hostname", "http://127.0.0.1:9/x.css"):
        with pytest.raises(ValueError, match="disallowed protocol"):
            fetcher.fetch(url)
