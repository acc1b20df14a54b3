"""MSKCC (Motzer) risk model for metastatic RCC, 2002 version only.

The 1999 model (Motzer JCO 1999;17:2530) used "no prior nephrectomy" in place of the time
factor [R]; mixing the two silently would change groups, so only the 2002 model exists here
and its id says so.  It remains in use as the legacy model (CARMENA selected on MSKCC).
"""

from __future__ import annotations

from renalpath.clinical.common import CalculatorSpec, ClinicalInputError, InputSpec, Problem, Source
from renalpath.clinical.imdc import ONE_YEAR_DAYS, check_days
from renalpath.clinical.performance_status import KpsFactor, kps_factor
from renalpath.clinical.scores import ScoreResult, collect_bool_factors, factor_count_group

CALCULATOR_ID = "mskcc-2002"
VERSION = "2002"
SCORE_RANGE = (0, 5)

SOURCES = (
    Source(
        "Motzer RJ et al. Interferon-alfa as a comparative treatment for clinical trials of new "
        "therapies against advanced renal cell carcinoma. J Clin Oncol 2002;20:289-296",
        "five factors; groups 0 / 1-2 / >= 3; median OS 30 / 14 / 5 months",
        "https://synapse.mskcc.org/synapse/works/66793",
        "V",
    ),
    Source(
        "Motzer RJ et al. J Clin Oncol 2002;20:289-296 — thresholds LDH > 1.5 x ULN and "
        "corrected calcium > 10 mg/dL",
        "thresholds read via a Medscape review, https://www.medscape.com/viewarticle/808449_2",
        "https://synapse.mskcc.org/synapse/works/66793",
        "S",
    ),
)

# Groups favourable 0; intermediate 1–2; poor ≥ 3 [V: Motzer 2002 abstract].
BANDS = {
    "favourable": "favourable risk (0 factors; median OS 30 months)",
    "intermediate": "intermediate risk (1-2 factors; median OS 14 months)",
    "poor": "poor risk (3-5 factors; median OS 5 months)",
}


group_for = factor_count_group  # favourable 0 / intermediate 1-2 / poor >= 3 [V]


def mskcc(
    *,
    kps: int | None = None,
    ecog: int | None = None,
    ldh_above_1_5_uln: bool | None,
    hb_below_lln: bool | None,
    calcium_corrected_above_10_mg_dl: bool | None,
    dx_to_systemic_days: int | None,
) -> ScoreResult:
    """MSKCC 2002 factor count and group; every missing factor is named in one refusal."""
    problems: list[Problem] = []
    ps: KpsFactor | None = None
    try:
        ps = kps_factor(kps, ecog)
    except ClinicalInputError as err:
        problems.extend(err.problems)
    days: int | None = None
    try:
        days = check_days(dx_to_systemic_days)
    except ClinicalInputError as err:
        problems.extend(err.problems)
    labs = collect_bool_factors(
        problems,
        (
            ("ldh_above_1_5_uln", ldh_above_1_5_uln, "ldh_gt_1_5_uln"),  # [S] threshold
            ("hb_below_lln", hb_below_lln, "anaemia"),  # [V]
            (
                "calcium_corrected_above_10_mg_dl",
                calcium_corrected_above_10_mg_dl,
                "hypercalcaemia",
            ),
        ),
        "a missing value is never assumed normal",
    )
    if problems or ps is None or days is None:
        raise ClinicalInputError(problems)
    components = {
        "kps_lt_80": int(ps.present),  # Karnofsky < 80% [V]
        **labs,
        "dx_to_tx_lt_1y": int(days < ONE_YEAR_DAYS),  # < 1 year [V]; < 365 days [P]
    }
    score = sum(components.values())
    group = group_for(score)
    score_alt = ps.alternative(score)
    group_alt = None if score_alt is None else group_for(score_alt)
    band = "MSKCC 2002: " + BANDS[group]
    if group_alt is not None and group_alt != group:
        band += f"; or {BANDS[group_alt]} if KPS < 80"
    return ScoreResult(
        CALCULATOR_ID,
        VERSION,
        band,
        SOURCES,
        score,
        group,
        components=components,
        score_alt=score_alt,
        group_alt=group_alt,
        flags=ps.flags,
        notes=(*ps.notes, "MSKCC 2002 model (Motzer JCO 2002); the 1999 version is not used"),
    )


SPEC = CalculatorSpec(
    id=CALCULATOR_ID,
    name="MSKCC (Motzer) risk model, 2002 version",
    version=VERSION,
    formula=(
        "one point each: Karnofsky < 80%; LDH > 1.5 x ULN; haemoglobin < LLN; corrected "
        "calcium > 10 mg/dL; diagnosis to systemic therapy < 1 year (< 365 days). Range 0-5."
    ),
    inputs=(
        InputSpec("kps", "% (Karnofsky)", "0-100 in steps of 10", "KPS < 80 scores 1"),
        InputSpec("ecog", "ECOG", "0-4", "only if KPS unknown; ECOG 1 is indeterminate [P; R]"),
        InputSpec("ldh_above_1_5_uln", "yes/no", "required", "LDH > 1.5 x the lab's ULN"),
        InputSpec("hb_below_lln", "yes/no", "required", "vs the lab's LLN"),
        InputSpec(
            "calcium_corrected_above_10_mg_dl",
            "yes/no (or calcium + albumin)",
            "required",
            "> 10 mg/dL (~2.5 mmol/L); exactly 10 is not above",
        ),
        InputSpec(
            "dx_to_systemic_days",
            "days",
            ">= 0 (whole days)",
            "< 365 scores 1; exactly 365 does not",
        ),
    ),
    bands=(
        "favourable 0: median OS 30 months [V abstract]",
        "intermediate 1-2: median OS 14 months [V abstract]",
        "poor >= 3: median OS 5 months [V abstract]",
    ),
    sources=SOURCES,
    notes=(
        "2002 version only (interferon-era cohort, 463 patients). The 1999 version used "
        "'absence of prior nephrectomy' instead of the time factor [R] and is not implemented.",
        "[S] Thresholds LDH > 1.5 x ULN and calcium > 10 mg/dL from a secondary review.",
        "[P] '< 1 year' is implemented as dx_to_systemic_days < 365.",
        "[P; R] ECOG->KPS mapping when KPS is missing: ECOG 1 gives score/group (KPS >= 80) "
        "and score_alt/group_alt (KPS < 80), flag kps_indeterminate.",
    ),
)
