"""IMDC (Heng) risk model for metastatic RCC.

Six factors, one point each; the model defines no absolute lab numbers, only the reporting
lab's own LLN/ULN, so the lab factors come in as booleans.  A missing factor is refused, never
read as normal: the pathway turns the refusal into `blocked_missing_input`.
"""

from __future__ import annotations

from renalpath.clinical.common import CalculatorSpec, ClinicalInputError, InputSpec, Problem, Source
from renalpath.clinical.performance_status import KpsFactor, kps_factor
from renalpath.clinical.scores import (
    ScoreResult,
    collect_bool_factors,
    factor_count_group,
    require_bool,
    require_int,
)

CALCULATOR_ID = "imdc"
VERSION = "2009"
SCORE_RANGE = (0, 6)
ONE_YEAR_DAYS = 365  # "< 1 year" = dx_to_systemic_days < 365 [P, IMDC, Heng 2009]
MAX_DAYS = 36525  # 100 years: a sanity bound on the interval [P]
PROVISIONAL_FLAG = "imdc_provisional"

SOURCES = (
    Source(
        "Heng DY et al. Prognostic factors for overall survival in patients with metastatic "
        "renal cell carcinoma treated with VEGF-targeted agents. J Clin Oncol 2009;27:5794-5799",
        "factors and groups (favourable 0, intermediate 1-2, poor 3-6); DOI "
        "10.1200/JCO.2008.21.4809; abstract read via Scilit, "
        "https://scilit.com/publications/47e923ae7a8d06a32b7e2456d3ad6f8d",
        "https://doi.org/10.1200/JCO.2008.21.4809",
        "V",
    ),
    Source(
        "Heng DY et al. External validation and comparison with other models of the IMDC "
        "prognostic model. Lancet Oncol 2013;14:141-148 (median OS 43.2 / 22.5 / 7.8 months)",
        "abstract",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC4144042/",
        "V",
    ),
)

# Groups: favourable 0; intermediate 1–2; poor 3–6 [V: Heng 2009 abstract].
BANDS = {
    "favourable": "favourable risk (0 factors)",
    "intermediate": "intermediate risk (1-2 factors)",
    "poor": "poor risk (3-6 factors)",
}


group_for = factor_count_group  # favourable 0 / intermediate 1-2 / poor >= 3 [V]


def check_days(value: object, field_name: str = "dx_to_systemic_days") -> int:
    """Whole days from diagnosis to start of systemic therapy, ≥ 0."""
    hint = None
    if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
        hint = "negative: is the therapy start date before the diagnosis date?"
    return require_int(field_name, value, 0, MAX_DAYS, "days", hint=hint)


def imdc(
    *,
    kps: int | None = None,
    ecog: int | None = None,
    dx_to_systemic_days: int | None,
    hb_below_lln: bool | None,
    calcium_corrected_above_uln: bool | None,
    neutrophils_above_uln: bool | None,
    platelets_above_uln: bool | None,
    systemic_planned: bool = True,
) -> ScoreResult:
    """IMDC factor count and group; every missing or invalid factor is named in one refusal."""
    problems: list[Problem] = []
    ps: KpsFactor | None = None
    try:
        ps = kps_factor(kps, ecog)
    except ClinicalInputError as err:
        problems.extend(err.problems)
    planned = True
    try:
        planned = require_bool("systemic_planned", systemic_planned)
    except ClinicalInputError as err:
        problems.extend(err.problems)
    days: int | None = None
    if planned or dx_to_systemic_days is not None:
        try:
            days = check_days(dx_to_systemic_days)
        except ClinicalInputError as err:
            problems.extend(err.problems)
    labs = collect_bool_factors(
        problems,
        (
            ("hb_below_lln", hb_below_lln, "anaemia"),
            ("calcium_corrected_above_uln", calcium_corrected_above_uln, "hypercalcaemia"),
            ("neutrophils_above_uln", neutrophils_above_uln, "neutrophilia"),
            ("platelets_above_uln", platelets_above_uln, "thrombocytosis"),
        ),
        "compare with the reporting lab's limit; a missing value is never assumed normal",
    )
    if problems or ps is None:
        raise ClinicalInputError(problems)
    flags = list(ps.flags)
    notes = list(ps.notes)
    if planned:
        assert days is not None
        time_factor = int(days < ONE_YEAR_DAYS)  # Heng 2009 [V]; < 365 days [P]
    else:
        # No systemic therapy planned: interval undefined → scored present [P, B11 exception].
        time_factor = 1
        flags.append(PROVISIONAL_FLAG)
        notes.append(
            "no systemic therapy planned: diagnosis-to-treatment factor scored present "
            "(conservative project rule [P]); recompute when therapy starts"
        )
        if days is not None:
            notes.append(f"dx_to_systemic_days={days} not used because no therapy is planned")
    components = {"kps_lt_80": int(ps.present), "dx_to_tx_lt_1y": time_factor, **labs}
    score = sum(components.values())
    group = group_for(score)
    score_alt = ps.alternative(score)
    group_alt = None if score_alt is None else group_for(score_alt)
    band = BANDS[group]
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
        flags=tuple(flags),
        notes=tuple(notes),
    )


