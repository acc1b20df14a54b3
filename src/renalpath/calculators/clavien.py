"""Clavien-Dindo grade of a surgical complication."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from renalpath.calculators.base import Calculator, Request, Values
from renalpath.clinical import clavien_dindo as cd
from renalpath.clinical.common import ClinicalInputError, Problem

ClavienRequired = Literal[
    "none",
    "allowed_regimens",
    "bedside_wound_opening",
    "drugs",
    "transfusion",
    "parenteral_nutrition",
    "intervention_local",
    "intervention_general_anaesthesia",
    "icu_single_organ",
    "dialysis_unexpected",
    "icu_multi_organ",
    "death",
]
assert set(ClavienRequired.__args__) == set(cd.REQUIRED)  # type: ignore[attr-defined]


class ClavienRequest(Request):
    required: ClavienRequired | None = Field(
        None,
        description="What the complication required (sets the grade): "
        + "; ".join(f"{k} ({g})" for k, (g, _) in cd.REQUIRED.items()),
    )
    disability: bool = Field(False, description="Complication persists at discharge (suffix -d)")
    grade: str | None = Field(
        None,
        description="A recorded grade to check/normalise: I|II|IIIa|IIIb|IVa|IVb|V, optional -d",
    )


def _clavien(v: Values) -> dict[str, Any]:
    """Three modes: classify from `required`, normalise a `grade`, or cross-check both."""
    req, grade, disability = v["required"], v["grade"], v["disability"]
    if req is None and grade is None:
        raise ClinicalInputError(
            Problem(
                "required",
                None,
                "one of " + ", ".join(cd.REQUIRED),
                "give required (or grade to check a recorded grade)",
            )
        )
    if req is None:
        result = cd.normalise(grade)
        if disability and not result.disability:
            raise ClinicalInputError(
                Problem(
                    "grade",
                    grade,
                    f"{result.label}-d with disability",
                    "add -d to the grade or drop disability",
                )
            )
        return result.to_dict()
    result = cd.classify(req, disability)
    if grade is not None and str(cd.parse_grade(grade)) != result.label:
        raise ClinicalInputError(
            Problem(
                "grade",
                grade,
                f"{result.label} for required={result.required}",
                "the recorded grade disagrees with what the complication required",
            )
        )
    return result.to_dict()


CALCULATORS: dict[str, Calculator] = {
    c.name: c
    for c in (
        Calculator(
            "clavien",
            "Clavien-Dindo grade",
            ClavienRequest,
            _clavien,
            lambda p: f"Clavien-Dindo {p['label']}",
            cd.SPEC,
            "Clavien-Dindo grade (Dindo 2004) from what the complication required.\n\n"
            "Major = IIIa or worse.\n\n"
            "With --grade alone: checks and normalises a recorded grade.\n\n"
            "With --required and --grade: refuses a recorded grade that disagrees with "
            "--required.",
        ),
    )
}
