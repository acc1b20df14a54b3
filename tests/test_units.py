"""Creatinine unit conversion (creatinine unit conversion, F = 88.4 [P])."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from renalpath.clinical.common import ClinicalInputError
from renalpath.clinical.units import (
    CREATININE_UMOL_PER_MG_DL,
    creatinine_mg_dl_to_umol_l,
    creatinine_to_mg_dl,
    normalise_unit,
)


def test_factor_is_the_project_decision() -> None:
    assert CREATININE_UMOL_PER_MG_DL == 88.4  # B1 [P], not 88.42 or 88.4017


# creatinine unit conversion worked examples (hand-verified there).
def test_b1_example_1_mg_dl_to_umol_l() -> None:
    assert creatinine_mg_dl_to_umol_l(1.35) == pytest.approx(119.34, abs=1e-9)


def test_b1_example_2_umol_l_to_mg_dl() -> None:
    assert creatinine_to_mg_dl(120, "µmol/L") == pytest.approx(1.3575, abs=5e-5)


def test_b1_example_3_round_trip() -> None:
    umol = creatinine_mg_dl_to_umol_l(2.00)
    assert umol == pytest.approx(176.8, abs=1e-9)
    assert creatinine_to_mg_dl(umol, "umol/L") == pytest.approx(2.0, abs=1e-12)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("mg/dL", "mg/dL"),
        ("MG/DL", "mg/dL"),
        (" mg/dl ", "mg/dL"),
        ("umol/L", "µmol/L"),
        ("\u00b5mol/L", "µmol/L"),  # micro sign
        ("\u03bcmol/L", "µmol/L"),  # Greek mu
    ],
)
def test_normalise_unit_accepts_spellings(text: str, canonical: str) -> None:
    assert normalise_unit(text) == canonical


@pytest.mark.parametrize("bad", ["mmol/L", "mg/L", "", "g/dL"])
def test_normalise_unit_refuses_other_units(bad: str) -> None:
    with pytest.raises(ClinicalInputError) as err:
        normalise_unit(bad)
    assert err.value.fields == ("unit",)


def test_120_mg_dl_hints_umol() -> None:
    with pytest.raises(ClinicalInputError) as err:
        creatinine_to_mg_dl(120, "mg/dL")
    msg = str(err.value)
    assert err.value.fields == ("creatinine",)
    assert "120" in msg and "0.1–25 mg/dL" in msg and "did you mean µmol/L?" in msg


def test_0_9_umol_hints_mg_dl() -> None:
    with pytest.raises(ClinicalInputError) as err:
        creatinine_to_mg_dl(0.9, "µmol/L")
    msg = str(err.value)
    assert "8.84–2210 µmol/L" in msg and "did you mean mg/dL?" in msg


@pytest.mark.parametrize(
    ("value", "unit"),
    [(0.1, "mg/dL"), (25, "mg/dL"), (8.84, "µmol/L"), (2210, "µmol/L")],
)
def test_range_bounds_are_inclusive(value: float, unit: str) -> None:
    mg = creatinine_to_mg_dl(value, unit)
    assert 0.1 - 1e-12 <= mg <= 25 + 1e-12


@pytest.mark.parametrize(
    ("value", "unit"),
    [(0.09, "mg/dL"), (25.01, "mg/dL"), (8.8, "µmol/L"), (2211, "µmol/L"), (-1, "mg/dL")],
)
def test_out_of_range_refused_not_clamped(value: float, unit: str) -> None:
    with pytest.raises(ClinicalInputError) as err:
        creatinine_to_mg_dl(value, unit)
    assert "creatinine" in err.value.fields


@pytest.mark.parametrize("bad", [math.nan, math.inf, None, "1.2", True])
def test_non_numbers_refused(bad: object) -> None:
    with pytest.raises(ClinicalInputError) as err:
        creatinine_to_mg_dl(bad, "mg/dL")  # type: ignore[arg-type]
    assert err.value.fields == ("creatinine",)


def test_bad_unit_names_the_unit_field() -> None:
    with pytest.raises(ClinicalInputError) as err:
        creatinine_to_mg_dl(1.0, "mmol/L", field="creatinine_pre")
    assert err.value.fields == ("creatinine_pre_unit",)
    assert "creatinine_pre_unit" in str(err.value)


@given(st.floats(min_value=0.1, max_value=25.0))
def test_round_trip_property(mg: float) -> None:
    umol = creatinine_mg_dl_to_umol_l(mg)
    if 8.84 <= umol <= 2210:  # float product may land a hair outside the µmol/L bounds
        assert creatinine_to_mg_dl(umol, "µmol/L") == pytest.approx(mg, rel=1e-12)
