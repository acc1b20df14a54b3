"""Mirels score for impending pathological fracture of a long bone.

Feeds rule MDL-09 (prophylactic stabilisation vs radiotherapy).  The score is sensitive but
poorly specific, and humerus data suggest fixing from 8 [V: PMC10132712 abstract], so the
result always carries that caution as a note rather than changing the published cut-offs.
"""

from __future__ import annotations

from renalpath.clinical.common import CalculatorSpec, ClinicalInputError, InputSpec, Problem, Source
from renalpath.clinical.scores import ScoreResult, normalise_token

CALCULATOR_ID = "mirels"
VERSION = "1989"
SCORE_RANGE = (4, 12)

SOURCES = (
    Source(
        "Mirels H. Metastatic disease in long bones: a proposed scoring system for diagnosing "
        "impending pathologic fractures. Clin Orthop Relat Res 1989;249:256-264 (PMID 2684463)",
        "abstract (cut-offs: 7 or lower irradiate, 8 or higher fix) read via QxMD, "
        "https://www.qxmd.com/r/2684463; scoring table read via the Radiology Reader blog, "
        "http://roentgenrayreader.blogspot.com/2012/01/mirels-classification-for-risk-of_12.html",
        "https://pubmed.ncbi.nlm.nih.gov/2684463/",
        "S",
    ),
    Source(
        "Humerus validation of the Mirels score (suggests threshold 8 in the humerus)",
        "abstract",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC10132712",
        "V",
    ),
)

# Point table, Mirels 1989 [S: the table read via a secondary reproduction; the cut-offs
# "7 or lower / 8 or higher" are in the abstract, PMID 2684463].
SITE_POINTS = {"upper_limb": 1, "lower_limb": 2, "peritrochanteric": 3}
PAIN_POINTS = {"mild": 1, "moderate": 2, "functional": 3}
LESION_POINTS = {"blastic": 1, "mixed": 2, "lytic": 3}
CORTICAL_POINTS = {"lt_1_3": 1, "1_3_to_2_3": 2, "gt_2_3": 3}

# Groups ≥ 9 / 8 / ≤ 7 with fracture risk ~33–100% / ~15% / < 4% [S].
BANDS = {
    "prophylactic_fixation": "9-12: prophylactic fixation recommended (fracture risk ~33-100%)",
    "clinical_judgement": "8: clinical judgement (fracture risk ~15%)",
    "radiotherapy_or_observation": "4-7: radiotherapy / observation (fracture risk < 4%)",
}
CAUTION = (
    "poor specificity; humerus data suggest considering fixation from 8 [V: PMC10132712 abstract]"
)


def group_for(score: int) -> str:
    if score >= 9:
        return "prophylactic_fixation"
    return "clinical_judgement" if score == 8 else "radiotherapy_or_observation"


def _choice(field_name: str, value: object, table: dict[str, int]) -> tuple[str, int]:
    token = normalise_token(value)
    if token is None or token not in table:
        hint = "value is required" if value is None else None
        raise ClinicalInputError(Problem(field_name, value, "one of " + ", ".join(table), hint))
    return token, table[token]


def mirels(
    site: str | None, pain: str | None, lesion: str | None, cortical_fraction: str | None
) -> ScoreResult:
    """Mirels total (4–12) and management group; all bad inputs are reported together."""
    problems: list[Problem] = []
    components: dict[str, int] = {}
    for name, value, table in (
        ("site", site, SITE_POINTS),
        ("pain", pain, PAIN_POINTS),
        ("lesion", lesion, LESION_POINTS),
        ("cortical_fraction", cortical_fraction, CORTICAL_POINTS),
    ):
        try:
            components[name] = _choice(name, value, table)[1]
        except ClinicalInputError as err:
            problems.extend(err.problems)
    if problems:
        raise ClinicalInputError(problems)
    score = sum(components.values())
    group = group_for(score)
    return ScoreResult(
        CALCULATOR_ID,
        VERSION,
        BANDS[group],
        SOURCES,
        score,
        group,
        components=components,
        notes=(CAUTION,),
    )


SPEC = CalculatorSpec(
    id=CALCULATOR_ID,
    name="Mirels score (impending pathological fracture, long bones)",
    version=VERSION,
    formula=(
        "site upper_limb 1 / lower_limb 2 / peritrochanteric 3; pain mild 1 / moderate 2 / "
        "functional 3; lesion blastic 1 / mixed 2 / lytic 3; cortical involvement < 1/3 1 / "
        "1/3-2/3 2 / > 2/3 3. Total 4-12."
    ),
    inputs=(
        InputSpec("site", "category", "upper_limb | lower_limb | peritrochanteric"),
        InputSpec("pain", "category", "mild | moderate | functional"),
        InputSpec("lesion", "category", "blastic | mixed | lytic"),
        InputSpec(
            "cortical_fraction",
            "fraction of cortical thickness",
            "lt_1_3 (< 1/3) | 1_3_to_2_3 | gt_2_3 (> 2/3)",
        ),
    ),
    bands=tuple(BANDS.values()),
    sources=SOURCES,
    notes=(
        "[S] Point table and cut-offs from secondary reproductions of Mirels 1989.",
        "Poor specificity; humerus data suggest >= 8 [V: PMC10132712 abstract].",
    ),
)
