"""Prognostic scores and their helpers: Leibovich, SSIGN, IMDC, MSKCC, calcium, Clavien, Mirels."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field

from renalpath.calculators.base import Calculator, Request, Values
from renalpath.clinical import calcium as calcium_mod
from renalpath.clinical import clavien_dindo as cd
from renalpath.clinical import imdc as imdc_mod
from renalpath.clinical import leibovich as leibovich_mod
from renalpath.clinical import mirels as mirels_mod
from renalpath.clinical import mskcc as mskcc_mod
from renalpath.clinical import ssign as ssign_mod
from renalpath.clinical.common import ClinicalInputError, Problem

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

_CALCIUM_RANGE = "4–20 mg/dL or 0.998–4.99 mmol/L"
_ALBUMIN_RANGE = "1.0–6.0 g/dL or 10–60 g/L"


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


class _RiskRequest(Request):
    kps: int | None = Field(
        None, description="Karnofsky performance status, % (0–100, steps of 10)"
    )
    ecog: int | None = Field(
        None,
        description="ECOG 0–4, used only without KPS: 0 → KPS ≥ 80, ≥ 2 → KPS < 80, "
        "1 → indeterminate (both results shown)",
    )
    dx_to_systemic_days: int | None = Field(
        None, description="Days from diagnosis to start of systemic therapy (≥ 0; < 365 scores 1)"
    )
    hb_below_lln: bool | None = Field(
        None, description="Haemoglobin below the lab's LLN (required)"
    )
    calcium: float | None = Field(
        None, description=f"Total calcium, to compute corrected calcium ({_CALCIUM_RANGE})"
    )
    albumin: float | None = Field(None, description=f"Albumin ({_ALBUMIN_RANGE}), with calcium")
    calcium_unit: Literal["mg/dL", "mmol/L"] = Field(
        "mg/dL", description="Calcium unit: mg/dL (default) | mmol/L"
    )
    albumin_unit: Literal["g/dL", "g/L"] | None = Field(
        None, description="g/dL | g/L (default: g/dL with mg/dL, g/L with mmol/L)"
    )


class ImdcRequest(_RiskRequest):
    calcium_corrected_above_uln: bool | None = Field(
        None,
        description="Corrected calcium above the lab's ULN (or give calcium, albumin and "
        "calcium ULN)",
    )
    neutrophils_above_uln: bool | None = Field(None, description="Neutrophils above lab ULN")
    platelets_above_uln: bool | None = Field(None, description="Platelets above lab ULN")
    systemic_planned: bool = Field(
        True,
        description="No systemic therapy planned → time factor scored present, flag "
        "imdc_provisional",
    )
    calcium_uln: float | None = Field(None, description="Lab's calcium ULN, in the calcium unit")


class MskccRequest(_RiskRequest):
    ldh_above_1_5_uln: bool | None = Field(None, description="LDH > 1.5 × the lab's ULN (required)")
    calcium_corrected_above_10_mg_dl: bool | None = Field(
        None,
        description="Corrected calcium > 10 mg/dL (≈ 2.5 mmol/L); or give calcium and albumin",
    )


class CalciumRequest(Request):
    calcium: float | None = Field(None, description=f"Total calcium: {_CALCIUM_RANGE}")
    albumin: float | None = Field(None, description=f"Albumin: {_ALBUMIN_RANGE}")
    unit: Literal["mg/dL", "mmol/L"] = Field(
        "mg/dL", description="Calcium unit: mg/dL (default) | mmol/L"
    )
    albumin_unit: Literal["g/dL", "g/L"] | None = Field(
        None, description="g/dL | g/L (default: g/dL with mg/dL, g/L with mmol/L)"
    )
    uln: float | None = Field(None, description="Lab's calcium ULN in the calcium unit (IMDC)")


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


class MirelsRequest(Request):
    site: Literal["upper_limb", "lower_limb", "peritrochanteric"] | None = Field(
        None, description="upper_limb (1) | lower_limb (2) | peritrochanteric (3)"
    )
    pain: Literal["mild", "moderate", "functional"] | None = Field(
        None, description="mild (1) | moderate (2) | functional (3)"
    )
    lesion: Literal["blastic", "mixed", "lytic"] | None = Field(
        None, description="blastic (1) | mixed (2) | lytic (3)"
    )
    cortical_fraction: Literal["lt_1_3", "1_3_to_2_3", "gt_2_3"] | None = Field(
        None,
        description="Fraction of cortical thickness involved: lt_1_3 (1) | 1_3_to_2_3 (2) | "
        "gt_2_3 (3)",
    )


# --- compute functions (values → the JSON of `renalpath calc NAME --json` and the API) ---------


def _leibovich(v: Values) -> dict[str, Any]:
    return leibovich_mod.leibovich(
        v["pt"], v["pn"], v["size_mm"], v["grade"], v["necrosis"], v["histology"],
        grade_system=v["grade_system"],
    ).to_dict()  # fmt: skip


def _ssign(v: Values) -> dict[str, Any]:
    return ssign_mod.ssign(
        v["pt"], v["pn"], v["m"], v["size_mm"], v["grade"], v["necrosis"], v["histology"],
        grade_system=v["grade_system"],
    ).to_dict()  # fmt: skip


def _calcium_reading(
    v: Values, flag_field: str, uln: float | None, use_uln: bool
) -> tuple[bool | None, dict[str, Any] | None]:
    """The calcium factor from its flag or from calcium + albumin; refuse if both disagree."""
    flag, calcium, albumin = v[flag_field], v["calcium"], v["albumin"]
    if calcium is None and albumin is None:
        return flag, None
    if calcium is None or albumin is None:
        missing = "calcium" if calcium is None else "albumin"
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
        calcium, albumin, v["calcium_unit"], v["albumin_unit"], uln
    )
    computed = res.above_uln if use_uln else res.above_10_mg_dl
    if flag is not None and flag != computed:
        raise ClinicalInputError(
            Problem(
                flag_field,
                flag,
                f"{computed} (from calcium {calcium} and albumin {albumin})",
                "the flag contradicts the corrected calcium computed from the values",
            )
        )
    return computed, res.to_dict()


def _imdc(v: Values) -> dict[str, Any]:
    flag, detail = _calcium_reading(v, "calcium_corrected_above_uln", v["calcium_uln"], True)
    payload = imdc_mod.imdc(
        kps=v["kps"],
        ecog=v["ecog"],
        dx_to_systemic_days=v["dx_to_systemic_days"],
        hb_below_lln=v["hb_below_lln"],
        calcium_corrected_above_uln=flag,
        neutrophils_above_uln=v["neutrophils_above_uln"],
        platelets_above_uln=v["platelets_above_uln"],
        systemic_planned=v["systemic_planned"],
    ).to_dict()
    if detail is not None:
        payload["calcium"] = detail
    return payload


def _mskcc(v: Values) -> dict[str, Any]:
    flag, detail = _calcium_reading(v, "calcium_corrected_above_10_mg_dl", None, False)
    payload = mskcc_mod.mskcc(
        kps=v["kps"],
        ecog=v["ecog"],
        ldh_above_1_5_uln=v["ldh_above_1_5_uln"],
        hb_below_lln=v["hb_below_lln"],
        calcium_corrected_above_10_mg_dl=flag,
        dx_to_systemic_days=v["dx_to_systemic_days"],
    ).to_dict()
    if detail is not None:
        payload["calcium"] = detail
    return payload


def _calcium(v: Values) -> dict[str, Any]:
    problems = [
        Problem(name, None, allowed, "value is required")
        for name, allowed in (("calcium", _CALCIUM_RANGE), ("albumin", _ALBUMIN_RANGE))
        if v[name] is None
    ]
    if problems:
        raise ClinicalInputError(problems)
    return calcium_mod.corrected_calcium_result(
        v["calcium"],
        v["albumin"],
        v["unit"],
        v["albumin_unit"],
        v["uln"],
    ).to_dict()


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


def _score_headline(title: str) -> Callable[[dict[str, Any]], str]:
    def headline(p: dict[str, Any]) -> str:
        if p.get("score") is None:
            return f"{title}: {p['group']}"
        return f"{title}: {p['score']} ({p['group']})"

    return headline


_RISK_FLAGS: dict[str, tuple[str, ...]] = {
    "dx_to_systemic_days": ("--days", "--dx-to-systemic-days"),
    "hb_below_lln": ("--hb-low/--hb-normal",),
}

CALCULATORS: dict[str, Calculator] = {
    c.name: c
    for c in (
        Calculator(
            "leibovich",
            "Leibovich 2003",
            LeibovichRequest,
            _leibovich,
            _score_headline("Leibovich"),
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
            _score_headline("SSIGN"),
            ssign_mod.SPEC,
            "SSIGN score (clear-cell RCC after radical nephrectomy), range 0-17.\n\n"
            "Groups 0-2, 3-4, 5-6, 7-9, 10-17. TNM 8 pT4 scores 4 with flag "
            "tnm_version_mismatch.\n"
            "Example: --pt pT2a --pn pN0 --m M0 --size-mm 80 --grade 3 --necrosis",
        ),
        Calculator(
            "imdc",
            "IMDC (Heng) risk",
            ImdcRequest,
            _imdc,
            _score_headline("IMDC"),
            imdc_mod.SPEC,
            "IMDC (Heng) risk model, 0-6 factors: favourable 0, intermediate 1-2, poor 3-6.\n\n"
            "Lab factors are judged against the reporting lab's own limits; none may be "
            "omitted.\n\n"
            "Example: --kps 80 --days 60 --hb-low --calcium-normal --neutrophils-normal "
            "--platelets-normal",
            field_aliases={"unit": "calcium_unit", "uln": "calcium_uln"},
            cli_flags={
                **_RISK_FLAGS,
                "calcium_corrected_above_uln": ("--calcium-high/--calcium-normal",),
                "neutrophils_above_uln": ("--neutrophils-high/--neutrophils-normal",),
                "platelets_above_uln": ("--platelets-high/--platelets-normal",),
            },
        ),
        Calculator(
            "mskcc",
            "MSKCC 2002 risk",
            MskccRequest,
            _mskcc,
            _score_headline("MSKCC"),
            mskcc_mod.SPEC,
            "MSKCC (Motzer) 2002 risk model, 0-5 factors: favourable 0, intermediate 1-2, "
            "poor >= 3.\n\n"
            "Example: --kps 80 --ldh-normal --hb-low --calcium 9.8 --albumin 3.0 --days 1825",
            field_aliases={"unit": "calcium_unit"},
            cli_flags={
                **_RISK_FLAGS,
                "ldh_above_1_5_uln": ("--ldh-high/--ldh-normal",),
                "calcium_corrected_above_10_mg_dl": ("--calcium-high/--calcium-normal",),
            },
        ),
        Calculator(
            "calcium",
            "Corrected calcium",
            CalciumRequest,
            _calcium,
            lambda p: f"Corrected calcium {p['corrected']:.2f} {p['unit']}",
            calcium_mod.SPEC,
            "Albumin-corrected calcium (mg/dL or mmol/L), with the MSKCC and IMDC readings.\n\n"
            "mg/dL: Ca + 0.8 x (4.0 - albumin g/dL). mmol/L: Ca + 0.02 x (40 - albumin g/L).\n\n"
            "Example: --calcium 9.8 --albumin 3.0",
        ),
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
        Calculator(
            "mirels",
            "Mirels score",
            MirelsRequest,
            lambda v: mirels_mod.mirels(
                v["site"], v["pain"], v["lesion"], v["cortical_fraction"]
            ).to_dict(),
            _score_headline("Mirels"),
            mirels_mod.SPEC,
            "Mirels score (impending pathological fracture), range 4-12.\n\n"
            ">= 9 prophylactic fixation; 8 clinical judgement; <= 7 radiotherapy/observation.",
        ),
    )
}
