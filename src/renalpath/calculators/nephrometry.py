"""Nephrometry scores: R.E.N.A.L. and PADUA."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from renalpath.calculators.base import Calculator, Request
from renalpath.clinical import nephrometry


class RenalRequest(Request):
    size_mm: float | None = Field(None, description="Maximal tumour diameter in mm, 1–400")
    exophytic_pct: float | None = Field(
        None, description="Exophytic fraction in %, 0–100 (0 = entirely endophytic)"
    )
    nearness_mm: float | None = Field(
        None, description="Deepest point to collecting system/sinus in mm, 0–200"
    )
    ap: Literal["a", "p", "x"] | None = Field(
        None, description="Anterior/posterior descriptor: a | p | x (neither)"
    )
    polar: Literal["outside", "crosses", "central"] | None = Field(
        None, description="Relation to polar lines: outside | crosses | central"
    )
    hilar: bool = Field(False, description="Tumour touches main renal artery or vein (suffix h)")


class PaduaRequest(Request):
    size_mm: float | None = Field(None, description="Tumour size in mm, 1–400")
    exophytic_pct: float | None = Field(
        None, description="Exophytic rate in %, 0–100 (0 = entirely endophytic)"
    )
    polar: Literal["superior", "inferior", "middle"] | None = Field(
        None, description="Longitudinal location: superior | inferior | middle"
    )
    rim: Literal["lateral", "medial"] | None = Field(
        None, description="Renal rim: lateral | medial"
    )
    sinus: bool = Field(False, description="Renal sinus involved")
    ucs: bool = Field(False, description="Urinary collecting system dilated/infiltrated")
    face: Literal["a", "p"] | None = Field(None, description="Face: a (anterior) | p (posterior)")


CALCULATORS: dict[str, Calculator] = {
    c.name: c
    for c in (
        Calculator(
            "renal",
            "R.E.N.A.L. nephrometry",
            RenalRequest,
            lambda v: nephrometry.renal_score(**v).to_dict(),
            lambda p: f"R.E.N.A.L. {p['label']} — {p['complexity']} complexity",
            nephrometry.RENAL_SPEC,
            "R.E.N.A.L. nephrometry score (sizes in mm; total 4–12).",
        ),
        Calculator(
            "padua",
            "PADUA score",
            PaduaRequest,
            lambda v: nephrometry.padua_score(**v).to_dict(),
            lambda p: f"PADUA {p['label']} — {p['risk']} risk",
            nephrometry.PADUA_SPEC,
            "PADUA score (size in mm; total 6–14). Point values need clinician verification [R].",
        ),
    )
}
