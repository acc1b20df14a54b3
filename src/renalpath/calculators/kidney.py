"""Kidney function, nephrometry, staging and growth: eGFR, R.E.N.A.L., PADUA, TNM, growth."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from renalpath.calculators.base import Calculator, Request, Values
from renalpath.clinical import egfr as egfr_mod
from renalpath.clinical import growth as growth_mod
from renalpath.clinical import nephrometry, staging
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


class TnmRequest(Request):
    size_mm: float | None = Field(
        None, description="Greatest tumour dimension in mm, 1–400 (T1a ≤ 40, T1b ≤ 70, T2a ≤ 100)"
    )
    t: str | None = Field(
        None, description="T category instead of/in addition to size: T1a…T4 (c/p prefix ok)"
    )
    n: str | None = Field(None, description="N0 | N1 | NX (c/p prefix ok)")
    m: str | None = Field(None, description="M0 | M1 (c/p prefix ok)")
    renal_vein: bool = Field(False, description="Renal vein or segmental branches (T3a)")
    pelvicalyceal: bool = Field(False, description="Invades pelvicalyceal system (T3a)")
    perirenal_fat: bool = Field(False, description="Perirenal fat invasion (T3a)")
    sinus_fat: bool = Field(False, description="Renal sinus fat invasion (T3a)")
    ivc_below_diaphragm: bool = Field(False, description="Vena cava below diaphragm (T3b)")
    ivc_above_diaphragm: bool = Field(False, description="Vena cava above diaphragm (T3c)")
    ivc_wall: bool = Field(False, description="Invades the wall of the vena cava (T3c)")
    beyond_gerota: bool = Field(False, description="Beyond Gerota fascia (T4)")
    adrenal_contiguous: bool = Field(
        False, description="Contiguous ipsilateral adrenal invasion (T4)"
    )


class GrowthRequest(Request):
    size1_mm: float | None = Field(None, description="Diameter on the reference scan in mm, 1–400")
    size2_mm: float | None = Field(None, description="Diameter on the later scan in mm, 1–400")
    interval_days: float | None = Field(None, description="Days between the scans, ≥ 180")


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
        Calculator(
            "tnm",
            "TNM 8 stage",
            TnmRequest,
            lambda v: staging.tnm(**v).to_dict(),
            lambda p: f"{p['t']} {p['n']} {p['m']} — stage {p['stage_group']}",
            staging.SPEC,
            "AJCC/UICC 8 T category (size in mm 1–400 plus extension) and stage group I–IV.",
        ),
        Calculator(
            "growth",
            "Growth rate (active surveillance)",
            GrowthRequest,
            lambda v: growth_mod.growth_rate(**v).to_dict(),
            lambda p: f"{p['mm_per_year']:.2f} mm/year",
            growth_mod.SPEC,
            "Active-surveillance growth rate in mm/year (fast growth ≥ 5 mm/year).",
        ),
    )
}
