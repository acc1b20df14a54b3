"""KDIGO 2012 GFR categories (G1–G5).

Laboratories report eGFR as an integer, and a clinician compares the printed integer with the
KDIGO table, so the category is taken from the eGFR rounded half-up (59.5 → 60 → G2), never
from Python's round() (banker's rounding: round(44.5) == 44) and never from the raw float.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

from renalpath.clinical.common import ClinicalInputError, Problem, Source

KDIGO_SOURCE = Source(
    title=(
        "KDIGO 2012 Clinical Practice Guideline for the Evaluation and Management of Chronic "
        "Kidney Disease. Kidney Int Suppl 2013;3(1) — GFR categories (recommendation 1.2.3)"
    ),
    section=(
        "Summary of Recommendation Statements, DOI 10.1038/kisup.2012.77; table also read via "
        "CCJM, https://www.ccjm.org/highwire/markup/1488/expansion, and BMJ Best Practice"
    ),
    url="https://doi.org/10.1038/kisup.2012.77",
    verification="V",
)

# KDIGO 2012 G categories [V: KDIGO 2012]: (lowest integer eGFR in category, category, description).
# Categorisation on the half-up-rounded integer is a project decision [P].
KDIGO_G_CATEGORIES: tuple[tuple[int, str, str], ...] = (
    (90, "G1", "normal or high (≥ 90)"),
    (60, "G2", "mildly decreased (60–89)"),
    (45, "G3a", "mildly to moderately decreased (45–59)"),
    (30, "G3b", "moderately to severely decreased (30–44)"),
    (15, "G4", "severely decreased (15–29)"),
    (0, "G5", "kidney failure (< 15)"),
)

KDIGO_BANDS: tuple[str, ...] = tuple(
    f"{stage}: {description} mL/min/1.73 m²" for _, stage, description in KDIGO_G_CATEGORIES
)


def round_half_up(x: float) -> int:
    """Round to the nearest integer, halves away from zero (44.5 → 45, 14.5 → 15).

    Uses the exact binary value of `x` (Decimal(x)), so only true halves round up.
    """
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
        raise ClinicalInputError(Problem("x", x, "a finite number"))
    return int(Decimal(x).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def ckd_stage(egfr: float) -> str:
    """KDIGO G category ("G1".."G5") of an eGFR in mL/min/1.73 m², on its half-up integer."""
    if (
        isinstance(egfr, bool)
        or not isinstance(egfr, int | float)
        or not math.isfinite(egfr)
        or egfr < 0
    ):
        raise ClinicalInputError(Problem("egfr", egfr, "≥ 0 mL/min/1.73 m² (finite)"))
    return ckd_stage_of_rounded(round_half_up(egfr))


def ckd_stage_of_rounded(egfr_rounded: int) -> str:
    """KDIGO G category of an already-rounded integer eGFR (e.g. a lab-reported value)."""
    for lowest, stage, _ in KDIGO_G_CATEGORIES:
        if egfr_rounded >= lowest:
            return stage
    raise ClinicalInputError(Problem("egfr", egfr_rounded, "≥ 0 mL/min/1.73 m²"))


def ckd_stage_description(stage: str) -> str:
    """Human-readable band text for a G category, for results and reports."""
    for _, name, description in KDIGO_G_CATEGORIES:
        if name == stage:
            return f"{name}: {description} mL/min/1.73 m²"
    raise ClinicalInputError(
        Problem("ckd_stage", stage, "one of " + ", ".join(s for _, s, _ in KDIGO_G_CATEGORIES))
    )
