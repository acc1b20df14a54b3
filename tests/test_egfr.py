"""eGFR equations against the eGFR equations worked examples and the refdata reference rows."""

from __future__ import annotations

import csv
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from renalpath.clinical.ckd import round_half_up
from renalpath.clinical.common import ClinicalInputError
from renalpath.clinical.egfr import (
    CKD_EPI_2009,
    CKD_EPI_2021,
    EQUATIONS,
    MDRD,
    SPECS,
    ckd_epi_2009_formula,
    ckd_epi_2021_formula,
    egfr,
    egfr_array,
    formula,
    mdrd_formula,
)

DATA = Path(__file__).parent / "data"
EQUATION_IDS = {"MDRD_175": MDRD, "CKD_EPI_2009": CKD_EPI_2009, "CKD_EPI_2021": CKD_EPI_2021}


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# --- hand-verified worked examples (2 dp as printed there; MedCalc fixtures at 5 dp) -------

B_EXAMPLES = [
    # (id, equation, creatinine mg/dL, age, sex, black, expected eGFR, expected KDIGO or None)
    ("B2.1", MDRD, 1.35, 64, "male", False, 53.21, "G3a"),
    ("B2.2", MDRD, 0.90, 55, "female", False, 65.01, "G2"),
    ("B2.3", MDRD, 2.00, 72, "male", False, 33.01, "G3b"),
    ("B2.4", MDRD, 1.30, 60, "male", False, 56.31, None),
    ("B3.1", CKD_EPI_2009, 1.35, 64, "male", False, 55.09, None),
    ("B3.2", CKD_EPI_2009, 0.90, 55, "female", False, 71.98, None),
    ("B3.2-black", CKD_EPI_2009, 0.90, 55, "female", True, 83.43, None),
    ("B3.3", CKD_EPI_2009, 0.80, 50, "male", False, 104.16, None),
    ("B3.4", CKD_EPI_2009, 0.60, 40, "female", False, 114.02, None),
    ("B4.1", CKD_EPI_2021, 0.90, 55, "female", False, 75.50, "G2"),
    ("B4.2", CKD_EPI_2021, 1.35, 64, "male", False, 58.63, "G3a"),
    ("B4.3", CKD_EPI_2021, 0.80, 50, "male", False, 107.82, "G1"),
    ("B4.4", CKD_EPI_2021, 1.00, 70, "female", False, 60.61, "G2"),
]


@pytest.mark.parametrize(
    ("eq", "scr", "age", "sex", "black", "expected", "stage"),
    [pytest.param(*row[1:], id=row[0]) for row in B_EXAMPLES],
)
def test_clinical_spec_worked_examples(
    eq: str, scr: float, age: int, sex: str, black: bool, expected: float, stage: str | None
) -> None:
    result = egfr(scr, "mg/dL", age, sex, equation=eq, black=black)
    assert result.egfr == pytest.approx(expected, abs=0.005)
    assert result.equation == eq
    if stage is not None:
        assert result.ckd_stage == stage


@pytest.mark.parametrize(
    ("eq", "scr", "age", "sex", "expected"),
    [
        (MDRD, 1.40, 73, "male", 49.67659),  # B2 ex. 5 (MedCalc-Bench-Verified)
        (CKD_EPI_2021, 1.33, 51, "female", 48.44101),  # B4 ex. 5
        (CKD_EPI_2021, 1.35, 35, "male", 70.21721),  # B4 ex. 5
    ],
)
def test_clinical_spec_published_fixtures(
    eq: str, scr: float, age: int, sex: str, expected: float
) -> None:
    assert egfr(scr, "mg/dL", age, sex, equation=eq).egfr == pytest.approx(expected, abs=5e-6)


def test_acceptance_case_mdrd_53_21_g3a() -> None:
    result = egfr(1.35, "mg/dL", 64, "male", equation="mdrd")
    assert result.egfr == pytest.approx(53.21, abs=0.01)
    assert result.egfr_rounded == 53
    assert result.ckd_stage == "G3a"
    assert result.creatinine_mg_dl == 1.35


def test_default_equation_is_ckd_epi_2021() -> None:
    assert egfr(1.35, "mg/dL", 64, "male").equation == CKD_EPI_2021


def test_umol_input_uses_factor_88_4() -> None:
    # 119.34 µmol/L is exactly 1.35 mg/dL × 88.4 (B1 ex. 1) → the same eGFR as B2 ex. 1.
    result = egfr(119.34, "µmol/L", 64, "male", equation="mdrd")
    assert result.creatinine_mg_dl == pytest.approx(1.35, abs=1e-12)
    assert result.egfr == pytest.approx(53.21, abs=0.005)


