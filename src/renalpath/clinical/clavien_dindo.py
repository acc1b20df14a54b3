"""Clavien–Dindo classification of surgical complications.

The grade follows from what the complication *required* (Dindo, Demartines, Clavien, Ann Surg
2004;240:205, PMID 15273542 [S: Table 1 read via its reproduction in PMC10958949 and WJGS
2024]), so `classify` takes that treatment, not a free-text severity.  Registries store the
grade as text ("IIIb", "IVa-d"); `parse_grade` is strict so a typo never becomes a different
grade.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from renalpath.clinical.common import (
    CalcResult,
    CalculatorSpec,
    ClinicalInputError,
    InputSpec,
    Problem,
    Source,
)

CALCULATOR_ID = "clavien-dindo"
VERSION = "2004"
GRADES = ("I", "II", "IIIa", "IIIb", "IVa", "IVb", "V")
MAJOR_FROM = "IIIa"  # "major" = grade IIIa or worse (task/API contract; common usage)
DISABILITY_SUFFIX = "-d"

SOURCES = (
    Source(
        "Dindo D, Demartines N, Clavien PA. Classification of surgical complications: a new "
        "proposal with evaluation in a cohort of 6336 patients and results of a survey. "
        "Ann Surg 2004;240(2):205-213 (PMID 15273542, DOI 10.1097/01.sla.0000133083.54934.ae)",
        "Table 1 read via its reproduction in PMC10958949 (WJGS 2024;16:3413), "
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC10958949/table/Tab3",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC1360123/",
        "S",
    ),
)

# What the complication required → grade, from Dindo 2004 Table 1 [S] (the vocabulary is [P]).
REQUIRED: dict[str, tuple[str, str]] = {
    "none": ("I", "deviation from the normal course needing no treatment"),
    "allowed_regimens": (
        "I",
        "only antiemetics, antipyretics, analgesics, diuretics, electrolytes or physiotherapy",
    ),
    "bedside_wound_opening": ("I", "wound infection opened at the bedside"),
    "drugs": ("II", "other drugs (e.g. antibiotics)"),
    "transfusion": ("II", "blood transfusion"),
    "parenteral_nutrition": ("II", "total parenteral nutrition"),
    "intervention_local": (
        "IIIa",
        "surgical, endoscopic or radiological intervention NOT under general anaesthesia",
    ),
    "intervention_general_anaesthesia": (
        "IIIb",
        "surgical, endoscopic or radiological intervention under general anaesthesia",
    ),
    "icu_single_organ": (
        "IVa",
        "life-threatening, IC/ICU management, single-organ dysfunction (including dialysis; "
        "CNS events such as brain haemorrhage, ischaemic stroke, subarachnoid bleeding, not TIA)",
    ),
    # Registry rule [P]: unexpected post-operative dialysis = IVa; dialysis expected
    # pre-operatively (e.g. RN of a solitary kidney) is not a complication at all.
    "dialysis_unexpected": ("IVa", "dialysis not expected pre-operatively"),
    "icu_multi_organ": ("IVb", "life-threatening, IC/ICU management, multi-organ dysfunction"),
    "death": ("V", "death of the patient"),
}

_GRADE_RE = re.compile(r"^(?P<roman>iv|v|i{1,3})(?P<sub>[ab]?)(?P<d>-?d)?$")


@dataclass(frozen=True, order=False)
class ClavienGrade:
    """A grade and whether the complication persisted at discharge (suffix "-d")."""

    grade: str
    disability: bool = False

    def __str__(self) -> str:
        return self.grade + (DISABILITY_SUFFIX if self.disability else "")

    @property
    def rank(self) -> int:
        return GRADES.index(self.grade) + 1


@dataclass(frozen=True)
class ClavienResult(CalcResult):
    grade: str
    disability: bool
    label: str
    is_major: bool
    rank: int
    required: str | None


def parse_grade(text: str) -> ClavienGrade:
    """Parse "IIIa", "iiib", "IVa-d" (any case, surrounding spaces ignored); refuse the rest."""
    allowed = "one of " + ", ".join(GRADES) + ", optionally with suffix -d (not V)"
    if not isinstance(text, str):
        raise ClinicalInputError(Problem("grade", text, allowed, "text is required"))
    match = _GRADE_RE.match(text.strip().lower().replace(" ", ""))
    if match is None:
        raise ClinicalInputError(Problem("grade", text, allowed))
    roman = match["roman"].upper()
    grade = roman + match["sub"]
    if grade not in GRADES:
        hint = None
        if grade == "III":
            hint = "give IIIa (not under general anaesthesia) or IIIb (under general anaesthesia)"
        elif grade == "IV":
            hint = "give IVa (single-organ dysfunction) or IVb (multi-organ dysfunction)"
        raise ClinicalInputError(Problem("grade", text, allowed, hint))
    disability = match["d"] is not None
    if disability and grade == "V":
        raise ClinicalInputError(
            Problem("grade", text, allowed, "suffix -d marks disability at discharge; V is death")
        )
    return ClavienGrade(grade, disability)


def _as_grade(grade: str | ClavienGrade) -> ClavienGrade:
    return grade if isinstance(grade, ClavienGrade) else parse_grade(grade)


def grade_rank(grade: str | ClavienGrade) -> int:
    """1 (I) … 7 (V), for 'highest grade per episode'; the -d suffix does not change rank."""
    return _as_grade(grade).rank


def is_major(grade: str | ClavienGrade) -> bool:
    """Major complication = grade IIIa or worse."""
    return grade_rank(grade) >= GRADES.index(MAJOR_FROM) + 1


def highest(grades: list[str | ClavienGrade]) -> ClavienGrade | None:
    """Highest grade of an episode (Dindo 2004 registry rule [P]); ties keep any '-d'."""
    parsed = [_as_grade(g) for g in grades]
    if not parsed:
        return None
    top = max(g.rank for g in parsed)
    return ClavienGrade(GRADES[top - 1], any(g.disability for g in parsed if g.rank == top))


def _result(grade: ClavienGrade, required: str | None) -> ClavienResult:
    major = is_major(grade)
    return ClavienResult(
        CALCULATOR_ID,
        VERSION,
        ("major" if major else "minor") + " complication (major = IIIa or worse)",
        SOURCES,
        grade=grade.grade,
        disability=grade.disability,
        label=str(grade),
        is_major=major,
        rank=grade.rank,
        required=required,
    )


def classify(required: str, disability_at_discharge: bool = False) -> ClavienResult:
    """Grade from what the complication required; `disability_at_discharge` adds "-d"."""
    token = required.strip().lower() if isinstance(required, str) else None
    if token not in REQUIRED:
        raise ClinicalInputError(
            Problem(
                "required",
                required,
                "one of " + ", ".join(REQUIRED),
                "value is required" if required is None else None,
            )
        )
    if not isinstance(disability_at_discharge, bool):
        raise ClinicalInputError(
            Problem("disability_at_discharge", disability_at_discharge, "true or false")
        )
    grade = REQUIRED[token][0]
    if grade == "V" and disability_at_discharge:
        raise ClinicalInputError(
            Problem(
                "disability_at_discharge",
                True,
                "false when required=death",
                "the -d suffix marks a complication persisting at discharge; V is death",
            )
        )
    return _result(ClavienGrade(grade, disability_at_discharge), token)


def normalise(text: str) -> ClavienResult:
    """A recorded grade, checked and in canonical spelling (e.g. "iva-d" → "IVa-d")."""
    return _result(parse_grade(text), None)


SPEC = CalculatorSpec(
    id=CALCULATOR_ID,
    name="Clavien-Dindo classification of surgical complications",
    version=VERSION,
    formula="grade from what the complication required: "
    + "; ".join(f"{k} -> {g}" for k, (g, _) in REQUIRED.items())
    + "; suffix -d if the complication persists at discharge",
    inputs=(
        InputSpec("required", "category", " | ".join(REQUIRED), "what the complication required"),
        InputSpec("disability", "yes/no", "default no", "complication persists at discharge"),
        InputSpec(
            "grade",
            "text",
            "I, II, IIIa, IIIb, IVa, IVb, V (+ -d except V)",
            "a recorded grade to check and normalise",
        ),
    ),
    bands=(
        *(f"{g}: {k} — {text}" for k, (g, text) in REQUIRED.items()),
        "major complication = IIIa or worse",
    ),
    sources=SOURCES,
    notes=(
        "[P] Planned post-operative dialysis expected pre-operatively (e.g. salvage RN in a "
        "solitary kidney) is not a Clavien complication; unexpected dialysis = IVa (-d if still "
        "dialysis-dependent at discharge).",
        "[P] Registries record every complication and report the highest grade per episode.",
        "CNS events (brain haemorrhage, ischaemic stroke, subarachnoid bleeding; not TIA) are "
        "grade IV: choose icu_single_organ or icu_multi_organ by the organ dysfunction.",
    ),
)
