"""`renalpath calc leibovich|ssign|imdc|mskcc|clavien|mirels|calcium`.

Every input option defaults to "not given" and the calculator itself refuses what is missing,
so a forgotten `--necrosis` or `--hb-low` is reported by name (exit 1) instead of being read
as "absent" by a flag default.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import typer

from renalpath.cli.calc import ExplainOpt, JsonOpt, calc_app, run_calculator
from renalpath.clinical import calcium as calcium_mod
from renalpath.clinical import clavien_dindo as cd
from renalpath.clinical import imdc as imdc_mod
from renalpath.clinical import leibovich as leibovich_mod
from renalpath.clinical import mirels as mirels_mod
from renalpath.clinical import mskcc as mskcc_mod
from renalpath.clinical import ssign as ssign_mod
from renalpath.clinical.common import ClinicalInputError, Problem

T = TypeVar("T")

# --- options shared by several commands -------------------------------------------------------
PtOpt = Annotated[
    str | None,
    typer.Option("--pt", help="Pathological T, TNM 8: pT1a|pT1b|pT2|pT2a|pT2b|pT3a|pT3b|pT3c|pT4."),
]
PnOpt = Annotated[str | None, typer.Option("--pn", help="Pathological N: pNX|pN0|pN1.")]
SizeOpt = Annotated[
    float | None,
    typer.Option("--size-mm", help="Pathological tumour size in mm (1-400; 10 cm = 100 mm)."),
]
GradeOpt = Annotated[
    int | None, typer.Option("--grade", help="Nuclear grade 1-4 (WHO/ISUP or Fuhrman).")
]
GradeSystemOpt = Annotated[
    str,
    typer.Option(
        "--grade-system",
        help="who_isup (default; scored with Fuhrman points, flagged) | fuhrman.",
    ),
]
NecrosisOpt = Annotated[
    bool | None,
    typer.Option("--necrosis/--no-necrosis", help="Histological tumour necrosis (required)."),
]
HistologyOpt = Annotated[
    str,
    typer.Option(
        "--histology",
        help="clear_cell (default) | papillary | chromophobe | oncocytoma | angiomyolipoma | "
        "other; not clear cell -> not_applicable.",
    ),
]
KpsOpt = Annotated[
    int | None, typer.Option("--kps", help="Karnofsky performance status, % (0-100, steps of 10).")
]
EcogOpt = Annotated[
    int | None,
    typer.Option(
        "--ecog",
        help="ECOG 0-4, used only without --kps: 0 -> KPS >= 80, >= 2 -> KPS < 80, "
        "1 -> indeterminate (both results shown).",
    ),
]
DaysOpt = Annotated[
    int | None,
    typer.Option(
        "--days",
        "--dx-to-systemic-days",
        help="Days from diagnosis to start of systemic therapy (>= 0; < 365 scores 1).",
    ),
]
HbOpt = Annotated[
    bool | None,
    typer.Option("--hb-low/--hb-normal", help="Haemoglobin below the lab's LLN (required)."),
]
CalciumValueOpt = Annotated[
    float | None,
    typer.Option(
        "--calcium",
        help="Total calcium, to compute corrected calcium (4-20 mg/dL or 0.998-4.99 mmol/L).",
    ),
]
AlbuminOpt = Annotated[
    float | None,
    typer.Option("--albumin", help="Albumin (1.0-6.0 g/dL or 10-60 g/L), with --calcium."),
]
CalciumUnitOpt = Annotated[
    str, typer.Option("--calcium-unit", help="Calcium unit: mg/dL (default) | mmol/L.")
]
AlbuminUnitOpt = Annotated[
    str | None,
    typer.Option("--albumin-unit", help="g/dL | g/L (default: g/dL with mg/dL, g/L with mmol/L)."),
]


def _required(field_name: str, value: T | None, allowed: str) -> T:
    """Refuse a missing CLI input by the calculator's field name (exit 1)."""
    if value is None:
        raise ClinicalInputError(Problem(field_name, None, allowed, "value is required"))
    return value