def test_result_keeps_unrounded_value_and_provenance() -> None:
    result = egfr(0.9, "mg/dL", 55, "female")
    assert result.egfr != result.egfr_rounded
    assert result.egfr_rounded == 75  # B5: 75.499 → 75 (half-up)
    d = result.to_dict()
    for key in ("equation", "egfr", "egfr_rounded", "ckd_stage", "creatinine_mg_dl"):
        assert key in d
    assert d["calculator_id"] == SPECS[CKD_EPI_2021].id
    assert d["sources"] and d["version"]


def test_black_flag_ignored_and_reported_for_2021() -> None:
    plain = egfr(1.0, "mg/dL", 50, "male")
    flagged = egfr(1.0, "mg/dL", 50, "male", black=True)
    assert flagged.egfr == plain.egfr
    assert "black_coefficient_not_applicable" in flagged.flags


def test_warn_range_flag() -> None:
    assert "creatinine_outside_usual_range" in egfr(12.0, "mg/dL", 50, "male").flags
    assert "creatinine_outside_usual_range" not in egfr(1.0, "mg/dL", 50, "male").flags


# --- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize("age", [17, 16, 0, 17.99])
def test_public_egfr_refuses_minors(age: float) -> None:
    with pytest.raises(ClinicalInputError) as err:
        egfr(3.7, "mg/dL", age, "male")
    assert err.value.fields == ("age",)
    assert "adult equations need age ≥ 18" in str(err.value)


def test_public_egfr_refuses_the_medcalc_age_17_rows() -> None:
    for row in _rows("egfr_reference_curated.csv"):
        if float(row["age"]) < 18:
            with pytest.raises(ClinicalInputError) as err:
                egfr(
                    float(row["creatinine_mg_dl"]),
                    "mg/dL",
                    float(row["age"]),
                    "female" if row["sex"] == "F" else "male",
                    equation=EQUATION_IDS[row["equation"]],
                )
            assert "age" in err.value.fields


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"creatinine": 120, "unit": "mg/dL"}, "creatinine"),
        ({"unit": "mmol/L"}, "creatinine_unit"),
        ({"age": 121}, "age"),
        ({"age": math.nan}, "age"),
        ({"sex": "other"}, "sex"),
        ({"equation": "cockcroft"}, "equation"),
        ({"black": "yes"}, "black"),
    ],
)
def test_refusals_name_field(kwargs: dict[str, Any], field: str) -> None:
    args: dict[str, Any] = {"creatinine": 1.0, "unit": "mg/dL", "age": 50, "sex": "male"}
    args.update(kwargs)
    with pytest.raises(ClinicalInputError) as err:
        egfr(**args)
    assert err.value.fields == (field,)
    assert field in str(err.value)


def test_all_problems_reported_together() -> None:
    with pytest.raises(ClinicalInputError) as err:
        egfr(120, "mg/dL", 16, "x", equation="nope")
    assert set(err.value.fields) == {"creatinine", "age", "sex", "equation"}


# --- reference CSVs ------------------------------------------------------------------------


def _half_unit(precision: str, expected: float) -> float | None:
    """Half of the last printed unit for a row's stated precision; None = integer (round())."""
    if precision.startswith("integer"):
        return None
    if precision[0].isdigit() and precision[1:3] == "dp":
        return 0.5 * 10.0 ** -int(precision[0])
    if "sig. fig." in precision:  # 3 significant figures
        decimals = 2 - math.floor(math.log10(abs(expected)))
        return 0.5 * 10.0**-decimals
    raise AssertionError(f"unknown precision {precision!r}")


CURATED = _rows("egfr_reference_curated.csv")


def _row_id(row: dict[str, str]) -> str:
    return f"{row['equation']}-{row['source_ref'][:40]}-{row['age']}{row['sex']}"


@pytest.mark.parametrize("row", CURATED, ids=[_row_id(r) for r in CURATED])
def test_curated_row_with_source_conversion(row: dict[str, str]) -> None:
    """Every curated row from the row's own mg/dL value (the source's conversion factor)."""
    eq = EQUATION_IDS[row["equation"]]
    scr = float(row["creatinine_mg_dl"])
    age = float(row["age"])
    female = row["sex"] == "F"
    black = row["black"] == "1"
    expected = float(row["expected_egfr"])
    if age < 18:
        # MedCalc-Bench includes a 17-year-old; reproduce it through the bare formula (the
        # public egfr() refuses minors, tested above).
        value = formula(eq)(scr, age, female, black)
    else:
        value = egfr(scr, "mg/dL", age, "female" if female else "male", eq, black).egfr
    half = _half_unit(row["expected_precision"], expected)
    if half is None:
        # SCREAM rows: kidney.org integers; refdata README says compare round().
        assert round_half_up(value) == int(expected)
    elif row["creatinine_input_unit"] == "umol/L" and half < 0.001:
        # MedCalc-Bench rounds the converted creatinine to ~4 dp and edc-egfr converts with
        # "about 88.42"; neither intermediate is in the CSV, so the refdata README's measured
        # agreement (≤ 0.0012) bounds these rows.
        assert abs(value - expected) <= 0.002
    else:
        assert abs(value - expected) <= half + 1e-9


