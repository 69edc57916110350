"""The Service Level Matrix loader and versions (policy 6.8, Appendix A)."""

from __future__ import annotations

from datetime import date

import pytest

from services.common.errors import InvalidArgument, NotFound
from services.intake.domain.matrix import (
    COLUMNS,
    MatrixCatalog,
    build_version,
    parse_matrix_csv,
)
from services.intake.domain.model import Priority
from tests.unit.intake.fakes import MATRIX_CSV

HEADER = ",".join(COLUMNS)
GOOD_ROW = 'noise,Noise,,2023-0043,no,no,no,yes,Medium,"BE, OPP",'


def refusal(text: str) -> list[tuple[str, str]]:
    with pytest.raises(InvalidArgument) as exc:
        parse_matrix_csv(text)
    return [(v.field, v.rule) for v in exc.value.violations]


def test_the_shipped_matrix_is_appendix_a() -> None:
    entries = {e.service_code: e for e in parse_matrix_csv(MATRIX_CSV.read_text())}
    assert len(entries) == 40
    # Appendix A governs where the prose differs: noise is Medium, not low (DESIGN.md §4).
    assert entries["noise"].priority is Priority.MEDIUM
    assert entries["pool-fence"].priority is Priority.HIGH
    assert entries["off-road-vehicles"].enforced_by == ("OPP",)
    assert entries["driveway-entrance-permit"].enforced_by == ("BE", "*DS")
    assert entries["building-code-act"].bylaw_number == "N/A"
    assert entries["parking-downtown-lots-night"].footnote == "1"


def test_refuses_unknown_priority_naming_row_and_reason() -> None:
    problems = refusal(f"{HEADER}\n{GOOD_ROW}\nfireworks,Fireworks,,2006-0016,no,no,no,yes,Urgent,FD,\n")
    assert problems == [
        ("row 2 (fireworks).priority", "unknown priority 'Urgent': must be High, Medium or Low")
    ]


def test_refuses_duplicate_codes_naming_the_first_row() -> None:
    problems = refusal(f"{HEADER}\n{GOOD_ROW}\n{GOOD_ROW}\n")
    assert problems == [("row 2 (noise).service_code", "duplicate service_code (first on row 1)")]


def test_refuses_missing_columns() -> None:
    header = HEADER.replace(",priority", "")
    problems = refusal(f"{header}\nnoise,Noise,,2023-0043,no,no,no,yes,BE,\n")
    assert problems == [("header", "missing columns: priority")]


def test_refuses_unknown_columns() -> None:
    problems = refusal(f"{HEADER},colour\n{GOOD_ROW},red\n")
    assert problems == [("header", "unknown columns: colour")]


@pytest.mark.parametrize(
    ("row", "field", "rule_part"),
    [
        ("Noise!,Noise,,2023-0043,no,no,no,yes,Low,BE,", "row 1.service_code", "lower-case words"),
        (",Noise,,2023-0043,no,no,no,yes,Low,BE,", "row 1.service_code", "is required"),
        ("noise,,,2023-0043,no,no,no,yes,Low,BE,", "row 1 (noise).bylaw_short_title", "is required"),
        ("noise,Noise,,23-43,no,no,no,yes,Low,BE,", "row 1 (noise).bylaw_number", "2014-0062"),
        ("noise,Noise,,2023-0043,maybe,no,no,yes,Low,BE,", "row 1 (noise).legislative", "yes or no"),
        (
            "noise,Noise,,2023-0043,no,no,no,no,Low,BE,",
            "row 1 (noise).reactive",
            "at least one service level",
        ),
        (
            "noise,Noise,,2023-0043,no,no,no,yes,Low,XX,",
            "row 1 (noise).enforced_by",
            "unknown department codes: XX",
        ),
        ("noise,Noise,,2023-0043,no,no,no,yes,Low,,", "row 1 (noise).enforced_by", "is required"),
        ('noise,Noise,,2023-0043,no,no,no,yes,Low,"BE, BE",', "row 1 (noise).enforced_by", "twice"),
    ],
)
def test_refuses_bad_values(row: str, field: str, rule_part: str) -> None:
    problems = refusal(f"{HEADER}\n{row}\n")
    assert len(problems) == 1
    assert problems[0][0] == field
    assert rule_part in problems[0][1]


def test_reports_every_bad_row_not_just_the_first() -> None:
    rows = [GOOD_ROW, "bad code,X,,2023-0043,no,no,no,yes,Low,BE,", "garbage,Garbage,,1,no,no,no,yes,Low,BE,"]
    text = "\n".join([HEADER, *rows]) + "\n"
    fields = [field for field, _ in refusal(text)]
    assert fields == ["row 2.service_code", "row 3 (garbage).bylaw_number"]


def test_refuses_an_empty_file_and_extra_cells() -> None:
    assert refusal(f"{HEADER}\n") == [("file", "has no rows")]
    assert refusal(f"{HEADER}\n{GOOD_ROW},extra\n") == [("row 1.row", f"has more than {len(COLUMNS)} cells")]


def test_version_needs_a_council_resolution() -> None:
    # policy 6.8.4: changes to the matrix are approved by Council.
    with pytest.raises(InvalidArgument) as exc:
        build_version("2027", date(2027, 1, 1), " ", parse_matrix_csv(f"{HEADER}\n{GOOD_ROW}\n"))
    assert exc.value.violations[0].field == "council_resolution"
    assert exc.value.violations[0].policy == "6.8.4"


def test_catalog_serves_the_version_in_force_on_a_day() -> None:
    rows = parse_matrix_csv(f"{HEADER}\n{GOOD_ROW}\n")
    v2023 = build_version("2023-07-25 #406/23", date(2023, 7, 25), "#406/23", rows)
    v2027 = build_version("2027-07-13 #250/27", date(2027, 7, 13), "#250/27", rows)
    catalog = MatrixCatalog([v2027, v2023])
    assert catalog.in_force(date(2026, 1, 1)) is v2023
    assert catalog.in_force(date(2027, 7, 13)) is v2027
    with pytest.raises(NotFound):
        catalog.in_force(date(2023, 7, 24))


def test_referral_agency_only_when_no_town_department_enforces() -> None:
    entries = {e.service_code: e for e in parse_matrix_csv(MATRIX_CSV.read_text())}
    # policy 6.5.9, 6.11.2: off-road vehicles are OPP-only; smoking is Public Health.
    assert entries["off-road-vehicles"].referral_agency == "Ontario Provincial Police"
    assert entries["smoking"].referral_agency == "Public Health"
    # Shared with the Town: By-law Enforcement acts.
    assert entries["loitering"].referral_agency == ""
    assert entries["noise"].responsible_departments == "By-law Enforcement"
