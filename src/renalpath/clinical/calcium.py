"""Albumin-corrected calcium, the hypercalcaemia input of IMDC and MSKCC.

Arithmetic is done in decimal on the numbers as written, so a corrected calcium of exactly
10.0 mg/dL (the MSKCC cut-off, "> 10") is not pushed over the line by binary rounding noise
(9.2 + 0.8 × 1.0 must be 10.0, not 10.000000000000002).  Mixed-up units are the commonest
error in practice (albumin 40 entered as g/dL), so each refusal suggests the likely unit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from renalpath.clinical.common import (
    CalcResult,
    CalculatorSpec,
    ClinicalInputError,
    InputSpec,
    Problem,
    Source,
)

CALCULATOR_ID = "corrected-calcium"
VERSION = "1"

# Molar mass of calcium 40.078 g/mol (IUPAC standard atomic weight): 1 mmol/L = 4.0078 mg/dL.
CALCIUM_MG_DL_PER_MMOL_L = 4.0078
CALCIUM_UNITS = ("mg/dL", "mmol/L")
ALBUMIN_UNITS = ("g/dL", "g/L")
CALCIUM_MG_DL_RANGE = (4.0, 20.0)  # valid input range: calcium_total 4–20 mg/dL
ALBUMIN_G_DL_RANGE = (1.0, 6.0)  # valid input range: albumin 1.0–6.0 g/dL
# Conventional formulas, IMDC, Heng 2009 [R, standard clinical formula]:
#   mg/dL:  Ca_corr = Ca + 0.8 × (4.0 − albumin g/dL)
#   mmol/L: Ca_corr = Ca + 0.02 × (40 − albumin g/L)
# (The SI coefficient is the conventional rounded one; 0.8 mg/dL per g/dL is 0.01996 mmol/L
# per g/L, so the two forms can differ by up to ~0.01 mmol/L at extreme albumin.)
_MG_DL_COEFF, _MG_DL_NORMAL_ALB = Decimal("0.8"), Decimal("4.0")
_SI_COEFF, _SI_NORMAL_ALB = Decimal("0.02"), Decimal("40")
MSKCC_CUTOFF_MG_DL = 10.0  # MSKCC 2002: corrected calcium > 10 mg/dL [S: Medscape review]

SOURCES = (
    Source(
        "Albumin-corrected calcium (Payne-type conventional formula)",
        "IMDC, Heng 2009 helper",
        "",
        "R",
    ),
    Source(
        "MedCalc-Bench-Verified, Calcium Correction for Hypoalbuminemia (test rows 101-105, "
        "CC-BY-SA 4.0) — formula cross-check",
        "datasets/test_data.csv @192a58512edf",
        "https://github.com/nikhilk7153/MedCalc-Bench-Verified",
        "S",
    ),
)


def normalise_calcium_unit(unit: object, field_name: str = "unit") -> str:
    return _normalise_unit(unit, CALCIUM_UNITS, field_name)


def normalise_albumin_unit(unit: object, field_name: str = "albumin_unit") -> str:
    return _normalise_unit(unit, ALBUMIN_UNITS, field_name)


def _normalise_unit(unit: object, units: tuple[str, ...], field_name: str) -> str:
    if isinstance(unit, str):
        for candidate in units:
            if unit.strip().lower() == candidate.lower():
                return candidate
    raise ClinicalInputError(Problem(field_name, unit, "one of " + ", ".join(units)))


def _number(field_name: str, value: object, allowed: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        hint = "value is required" if value is None else "a finite number is required"
        raise ClinicalInputError(Problem(field_name, value, allowed, hint))
    return float(value)


def check_calcium(calcium: object, unit: str, field_name: str = "calcium") -> float:
    """Refuse a total calcium outside 4–20 mg/dL (in either unit); suggest the other unit."""
    low, high = CALCIUM_MG_DL_RANGE
    if unit == "mg/dL":
        allowed = f"{low:g}–{high:g} mg/dL"
        value = _number(field_name, calcium, allowed)
        in_other = low / CALCIUM_MG_DL_PER_MMOL_L <= value <= high / CALCIUM_MG_DL_PER_MMOL_L
        hint = "did you mean mmol/L?" if in_other else None
        ok = low <= value <= high
    else:
        lo_si, hi_si = low / CALCIUM_MG_DL_PER_MMOL_L, high / CALCIUM_MG_DL_PER_MMOL_L
        allowed = f"{lo_si:.3g}–{hi_si:.3g} mmol/L (= {low:g}–{high:g} mg/dL)"
        value = _number(field_name, calcium, allowed)
        hint = "did you mean mg/dL?" if low <= value <= high else None
        ok = lo_si <= value <= hi_si
    if not ok:
        raise ClinicalInputError(Problem(field_name, calcium, allowed, hint))
    return value


def check_albumin(albumin: object, albumin_unit: str) -> float:
    """Refuse albumin outside 1.0–6.0 g/dL (10–60 g/L); suggest the other unit."""
    low, high = ALBUMIN_G_DL_RANGE
    factor = 1.0 if albumin_unit == "g/dL" else 10.0
    allowed = f"{low * factor:g}–{high * factor:g} {albumin_unit}"
    value = _number("albumin", albumin, allowed)
    if not low * factor <= value <= high * factor:
        hint = None
        if albumin_unit == "g/dL" and low * 10 <= value <= high * 10:
            hint = "did you mean g/L?"
        elif albumin_unit == "g/L" and low <= value <= high:
            hint = "did you mean g/dL?"
        raise ClinicalInputError(Problem("albumin", albumin, allowed, hint))
    return value


def corrected_calcium(
    calcium: float, albumin: float, unit: str = "mg/dL", albumin_unit: str | None = None
) -> float:
    """Albumin-corrected calcium in the calcium's own unit.

    `unit` is the calcium unit; albumin defaults to g/dL with mg/dL calcium and to g/L with
    mmol/L calcium (the conventional pairs).  A different `albumin_unit` is converted exactly
    (g/L = 10 × g/dL) before the formula of the calcium's unit system is applied.
    """
    ca_unit = normalise_calcium_unit(unit)
    alb_unit = normalise_albumin_unit(
        albumin_unit if albumin_unit is not None else ("g/dL" if ca_unit == "mg/dL" else "g/L")
    )
    problems: list[Problem] = []
    ca = alb = 0.0
    try:
        ca = check_calcium(calcium, ca_unit)
    except ClinicalInputError as err:
        problems.extend(err.problems)
    try:
        alb = check_albumin(albumin, alb_unit)
    except ClinicalInputError as err:
        problems.extend(err.problems)
    if problems:
        raise ClinicalInputError(problems)
    ca_d, alb_d = Decimal(repr(ca)), Decimal(repr(alb))
    if ca_unit == "mg/dL":
        alb_g_dl = alb_d if alb_unit == "g/dL" else alb_d / 10
        return float(ca_d + _MG_DL_COEFF * (_MG_DL_NORMAL_ALB - alb_g_dl))
    alb_g_l = alb_d if alb_unit == "g/L" else alb_d * 10
    return float(ca_d + _SI_COEFF * (_SI_NORMAL_ALB - alb_g_l))


def to_mg_dl(value: float, unit: str) -> float:
    """Calcium in mg/dL from mg/dL or mmol/L (molar mass 40.078 g/mol)."""
    return value if normalise_calcium_unit(unit) == "mg/dL" else value * CALCIUM_MG_DL_PER_MMOL_L


def above_mskcc_cutoff(corrected: float, unit: str = "mg/dL") -> bool:
    """MSKCC 2002 hypercalcaemia factor: corrected calcium > 10 mg/dL (not ≥) [S]."""
    if normalise_calcium_unit(unit) == "mg/dL":
        return corrected > MSKCC_CUTOFF_MG_DL
    # Compare in mmol/L against 10 mg/dL ≈ 2.4951 mmol/L, avoiding a lossy back-conversion.
    return corrected > MSKCC_CUTOFF_MG_DL / CALCIUM_MG_DL_PER_MMOL_L


@dataclass(frozen=True)
class CorrectedCalciumResult(CalcResult):
    """Corrected calcium with the comparisons IMDC and MSKCC need."""

    corrected: float
    unit: str
    corrected_mg_dl: float
    corrected_mmol_l: float
    above_10_mg_dl: bool
    uln: float | None
    above_uln: bool | None


def corrected_calcium_result(
    calcium: float,
    albumin: float,
    unit: str = "mg/dL",
    albumin_unit: str | None = None,
    uln: float | None = None,
) -> CorrectedCalciumResult:
    """Corrected calcium plus the MSKCC (> 10 mg/dL) and, given the lab ULN, IMDC readings."""
    ca_unit = normalise_calcium_unit(unit)
    value = corrected_calcium(calcium, albumin, ca_unit, albumin_unit)
    above_uln: bool | None = None
    uln_value: float | None = None
    if uln is not None:
        # The lab's own upper limit, in the calcium's unit; a plausible range is 4–20 mg/dL.
        uln_value = check_calcium(uln, ca_unit, field_name="uln")
        above_uln = value > uln_value  # IMDC: corrected calcium > ULN [V abstract]
    mg_dl = to_mg_dl(value, ca_unit)
    above_10 = above_mskcc_cutoff(value, ca_unit)
    band = "above 10 mg/dL (MSKCC factor present)" if above_10 else "not above 10 mg/dL"
    return CorrectedCalciumResult(
        CALCULATOR_ID,
        VERSION,
        band,
        SOURCES,
        corrected=value,
        unit=ca_unit,
        corrected_mg_dl=mg_dl,
        corrected_mmol_l=mg_dl / CALCIUM_MG_DL_PER_MMOL_L,
        above_10_mg_dl=above_10,
        uln=uln_value,
        above_uln=above_uln,
        flags=("needs_verification",),
    )


SPEC = CalculatorSpec(
    id=CALCULATOR_ID,
    name="Albumin-corrected calcium",
    version=VERSION,
    formula=(
        "mg/dL: Ca_corr = Ca + 0.8 x (4.0 - albumin g/dL);  "
        "mmol/L: Ca_corr = Ca + 0.02 x (40 - albumin g/L)"
    ),
    inputs=(
        InputSpec(
            "calcium",
            "mg/dL or mmol/L (--unit)",
            "4-20 mg/dL = 0.998-4.99 mmol/L",
            "total serum calcium",
        ),
        InputSpec(
            "albumin",
            "g/dL with mg/dL, g/L with mmol/L (or --albumin-unit)",
            "1.0-6.0 g/dL = 10-60 g/L",
        ),
        InputSpec(
            "uln",
            "same unit as calcium",
            "optional; the reporting lab's upper limit",
            "gives the IMDC reading (corrected calcium > ULN)",
        ),
    ),
    bands=(
        "MSKCC 2002 factor: corrected calcium > 10 mg/dL (about 2.5 mmol/L; exactly 10 is not "
        "above) [S]",
        "IMDC factor: corrected calcium > the lab's ULN [V abstract]",
    ),
    sources=SOURCES,
    notes=(
        "[R] Standard clinical formula recalled, not verified against a primary source; "
        "results carry needs_verification.",
        "1 mmol/L = 4.0078 mg/dL (calcium 40.078 g/mol).",
        "Computed in decimal arithmetic on the values as entered, so boundaries are exact.",
    ),
)