UMOL_ROWS = [r for r in CURATED if r["creatinine_input_unit"] == "umol/L"]


@pytest.mark.parametrize("row", UMOL_ROWS, ids=[_row_id(r) for r in UMOL_ROWS])
def test_curated_umol_rows_with_project_factor(row: dict[str, str]) -> None:
    """The original µmol/L input through our public path (÷ 88.4): within 0.02 of the source
    beyond its printed precision ((open question, awaiting clinical sign-off))."""
    eq = EQUATION_IDS[row["equation"]]
    expected = float(row["expected_egfr"])
    result = egfr(
        float(row["creatinine_input_value"]),
        "umol/L",
        float(row["age"]),
        "female" if row["sex"] == "F" else "male",
        eq,
        row["black"] == "1",
    )
    half = _half_unit(row["expected_precision"], expected)
    if half is None:
        assert result.egfr_rounded == int(expected)
    else:
        assert abs(result.egfr - expected) <= half + 0.02


GRID = _rows("egfr_reference_grid.csv")


@pytest.mark.parametrize(
    "row",
    GRID,
    ids=[f"{r['equation']}-{r['creatinine_mg_dl']}-{r['age']}{r['sex']}{r['black']}" for r in GRID],
)
def test_grid_row(row: dict[str, str]) -> None:
    """`expected_egfr` = nephro 1.5 at 4 dp (CKD-EPI 2009: single-equation form, pinned)."""
    result = egfr(
        float(row["creatinine_mg_dl"]),
        "mg/dL",
        float(row["age"]),
        "female" if row["sex"] == "F" else "male",
        EQUATION_IDS[row["equation"]],
        row["black"] == "1",
    )
    assert abs(result.egfr - float(row["expected_egfr"])) <= 0.5e-4 + 1e-9


def test_grid_and_curated_are_complete() -> None:
    assert len(CURATED) == 72 and len(GRID) == 360
    assert Decimal(GRID[0]["expected_egfr"]).as_tuple().exponent == -4


# --- properties ----------------------------------------------------------------------------

scr_st = st.floats(min_value=0.1, max_value=25.0)
age_st = st.floats(min_value=18.0, max_value=120.0)
sex_st = st.sampled_from(["male", "female"])
eq_st = st.sampled_from(EQUATIONS)


@given(eq_st, sex_st, st.booleans(), scr_st, scr_st, age_st)
def test_egfr_strictly_decreases_as_creatinine_rises(
    eq: str, sex: str, black: bool, a: float, b: float, age: float
) -> None:
    lo, hi = sorted((a, b))
    assume(hi > lo * (1 + 1e-9))
    assert egfr(lo, "mg/dL", age, sex, eq, black).egfr > egfr(hi, "mg/dL", age, sex, eq, black).egfr


@given(eq_st, sex_st, st.booleans(), scr_st, age_st, age_st)
def test_egfr_strictly_decreases_as_age_rises(
    eq: str, sex: str, black: bool, scr: float, a: float, b: float
) -> None:
    lo, hi = sorted((a, b))
    assume(hi > lo + 1e-6)
    assert egfr(scr, "mg/dL", lo, sex, eq, black).egfr > egfr(scr, "mg/dL", hi, sex, eq, black).egfr


@given(scr_st, age_st, st.booleans())
def test_mdrd_female_factor_is_0_742_everywhere(scr: float, age: float, black: bool) -> None:
    # B2: the MDRD female term is a plain multiplier.
    f = egfr(scr, "mg/dL", age, "female", MDRD, black).egfr
    m = egfr(scr, "mg/dL", age, "male", MDRD, black).egfr
    assert f / m == pytest.approx(0.742, rel=1e-12)