SPEC = CalculatorSpec(
    id=CALCULATOR_ID,
    name="IMDC (Heng) risk model, metastatic RCC",
    version=VERSION,
    formula=(
        "one point each: Karnofsky < 80%; diagnosis to systemic therapy < 1 year (< 365 days); "
        "haemoglobin < LLN; corrected calcium > ULN; neutrophils > ULN; platelets > ULN. "
        "Range 0-6."
    ),
    inputs=(
        InputSpec("kps", "% (Karnofsky)", "0-100 in steps of 10", "KPS < 80 scores 1"),
        InputSpec(
            "ecog",
            "ECOG",
            "0-4",
            "only if KPS unknown: 0 -> KPS >= 80, >= 2 -> KPS < 80, "
            "1 -> indeterminate (both results given, flag kps_indeterminate) [P; R]",
        ),
        InputSpec(
            "dx_to_systemic_days",
            "days",
            ">= 0 (whole days)",
            "< 365 scores 1; exactly 365 does not",
        ),
        InputSpec("hb_below_lln", "yes/no", "required", "vs the reporting lab's LLN"),
        InputSpec(
            "calcium_corrected_above_uln",
            "yes/no",
            "required",
            "albumin-corrected calcium vs the lab's ULN (see calc calcium)",
        ),
        InputSpec("neutrophils_above_uln", "yes/no", "required", "vs the lab's ULN"),
        InputSpec("platelets_above_uln", "yes/no", "required", "vs the lab's ULN"),
        InputSpec(
            "systemic_planned",
            "yes/no",
            "default yes",
            "no -> time factor scored present, flag imdc_provisional [P]",
        ),
    ),
    bands=(
        "favourable 0: median OS 43.2 months (Heng 2013 external validation [V abstract]); "
        "2-y OS 75% (Heng 2009 [V])",
        "intermediate 1-2: median OS 22.5 months (Heng 2013 [V abstract]); ~27 months in the "
        "2009 cohort [R]",
        "poor 3-6: median OS 7.8 months (Heng 2013 [V abstract]); ~8.8 months in 2009 [R]",
    ),
    sources=SOURCES,
    notes=(
        "Lab factors use the reporting lab's own LLN/ULN; a missing factor is refused, "
        "never assumed normal.",
        "[P] '< 1 year' is implemented as dx_to_systemic_days < 365.",
        "[P; R] ECOG->KPS mapping when KPS is missing: ECOG 1 is "
        "indeterminate, so score/group assume KPS >= 80 and score_alt/group_alt KPS < 80.",
        "[P] No systemic therapy planned: time factor scored present, flag imdc_provisional.",
        "[R] 2009 intermediate/poor median OS values are recalled.",
    ),
)
