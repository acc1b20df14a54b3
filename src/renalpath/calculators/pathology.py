"""Scores after nephrectomy from pathology: Leibovich 2003 and SSIGN."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from renalpath.calculators.base import Calculator, Request, Values, score_headline
from renalpath.clinical import leibovich as leibovich_mod
from renalpath.clinical import ssign as ssign_mod

Histology = Literal[
    "clear_cell", "papillary", "chromophobe", "oncocytoma", "angiomyolipoma", "other"
]
GradeSystem = Literal["who_isup", "fuhrman"]


class _PathologyRequest(Request):
    pt: str | None = Field(
        None, description="Pathological T, TNM 8: pT1a|pT1b|pT2|pT2a|pT2b|pT3a|pT3b|pT3c|pT4"
    )
    pn: str | None = Field(None, description="Pathological N: pNX | pN0 | pN1")
    size_mm: float | None = Field(
        None, description="Pathological tumour size in mm, 1–400 (10 cm = 100 mm)"
    )
    grade: int | None = Field(None, description="Nuclear grade 1–4 (WHO/ISUP or Fuhrman)")
    necrosis: bool | None = Field(None, description="Histological tumour necrosis (required)")
    histology: Histology = Field(
        "clear_cell", description="Histology (not clear cell → not_applicable)"
    )
    grade_system: GradeSystem = Field(
        "who_isup", description="who_isup (default; scored with Fuhrman points, flagged) | fuhrman"
    )


class LeibovichRequest(_PathologyRequest):
    pass


class SsignRequest(_PathologyRequest):
    m: str | None = Field(None, description="M category: M0 | M1")


def _leibovich(v: Values) -> dict[str, Any]:
    return leibovich_mod.leibovich(
        v["pt"],
        v["pn"],
        v["size_mm"],
        v["grade"],
        v["necrosis"],
        v["histology"],
        grade_system=v["grade_system"],
    ).to_dict()


def _ssign(v: Values) -> dict[str, Any]:
    return ssign_mod.ssign(
        v["pt"],
        v["pn"],
        v["m"],
        v["size_mm"],
        v["grade"],
        v["necrosis"],
        v["histology"],
        grade_system=v["grade_system"],
    ).to_dict()


CALCULATORS: dict[str, Calculator] = {
    c.name: c
    for c in (
        Calculator(
            "leibovich",
            "Leibovich 2003",
            LeibovichRequest,
            _leibovich,
            score_headline("Leibovich"),
            leibovich_mod.SPEC,
            "Leibovich 2003 progression score (clear-cell RCC after nephrectomy), range 0-11.\n\n"
            "Groups: low 0-2, intermediate 3-5, high >= 6. Point weights are [R]: flag "
            "needs_verification.\n\n"
            "Example: --pt pT1b --pn pNX --size-mm 60 --grade 3 --necrosis",
        ),
        Calculator(
            "ssign",
            "SSIGN",
            SsignRequest,
            _ssign,
            score_headline("SSIGN"),
            ssign_mod.SPEC,
            "SSIGN score (clear-cell RCC after radical nephrectomy), range 0-17.\n\n"
            "Groups 0-2, 3-4, 5-6, 7-9, 10-17. TNM 8 pT4 scores 4 with flag "
            "tnm_version_mismatch.\n"
            "Example: --pt pT2a --pn pN0 --m M0 --size-mm 80 --grade 3 --necrosis",
        ),
    )
}