@pytest.mark.parametrize(
    ("eq", "factor", "exponent"), [(CKD_EPI_2009, 1.018, -1.209), (CKD_EPI_2021, 1.012, -1.200)]
)
@given(r=st.floats(min_value=1.0, max_value=25.0 / 0.9), age=age_st)
def test_ckd_epi_female_factor_where_branches_coincide(
    eq: str, factor: float, exponent: float, r: float, age: float
) -> None:
    """CKD-EPI is piecewise in Scr/κ with sex-specific κ and α, so female/male at the same Scr is
    not the published factor.  At the same Scr/κ = r ≥ 1 both sexes are on the max-branch
    (shared exponent, α unused), and there the ratio is exactly the published female factor."""
    f = formula(eq)(0.7 * r, age, True, False)
    m = formula(eq)(0.9 * r, age, False, False)
    assert f / m == pytest.approx(factor, rel=1e-9)
    # And at the same Scr ≥ 0.9 (both above their knots) it is factor × (0.7/0.9)^−exponent.
    scr = 0.9 * r
    same = formula(eq)(scr, age, True, False) / formula(eq)(scr, age, False, False)
    assert same == pytest.approx(factor * (0.7 / 0.9) ** -exponent, rel=1e-9)


@given(scr_st, age_st, sex_st)
def test_black_coefficients(scr: float, age: float, sex: str) -> None:
    for eq, coef in ((MDRD, 1.212), (CKD_EPI_2009, 1.159)):
        ratio = egfr(scr, "mg/dL", age, sex, eq, True).egfr / egfr(scr, "mg/dL", age, sex, eq).egfr
        assert ratio == pytest.approx(coef, rel=1e-12)


@given(scr_st, age_st, sex_st, eq_st)
def test_stage_matches_rounded_value(scr: float, age: float, sex: str, eq: str) -> None:
    result = egfr(scr, "mg/dL", age, sex, eq)
    assert abs(result.egfr_rounded - result.egfr) <= 0.5
    assert result.egfr > 0


def test_bare_formulas_match_public_function() -> None:
    assert mdrd_formula(1.35, 64, False) == egfr(1.35, "mg/dL", 64, "male", MDRD).egfr
    assert (
        ckd_epi_2009_formula(0.9, 55, True, True)
        == egfr(0.9, "mg/dL", 55, "f", CKD_EPI_2009, True).egfr
    )
    assert ckd_epi_2021_formula(1.0, 70, True) == egfr(1.0, "mg/dL", 70, "F").egfr


# --- vectorised form -----------------------------------------------------------------------


@st.composite
def _columns(draw: st.DrawFn) -> tuple[np.ndarray[Any, Any], ...]:
    n = draw(st.integers(min_value=1, max_value=40))
    scr = draw(arrays(np.float64, n, elements=scr_st))
    age = draw(arrays(np.float64, n, elements=age_st))
    female = draw(arrays(np.bool_, n))
    black = draw(arrays(np.bool_, n))
    return scr, age, female, black


@given(_columns(), eq_st)
def test_egfr_array_agrees_with_scalar(cols: tuple[np.ndarray[Any, Any], ...], eq: str) -> None:
    scr, age, female, black = cols
    vector = egfr_array(scr, age, female, eq, black)
    for i in range(len(scr)):
        scalar = egfr(
            float(scr[i]),
            "mg/dL",
            float(age[i]),
            "female" if female[i] else "male",
            eq,
            bool(black[i]),
        ).egfr
        assert abs(vector[i] - scalar) <= 1e-9


def test_egfr_array_on_grid_matches_reference() -> None:
    for eq_name, eq in EQUATION_IDS.items():
        rows = [r for r in GRID if r["equation"] == eq_name]
        out = egfr_array(
            np.array([float(r["creatinine_mg_dl"]) for r in rows]),
            np.array([float(r["age"]) for r in rows]),
            np.array([r["sex"] == "F" for r in rows]),
            eq,
            np.array([r["black"] == "1" for r in rows]),
        )
        expected = np.array([float(r["expected_egfr"]) for r in rows])
        assert np.all(np.abs(out - expected) <= 0.5e-4 + 1e-9)


def test_egfr_array_without_black_defaults_to_false() -> None:
    out = egfr_array(np.array([1.35]), np.array([64.0]), np.array([False]), MDRD)
    assert out[0] == pytest.approx(53.21, abs=0.005)


def test_egfr_array_refuses_mismatched_shapes() -> None:
    with pytest.raises(ClinicalInputError) as err:
        egfr_array(np.ones(3), np.ones(2) * 50, np.zeros(3, dtype=bool), MDRD)
    assert err.value.fields == ("age",)


def test_egfr_array_refuses_unknown_equation() -> None:
    with pytest.raises(ClinicalInputError) as err:
        egfr_array(np.ones(1), np.ones(1) * 50, np.zeros(1, dtype=bool), "cockcroft")
    assert err.value.fields == ("equation",)
