"""Corrected calcium: MedCalc-Bench rows, the exact-10 boundary, SI form, unit hints."""

from __future__ import annotations

import csv

import pytest
from hypothesis import given
from hypothesis import strategies as st

from renalpath.clinical.calcium import (
    above_mskcc_cutoff,
    corrected_calcium_result,
)
from renalpath.clinical.common import ClinicalInputError
from renalpath.clinical.prognosis import corrected_calcium
from tests.conftest import TEST_DATA

ROWS = list(csv.DictReader((TEST_DATA / "corrected_calcium_medcalcbench.csv").open()))


def test_reference_file_has_rows() -> None:
    assert len(ROWS) == 5


@pytest.mark.parametrize("row", ROWS, ids=[r["source_ref"][:14] for r in ROWS])
def test_medcalc_bench_rows(row: dict[str, str]) -> None:
    # Rows use normal albumin 4.0 g/dL, as our formula does.
    assert float(row["normal_albumin_g_dl"]) == 4.0
    value = corrected_calcium(float(row["calcium_mg_dl"]), float(row["albumin_g_dl"]))
    assert value == pytest.approx(float(row["expected_corrected_calcium_mg_dl"]), abs=0.005)


def test_spec_example_b12_3() -> None:
    # Ca 9.8 mg/dL with albumin 3.0 g/dL → 9.8 + 0.8 × 1.0 = 10.6 (> 10)
    value = corrected_calcium(9.8, 3.0)
    assert value == pytest.approx(10.6, abs=1e-12)
    assert above_mskcc_cutoff(value)


def test_exactly_10_is_not_above_10() -> None:
    # 9.2 + 0.8 × (4.0 − 3.0) = 10.0 exactly (decimal arithmetic; no binary noise)
    value = corrected_calcium(9.2, 3.0)
    assert value == 10.0
    assert not above_mskcc_cutoff(value)
    assert above_mskcc_cutoff(corrected_calcium(9.21, 3.0))


def test_si_formula() -> None:
    # 2.20 mmol/L + 0.02 × (40 − 30 g/L) = 2.40 mmol/L
    assert corrected_calcium(2.20, 30, "mmol/L") == pytest.approx(2.40, abs=1e-12)


def test_mixed_units_convert_albumin() -> None:
    assert corrected_calcium(9.8, 30, "mg/dL", albumin_unit="g/L") == pytest.approx(10.6)
    assert corrected_calcium(2.20, 3.0, "mmol/L", albumin_unit="g/dL") == pytest.approx(2.40)


def test_result_reports_both_units_and_uln() -> None:
    result = corrected_calcium_result(9.8, 3.0, uln=10.2)
    assert result.corrected_mg_dl == pytest.approx(10.6)
    assert result.corrected_mmol_l == pytest.approx(10.6 / 4.0078)
    assert result.above_10_mg_dl is True
    assert result.above_uln is True
    assert corrected_calcium_result(9.0, 4.0, uln=10.2).above_uln is False


@pytest.mark.parametrize(
    ("calcium", "albumin", "unit", "albumin_unit", "field", "hint"),
    [
        (9.8, 40, "mg/dL", "g/dL", "albumin", "did you mean g/L?"),
        (2.3, 4.0, "mmol/L", "g/L", "albumin", "did you mean g/dL?"),
        (2.4, 3.0, "mg/dL", None, "calcium", "did you mean mmol/L?"),
        (9.5, 35, "mmol/L", None, "calcium", "did you mean mg/dL?"),
        (25.0, 3.0, "mg/dL", None, "calcium", "4–20 mg/dL"),
        (9.5, 3.0, "mg/L", None, "unit", "mg/dL, mmol/L"),
        (9.5, 3.0, "mg/dL", "mg/dL", "albumin_unit", "g/dL, g/L"),
    ],
)
def test_refusals_with_unit_hints(
    calcium: float,
    albumin: float,
    unit: str,
    albumin_unit: str | None,
    field: str,
    hint: str,
) -> None:
    with pytest.raises(ClinicalInputError) as err:
        corrected_calcium(calcium, albumin, unit, albumin_unit)
    assert err.value.fields == (field,)
    assert hint in str(err.value)


@given(st.floats(4.0, 20.0), st.floats(1.0, 5.9))
def test_lower_albumin_raises_corrected_calcium(calcium: float, albumin: float) -> None:
    assert corrected_calcium(calcium, albumin) >= corrected_calcium(calcium, albumin + 0.1)


@given(st.floats(4.0, 19.0), st.floats(1.0, 6.0))
def test_si_and_conventional_forms_agree(calcium: float, albumin: float) -> None:
    # The SI coefficient 0.02 is the rounded form of 0.8 mg/dL per g/dL (0.01996 mmol/L per g/L).
    conventional = corrected_calcium(calcium, albumin) / 4.0078
    si = corrected_calcium(calcium / 4.0078, albumin * 10, "mmol/L")
    assert si == pytest.approx(conventional, abs=0.005)
