"""R.E.N.A.L. and PADUA (B7) nephrometry scores."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from renalpath.clinical.common import ClinicalInputError
from renalpath.clinical.nephrometry import padua_score, renal_score

# --- R.E.N.A.L. ----------------------------------------------------------------------------


def test_b6_example_1_4a_low() -> None:
    # 3.2 cm, 60 % exophytic, 8 mm from sinus, anterior, below lower polar line.
    r = renal_score(32, 60, 8, "a", "outside", False)
    assert (r.total, r.label, r.complexity) == (4, "4a", "low")
    assert r.components == {"R": 1, "E": 1, "N": 1, "A": "a", "L": 1, "h": False}


def test_b6_example_2_8p_moderate() -> None:
    # 5.5 cm, 30 % exophytic, 5 mm, posterior, crosses polar line.
    r = renal_score(55, 30, 5, "p", "crosses", False)
    assert (r.total, r.label, r.complexity) == (8, "8p", "moderate")


def test_b6_example_3_11ph_high() -> None:
    # 6.0 cm, fully endophytic, 2 mm, posterior, between polar lines, abuts renal vein.
    r = renal_score(60, 0, 2, "p", "central", True)
    assert (r.total, r.label, r.complexity) == (11, "11ph", "high")
    assert (r.components["R"], r.components["E"], r.components["N"], r.components["L"]) == (
        2,
        3,
        3,
        3,
    )


@pytest.mark.parametrize(("size_mm", "points"), [(70, 3), (40, 1), (40.1, 2), (69.9, 2)])
def test_b6_size_boundaries(size_mm: float, points: int) -> None:
    # B6 ex. 4: 7.0 cm → R = 3; 4.0 cm → R = 1.
    assert renal_score(size_mm, 60, 8, "x", "outside", False).components["R"] == points


@pytest.mark.parametrize(("near_mm", "points"), [(4, 3), (7, 1), (4.1, 2), (6.9, 2), (0, 3)])
def test_b6_nearness_boundaries(near_mm: float, points: int) -> None:
    # B6 ex. 4: N exactly 4 mm → 3; exactly 7 mm → 1.
    assert renal_score(30, 60, near_mm, "x", "outside", False).components["N"] == points


@pytest.mark.parametrize(("pct", "points"), [(50, 1), (100, 1), (49.9, 2), (0.1, 2), (0, 3)])
def test_exophytic_boundaries(pct: float, points: int) -> None:
    assert renal_score(30, pct, 8, "x", "outside", False).components["E"] == points
    assert (
        padua_score(30, pct, "superior", "lateral", False, False, "a").components["exophytic"]
        == points
    )


def test_max_renal_is_12xh() -> None:
    r = renal_score(80, 0, 1, "x", "central", True)
    assert (r.total, r.label, r.complexity) == (12, "12xh", "high")


# --- PADUA ---------------------------------------------------------------------------------


def test_b7_example_1_6a() -> None:
    p = padua_score(30, 60, "superior", "lateral", False, False, "a")
    assert (p.total, p.label, p.risk) == (6, "6a", "low")


def test_b7_example_2_8a() -> None:
    p = padua_score(35, 60, "middle", "lateral", True, False, "a")
    assert (p.total, p.label, p.risk) == (8, "8a", "intermediate")


def test_b7_example_3_10p() -> None:
    p = padua_score(50, 30, "middle", "medial", False, False, "p")
    assert (p.total, p.label, p.risk) == (10, "10p", "high")


def test_b7_example_4_14p() -> None:
    p = padua_score(75, 0, "middle", "medial", True, True, "p")
    assert (p.total, p.label, p.risk) == (14, "14p", "high")
    assert p.components == {
        "polar": 2,
        "exophytic": 3,
        "rim": 2,
        "sinus": 2,
        "ucs": 2,
        "size": 3,
        "face": "p",
    }


def test_b7_seven_cm_differs_from_renal() -> None:
    # B7: a 7.0 cm tumour scores 2 in PADUA but 3 in RENAL.
    assert padua_score(70, 60, "superior", "lateral", False, False, "a").components["size"] == 2
    assert renal_score(70, 60, 8, "a", "outside", False).components["R"] == 3


@pytest.mark.parametrize(("size_mm", "points"), [(40, 1), (40.1, 2), (70, 2), (70.1, 3)])
def test_padua_size_boundaries(size_mm: float, points: int) -> None:
    assert (
        padua_score(size_mm, 60, "inferior", "lateral", False, False, "a").components["size"]
        == points
    )


def test_padua_carries_verification_flag() -> None:
    # B7 point values are [R]: must be flagged until a clinician checks Ficarra Table 1.
    assert (
        "padua_points_need_verification"
        in padua_score(30, 60, "superior", "lateral", False, False, "a").flags
    )


# --- properties ----------------------------------------------------------------------------

size_st = st.floats(min_value=1, max_value=400)
pct_st = st.floats(min_value=0, max_value=100)
near_st = st.floats(min_value=0, max_value=200)


@given(
    size_st,
    pct_st,
    near_st,
    st.sampled_from("apx"),
    st.sampled_from(["outside", "crosses", "central"]),
    st.booleans(),
)
def test_renal_total_in_4_to_12(
    size: float, pct: float, near: float, ap: str, polar: str, hilar: bool
) -> None:
    r = renal_score(size, pct, near, ap, polar, hilar)
    assert 4 <= r.total <= 12
    assert r.label == f"{r.total}{ap}{'h' if hilar else ''}"
    expected = "low" if r.total <= 6 else "moderate" if r.total <= 9 else "high"
    assert r.complexity == expected


@given(
    size_st,
    pct_st,
    st.sampled_from(["superior", "inferior", "middle"]),
    st.sampled_from(["lateral", "medial"]),
    st.booleans(),
    st.booleans(),
    st.sampled_from("ap"),
)
def test_padua_total_in_6_to_14(
    size: float, pct: float, polar: str, rim: str, sinus: bool, ucs: bool, face: str
) -> None:
    p = padua_score(size, pct, polar, rim, sinus, ucs, face)
    assert 6 <= p.total <= 14
    assert p.label == f"{p.total}{face}"
    assert p.risk == ("low" if p.total <= 7 else "intermediate" if p.total <= 9 else "high")


RENAL_OK: dict[str, Any] = {
    "size_mm": 30,
    "exophytic_pct": 60,
    "nearness_mm": 8,
    "ap": "a",
    "polar": "outside",
    "hilar": False,
}
PADUA_OK: dict[str, Any] = {
    "size_mm": 30,
    "exophytic_pct": 60,
    "polar": "superior",
    "rim": "lateral",
    "sinus": False,
    "ucs": False,
    "face": "a",
}
BAD_VALUES = [None, math.nan, math.inf, -1, 1e9, "x", "zz", 401, 101, True, 0.5]


def _is_valid(name: str, value: Any, calc: str) -> bool:
    """Is `value` acceptable for field `name`? (so the property only checks real refusals)"""
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if name == "size_mm":
        return numeric and 1 <= value <= 400
    if name == "exophytic_pct":
        return numeric and 0 <= value <= 100
    if name == "nearness_mm":
        return numeric and 0 <= value <= 200
    if name in ("hilar", "sinus", "ucs"):
        return isinstance(value, bool)
    choices = {
        ("renal", "ap"): "apx",
        ("renal", "polar"): ("outside", "crosses", "central"),
        ("padua", "polar"): ("superior", "inferior", "middle"),
        ("padua", "rim"): ("lateral", "medial"),
        ("padua", "face"): "ap",
    }[(calc, name)]
    return isinstance(value, str) and value in choices


@given(
    st.sampled_from(["renal", "padua"]),
    st.data(),
    st.sampled_from(BAD_VALUES),
)
def test_every_refusal_names_its_field(calc: str, data: st.DataObject, bad: Any) -> None:
    base = RENAL_OK if calc == "renal" else PADUA_OK
    name = data.draw(st.sampled_from(sorted(base)))
    if _is_valid(name, bad, calc):
        return
    fn = renal_score if calc == "renal" else padua_score
    with pytest.raises(ClinicalInputError) as err:
        fn(**{**base, name: bad})
    assert err.value.fields == (name,)
    assert name in str(err.value)
