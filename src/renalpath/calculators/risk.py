"""Metastatic risk models and the calcium they use: IMDC, MSKCC 2002, corrected calcium."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from renalpath.calculators.base import Calculator, Request, Values, score_headline
from renalpath.clinical import calcium as calcium_mod
from renalpath.clinical import imdc as imdc_mod
from renalpath.clinical import mskcc as mskcc_mod
from renalpath.clinical.common import ClinicalInputError, Problem

_CALCIUM_RANGE = "4–20 mg/dL or 0.998–4.99 mmol/L"
_ALBUMIN_RANGE = "1.0–6.0 g/dL or 10–60 g/L"


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


_RISK_FLAGS: dict[str, tuple[str, ...]] = {
    "dx_to_systemic_days": ("--days", "--dx-to-systemic-days"),
    "hb_below_lln": ("--hb-low/--hb-normal",),
}

CALCULATORS: dict[str, Calculator] = {
    c.name: c
    for c in (
        Calculator(
            "imdc",
            "IMDC (Heng) risk",
            ImdcRequest,
            _imdc,
            score_headline("IMDC"),
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
            score_headline("MSKCC"),
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
    )
}
