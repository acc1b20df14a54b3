"""The calculators as the web sees them: a request model, a spec and a compute function each.

Request fields mirror the calculator arguments (and the `renalpath calc` options) one to one,
and numbers are deliberately *not* range-checked here: the calculators own every range and
refuse by field name, so the API, the UI, the CLI and the registry give the same answer to
the same bad input.  Pydantic only checks types and closed enumerations (which also puts the
allowed values into the OpenAPI schema).  Unknown fields are refused, never ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from renalpath.clinical import calcium as calcium_mod
from renalpath.clinical import clavien_dindo as cd
from renalpath.clinical import egfr as egfr_mod
from renalpath.clinical import growth as growth_mod
from renalpath.clinical import imdc as imdc_mod
from renalpath.clinical import leibovich as leibovich_mod
from renalpath.clinical import mirels as mirels_mod
from renalpath.clinical import mskcc as mskcc_mod
from renalpath.clinical import nephrometry, staging
from renalpath.clinical import ssign as ssign_mod
from renalpath.clinical.common import CalculatorSpec, ClinicalInputError, Problem

Histology = Literal[
    "clear_cell", "papillary", "chromophobe", "oncocytoma", "angiomyolipoma", "other"
]
GradeSystem = Literal["who_isup", "fuhrman"]
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


class _Request(BaseModel):
    # strict: JSON true is not a size and "1.2" is not a number; the UI converts form strings
    # itself (web.forms), so both paths see the same rules.
    model_config = ConfigDict(extra="forbid", strict=True)


# --- kidney ----------------------------------------------------------------------------------


class EgfrRequest(_Request):
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


class RenalRequest(_Request):
    size_mm: float | None = Field(None, description="Maximal tumour diameter in mm, 1–400")
    exophytic_pct: float | None = Field(None, description="Exophytic fraction in %, 0–100")
    nearness_mm: float | None = Field(
        None, description="Deepest point to collecting system/sinus in mm, 0–200"
    )
    ap: Literal["a", "p", "x"] | None = Field(None, description="Anterior/posterior: a | p | x")
    polar: Literal["outside", "crosses", "central"] | None = Field(
        None, description="Relation to polar lines"
    )
    hilar: bool = Field(False, description="Touches main renal artery or vein (suffix h)")


class PaduaRequest(_Request):
    size_mm: float | None = Field(None, description="Tumour size in mm, 1–400")
    exophytic_pct: float | None = Field(None, description="Exophytic rate in %, 0–100")
    polar: Literal["superior", "inferior", "middle"] | None = Field(
        None, description="Longitudinal location"
    )
    rim: Literal["lateral", "medial"] | None = Field(None, description="Renal rim")
    sinus: bool = Field(False, description="Renal sinus involved")
    ucs: bool = Field(False, description="Urinary collecting system dilated/infiltrated")
    face: Literal["a", "p"] | None = Field(None, description="Face: a (anterior) | p (posterior)")


class TnmRequest(_Request):
    size_mm: float | None = Field(
        None, description="Greatest tumour dimension in mm, 1–400 (T1a ≤ 40, T1b ≤ 70, T2a ≤ 100)"
    )
    t: str | None = Field(None, description="T category instead of/in addition to size: T1a…T4")
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
    adrenal_contiguous: bool = Field(False, description="Contiguous ipsilateral adrenal (T4)")


class GrowthRequest(_Request):
    size1_mm: float | None = Field(None, description="Diameter on the reference scan, mm 1–400")
    size2_mm: float | None = Field(None, description="Diameter on the later scan, mm 1–400")
    interval_days: float | None = Field(None, description="Days between the scans, ≥ 180")


# --- prognosis -------------------------------------------------------------------------------


class _PathologyRequest(_Request):
    pt: str | None = Field(None, description="Pathological T, TNM 8: pT1a … pT4")
    pn: str | None = Field(None, description="Pathological N: pNX | pN0 | pN1")
    size_mm: float | None = Field(None, description="Pathological tumour size in mm, 1–400")
    grade: int | None = Field(None, description="Nuclear grade 1–4 (WHO/ISUP or Fuhrman)")
    necrosis: bool | None = Field(None, description="Histological tumour necrosis (required)")
    histology: Histology = Field("clear_cell", description="Not clear cell → not_applicable")
    grade_system: GradeSystem = Field(
        "who_isup", description="who_isup (scored with Fuhrman points, flagged) | fuhrman"
    )


class LeibovichRequest(_PathologyRequest):
    pass


class SsignRequest(_PathologyRequest):
    m: str | None = Field(None, description="M category: M0 | M1")


class _RiskRequest(_Request):
    kps: int | None = Field(None, description="Karnofsky performance status %, 0–100, steps of 10")
    ecog: int | None = Field(
        None, description="ECOG 0–4, used only without KPS (1 → both readings shown)"
    )
    dx_to_systemic_days: int | None = Field(
        None, description="Days from diagnosis to start of systemic therapy (≥ 0; < 365 scores 1)"
    )
    hb_below_lln: bool | None = Field(None, description="Haemoglobin below the lab's LLN")
    calcium: float | None = Field(
        None, description="Total calcium, to compute corrected calcium (with albumin)"
    )
    albumin: float | None = Field(None, description="Albumin (1.0–6.0 g/dL or 10–60 g/L)")
    calcium_unit: Literal["mg/dL", "mmol/L"] = Field("mg/dL", description="Calcium unit")
    albumin_unit: Literal["g/dL", "g/L"] | None = Field(
        None, description="Default: g/dL with mg/dL, g/L with mmol/L"
    )


class ImdcRequest(_RiskRequest):
    calcium_corrected_above_uln: bool | None = Field(
        None, description="Corrected calcium above the lab's ULN (or give calcium + albumin + ULN)"
    )
    neutrophils_above_uln: bool | None = Field(None, description="Neutrophils above lab ULN")
    platelets_above_uln: bool | None = Field(None, description="Platelets above lab ULN")
    systemic_planned: bool = Field(
        True, description="No therapy planned → time factor scored present, flagged provisional"
    )
    calcium_uln: float | None = Field(None, description="Lab's calcium ULN, in the calcium unit")


class MskccRequest(_RiskRequest):
    ldh_above_1_5_uln: bool | None = Field(None, description="LDH > 1.5 × the lab's ULN")
    calcium_corrected_above_10_mg_dl: bool | None = Field(
        None, description="Corrected calcium > 10 mg/dL (or give calcium + albumin)"
    )


class CalciumRequest(_Request):
    calcium: float | None = Field(
        None, description="Total calcium: 4–20 mg/dL or 0.998–4.99 mmol/L"
    )
    albumin: float | None = Field(None, description="Albumin: 1.0–6.0 g/dL or 10–60 g/L")
    unit: Literal["mg/dL", "mmol/L"] = Field("mg/dL", description="Calcium unit")
    albumin_unit: Literal["g/dL", "g/L"] | None = Field(
        None, description="Default: g/dL with mg/dL, g/L with mmol/L"
    )
    uln: float | None = Field(None, description="Lab's calcium ULN in the calcium unit (IMDC)")


class ClavienRequest(_Request):
    required: ClavienRequired | None = Field(
        None, description="What the complication required (sets the grade)"
    )
    disability: bool = Field(False, description="Complication persists at discharge (suffix -d)")
    grade: str | None = Field(
        None, description="A recorded grade to check/normalise: I|II|IIIa|IIIb|IVa|IVb|V, -d"
    )


class MirelsRequest(_Request):
    site: Literal["upper_limb", "lower_limb", "peritrochanteric"] | None = None
    pain: Literal["mild", "moderate", "functional"] | None = None
    lesion: Literal["blastic", "mixed", "lytic"] | None = None
    cortical_fraction: Literal["lt_1_3", "1_3_to_2_3", "gt_2_3"] | None = Field(
        None, description="Fraction of cortical thickness involved"
    )


# --- compute functions (request → the same JSON as `renalpath calc NAME --json`) ---------------


def _given(request: BaseModel) -> dict[str, Any]:
    """The request's fields as plain values, None included.

    The calculators are typed for complete input but refuse a None by field name (the CLI
    relies on the same), so missing inputs are passed through for them to name.
    """
    return dict(request)


def _egfr(r: EgfrRequest) -> dict[str, Any]:
    return egfr_mod.egfr(**_given(r)).to_dict()


def _renal(r: RenalRequest) -> dict[str, Any]:
    return nephrometry.renal_score(**_given(r)).to_dict()


def _padua(r: PaduaRequest) -> dict[str, Any]:
    return nephrometry.padua_score(**_given(r)).to_dict()


def _tnm(r: TnmRequest) -> dict[str, Any]:
    return staging.tnm(**_given(r)).to_dict()


def _growth(r: GrowthRequest) -> dict[str, Any]:
    return growth_mod.growth_rate(**_given(r)).to_dict()


def _leibovich(r: LeibovichRequest) -> dict[str, Any]:
    return leibovich_mod.leibovich(
        r.pt, r.pn, r.size_mm, r.grade, r.necrosis, r.histology, grade_system=r.grade_system
    ).to_dict()


def _ssign(r: SsignRequest) -> dict[str, Any]:
    return ssign_mod.ssign(
        r.pt, r.pn, r.m, r.size_mm, r.grade, r.necrosis, r.histology, grade_system=r.grade_system
    ).to_dict()


def _calcium_reading(
    r: _RiskRequest, flag: bool | None, flag_field: str, uln: float | None, use_uln: bool
) -> tuple[bool | None, dict[str, Any] | None]:
    """The calcium factor from the flag or from calcium + albumin (as `renalpath calc imdc`)."""
    if r.calcium is None and r.albumin is None:
        return flag, None
    if r.calcium is None or r.albumin is None:
        missing = "calcium" if r.calcium is None else "albumin"
        raise ClinicalInputError(
            Problem(missing, None, "a number", "calcium and albumin go together")
        )
    if use_uln and uln is None:
        raise ClinicalInputError(
            Problem(
                "calcium_uln",
                None,
                "the reporting lab's ULN, in the calcium unit",
                "IMDC compares corrected calcium with the lab's own ULN",
            )
        )
    res = calcium_mod.corrected_calcium_result(
        r.calcium, r.albumin, r.calcium_unit, r.albumin_unit, uln
    )
    computed = res.above_uln if use_uln else res.above_10_mg_dl
    if flag is not None and flag != computed:
        raise ClinicalInputError(
            Problem(
                flag_field,
                flag,
                f"{computed} (from calcium {r.calcium} and albumin {r.albumin})",
                "the flag contradicts the corrected calcium computed from the values",
            )
        )
    return computed, res.to_dict()


def _imdc(r: ImdcRequest) -> dict[str, Any]:
    flag, detail = _calcium_reading(
        r, r.calcium_corrected_above_uln, "calcium_corrected_above_uln", r.calcium_uln, True
    )
    payload = imdc_mod.imdc(
        kps=r.kps,
        ecog=r.ecog,
        dx_to_systemic_days=r.dx_to_systemic_days,
        hb_below_lln=r.hb_below_lln,
        calcium_corrected_above_uln=flag,
        neutrophils_above_uln=r.neutrophils_above_uln,
        platelets_above_uln=r.platelets_above_uln,
        systemic_planned=r.systemic_planned,
    ).to_dict()
    if detail is not None:
        payload["calcium"] = detail
    return payload


def _mskcc(r: MskccRequest) -> dict[str, Any]:
    flag, detail = _calcium_reading(
        r, r.calcium_corrected_above_10_mg_dl, "calcium_corrected_above_10_mg_dl", None, False
    )
    payload = mskcc_mod.mskcc(
        kps=r.kps,
        ecog=r.ecog,
        ldh_above_1_5_uln=r.ldh_above_1_5_uln,
        hb_below_lln=r.hb_below_lln,
        calcium_corrected_above_10_mg_dl=flag,
        dx_to_systemic_days=r.dx_to_systemic_days,
    ).to_dict()
    if detail is not None:
        payload["calcium"] = detail
    return payload


def _calcium(r: CalciumRequest) -> dict[str, Any]:
    problems = [
        Problem(name, None, allowed, "value is required")
        for name, value, allowed in (
            ("calcium", r.calcium, "4–20 mg/dL or 0.998–4.99 mmol/L"),
            ("albumin", r.albumin, "1.0–6.0 g/dL or 10–60 g/L"),
        )
        if value is None
    ]
    if problems:
        raise ClinicalInputError(problems)
    assert r.calcium is not None and r.albumin is not None
    return calcium_mod.corrected_calcium_result(
        r.calcium, r.albumin, r.unit, r.albumin_unit, r.uln
    ).to_dict()


def _clavien(r: ClavienRequest) -> dict[str, Any]:
    """Same three modes as `renalpath calc clavien`: classify, normalise, or cross-check."""
    if r.required is None and r.grade is None:
        raise ClinicalInputError(
            Problem(
                "required",
                None,
                "one of " + ", ".join(cd.REQUIRED),
                "give required (or grade to check a recorded grade)",
            )
        )
    if r.required is None:
        assert r.grade is not None
        result = cd.normalise(r.grade)
        if r.disability and not result.disability:
            raise ClinicalInputError(
                Problem(
                    "grade",
                    r.grade,
                    f"{result.label}-d with disability",
                    "add -d to the grade or untick disability",
                )
            )
        return result.to_dict()
    result = cd.classify(r.required, r.disability)
    if r.grade is not None and str(cd.parse_grade(r.grade)) != result.label:
        raise ClinicalInputError(
            Problem(
                "grade",
                r.grade,
                f"{result.label} for required={result.required}",
                "the recorded grade disagrees with what the complication required",
            )
        )
    return result.to_dict()


def _mirels(r: MirelsRequest) -> dict[str, Any]:
    return mirels_mod.mirels(r.site, r.pain, r.lesion, r.cortical_fraction).to_dict()


# --- headlines for the UI ---------------------------------------------------------------------


def _score_headline(title: str) -> Callable[[dict[str, Any]], str]:
    def headline(p: dict[str, Any]) -> str:
        if p.get("score") is None:
            return f"{title}: {p['group']}"
        return f"{title}: {p['score']} ({p['group']})"

    return headline


_EQ_LABEL = {
    "ckd-epi-2021": "CKD-EPI 2021",
    "ckd-epi-2009": "CKD-EPI 2009",
    "mdrd": "MDRD IDMS-175",
}


def _egfr_headline(p: dict[str, Any]) -> str:
    return (
        f"eGFR {p['egfr_rounded']} mL/min/1.73 m² ({_EQ_LABEL.get(p['equation'], p['equation'])})"
        f" — CKD {p['ckd_stage']}"
    )


@dataclass(frozen=True)
class Calculator:
    """One calculator: what the API accepts, how it computes, what the UI shows."""

    name: str
    title: str
    request: type[BaseModel]
    compute: Callable[[Any], dict[str, Any]]
    headline: Callable[[dict[str, Any]], str]
    spec: CalculatorSpec
    # Calculator field names that differ from the request field they come from.
    field_aliases: dict[str, str] = field(default_factory=dict)

    def spec_for(self, request: BaseModel | None) -> CalculatorSpec:
        """The spec of the formula actually used (eGFR: the chosen equation)."""
        if isinstance(request, EgfrRequest):
            return egfr_mod.SPECS[request.equation]
        return self.spec

    def run(self, request: BaseModel) -> dict[str, Any]:
        """Compute; re-raise a refusal with the problems renamed to request field names."""
        try:
            return self.compute(request)
        except ClinicalInputError as err:
            if not any(p.field in self.field_aliases for p in err.problems):
                raise
            renamed = [
                Problem(self.field_aliases.get(p.field, p.field), p.value, p.allowed, p.hint)
                for p in err.problems
            ]
            raise ClinicalInputError(renamed) from None


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
            {"creatinine_unit": "unit"},
        ),
        Calculator(
            "renal",
            "R.E.N.A.L. nephrometry",
            RenalRequest,
            _renal,
            lambda p: f"R.E.N.A.L. {p['label']} — {p['complexity']} complexity",
            nephrometry.RENAL_SPEC,
        ),
        Calculator(
            "padua",
            "PADUA score",
            PaduaRequest,
            _padua,
            lambda p: f"PADUA {p['label']} — {p['risk']} risk",
            nephrometry.PADUA_SPEC,
        ),
        Calculator(
            "tnm",
            "TNM 8 stage",
            TnmRequest,
            _tnm,
            lambda p: f"{p['t']} {p['n']} {p['m']} — stage {p['stage_group']}",
            staging.SPEC,
        ),
        Calculator(
            "growth",
            "Growth rate (active surveillance)",
            GrowthRequest,
            _growth,
            lambda p: f"{p['mm_per_year']:.2f} mm/year",
            growth_mod.SPEC,
        ),
        Calculator(
            "leibovich",
            "Leibovich 2003",
            LeibovichRequest,
            _leibovich,
            _score_headline("Leibovich"),
            leibovich_mod.SPEC,
        ),
        Calculator(
            "ssign",
            "SSIGN",
            SsignRequest,
            _ssign,
            _score_headline("SSIGN"),
            ssign_mod.SPEC,
        ),
        Calculator(
            "imdc",
            "IMDC (Heng) risk",
            ImdcRequest,
            _imdc,
            _score_headline("IMDC"),
            imdc_mod.SPEC,
            {"unit": "calcium_unit", "uln": "calcium_uln"},
        ),
        Calculator(
            "mskcc",
            "MSKCC 2002 risk",
            MskccRequest,
            _mskcc,
            _score_headline("MSKCC"),
            mskcc_mod.SPEC,
            {"unit": "calcium_unit"},
        ),
        Calculator(
            "clavien",
            "Clavien-Dindo grade",
            ClavienRequest,
            _clavien,
            lambda p: f"Clavien-Dindo {p['label']}",
            cd.SPEC,
        ),
        Calculator(
            "mirels",
            "Mirels score",
            MirelsRequest,
            _mirels,
            _score_headline("Mirels"),
            mirels_mod.SPEC,
        ),
        Calculator(
            "calcium",
            "Corrected calcium",
            CalciumRequest,
            _calcium,
            lambda p: f"Corrected calcium {p['corrected']:.2f} {p['unit']}",
            calcium_mod.SPEC,
        ),
    )
}
