"""SSIGN score (Stage, Size, Grade and Necrosis) for clear-cell RCC.

Frank et al. (J Urol 2002;168:2395) built SSIGN on TNM 1997, when contiguous adrenal invasion
was pT3a; in TNM 8 it is T4.  Project rule [P]: a TNM 8 pT4 still scores 4, flagged
`tnm_version_mismatch`, so a reader knows the score may overstate risk for adrenal-only T4.
"""

from __future__ import annotations

from renalpath.clinical.common import CalculatorSpec, ClinicalInputError, InputSpec, Problem, Source
from renalpath.clinical.pathology_inputs import (
    GRADE_MAPPING_FLAG,
    GRADE_MAPPING_NOTE,
    check_grade_system,
    check_histology,
    check_pathology,
    parse_m,
)
from renalpath.clinical.scores import ScoreResult, clear_cell_only

CALCULATOR_ID = "ssign"
VERSION = "2002"
SCORE_RANGE = (0, 17)  # SSIGN, Frank 2002: range 0–17 [S]
PT_ALLOWED = ("pT1", "pT1a", "pT1b", "pT2", "pT2a", "pT2b", "pT3a", "pT3b", "pT3c", "pT4")

SOURCES = (
    Source(
        "Frank I et al. An outcome prediction model for patients with clear cell renal cell "
        "carcinoma treated with radical nephrectomy based on tumor stage, size, grade and "
        "necrosis: the SSIGN score. J Urol 2002;168:2395-2400",
        "point table read via the Cambio CDS knowledge model of Frank 2002 (demo server), "
        "https://development.cds-platform.com/ckm/clinical-knowledge-manager/demo/view/SSIGN_ccRCC/1?language=en",
        "",
        "S",
    ),
    Source(
        "Zigeuner R et al. External validation of the Mayo Clinic stage, size, grade, and "
        "necrosis (SSIGN) score for clear-cell renal cell carcinoma in a single European centre "
        "applying routine pathology. Eur Urol 2010;57(1):102-109 (PMID 19062157; 10-y CSS 96.5% "
        "for 0-1 to 19.2% for >= 10; c-index 0.823)",
        "abstract read via QxMD, https://read.qxmd.com/read/19062157/",
        "https://pubmed.ncbi.nlm.nih.gov/19062157/",
        "V",
    ),
)

# Point table, SSIGN, Frank 2002 [S: Cambio model page reproducing Frank 2002].
PT_POINTS = {
    "pT1": 0,
    "pT1a": 0,
    "pT1b": 0,
    "pT2": 1,
    "pT2a": 1,
    "pT2b": 1,
    "pT3a": 2,
    "pT3b": 2,
    "pT3c": 2,
    "pT4": 4,  # TNM 8 T4 scored as 1997 pT4 [P], flagged tnm_version_mismatch
}
PN_POINTS = {"pNX": 0, "pN0": 0, "pN1": 2}  # pN1/pN2 (1997) → 2 [S]
M_POINTS = {"M0": 0, "M1": 4}  # [S]
SIZE_CUTOFF_MM = 50.0  # size ≥ 5 cm scores 2 [S]
SIZE_POINTS = 2
GRADE_POINTS = {1: 0, 2: 0, 3: 1, 4: 3}  # nuclear grade 1–2 / 3 / 4 [S]
NECROSIS_POINTS = 2  # [S]

# Score groups as in the Cambio model, with its estimated cancer-specific survival at
# 1/3/5/7/10 years [S; (open question, awaiting clinical sign-off): verify against Frank 2002 Table
# before display].
GROUPS: tuple[tuple[str, int, int, str], ...] = (
    ("0-2", 0, 2, "99.7/98.7/97.3/96/93.6%"),
    ("3-4", 3, 4, "98.1/93.4/89.8/84/77.9%"),
    ("5-6", 5, 6, "92.9/83.8/74.1/65/57.3%"),
    ("7-9", 7, 9, "76.5/46.9/38.6/29/25.9%"),
    ("10-17", 10, 17, "43.3/21.9/19.2/19.2/19.2%"),
)

TNM_VERSION_FLAG = "tnm_version_mismatch"


def group_for(score: int) -> str:
    for name, low, high, _ in GROUPS:
        if low <= score <= high:
            return name
    raise ValueError(f"SSIGN score {score} outside 0-17")  # unreachable: points are bounded