def _render_score(title: str, payload: dict[str, Any]) -> str:
    if payload["score"] is None:
        lines = [f"{title}: {payload['group']} — {payload['band']}"]
    else:
        lines = [f"{title}: {payload['score']} ({payload['group']}) — {payload['band']}"]
    if payload.get("score_alt") is not None:
        lines.append(f"  if KPS < 80: {payload['score_alt']} ({payload['group_alt']})")
    if payload.get("components"):
        pts = ", ".join(f"{k} {v}" for k, v in payload["components"].items())
        lines.append(f"  points: {pts}")
    if payload.get("flags"):
        lines.append("  flags: " + ", ".join(payload["flags"]))
    lines += [f"  note: {n}" for n in payload.get("notes", ())]
    if "calcium" in payload:
        ca = payload["calcium"]
        lines.append(f"  corrected calcium: {ca['corrected']:.2f} {ca['unit']}")
    for src in payload["sources"]:
        tag = f" [{src['verification']}]" if src["verification"] else ""
        lines.append(f"  source: {src['title']}{tag}")
    return "\n".join(lines)


def _calcium_reading(
    flag: bool | None,
    flag_field: str,
    calcium: float | None,
    albumin: float | None,
    unit: str,
    albumin_unit: str | None,
    uln: float | None = None,
    use_uln: bool = False,
) -> tuple[bool | None, dict[str, Any] | None]:
    """The calcium factor from a flag or from calcium + albumin; refuse if both disagree."""
    if calcium is None and albumin is None:
        return flag, None
    if calcium is None or albumin is None:
        missing = "calcium" if calcium is None else "albumin"
        raise ClinicalInputError(
            Problem(missing, None, "a number", "--calcium and --albumin go together")
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
    res = calcium_mod.corrected_calcium_result(calcium, albumin, unit, albumin_unit, uln)
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


@calc_app.command("leibovich")
def leibovich_cmd(
    pt: PtOpt = None,
    pn: PnOpt = None,
    size_mm: SizeOpt = None,
    grade: GradeOpt = None,
    necrosis: NecrosisOpt = None,
    histology: HistologyOpt = "clear_cell",
    grade_system: GradeSystemOpt = "who_isup",
    as_json: bool = JsonOpt,
    explain: bool = ExplainOpt,
) -> None:
    """Leibovich 2003 progression score (clear-cell RCC after nephrectomy), range 0-11.

    Groups: low 0-2, intermediate 3-5, high >= 6. Point weights are [R]: flag needs_verification.

    Example: --pt pT1b --pn pNX --size-mm 60 --grade 3 --necrosis
    """

    def compute() -> dict[str, Any]:
        return leibovich_mod.leibovich(
            pt, pn, size_mm, grade, necrosis, histology, grade_system=grade_system
        ).to_dict()

    run_calculator(
        leibovich_mod.SPEC, explain, as_json, compute, lambda p: _render_score("Leibovich 2003", p)
    )


@calc_app.command("ssign")
def ssign_cmd(
    pt: PtOpt = None,
    pn: PnOpt = None,
    m: Annotated[str | None, typer.Option("--m", help="M category: M0|M1.")] = None,
    size_mm: SizeOpt = None,
    grade: GradeOpt = None,
    necrosis: NecrosisOpt = None,
    histology: HistologyOpt = "clear_cell",
    grade_system: GradeSystemOpt = "who_isup",
    as_json: bool = JsonOpt,
    explain: bool = ExplainOpt,
) -> None:
    """SSIGN score (clear-cell RCC after radical nephrectomy), range 0-17.

    Groups 0-2, 3-4, 5-6, 7-9, 10-17. TNM 8 pT4 scores 4 with flag tnm_version_mismatch.
    Example: --pt pT2a --pn pN0 --m M0 --size-mm 80 --grade 3 --necrosis
    """

    def compute() -> dict[str, Any]:
        return ssign_mod.ssign(
            pt, pn, m, size_mm, grade, necrosis, histology, grade_system=grade_system
        ).to_dict()

    run_calculator(ssign_mod.SPEC, explain, as_json, compute, lambda p: _render_score("SSIGN", p))


@calc_app.command("imdc")
def imdc_cmd(
    kps: KpsOpt = None,
    ecog: EcogOpt = None,
    days: DaysOpt = None,
    hb: HbOpt = None,
    calcium_high: Annotated[
        bool | None,
        typer.Option(
            "--calcium-high/--calcium-normal",
            help="Corrected calcium above the lab's ULN (or give --calcium, --albumin, "
            "--calcium-uln).",
        ),
    ] = None,
    neutrophils_high: Annotated[
        bool | None,
        typer.Option("--neutrophils-high/--neutrophils-normal", help="Neutrophils > lab ULN."),
    ] = None,
    platelets_high: Annotated[
        bool | None,
        typer.Option("--platelets-high/--platelets-normal", help="Platelets > lab ULN."),
    ] = None,
    systemic_planned: Annotated[
        bool,
        typer.Option(
            "--systemic-planned/--no-systemic-planned",
            help="No systemic therapy planned -> time factor scored present, flag "
            "imdc_provisional.",
        ),
    ] = True,
    calcium: CalciumValueOpt = None,
    albumin: AlbuminOpt = None,
    calcium_uln: Annotated[
        float | None,
        typer.Option("--calcium-uln", help="Lab's calcium ULN, in --calcium-unit."),
    ] = None,
    calcium_unit: CalciumUnitOpt = "mg/dL",
    albumin_unit: AlbuminUnitOpt = None,
    as_json: bool = JsonOpt,
    explain: bool = ExplainOpt,
) -> None:
    """IMDC (Heng) risk model, 0-6 factors: favourable 0, intermediate 1-2, poor 3-6.

    Lab factors are judged against the reporting lab's own limits; none may be omitted.

    Example: --kps 80 --days 60 --hb-low --calcium-normal --neutrophils-normal --platelets-normal
    """

    def compute() -> dict[str, Any]:
        ca_flag, ca_detail = _calcium_reading(
            calcium_high,
            "calcium_corrected_above_uln",
            calcium,
            albumin,
            calcium_unit,
            albumin_unit,
            calcium_uln,
            use_uln=True,
        )
        payload = imdc_mod.imdc(
            kps=kps,
            ecog=ecog,
            dx_to_systemic_days=days,
            hb_below_lln=hb,
            calcium_corrected_above_uln=ca_flag,
            neutrophils_above_uln=neutrophils_high,
            platelets_above_uln=platelets_high,
            systemic_planned=systemic_planned,
        ).to_dict()
        if ca_detail is not None:
            payload["calcium"] = ca_detail
        return payload

    run_calculator(imdc_mod.SPEC, explain, as_json, compute, lambda p: _render_score("IMDC", p))


@calc_app.command("mskcc")
def mskcc_cmd(
    kps: KpsOpt = None,
    ecog: EcogOpt = None,
    days: DaysOpt = None,
    ldh_high: Annotated[
        bool | None,
        typer.Option("--ldh-high/--ldh-normal", help="LDH > 1.5 x the lab's ULN (required)."),
    ] = None,
    hb: HbOpt = None,
    calcium_high: Annotated[
        bool | None,
        typer.Option(
            "--calcium-high/--calcium-normal",
            help="Corrected calcium > 10 mg/dL (~2.5 mmol/L); or give --calcium and --albumin.",
        ),
    ] = None,
    calcium: CalciumValueOpt = None,
    albumin: AlbuminOpt = None,
    calcium_unit: CalciumUnitOpt = "mg/dL",
    albumin_unit: AlbuminUnitOpt = None,
    as_json: bool = JsonOpt,
    explain: bool = ExplainOpt,
) -> None:
    """MSKCC (Motzer) 2002 risk model, 0-5 factors: favourable 0, intermediate 1-2, poor >= 3.

    Example: --kps 80 --ldh-normal --hb-low --calcium 9.8 --albumin 3.0 --days 1825
    """

    def compute() -> dict[str, Any]:
        ca_flag, ca_detail = _calcium_reading(
            calcium_high,
            "calcium_corrected_above_10_mg_dl",
            calcium,
            albumin,
            calcium_unit,
            albumin_unit,
        )
        payload = mskcc_mod.mskcc(
            kps=kps,
            ecog=ecog,
            ldh_above_1_5_uln=ldh_high,
            hb_below_lln=hb,
            calcium_corrected_above_10_mg_dl=ca_flag,
            dx_to_systemic_days=days,
        ).to_dict()
        if ca_detail is not None:
            payload["calcium"] = ca_detail
        return payload

    run_calculator(
        mskcc_mod.SPEC, explain, as_json, compute, lambda p: _render_score("MSKCC 2002", p)
    )


@calc_app.command("calcium")
def calcium_cmd(
    calcium: CalciumValueOpt = None,
    albumin: AlbuminOpt = None,
    unit: Annotated[
        str, typer.Option("--unit", help="Calcium unit: mg/dL (default) | mmol/L.")
    ] = "mg/dL",
    albumin_unit: AlbuminUnitOpt = None,
    uln: Annotated[
        float | None, typer.Option("--uln", help="Lab's calcium ULN in --unit (for IMDC).")
    ] = None,
    as_json: bool = JsonOpt,
    explain: bool = ExplainOpt,
) -> None:
    """Albumin-corrected calcium (mg/dL or mmol/L), with the MSKCC and IMDC readings.

    mg/dL: Ca + 0.8 x (4.0 - albumin g/dL). mmol/L: Ca + 0.02 x (40 - albumin g/L).

    Example: --calcium 9.8 --albumin 3.0
    """

    def compute() -> dict[str, Any]:
        return calcium_mod.corrected_calcium_result(
            _required("calcium", calcium, "4-20 mg/dL or 0.998-4.99 mmol/L"),
            _required("albumin", albumin, "1.0-6.0 g/dL or 10-60 g/L"),
            unit,
            albumin_unit,
            uln,
        ).to_dict()

    def render(p: dict[str, Any]) -> str:
        lines = [
            f"Corrected calcium: {p['corrected']:.2f} {p['unit']} "
            f"({p['corrected_mg_dl']:.2f} mg/dL = {p['corrected_mmol_l']:.3f} mmol/L)",
            f"  MSKCC (> 10 mg/dL): {'yes' if p['above_10_mg_dl'] else 'no'}",
        ]
        if p["above_uln"] is not None:
            lines.append(f"  IMDC (> ULN {p['uln']:g}): {'yes' if p['above_uln'] else 'no'}")
        lines.append("  flags: " + ", ".join(p["flags"]))
        return "\n".join(lines)

    run_calculator(calcium_mod.SPEC, explain, as_json, compute, render)


@calc_app.command("clavien")
def clavien_cmd(
    required: Annotated[
        str | None,
        typer.Option(
            "--required",
            help="What the complication required: "
            + "; ".join(f"{k} ({g})" for k, (g, _) in cd.REQUIRED.items())
            + ".",
        ),
    ] = None,
    disability: Annotated[
        bool,
        typer.Option("--disability", help="Complication persists at discharge (suffix -d)."),
    ] = False,
    grade: Annotated[
        str | None,
        typer.Option(
            "--grade",
            help="A recorded grade to check/normalise: I|II|IIIa|IIIb|IVa|IVb|V, optional -d.",
        ),
    ] = None,
    as_json: bool = JsonOpt,
    explain: bool = ExplainOpt,
) -> None:
    """Clavien-Dindo grade (Dindo 2004) from what the complication required.

    Major = IIIa or worse.

    With --grade alone: checks and normalises a recorded grade.

    With --required and --grade: refuses a recorded grade that disagrees with --required.
    """

    def compute() -> dict[str, Any]:
        if required is None and grade is None:
            raise ClinicalInputError(
                Problem(
                    "required",
                    None,
                    "one of " + ", ".join(cd.REQUIRED),
                    "give --required (or --grade to check a recorded grade)",
                )
            )
        if required is None:
            assert grade is not None
            result = cd.normalise(grade)
            if disability and not result.disability:
                raise ClinicalInputError(
                    Problem(
                        "grade",
                        grade,
                        f"{result.label}-d with --disability",
                        "add -d to the grade or drop --disability",
                    )
                )
            return result.to_dict()
        result = cd.classify(required, disability)
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

    def render(p: dict[str, Any]) -> str:
        lines = [f"Clavien-Dindo: {p['label']} — {p['band']}"]
        if p["required"]:
            lines.append(f"  required: {p['required']} ({cd.REQUIRED[p['required']][1]})")
        src = p["sources"][0]
        lines.append(f"  source: {src['title']} [{src['verification']}]")
        return "\n".join(lines)

    run_calculator(cd.SPEC, explain, as_json, compute, render)


@calc_app.command("mirels")
def mirels_cmd(
    site: Annotated[
        str | None,
        typer.Option("--site", help="upper_limb (1) | lower_limb (2) | peritrochanteric (3)."),
    ] = None,
    pain: Annotated[
        str | None, typer.Option("--pain", help="mild (1) | moderate (2) | functional (3).")
    ] = None,
    lesion: Annotated[
        str | None, typer.Option("--lesion", help="blastic (1) | mixed (2) | lytic (3).")
    ] = None,
    cortical_fraction: Annotated[
        str | None,
        typer.Option(
            "--cortical-fraction",
            help="Fraction of cortical thickness involved: lt_1_3 (1) | 1_3_to_2_3 (2) | "
            "gt_2_3 (3).",
        ),
    ] = None,
    as_json: bool = JsonOpt,
    explain: bool = ExplainOpt,
) -> None:
    """Mirels score (impending pathological fracture), range 4-12.

    >= 9 prophylactic fixation; 8 clinical judgement; <= 7 radiotherapy/observation.
    """

    def compute() -> dict[str, Any]:
        return mirels_mod.mirels(site, pain, lesion, cortical_fraction).to_dict()

    run_calculator(mirels_mod.SPEC, explain, as_json, compute, lambda p: _render_score("Mirels", p))
