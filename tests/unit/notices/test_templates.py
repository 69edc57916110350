"""Template manifest parsing and render-context validation (domain rules)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.common.errors import InvalidArgument
from services.notices.adapters.template_store import load_catalogue
from services.notices.domain.templates import Catalogue, ManifestError, check_context, parse_manifest
from tests.unit.notices import contexts


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def fields(err: pytest.ExceptionInfo[InvalidArgument]) -> dict[str, str | None]:
    return {v.field: v.policy for v in err.value.violations}


def test_shipped_catalogue_has_the_phase_one_templates(catalogue: Catalogue) -> None:
    assert {"acknowledgement", "compliance_notice", "plain"} <= set(catalogue.templates)
    for spec in catalogue.templates.values():
        assert spec.title and spec.version


def test_compliance_notice_cites_the_statutes_from_data(catalogue: Catalogue) -> None:
    refs = " | ".join(catalogue.get("compliance_notice").legal_references)
    for citation in ("s. 444", "s. 445", "s. 446", "s. 102.1", "s. 15.2", "s. 15.3", "Part I ", "Part III"):
        assert citation in refs, citation
    assert (
        "Municipal Act, 2001" in refs
        and "Building Code Act, 1992" in refs
        and "Provincial Offences Act" in refs
    )


def test_templates_implement_their_policy_sections(catalogue: Catalogue) -> None:
    assert {"6.5.5", "6.5.6", "6.5.7", "6.5.8"} <= set(catalogue.get("acknowledgement").policy_sections)
    assert {"6.7.1", "6.7.4", "6.7.9"} <= set(catalogue.get("compliance_notice").policy_sections)


def test_missing_required_variable_is_named_with_its_policy(catalogue: Catalogue) -> None:
    context = contexts.compliance_notice()
    del context["comply_by"]
    context["contravention"] = "   "
    with pytest.raises(InvalidArgument) as err:
        check_context(catalogue.get("compliance_notice"), context)
    assert fields(err) == {"context.comply_by": "6.7.4", "context.contravention": "6.7.4"}
    assert "is required by template 'compliance_notice'" in str(err.value)


def test_values_are_typed(catalogue: Catalogue) -> None:
    values = check_context(catalogue.get("compliance_notice"), contexts.compliance_notice())
    assert values["comply_by"] == date(2026, 6, 15)
    assert values["evidence"][0].startswith("Grass about 45 cm")


@pytest.mark.parametrize(
    ("key", "value", "rule"),
    [
        ("comply_by", "15/06/2026", "ISO date"),
        ("evidence", {"a": 1}, "list of text"),
        ("officer_name", ["A", "B"], "must be text"),
    ],
)
def test_wrong_types_name_the_variable(catalogue: Catalogue, key: str, value: Any, rule: str) -> None:
    context = contexts.compliance_notice() | {key: value}
    with pytest.raises(InvalidArgument) as err:
        check_context(catalogue.get("compliance_notice"), context)
    assert list(fields(err)) == [f"context.{key}"]
    assert rule in err.value.violations[0].rule


def test_compliance_date_must_follow_the_inspection(catalogue: Catalogue) -> None:
    context = contexts.compliance_notice() | {"comply_by": "2026-05-28"}
    with pytest.raises(InvalidArgument) as err:
        check_context(catalogue.get("compliance_notice"), context)
    assert fields(err) == {"context.comply_by": "6.7.4"}
    assert "must be after inspection_date" in str(err.value)


def test_unknown_variables_are_refused(catalogue: Catalogue) -> None:
    with pytest.raises(InvalidArgument) as err:
        check_context(catalogue.get("plain"), contexts.plain() | {"subjct": "typo"})
    assert list(fields(err)) == ["context.subjct"]


@pytest.mark.parametrize("key", ["complainant_name", "first_name", "email", "phone", "Requestor_Address"])
def test_complainant_identity_is_refused_for_any_template(catalogue: Catalogue, key: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        check_context(catalogue.get("acknowledgement"), contexts.acknowledgement() | {key: "Pat Resident"})
    assert fields(err) == {f"context.{key}": "6.3.4"}


def test_nested_identity_is_found_too(catalogue: Catalogue) -> None:
    context = contexts.plain() | {"body": {"complainant": {"email": "pat@example.org"}}}
    with pytest.raises(InvalidArgument) as err:
        check_context(catalogue.get("plain"), context)
    assert {"context.body.complainant", "context.body.complainant.email"} <= set(fields(err))


def test_acknowledgement_has_no_identity_variables(catalogue: Catalogue) -> None:
    names = {v.name for v in catalogue.get("acknowledgement").variables}
    assert not any(n.startswith(("recipient", "complainant", "name", "address")) for n in names)


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ({}, "'templates' must map"),
        ({"templates": {"x": {"title": "T", "version": "1"}}}, "templates.x.file is required"),
        (
            {"templates": {"x": {"title": "T", "version": "1", "file": "x", "required": {"a": "blob"}}}},
            "bad name",
        ),
        (
            {
                "templates": {
                    "x": {"title": "T", "version": "1", "file": "x", "required": {"complainant_name": "text"}}
                }
            },
            "complainant identity",
        ),
        (
            {"templates": {"x": {"title": "T", "version": "1", "file": "x", "required": {"today": "date"}}}},
            "reserved",
        ),
        (
            {"templates": {"x": {"title": "T", "version": "1", "file": "x", "ordered_dates": [["a", "b"]]}}},
            "ordered_dates",
        ),
    ],
)
def test_malformed_manifests_are_refused(manifest: dict[str, Any], message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        parse_manifest(manifest)