def ssign(
    pt: str | None,
    pn: str | None,
    m: str | None,
    size_mm: float | None,
    grade: int | None,
    necrosis: bool | None,
    histology: str = "clear_cell",
    *,
    grade_system: str = "who_isup",
) -> ScoreResult:
    """SSIGN score and group; non-clear-cell histology → `not_applicable` (inputs unchecked)."""
    histo = check_histology(histology)
    if histo != "clear_cell":
        return clear_cell_only(CALCULATOR_ID, VERSION, "SSIGN", SOURCES, histo)
    system = check_grade_system(grade_system)
    problems: list[Problem] = []
    m_ok: str | None = None
    try:
        m_ok = parse_m(m)
    except ClinicalInputError as err:
        problems.extend(err.problems)
    try:
        path = check_pathology(pt, pn, size_mm, grade, necrosis, PT_ALLOWED)
    except ClinicalInputError as err:
        raise ClinicalInputError([*err.problems, *problems]) from None
    if problems or m_ok is None:
        raise ClinicalInputError(problems)
    components = {
        "pt": PT_POINTS[path.pt],
        "pn": PN_POINTS[path.pn],
        "m": M_POINTS[m_ok],
        "size": SIZE_POINTS if path.size_mm >= SIZE_CUTOFF_MM else 0,
        "grade": GRADE_POINTS[path.grade],
        "necrosis": NECROSIS_POINTS if path.necrosis else 0,
    }
    score = sum(components.values())
    group = group_for(score)
    flags: list[str] = []
    notes: list[str] = []
    if path.pt == "pT4":
        flags.append(TNM_VERSION_FLAG)
        notes.append(
            "TNM 8 pT4 scored 4; SSIGN used TNM 1997, where contiguous adrenal invasion was "
            "pT3a (2 points) [P]"
        )
    if system == "who_isup":
        flags.append(GRADE_MAPPING_FLAG)
        notes.append(GRADE_MAPPING_NOTE)
    css = next(text for name, _, _, text in GROUPS if name == group)
    return ScoreResult(
        CALCULATOR_ID,
        VERSION,
        f"SSIGN group {group} (estimated CSS at 1/3/5/7/10 y {css} [S, verify])",
        SOURCES,
        score,
        group,
        components=components,
        flags=tuple(flags),
        notes=tuple(notes),
    )


SPEC = CalculatorSpec(
    id=CALCULATOR_ID,
    name="SSIGN score (Mayo; clear-cell RCC after radical nephrectomy)",
    version=VERSION,
    formula=(
        "sum of points: pT1 0, pT2 1, pT3a-c 2, pT4 4; pNX/pN0 0, pN1 2; M0 0, M1 4; "
        "size < 5 cm 0, >= 5 cm 2; nuclear grade 1-2 0, 3 1, 4 3; necrosis 2. Range 0-17."
    ),
    inputs=(
        InputSpec(
            "pt",
            "TNM 8 pathological T",
            "pT1, pT1a, pT1b, pT2, pT2a, pT2b, pT3a, pT3b, pT3c, pT4",
            "must agree with size (pT1 <= 70 mm, pT2 > 70 mm, AJCC 8)",
        ),
        InputSpec("pn", "pathological N", "pNX, pN0, pN1", "pN2 (older TNM) is recorded as pN1"),
        InputSpec("m", "M category", "M0, M1 (c/p prefix allowed; MX refused)"),
        InputSpec(
            "size_mm", "mm (pathological maximum diameter)", "1-400 mm", "5.0 cm = 50 mm scores 2"
        ),
        InputSpec("grade", "nuclear grade", "1-4", "Fuhrman, or WHO/ISUP mapped 1:1 [P]"),
        InputSpec("grade_system", "", "who_isup (default) | fuhrman"),
        InputSpec("necrosis", "yes/no", "required", "histological tumour necrosis"),
        InputSpec("histology", "", "clear_cell (else not_applicable)"),
    ),
    bands=tuple(
        f"{name}: estimated CSS at 1/3/5/7/10 years {css} "
        "[S; verify against Frank 2002 Table before display]"
        for name, _, _, css in GROUPS
    ),
    sources=SOURCES,
    notes=(
        "[S] Point table from a secondary page reproducing Frank 2002; clinician spot-check "
        "against the primary.",
        "[P] TNM version: SSIGN used TNM 1997 (contiguous adrenal invasion was pT3a). A TNM 8 "
        "pT4 is scored 4 and flagged tnm_version_mismatch.",
        "[P] Derived on Fuhrman grade: a WHO/ISUP grade gets the same points "
        "(flag who_isup_grade_scored_as_fuhrman); pass grade_system=fuhrman if it is Fuhrman.",
        "[S] Survival figures by group need verification against Frank 2002.",
        "Clear-cell RCC only; other histology returns group not_applicable.",
    ),
)
