"""eGFR (CKD-EPI 2021, CKD-EPI 2009, MDRD) with the KDIGO G category."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from renalpath.calculators.base import Calculator, Request, Values
from renalpath.clinical import egfr as egfr_mod
from renalpath.clinical.common import CalculatorSpec, ClinicalInputError, Problem

EQUATION_LABELS = {
    egfr_mod.CKD_EPI_2021: "CKD-EPI 2021",
    egfr_mod.CKD_EPI_2009: "CKD-EPI 2009",
    egfr_mod.MDRD: "MDRD IDMS-175",
}


class EgfrRequest(Request):
    creatinine: float | None = Field(
        None, description="Serum creatinine, IDMS-traceable: 0.1–25 mg/dL or 8.84–2210 µmol/L"
    )
    unit: str | None = Field(
        None,
        description="Creatinine unit: mg/dL or µmol/L (umol/L, μmol/L accepted)",
        json_schema_extra={"ui_choices": ["mg/dL", "µmol/L"]},
    )
    age: float | None = Field(None, description="Age in years, 18–120 (adult-only equations)")
    sex: Literal["male", "female"] | None = Field(None, description="Sex used by the equation")
    equation: Literal["ckd-epi-2021", "ckd-epi-2009", "mdrd"] = Field(
        "ckd-epi-2021",
        description="ckd-epi-2021 (default, race-free) | ckd-epi-2009 | mdrd (IDMS 175)",
    )
    black: bool = Field(
        False, description="Legacy race coefficient (mdrd ×1.212, ckd-epi-2009 ×1.159) only"
    )


def _egfr_spec(v: Values) -> CalculatorSpec:
    spec = egfr_mod.SPECS.get(v.get("equation", egfr_mod.DEFAULT_EQUATION))
    if spec is None:
        raise ClinicalInputError(
            Problem(
                "equation",
                v.get("equation"),
                "one of " + ", ".join(egfr_mod.EQUATIONS),
                "choose one of the equations",
            )
        )
    return spec


def _egfr(v: Values) -> dict[str, Any]:
    _egfr_spec(v)
    return egfr_mod.egfr(**v).to_dict()


def _egfr_headline(p: dict[str, Any]) -> str:
    label = EQUATION_LABELS.get(p["equation"], p["equation"])
    return f"eGFR {p['egfr_rounded']} mL/min/1.73 m² ({label}) — CKD {p['ckd_stage']}"


CALCULATORS: dict[str, Calculator] = {
    c.name: c
    for c in (
        Calculator(
            "egfr",
            "eGFR and CKD stage",
            EgfrRequest,
            _egfr,
            _egfr_headline,
            egfr_mod.SPEC,
            "eGFR in mL/min/1.73 m² with KDIGO G category (creatinine mg/dL or µmol/L, age "
            "18–120).",
            field_aliases={"creatinine_unit": "unit"},
            spec_of=_egfr_spec,
        ),
    )
}
