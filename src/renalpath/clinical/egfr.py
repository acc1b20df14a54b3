"""Creatinine-based eGFR: MDRD-175 (IDMS), CKD-EPI 2009 and CKD-EPI 2021 (default).

Three layers, on purpose:
* `mdrd_formula`, `ckd_epi_2009_formula`, `ckd_epi_2021_formula` are the bare published
  equations on creatinine in mg/dL, with no validation, so reference rows outside our clinical
  rules (a 17-year-old in a benchmark) can still be reproduced exactly;
* `egfr` validates every input (adult-only, creatinine range in its own unit) and returns a
  traceable `EgfrResult` with the KDIGO category;
* `egfr_array` is the numpy form for registry-scale recomputation, same equations, no
  validation beyond shapes (the registry validates on import).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from renalpath.clinical.ckd import (
    KDIGO_BANDS,
    KDIGO_SOURCE,
    ckd_stage_description,
    ckd_stage_of_rounded,
    round_half_up,
)
from renalpath.clinical.common import (
    CalcResult,
    CalculatorSpec,
    ClinicalInputError,
    InputSpec,
    Problem,
    Source,
    require_choice,
    require_range,
)
from renalpath.clinical.units import (
    CREATININE_WARN_HIGH_MG_DL,
    CREATININE_WARN_LOW_MG_DL,
    creatinine_mg_dl_to_umol_l,
    creatinine_to_mg_dl,
    normalise_unit,
)

MDRD = "mdrd"
CKD_EPI_2009 = "ckd-epi-2009"
CKD_EPI_2021 = "ckd-epi-2021"
EQUATIONS: tuple[str, ...] = (CKD_EPI_2021, CKD_EPI_2009, MDRD)
DEFAULT_EQUATION = CKD_EPI_2021

# valid input ranges [V NIDDK]: eGFR equations are adult-only; age range 0–120 years.
ADULT_AGE_MIN = 18.0
AGE_MAX = 120.0

_SEX_ALIASES = {"male": "male", "m": "male", "female": "female", "f": "female"}

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

_T = TypeVar("_T")


# --- the published equations (creatinine in mg/dL, IDMS-traceable) ---------------------------


def mdrd_formula(scr_mg_dl: float, age: float, female: bool, black: bool = False) -> float:
    """MDRD Study 4-variable equation, IDMS-traceable (175) version; no validation."""
    # MDRD, Levey 2006 [V: NKF MDRD page; Levey 2006/2007]:
    # 175 × Scr^−1.154 × age^−0.203 × 0.742 [female] × 1.212 [Black]
    value = 175.0 * math.pow(scr_mg_dl, -1.154) * math.pow(age, -0.203)
    if female:
        value *= 0.742
    if black:
        value *= 1.212
    return value


def ckd_epi_2009_formula(scr_mg_dl: float, age: float, female: bool, black: bool = False) -> float:
    """CKD-EPI 2009 creatinine equation, single-equation form (141 …); no validation."""
    # CKD-EPI 2009, Levey 2009 [V: NKF 2009 page; NIDDK "previous equations"]:
    # 141 × min(Scr/κ,1)^α × max(Scr/κ,1)^−1.209 × 0.993^age × 1.018 [F] × 1.159 [Black];
    # κ = 0.7 F / 0.9 M; α = −0.329 F / −0.411 M.  Single-equation form, not the rounded
    # piecewise table (144/166/163) — see refdata README "important gotcha".
    kappa = 0.7 if female else 0.9
    alpha = -0.329 if female else -0.411
    ratio = scr_mg_dl / kappa
    value = (
        141.0
        * math.pow(min(ratio, 1.0), alpha)
        * math.pow(max(ratio, 1.0), -1.209)
        * math.pow(0.993, age)
    )
    if female:
        value *= 1.018
    if black:
        value *= 1.159
    return value


def ckd_epi_2021_formula(scr_mg_dl: float, age: float, female: bool) -> float:
    """CKD-EPI 2021 race-free creatinine equation; no validation."""
    # CKD-EPI 2021, Inker 2021 [V: NKF 2021 page; Inker NEJM 2021;385:1737]:
    # 142 × min(Scr/κ,1)^α × max(Scr/κ,1)^−1.200 × 0.9938^age × 1.012 [F];
    # κ = 0.7 F / 0.9 M; α = −0.241 F / −0.302 M.
    kappa = 0.7 if female else 0.9
    alpha = -0.241 if female else -0.302
    ratio = scr_mg_dl / kappa
    value = (
        142.0
        * math.pow(min(ratio, 1.0), alpha)
        * math.pow(max(ratio, 1.0), -1.200)
        * math.pow(0.9938, age)
    )
    if female:
        value *= 1.012
    return value


def formula(equation: str) -> Callable[[float, float, bool, bool], float]:
    """The bare equation for an id, with a uniform (scr, age, female, black) signature."""
    eq = require_choice("equation", equation, EQUATIONS)
    if eq == MDRD:
        return mdrd_formula
    if eq == CKD_EPI_2009:
        return ckd_epi_2009_formula
    return _ckd_epi_2021_uniform


def _ckd_epi_2021_uniform(scr_mg_dl: float, age: float, female: bool, black: bool = False) -> float:
    return ckd_epi_2021_formula(scr_mg_dl, age, female)  # race-free: `black` has no term


# --- explain specs -------------------------------------------------------------------------

_CREATININE_INPUT = InputSpec(
    "creatinine",
    "mg/dL or µmol/L (IDMS-traceable)",
    "0.1–25 mg/dL = 8.84–2210 µmol/L",
    "µmol/L ÷ 88.4 = mg/dL (project factor [P]); warn < 0.4 or > 10 mg/dL",
)
_AGE_INPUT = InputSpec("age", "years", "18–120", "adult-only equation; age < 18 is refused")
_SEX_INPUT = InputSpec("sex", "—", "male | female", "sex used by the equation")
_BLACK_INPUT = InputSpec(
    "black", "flag", "true | false", "legacy race coefficient; reproduce historical values only"
)
_UNIT_SOURCE = Source(
    "Creatinine unit conversion, F = 88.4 µmol/L per mg/dL", "creatinine unit conversion", "", "P"
)
_NIDDK_SOURCE = Source(
    "NIDDK: estimating GFR in adults (race-based equations for reference only)",
    "the eGFR equations",
    "https://www.niddk.nih.gov/research-funding/research-programs/"
    "kidney-clinical-research-epidemiology/laboratory/glomerular-filtration-rate-equations/adults",
    "V",
)
_KDIGO_NOTE = "KDIGO G category is taken from eGFR rounded half-up to an integer (B5 [P])."

MDRD_SPEC = CalculatorSpec(
    id="egfr-mdrd",
    name="eGFR — MDRD Study equation (4-variable, IDMS-traceable 175)",
    version="IDMS-175 (Levey 2006)",
    formula=(
        "eGFR = 175 × Scr^−1.154 × age^−0.203 × 0.742 [if female] × 1.212 [if Black]  "
        "(Scr in mg/dL; mL/min/1.73 m²)"
    ),
    inputs=(_CREATININE_INPUT, _AGE_INPUT, _SEX_INPUT, _BLACK_INPUT),
    bands=KDIGO_BANDS,
    sources=(
        Source(
            "NKF: MDRD Study equation (Levey 2006/2007)",
            "MDRD, Levey 2006",
            "https://www.kidney.org/content/mdrd-study-equation",
            "V",
        ),
        _NIDDK_SOURCE,
        KDIGO_SOURCE,
        _UNIT_SOURCE,
    ),
    notes=(
        "Legacy equation: use to reproduce historical values (e.g. the salvage study).",
        "Less accurate than CKD-EPI at higher GFR, where it underestimates measured GFR.",
        "Not the original 186 (non-IDMS) equation.",
        _KDIGO_NOTE,
    ),
)

CKD_EPI_2009_SPEC = CalculatorSpec(
    id="egfr-ckd-epi-2009",
    name="eGFR — CKD-EPI 2009 creatinine equation (race-based, legacy)",
    version="2009 (single-equation form)",
    formula=(
        "eGFR = 141 × min(Scr/κ, 1)^α × max(Scr/κ, 1)^−1.209 × 0.993^age × 1.018 [if female] "
        "× 1.159 [if Black]; κ = 0.7 (F) / 0.9 (M); α = −0.329 (F) / −0.411 (M)  "
        "(Scr in mg/dL; mL/min/1.73 m²)"
    ),
    inputs=(_CREATININE_INPUT, _AGE_INPUT, _SEX_INPUT, _BLACK_INPUT),
    bands=KDIGO_BANDS,
    sources=(
        Source(
            "Levey AS et al. A new equation to estimate glomerular filtration rate. Ann Intern "
            "Med 2009;150(9):604-612 (PMID 19414839)",
            "CKD-EPI 2009; coefficients as published by the NKF, "
            "https://www.kidney.org/content/ckd-epi-creatinine-equation-2009",
            "https://pmc.ncbi.nlm.nih.gov/articles/PMC2763564/",
            "V",
        ),
        _NIDDK_SOURCE,
        KDIGO_SOURCE,
        _UNIT_SOURCE,
    ),
    notes=(
        "Legacy equation: use only to reproduce historical values (NIDDK).",
        "Single-equation form; the rounded piecewise table (144/166/163) differs by ≤ 0.32%.",
        _KDIGO_NOTE,
    ),
)

CKD_EPI_2021_SPEC = CalculatorSpec(
    id="egfr-ckd-epi-2021",
    name="eGFR — CKD-EPI 2021 creatinine equation (race-free; default)",
    version="2021",
    formula=(
        "eGFR = 142 × min(Scr/κ, 1)^α × max(Scr/κ, 1)^−1.200 × 0.9938^age × 1.012 [if female]; "
        "κ = 0.7 (F) / 0.9 (M); α = −0.241 (F) / −0.302 (M)  (Scr in mg/dL; mL/min/1.73 m²)"
    ),
    inputs=(_CREATININE_INPUT, _AGE_INPUT, _SEX_INPUT),
    bands=KDIGO_BANDS,
    sources=(
        Source(
            "Inker LA et al. New creatinine- and cystatin C-based equations to estimate GFR "
            "without race. N Engl J Med 2021;385(19):1737-1749 (PMID 34554658, DOI "
            "10.1056/NEJMoa2102953)",
            "CKD-EPI 2021; coefficients as published by the NKF, "
            "https://kidney.org/ckd-epi-creatinine-equation-2021",
            "https://pmc.ncbi.nlm.nih.gov/articles/PMC8822996/",
            "V",
        ),
        _NIDDK_SOURCE,
        KDIGO_SOURCE,
        _UNIT_SOURCE,
    ),
    notes=(
        "Default equation for new data (NKF-ASN task force; NIDDK).",
        "No race term: a Black flag is ignored and reported in `flags`.",
        _KDIGO_NOTE,
    ),
)

SPECS: dict[str, CalculatorSpec] = {
    CKD_EPI_2021: CKD_EPI_2021_SPEC,
    CKD_EPI_2009: CKD_EPI_2009_SPEC,
    MDRD: MDRD_SPEC,
}
SPEC = CKD_EPI_2021_SPEC


# --- validated scalar form ------------------------------------------------------------------


@dataclass(frozen=True)
class EgfrResult(CalcResult):
    """An eGFR with everything needed to trust, re-derive and trend it (FU-05: one equation)."""

    equation: str
    egfr: float  # unrounded, mL/min/1.73 m²
    egfr_rounded: int  # half-up integer, as a laboratory reports it
    ckd_stage: str  # KDIGO G1..G5 on egfr_rounded
    creatinine_mg_dl: float
    creatinine_input: float
    creatinine_unit: str
    creatinine_umol_l: float
    age: float
    sex: str
    black: bool


def _sex(value: object) -> str:
    if isinstance(value, str) and value.strip().lower() in _SEX_ALIASES:
        return _SEX_ALIASES[value.strip().lower()]
    raise ClinicalInputError(Problem("sex", value, "male | female (or M | F)"))


def _age(value: float) -> float:
    allowed = f"{ADULT_AGE_MIN:g}–{AGE_MAX:g} years"
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 <= value < ADULT_AGE_MIN
    ):
        raise ClinicalInputError(
            Problem(
                "age",
                value,
                allowed,
                f"eGFR equations are adult-only: adult equations need age ≥ {ADULT_AGE_MIN:g} "
                "(invalid_for_adult_equation)",
            )
        )
    return require_range("age", value, ADULT_AGE_MIN, AGE_MAX, "years")


def _black(value: object) -> bool:
    if not isinstance(value, bool):
        raise ClinicalInputError(Problem("black", value, "true | false"))
    return value


def egfr(
    creatinine: float,
    unit: str,
    age: float,
    sex: str,
    equation: str = DEFAULT_EQUATION,
    black: bool = False,
) -> EgfrResult:
    """Validated eGFR (mL/min/1.73 m²) with KDIGO category; refuses, never clamps."""
    problems: list[Problem] = []

    def check(fn: Callable[[], _T]) -> _T | None:
        try:
            return fn()
        except ClinicalInputError as err:
            problems.extend(err.problems)
            return None

    eq = check(lambda: require_choice("equation", equation, EQUATIONS))
    scr = check(lambda: creatinine_to_mg_dl(creatinine, unit))
    age_years = check(lambda: _age(age))
    sex_name = check(lambda: _sex(sex))
    is_black = check(lambda: _black(black))
    if problems:
        raise ClinicalInputError(problems)
    assert eq is not None and scr is not None and age_years is not None
    assert sex_name is not None and is_black is not None

    female = sex_name == "female"
    flags: list[str] = []
    if scr < CREATININE_WARN_LOW_MG_DL or scr > CREATININE_WARN_HIGH_MG_DL:
        flags.append("creatinine_outside_usual_range")  # valid input range: warn range
    if eq in (MDRD, CKD_EPI_2009):
        flags.append("legacy_equation")  # NIDDK: race-based equations for reference only [V]
    if eq == CKD_EPI_2021 and is_black:
        flags.append("black_coefficient_not_applicable")  # 2021 has no race term (B4)

    value = formula(eq)(scr, age_years, female, is_black)
    rounded = round_half_up(value)
    stage = ckd_stage_of_rounded(rounded)
    spec = SPECS[eq]
    return EgfrResult(
        calculator_id=spec.id,
        version=spec.version,
        band=ckd_stage_description(stage),
        sources=spec.sources,
        flags=tuple(flags),
        equation=eq,
        egfr=value,
        egfr_rounded=rounded,
        ckd_stage=stage,
        creatinine_mg_dl=scr,
        creatinine_input=float(creatinine),
        creatinine_unit=normalise_unit(unit),
        creatinine_umol_l=creatinine_mg_dl_to_umol_l(scr),
        age=age_years,
        sex=sex_name,
        black=is_black,
    )


# --- vectorised form ------------------------------------------------------------------------


def egfr_array(
    creatinine_mg_dl: npt.ArrayLike,
    age: npt.ArrayLike,
    female: npt.ArrayLike,
    equation: str,
    black: npt.ArrayLike | None = None,
) -> npt.NDArray[np.float64]:
    """eGFR for whole columns at once (same equations as the scalar form, no range checks).

    Inputs must already be validated (creatinine in mg/dL, adults); only shapes are checked.
    As in the scalar form, `black` is ignored by the race-free CKD-EPI 2021 equation.
    """
    import numpy as np  # here, not at the top: a single calculation should not load numpy

    eq = require_choice("equation", equation, EQUATIONS)
    scr = np.asarray(creatinine_mg_dl, dtype=np.float64)
    years = np.asarray(age, dtype=np.float64)
    fem = np.asarray(female, dtype=bool)
    blk = np.zeros(scr.shape, dtype=bool) if black is None else np.asarray(black, dtype=bool)
    for name, arr in (("age", years), ("female", fem), ("black", blk)):
        if arr.shape != scr.shape:
            raise ClinicalInputError(
                Problem(name, f"shape {arr.shape}", f"same shape as creatinine_mg_dl {scr.shape}")
            )

    if eq == MDRD:
        # MDRD, Levey 2006 [V]: 175 × Scr^−1.154 × age^−0.203 × 0.742 [F] × 1.212 [Black]
        value = 175.0 * np.power(scr, -1.154) * np.power(years, -0.203)
        value = np.where(fem, value * 0.742, value)
        return np.where(blk, value * 1.212, value)
    if eq == CKD_EPI_2009:
        # CKD-EPI 2009, Levey 2009 [V]: 141 × min^α × max^−1.209 × 0.993^age × 1.018 [F] × 1.159 [B]
        kappa = np.where(fem, 0.7, 0.9)
        alpha = np.where(fem, -0.329, -0.411)
        ratio = scr / kappa
        value = (
            141.0
            * np.power(np.minimum(ratio, 1.0), alpha)
            * np.power(np.maximum(ratio, 1.0), -1.209)
            * np.power(0.993, years)
        )
        value = np.where(fem, value * 1.018, value)
        return np.where(blk, value * 1.159, value)
    # CKD-EPI 2021, Inker 2021 [V]: 142 × min^α × max^−1.200 × 0.9938^age × 1.012 [F]
    kappa = np.where(fem, 0.7, 0.9)
    alpha = np.where(fem, -0.241, -0.302)
    ratio = scr / kappa
    value = (
        142.0
        * np.power(np.minimum(ratio, 1.0), alpha)
        * np.power(np.maximum(ratio, 1.0), -1.200)
        * np.power(0.9938, years)
    )
    return np.where(fem, value * 1.012, value)
