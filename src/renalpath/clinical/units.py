"""Creatinine units: the one place where mg/dL and µmol/L meet.

A creatinine typed in the wrong unit is the commonest way to get a wildly wrong eGFR, so the
valid range is checked in the unit the value was given in, and an out-of-range value that would
be plausible in the other unit is refused with a hint naming that unit (never auto-converted).
"""

from __future__ import annotations

import math

from renalpath.clinical.common import ClinicalInputError, Problem

# creatinine unit conversion: µmol/L = mg/dL × F, F = 88.4 (project decision, as NIDDK/KDIGO) [P].
CREATININE_UMOL_PER_MG_DL = 88.4

MG_DL = "mg/dL"
UMOL_L = "µmol/L"  # U+00B5 MICRO SIGN is the canonical spelling we print

# valid input ranges / B1: valid creatinine 0.1–25 mg/dL [P].  The µmol/L bounds are the same
# range × 88.4 written out, so the comparison happens in the unit the user typed and a bound
# such as 8.84 µmol/L is not lost to floating-point error in a division.
CREATININE_MG_DL_MIN = 0.1
CREATININE_MG_DL_MAX = 25.0
CREATININE_UMOL_L_MIN = 8.84
CREATININE_UMOL_L_MAX = 2210.0

# valid input range: warn range: < 0.4 or > 10 mg/dL is accepted but unusual.
CREATININE_WARN_LOW_MG_DL = 0.4
CREATININE_WARN_HIGH_MG_DL = 10.0

_UNIT_ALIASES: dict[str, str] = {
    "mg/dl": MG_DL,
    "umol/l": UMOL_L,
    "µmol/l": UMOL_L,  # U+00B5 micro sign
    "μmol/l": UMOL_L,  # U+03BC Greek small letter mu
}


def normalise_unit(unit: str, field: str = "unit") -> str:
    """Return the canonical spelling ("mg/dL" or "µmol/L") of a creatinine unit.

    Case and the micro-sign/Greek-mu distinction are ignored because both come out of
    keyboards and lab exports; anything else is refused rather than guessed.
    """
    allowed = "one of mg/dL, umol/L, µmol/L, μmol/L"
    if not isinstance(unit, str):
        hint = "value is required" if unit is None else "a unit string is required"
        raise ClinicalInputError(Problem(field, unit, allowed, hint))
    canonical = _UNIT_ALIASES.get(unit.strip().lower())
    if canonical is None:
        raise ClinicalInputError(Problem(field, unit, allowed))
    return canonical


def creatinine_to_mg_dl(value: float, unit: str, field: str = "creatinine") -> float:
    """Validate a serum creatinine in its own unit and return it in mg/dL (÷ 88.4 if µmol/L)."""
    canonical = normalise_unit(unit, field=f"{field}_unit")
    if value is None:  # the signature says float, but callers pass raw registry/CLI values
        allowed = _allowed(canonical)
        raise ClinicalInputError(Problem(field, value, allowed, "value is required"))
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ClinicalInputError(Problem(field, value, _allowed(canonical), "a number is required"))
    number = float(value)
    if canonical == MG_DL:
        if math.isfinite(number) and CREATININE_MG_DL_MIN <= number <= CREATININE_MG_DL_MAX:
            return number
        hint = None
        if math.isfinite(number) and CREATININE_UMOL_L_MIN <= number <= CREATININE_UMOL_L_MAX:
            hint = f"did you mean {UMOL_L}?"
        raise ClinicalInputError(Problem(field, value, _allowed(canonical), hint))
    if math.isfinite(number) and CREATININE_UMOL_L_MIN <= number <= CREATININE_UMOL_L_MAX:
        # creatinine unit conversion: mg/dL = µmol/L ÷ 88.4 [P]
        return number / CREATININE_UMOL_PER_MG_DL
    hint = None
    if math.isfinite(number) and CREATININE_MG_DL_MIN <= number <= CREATININE_MG_DL_MAX:
        hint = f"did you mean {MG_DL}?"
    raise ClinicalInputError(Problem(field, value, _allowed(canonical), hint))


def creatinine_mg_dl_to_umol_l(mg_dl: float) -> float:
    """mg/dL → µmol/L with the project factor (× 88.4 [P]); no range check,
    because this is also used to display values that were validated on the way in."""
    return mg_dl * CREATININE_UMOL_PER_MG_DL


def _allowed(canonical_unit: str) -> str:
    if canonical_unit == MG_DL:
        return f"{CREATININE_MG_DL_MIN:g}–{CREATININE_MG_DL_MAX:g} {MG_DL}"
    return f"{CREATININE_UMOL_L_MIN:g}–{CREATININE_UMOL_L_MAX:g} {UMOL_L}"
