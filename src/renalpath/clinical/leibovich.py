"""Leibovich 2003 progression score for clear-cell RCC after nephrectomy.

The individual point weights are recalled [R] (only the 0–11 range and the group cut-offs are
confirmed [S]), so every result carries the `needs_verification` flag until a clinician has
checked them against Leibovich et al., Cancer 2003;97:1663.  The model was derived on Fuhrman
grade and TNM 2002; scoring a WHO/ISUP grade with the same points is a project assumption [P]
and is flagged.  This is *not* the ECOG-based metastatic model or the 2018 Leibovich model.
"""

from __future__ import annotations

from renalpath.clinical.common import CalculatorSpec, InputSpec, Source
from renalpath.clinical.pathology_inputs import (
    GRADE_MAPPING_FLAG,
    GRADE_MAPPING_NOTE,
    check_grade_system,
    check_histology,
    check_pathology,
)
from renalpath.clinical.scores import (
    NEEDS_VERIFICATION,
    ScoreResult,
    clear_cell_only,
)

CALCULATOR_ID = "leibovich-2003"
VERSION = "2003"
SCORE_RANGE = (0, 11)  # [S] Beisland validation abstract: "scored 0–11"
PT_ALLOWED = ("pT1a", "pT1b", "pT2", "pT2a", "pT2b", "pT3a", "pT3b", "pT3c", "pT4")

SOURCES = (
    Source(
        "Leibovich BC et al. Prediction of progression after radical nephrectomy for patients "
        "with clear cell renal cell carcinoma. Cancer 2003;97:1663-1671",
        "point table (predictors [V abstract]; individual weights [R]); DOI "
        "10.1002/cncr.11234; abstract read via Scilit, "
        "https://scilit.net/publications/dcfdf9b632857dced7c7ec0d51460f57",
        "https://doi.org/10.1002/cncr.11234",
        "R",
    ),
    Source(
        "Leibovich BC et al. Cancer 2003;97:1663-1671 — risk groups of the original paper "
        "(range 0-11, groups 0-2 / 3-5 / >= 6)",
        "range and groups as applied by Beisland C, Gudbrandsdottir G, Reisaeter LA et al., "
        "contemporary external validation of the Leibovich model (10-y RFS 87.3 / 63.8 / 19.8%), "
        "abstract read via UroToday, "
        "https://urotoday.com/recent-abstracts/urologic-oncology/renal-cancer/78628-contemporary-"
        "external-validation-of-the-leibovich-model-for-prediction-of-progression-after-radical-"
        "surgery-for-clear-cell-renal-cell-carcinoma-abstract.html; group cut-offs read via "
        "Kidney Cancer UK, "
        "https://www.kcuk.org.uk/kidneycancer/symptoms-and-diagnosis/the-leibovich-scoring-system/",
        "https://doi.org/10.1002/cncr.11234",
        "S",
    ),
)

# Point table, Leibovich 2003 — every weight [R] (Leibovich 2003, not retrieved).
PT_POINTS = {
    "pT1a": 0,
    "pT1b": 2,
    "pT2": 3,
    "pT2a": 3,
    "pT2b": 3,
    "pT3a": 4,
    "pT3b": 4,
    "pT3c": 4,
    "pT4": 4,
}
PN_POINTS = {"pNX": 0, "pN0": 0, "pN1": 2}  # pN1 (= pN2 of TNM 2002) scores 2 [R]
SIZE_CUTOFF_MM = 100.0  # size ≥ 10 cm scores 1 [R]
GRADE_POINTS = {1: 0, 2: 0, 3: 1, 4: 3}  # nuclear grade [R]
NECROSIS_POINTS = 1  # histological coagulative necrosis [R]

# Groups low 0–2, intermediate 3–5, high ≥ 6 [S: Beisland abstract, KCUK].
BANDS = {
    "low": "low risk (0–2)",
    "intermediate": "intermediate risk (3–5)",
    "high": "high risk (≥ 6)",
}


def group_for(score: int) -> str:
    """Leibovich 2003 risk group [S]."""
    if score <= 2:
        return "low"
    return "intermediate" if score <= 5 else "high"


