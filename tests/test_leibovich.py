"""Leibovich 2003: worked examples, boundaries, refusals, properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from renalpath.clinical.common import ClinicalInputError
from renalpath.clinical.leibovich import leibovich as leibovich_direct
from renalpath.clinical.prognosis import leibovich

# Point table typed in from Leibovich 2003 (independent of the implementation's tables).
SPEC_PT = {"pT1a": 0, "pT1b": 2, "pT2a": 3, "pT2b": 3, "pT3a": 4, "pT3b": 4, "pT3c": 4, "pT4": 4}
SPEC_PN = {"pNX": 0, "pN0": 0, "pN1": 2}
SPEC_GRADE = {1: 0, 2: 0, 3: 1, 4: 3}
# Size windows of each pT (AJCC 8, AJCC 8), mm.
PT_SIZE = {
    "pT1a": (1.0, 40.0),
    "pT1b": (40.5, 70.0),
    "pT2a": (70.5, 100.0),
    "pT2b": (100.5, 400.0),
    "pT3a": (1.0, 400.0),
    "pT3b": (1.0, 400.0),
    "pT3c": (1.0, 400.0),
    "pT4": (1.0, 400.0),
}


@pytest.mark.parametrize(
    ("pt", "pn", "size_mm", "grade", "necrosis", "score", "group"),
    [
        ("pT1a", "pN0", 30, 2, False, 0, "low"),  # B9 example 1
        ("pT1b", "pNX", 60, 3, True, 4, "intermediate"),  # B9 example 2
        ("pT3a", "pN1", 110, 4, True, 11, "high"),  # B9 example 3
        ("pT2a", "pN0", 80, 3, False, 4, "intermediate"),  # B9 example 4
        ("pT2a", "pN0", 90, 3, False, 4, "intermediate"),  # vignette V05
        ("pT3b", "pN0", 95, 3, True, 6, "high"),  # vignette V08
        ("pT3b", "pN0", 95, 1, False, 4, "intermediate"),  # V08 note: pT3b alone = 4
    ],
)
def test_worked_examples(
    pt: str, pn: str, size_mm: float, grade: int, necrosis: bool, score: int, group: str
) -> None:
    result = leibovich(pt, pn, size_mm, grade, necrosis)
    assert (result.score, result.group) == (score, group)
    assert result.calculator_id == "leibovich-2003"


def test_same_function_from_module_and_prognosis() -> None:
    assert leibovich is leibovich_direct


def test_size_boundary_10_cm() -> None:
    # "Tumour size >= 10 cm" scores 1: 100 mm is >= 10 cm, 99.9 mm is not.
    assert leibovich("pT3a", "pN0", 100, 1, False).components["size"] == 1
    assert leibovich("pT3a", "pN0", 99.9, 1, False).components["size"] == 0
    assert leibovich("pT3a", "pN0", 100, 1, False).score == 5


def test_group_cutoffs() -> None:
    # 2 → low, 3 → intermediate (pT1b 2 + grade 3 1), 5 → intermediate, 6 → high.
    assert leibovich("pT1b", "pN0", 50, 2, False).group == "low"
    assert leibovich("pT1b", "pN0", 50, 3, False).group == "intermediate"
    assert leibovich("pT3a", "pN0", 50, 3, False).group == "intermediate"
    assert leibovich("pT3a", "pN0", 50, 3, True).group == "high"


def test_flags_needs_verification_and_grade_mapping() -> None:
    isup = leibovich("pT1a", "pN0", 30, 2, False)
    assert "needs_verification" in isup.flags
    assert "who_isup_grade_scored_as_fuhrman" in isup.flags
    fuhrman = leibovich("pT1a", "pN0", 30, 2, False, grade_system="fuhrman")
    assert "needs_verification" in fuhrman.flags
    assert "who_isup_grade_scored_as_fuhrman" not in fuhrman.flags


@pytest.mark.parametrize("histology", ["papillary", "chromophobe", "other"])
def test_non_clear_cell_not_applicable(histology: str) -> None:
    result = leibovich("pT1a", "pN0", 30, 2, False, histology)
    assert result.group == "not_applicable"
    assert result.score is None


def test_unknown_histology_refused() -> None:
    with pytest.raises(ClinicalInputError) as err:
        leibovich("pT1a", "pN0", 30, 2, False, "unknown")
    assert err.value.fields == ("histology",)


@pytest.mark.parametrize(
    ("kwargs", "field", "text"),
    [
        ({"grade": 5}, "grade", "1–4"),
        ({"grade": 0}, "grade", "1–4"),
        ({"pt": "pT5"}, "pt", "pT5"),
        ({"pt": "cT1a"}, "pt", "clinical"),
        ({"pt": "pT1"}, "pt", "pT1a, pT1b"),
        ({"pn": "pN2"}, "pn", "TNM 2002"),
        ({"size_mm": 0}, "size_mm", "1–400 mm"),
        ({"size_mm": 500}, "size_mm", "1–400 mm"),
        ({"size_mm": 55}, "size_mm", "pT1a"),  # contradicts pT1a (≤ 40 mm)
        ({"necrosis": None}, "necrosis", "required"),
        ({"grade": True}, "grade", "whole number"),
    ],
)
def test_refusals_name_field_value_range(kwargs: dict[str, object], field: str, text: str) -> None:
    args: dict[str, object] = {
        "pt": "pT1a",
        "pn": "pN0",
        "size_mm": 30,
        "grade": 2,
        "necrosis": False,
    }
    args.update(kwargs)
    with pytest.raises(ClinicalInputError) as err:
        leibovich(**args)  # type: ignore[arg-type]
    assert err.value.fields == (field,)
    assert text in str(err.value)


def test_all_missing_fields_reported_together() -> None:
    with pytest.raises(ClinicalInputError) as err:
        leibovich(None, None, None, None, None)
    assert set(err.value.fields) == {"pt", "pn", "size_mm", "grade", "necrosis"}


def test_spellings_normalised() -> None:
    assert leibovich("T1b", "N0", 60, 3, True).score == leibovich("pT1b", "pN0", 60, 3, True).score


@st.composite
def valid_inputs(draw: st.DrawFn) -> tuple[str, str, float, int, bool]:
    pt = draw(st.sampled_from(sorted(PT_SIZE)))
    low, high = PT_SIZE[pt]
    size = draw(st.floats(low, high, allow_nan=False))
    return (
        pt,
        draw(st.sampled_from(sorted(SPEC_PN))),
        size,
        draw(st.integers(1, 4)),
        draw(st.booleans()),
    )


@given(valid_inputs())
def test_score_in_range_and_matches_spec_table(args: tuple[str, str, float, int, bool]) -> None:
    pt, pn, size, grade, necrosis = args
    result = leibovich(pt, pn, size, grade, necrosis)
    expected = SPEC_PT[pt] + SPEC_PN[pn] + (size >= 100) + SPEC_GRADE[grade] + necrosis
    assert result.score == expected
    assert 0 <= expected <= 11
    assert result.group == ("low" if expected <= 2 else "intermediate" if expected <= 5 else "high")


@given(valid_inputs())
def test_monotone_in_each_risk_factor(args: tuple[str, str, float, int, bool]) -> None:
    pt, pn, size, grade, necrosis = args
    base = leibovich(pt, pn, size, grade, necrosis).score
    assert base is not None
    if grade < 4:
        assert (leibovich(pt, pn, size, grade + 1, necrosis).score or 0) >= base
    if not necrosis:
        assert (leibovich(pt, pn, size, grade, True).score or 0) > base
    if pn != "pN1":
        assert (leibovich(pt, "pN1", size, grade, necrosis).score or 0) > base
    bigger = min(size * 1.5, 400.0)
    if PT_SIZE[pt][1] >= bigger:  # a larger tumour with the same pT
        assert (leibovich(pt, pn, bigger, grade, necrosis).score or 0) >= base
    order = list(PT_SIZE)
    for later in order[order.index(pt) + 1 :]:
        low, high = PT_SIZE[later]
        if low <= size <= high:  # a higher pT that is still consistent with the size
            assert (leibovich(later, pn, size, grade, necrosis).score or 0) >= base


@given(
    st.sampled_from(["pt", "pn", "size_mm", "grade", "necrosis"]),
    st.one_of(st.none(), st.text(max_size=5), st.integers(-10, 1000), st.floats()),
)
def test_every_refusal_names_its_field(field: str, bad: object) -> None:
    args: dict[str, object] = {
        "pt": "pT3a",
        "pn": "pN0",
        "size_mm": 50,
        "grade": 2,
        "necrosis": False,
    }
    args[field] = bad
    try:
        leibovich(**args)  # type: ignore[arg-type]
    except ClinicalInputError as err:
        assert err.fields == (field,)
        assert field in str(err)
