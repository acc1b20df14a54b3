"""SSIGN: worked examples, 5.0 cm boundary, TNM 8 T4 rule, properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from renalpath.clinical.common import ClinicalInputError
from renalpath.clinical.prognosis import ssign

# Point table typed in from SSIGN, Frank 2002.
SPEC_PT = {"pT1a": 0, "pT1b": 0, "pT2a": 1, "pT2b": 1, "pT3a": 2, "pT3b": 2, "pT3c": 2, "pT4": 4}
SPEC_PN = {"pNX": 0, "pN0": 0, "pN1": 2}
SPEC_M = {"M0": 0, "M1": 4}
SPEC_GRADE = {1: 0, 2: 0, 3: 1, 4: 3}
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


def spec_group(score: int) -> str:
    for name, low, high in (
        ("0-2", 0, 2),
        ("3-4", 3, 4),
        ("5-6", 5, 6),
        ("7-9", 7, 9),
        ("10-17", 10, 17),
    ):
        if low <= score <= high:
            return name
    raise AssertionError(score)


@pytest.mark.parametrize(
    ("pt", "pn", "m", "size_mm", "grade", "necrosis", "score"),
    [
        ("pT1a", "pN0", "M0", 30, 2, False, 0),  # B10 example 1
        ("pT2", "pN0", "M0", 80, 3, True, 6),  # B10 example 2 ("pT2 8 cm")
        ("pT3b", "pN1", "M1", 90, 4, True, 15),  # B10 example 3
        ("pT1b", "pNX", "M0", 50.0, 2, False, 2),  # B10 example 4 (5.0 cm → ≥ 5)
    ],
)
def test_worked_examples(
    pt: str, pn: str, m: str, size_mm: float, grade: int, necrosis: bool, score: int
) -> None:
    result = ssign(pt, pn, m, size_mm, grade, necrosis)
    assert result.score == score
    assert result.group == spec_group(score)


def test_size_boundary_5_cm() -> None:
    assert ssign("pT1b", "pN0", "M0", 50.0, 1, False).components["size"] == 2
    assert ssign("pT1b", "pN0", "M0", 49.9, 1, False).components["size"] == 0


def test_t4_scores_4_with_version_flag() -> None:
    result = ssign("pT4", "pN0", "M0", 30, 1, False)
    assert result.score == 4
    assert "tnm_version_mismatch" in result.flags
    assert "tnm_version_mismatch" not in ssign("pT3a", "pN0", "M0", 30, 1, False).flags


def test_m_spellings_and_mx_refused() -> None:
    assert ssign("pT1a", "pN0", "cM1", 30, 1, False).score == 4
    with pytest.raises(ClinicalInputError) as err:
        ssign("pT1a", "pN0", "MX", 30, 1, False)
    assert err.value.fields == ("m",)


def test_non_clear_cell_not_applicable() -> None:
    result = ssign("pT1a", "pN0", "M0", 30, 1, False, "papillary")
    assert (result.score, result.group) == (None, "not_applicable")


def test_refusals_collected_with_m() -> None:
    with pytest.raises(ClinicalInputError) as err:
        ssign("pT5", "pN0", None, 30, 7, False)
    assert set(err.value.fields) == {"pt", "m", "grade"}


@st.composite
def valid_inputs(draw: st.DrawFn) -> tuple[str, str, str, float, int, bool]:
    pt = draw(st.sampled_from(sorted(PT_SIZE)))
    return (
        pt,
        draw(st.sampled_from(sorted(SPEC_PN))),
        draw(st.sampled_from(sorted(SPEC_M))),
        draw(st.floats(*PT_SIZE[pt], allow_nan=False)),
        draw(st.integers(1, 4)),
        draw(st.booleans()),
    )


@given(valid_inputs())
def test_score_in_range_and_matches_spec(args: tuple[str, str, str, float, int, bool]) -> None:
    pt, pn, m, size, grade, necrosis = args
    result = ssign(pt, pn, m, size, grade, necrosis)
    expected = (
        SPEC_PT[pt]
        + SPEC_PN[pn]
        + SPEC_M[m]
        + (2 if size >= 50 else 0)
        + SPEC_GRADE[grade]
        + (2 if necrosis else 0)
    )
    assert result.score == expected
    assert 0 <= expected <= 17
    assert result.group == spec_group(expected)


@given(valid_inputs())
def test_monotone_in_each_risk_factor(args: tuple[str, str, str, float, int, bool]) -> None:
    pt, pn, m, size, grade, necrosis = args
    base = ssign(pt, pn, m, size, grade, necrosis).score
    assert base is not None
    if grade < 4:
        assert (ssign(pt, pn, m, size, grade + 1, necrosis).score or 0) >= base
    assert (ssign(pt, pn, m, size, grade, True).score or 0) >= base
    assert (ssign(pt, "pN1", m, size, grade, necrosis).score or 0) >= base
    assert (ssign(pt, pn, "M1", size, grade, necrosis).score or 0) >= base
    bigger = min(size * 1.5, 400.0)
    if PT_SIZE[pt][1] >= bigger:
        assert (ssign(pt, pn, m, bigger, grade, necrosis).score or 0) >= base
    order = list(PT_SIZE)
    for later in order[order.index(pt) + 1 :]:
        low, high = PT_SIZE[later]
        if low <= size <= high:
            assert (ssign(later, pn, m, size, grade, necrosis).score or 0) >= base


@given(
    st.sampled_from(["pt", "pn", "m", "size_mm", "grade", "necrosis"]),
    st.one_of(st.none(), st.text(max_size=5), st.integers(-10, 1000), st.floats()),
)
def test_every_refusal_names_its_field(field: str, bad: object) -> None:
    args: dict[str, object] = {
        "pt": "pT3a",
        "pn": "pN0",
        "m": "M0",
        "size_mm": 50,
        "grade": 2,
        "necrosis": False,
    }
    args[field] = bad
    try:
        ssign(**args)  # type: ignore[arg-type]
    except ClinicalInputError as err:
        assert err.fields == (field,)
        assert field in str(err)