def leibovich(
    pt: str | None,
    pn: str | None,
    size_mm: float | None,
    grade: int | None,
    necrosis: bool | None,
    histology: str = "clear_cell",
    *,
    grade_system: str = "who_isup",
) -> ScoreResult:
    """Leibovich 2003 score and risk group; non-clear-cell histology → `not_applicable`.

    For non-clear-cell tumours the other inputs are not checked: the model says nothing about
    them, and chromophobe tumours, for example, have no nuclear grade to give.  None means
    "not known" and is refused by field name (all missing fields in one error).
    """
    histo = check_histology(histology)
    if histo != "clear_cell":
        return clear_cell_only(CALCULATOR_ID, VERSION, "Leibovich 2003", SOURCES, histo)
    system = check_grade_system(grade_system)
    path = check_pathology(pt, pn, size_mm, grade, necrosis, PT_ALLOWED)
    components = {
        "pt": PT_POINTS[path.pt],
        "pn": PN_POINTS[path.pn],
        "size": 1 if path.size_mm >= SIZE_CUTOFF_MM else 0,
        "grade": GRADE_POINTS[path.grade],
        "necrosis": NECROSIS_POINTS if path.necrosis else 0,
    }
    score = sum(components.values())
    group = group_for(score)
    flags = [NEEDS_VERIFICATION]
    notes = ["individual point weights are recalled [R]; confirm against Leibovich 2003"]
    if system == "who_isup":
        flags.append(GRADE_MAPPING_FLAG)
        notes.append(GRADE_MAPPING_NOTE)
    return ScoreResult(
        CALCULATOR_ID,
        VERSION,
        BANDS[group],
        SOURCES,
        score,
        group,
        components=components,
        flags=tuple(flags),
        notes=tuple(notes),
    )


SPEC = CalculatorSpec(
    id=CALCULATOR_ID,
    name="Leibovich score 2003 (progression after nephrectomy, clear-cell RCC)",
    version=VERSION,
    formula=(
        "sum of points: pT1a 0, pT1b 2, pT2(a/b) 3, pT3a-c/pT4 4; pNX/pN0 0, pN1 2; "
        "size < 10 cm 0, >= 10 cm 1; nuclear grade 1-2 0, 3 1, 4 3; coagulative necrosis 1. "
        "Range 0-11."
    ),
    inputs=(
        InputSpec(
            "pt",
            "TNM 8 pathological T",
            "pT1a, pT1b, pT2, pT2a, pT2b, pT3a, pT3b, pT3c, pT4",
            "must agree with size (pT1a <= 40 mm, pT1b 41-70, pT2a 71-100, pT2b > 100)",
        ),
        InputSpec("pn", "pathological N", "pNX, pN0, pN1", "pN2 (TNM 2002) is recorded as pN1"),
        InputSpec(
            "size_mm", "mm (pathological maximum diameter)", "1-400 mm", "10 cm = 100 mm scores 1"
        ),
        InputSpec("grade", "nuclear grade", "1-4", "Fuhrman, or WHO/ISUP mapped 1:1 [P]"),
        InputSpec("grade_system", "", "who_isup (default) | fuhrman"),
        InputSpec("necrosis", "yes/no", "required", "histological coagulative necrosis"),
        InputSpec("histology", "", "clear_cell (else not_applicable)"),
    ),
    bands=(
        "low 0-2 (10-y recurrence-free 87.3%, Beisland validation [V abstract], display only)",
        "intermediate 3-5 (10-y RFS 63.8%)",
        "high >= 6 (10-y RFS 19.8%)",
    ),
    sources=SOURCES,
    notes=(
        "[R] Individual point weights are recalled from Leibovich 2003 and not yet verified "
        "against the paper: results carry the flag needs_verification.",
        "[S] Range 0-11 and group cut-offs 0-2 / 3-5 / >= 6 from secondary sources.",
        "[P] Derived on Fuhrman grade and TNM 2002: a WHO/ISUP grade gets the same points "
        "(flag who_isup_grade_scored_as_fuhrman); pass grade_system=fuhrman for a Fuhrman "
        "grade.",
        "Clear-cell RCC only; other histology returns group not_applicable.",
        "Not the ECOG-based metastatic model, nor the 2018 Leibovich models.",
    ),
)
