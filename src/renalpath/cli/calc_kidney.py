"""`renalpath calc egfr|renal|padua|tnm|growth`: kidney function, nephrometry, staging, AS growth.

Every option is optional at the Typer level so `--explain` works without inputs; missing or bad
values are refused by the calculators themselves (exit 1, every bad field named on stderr), which
keeps one set of validation rules for the CLI, the registry and the pathway engine.
"""

from __future__ import annotations

from typing import Annotated, Any, cast

import typer

from renalpath.cli.calc import ExplainOpt, JsonOpt, calc_app, refuse, run_calculator
from renalpath.clinical import egfr as egfr_mod
from renalpath.clinical import growth as growth_mod
from renalpath.clinical import nephrometry, staging

# Typer hands over None for an option that was not given; the calculators refuse None with a
# message naming the field, so it is passed through unchanged (the casts only satisfy mypy).


_EQUATION_LABELS = {
    egfr_mod.CKD_EPI_2021: "CKD-EPI 2021",
    egfr_mod.CKD_EPI_2009: "CKD-EPI 2009",
    egfr_mod.MDRD: "MDRD IDMS-175",
}


def _fmt_flags(payload: dict[str, Any]) -> list[str]:
    flags = payload.get("flags") or ()
    return [f"flags: {', '.join(flags)}"] if flags else []


@calc_app.command("egfr")
def egfr_cmd(
    creatinine: Annotated[
        float | None,
        typer.Option(
            help="Serum creatinine, IDMS-traceable: 0.1–25 mg/dL or 8.84–2210 µmol/L.",
            show_default=False,
        ),
    ] = None,
    unit: Annotated[
        str | None,
        typer.Option(help="Creatinine unit: mg/dL or µmol/L (umol/L).", show_default=False),
    ] = None,
    age: Annotated[
        float | None,
        typer.Option(help="Age in years, 18–120 (adult-only equations).", show_default=False),
    ] = None,
    sex: Annotated[
        str | None, typer.Option(help="Sex used by the equation: male | female.")
    ] = None,
    equation: Annotated[
        str,
        typer.Option(help="ckd-epi-2021 (default, race-free) | ckd-epi-2009 | mdrd (IDMS 175)."),
    ] = egfr_mod.DEFAULT_EQUATION,
    black: Annotated[
        bool,
        typer.Option(
            "--black", help="Legacy race coefficient (mdrd ×1.212, ckd-epi-2009 ×1.159) only."
        ),
    ] = False,
    as_json: bool = JsonOpt,
    explain: bool = ExplainOpt,
) -> None:
    """eGFR in mL/min/1.73 m² with KDIGO G category (creatinine mg/dL or µmol/L, age 18–120)."""
    spec = egfr_mod.SPECS.get(equation)
    if spec is None:
        allowed = ", ".join(egfr_mod.EQUATIONS)
        refuse(f"equation: {equation!r} is not allowed (allowed: one of {allowed})")
        return

    def compute() -> dict[str, Any]:
        result = egfr_mod.egfr(
            cast(float, creatinine),
            cast(str, unit),
            cast(float, age),
            cast(str, sex),
            equation,
            black,
        )
        return result.to_dict()

    def render(p: dict[str, Any]) -> str:
        lines = [
            f"eGFR ({_EQUATION_LABELS[p['equation']]}): {p['egfr']:.2f} mL/min/1.73 m² "
            f"(reported {p['egfr_rounded']})",
            f"KDIGO {p['band']}",
            f"creatinine {p['creatinine_mg_dl']:.4g} mg/dL = {p['creatinine_umol_l']:.4g} µmol/L; "
            f"age {p['age']:g}; sex {p['sex']}" + ("; Black coefficient" if p["black"] else ""),
        ]
        return "\n".join(lines + _fmt_flags(p))

    run_calculator(spec, explain, as_json, compute, render)


@calc_app.command("renal")
def renal_cmd(
    size_mm: Annotated[
        float | None, typer.Option(help="Maximal tumour diameter in mm, 1–400.", show_default=False)
    ] = None,
    exophytic_pct: Annotated[
        float | None,
        typer.Option(help="Exophytic fraction in %, 0–100 (0 = entirely endophytic)."),
    ] = None,
    nearness_mm: Annotated[
        float | None,
        typer.Option(help="Deepest point to collecting system/sinus in mm, 0–200."),
    ] = None,
    ap: Annotated[
        str | None, typer.Option(help="Anterior/posterior descriptor: a | p | x (neither).")
    ] = None,
    polar: Annotated[
        str | None,
        typer.Option(help="Relation to polar lines: outside | crosses | central."),
    ] = None,
    hilar: Annotated[
        bool, typer.Option("--hilar", help="Tumour touches main renal artery or vein (suffix h).")
    ] = False,
    as_json: bool = JsonOpt,
    explain: bool = ExplainOpt,
) -> None:
    """R.E.N.A.L. nephrometry score (sizes in mm; total 4–12)."""

    def compute() -> dict[str, Any]:
        return nephrometry.renal_score(
            cast(float, size_mm),
            cast(float, exophytic_pct),
            cast(float, nearness_mm),
            cast(str, ap),
            cast(str, polar),
            hilar,
        ).to_dict()

    def render(p: dict[str, Any]) -> str:
        c = p["components"]
        return (
            f"R.E.N.A.L. {p['label']} — {p['complexity']} complexity (total {p['total']})\n"
            f"R {c['R']} + E {c['E']} + N {c['N']} + L {c['L']}; A {c['A']}; "
            f"hilar {'yes' if c['h'] else 'no'}"
        )

    run_calculator(nephrometry.RENAL_SPEC, explain, as_json, compute, render)


@calc_app.command("padua")
def padua_cmd(
    size_mm: Annotated[
        float | None, typer.Option(help="Tumour size in mm, 1–400.", show_default=False)
    ] = None,
    exophytic_pct: Annotated[
        float | None,
        typer.Option(help="Exophytic rate in %, 0–100 (0 = entirely endophytic)."),
    ] = None,
    polar: Annotated[
        str | None,
        typer.Option(help="Longitudinal location: superior | inferior | middle."),
    ] = None,
    rim: Annotated[str | None, typer.Option(help="Renal rim: lateral | medial.")] = None,
    sinus: Annotated[bool, typer.Option("--sinus", help="Renal sinus involved.")] = False,
    ucs: Annotated[
        bool, typer.Option("--ucs", help="Urinary collecting system dilated/infiltrated.")
    ] = False,
    face: Annotated[str | None, typer.Option(help="Face: a (anterior) | p (posterior).")] = None,
    as_json: bool = JsonOpt,
    explain: bool = ExplainOpt,
) -> None:
    """PADUA score (size in mm; total 6–14). Point values need clinician verification [R]."""

    def compute() -> dict[str, Any]:
        return nephrometry.padua_score(
            cast(float, size_mm),
            cast(float, exophytic_pct),
            cast(str, polar),
            cast(str, rim),
            sinus,
            ucs,
            cast(str, face),
        ).to_dict()

    def render(p: dict[str, Any]) -> str:
        c = p["components"]
        parts = " + ".join(
            f"{k} {c[k]}" for k in ("polar", "exophytic", "rim", "sinus", "ucs", "size")
        )
        return f"PADUA {p['label']} — {p['risk']} risk (total {p['total']})\n{parts}" + "".join(
            "\n" + line for line in _fmt_flags(p)
        )

    run_calculator(nephrometry.PADUA_SPEC, explain, as_json, compute, render)


@calc_app.command("tnm")
def tnm_cmd(
    size_mm: Annotated[
        float | None,
        typer.Option(
            help="Greatest tumour dimension in mm, 1–400 (T1a ≤ 40, T1b ≤ 70, T2a ≤ 100)."
        ),
    ] = None,
    t: Annotated[
        str | None,
        typer.Option(
            "--t", help="T category instead of/in addition to size: T1a…T4 (c/p prefix ok)."
        ),
    ] = None,
    n: Annotated[str | None, typer.Option("--n", help="N0 | N1 | NX (c/p prefix ok).")] = None,
    m: Annotated[str | None, typer.Option("--m", help="M0 | M1 (c/p prefix ok).")] = None,
    renal_vein: Annotated[
        bool, typer.Option("--renal-vein", help="Renal vein or segmental branches (T3a).")
    ] = False,
    pelvicalyceal: Annotated[
        bool, typer.Option("--pelvicalyceal", help="Invades pelvicalyceal system (T3a).")
    ] = False,
    perirenal_fat: Annotated[
        bool, typer.Option("--perirenal-fat", help="Perirenal fat invasion (T3a).")
    ] = False,
    sinus_fat: Annotated[
        bool, typer.Option("--sinus-fat", help="Renal sinus fat invasion (T3a).")
    ] = False,
    ivc_below_diaphragm: Annotated[
        bool, typer.Option("--ivc-below-diaphragm", help="Vena cava below diaphragm (T3b).")
    ] = False,
    ivc_above_diaphragm: Annotated[
        bool, typer.Option("--ivc-above-diaphragm", help="Vena cava above diaphragm (T3c).")
    ] = False,
    ivc_wall: Annotated[
        bool, typer.Option("--ivc-wall", help="Invades the wall of the vena cava (T3c).")
    ] = False,
    beyond_gerota: Annotated[
        bool, typer.Option("--beyond-gerota", help="Beyond Gerota fascia (T4).")
    ] = False,
    adrenal_contiguous: Annotated[
        bool,
        typer.Option("--adrenal-contiguous", help="Contiguous ipsilateral adrenal invasion (T4)."),
    ] = False,
    as_json: bool = JsonOpt,
    explain: bool = ExplainOpt,
) -> None:
    """AJCC/UICC 8 T category (size in mm 1–400 plus extension) and stage group I–IV."""

    def compute() -> dict[str, Any]:
        return staging.tnm(
            size_mm,
            n=cast(str, n),
            m=cast(str, m),
            t=t,
            renal_vein=renal_vein,
            pelvicalyceal=pelvicalyceal,
            perirenal_fat=perirenal_fat,
            sinus_fat=sinus_fat,
            ivc_below_diaphragm=ivc_below_diaphragm,
            ivc_above_diaphragm=ivc_above_diaphragm,
            ivc_wall=ivc_wall,
            beyond_gerota=beyond_gerota,
            adrenal_contiguous=adrenal_contiguous,
        ).to_dict()

    def render(p: dict[str, Any]) -> str:
        return f"{p['t']} {p['n']} {p['m']} — stage {p['stage_group']}"

    run_calculator(staging.SPEC, explain, as_json, compute, render)


@calc_app.command("growth")
def growth_cmd(
    size1_mm: Annotated[
        float | None, typer.Option(help="Diameter on the reference scan in mm, 1–400.")
    ] = None,
    size2_mm: Annotated[
        float | None, typer.Option(help="Diameter on the later scan in mm, 1–400.")
    ] = None,
    interval_days: Annotated[
        float | None, typer.Option(help="Days between the scans, ≥ 180.")
    ] = None,
    as_json: bool = JsonOpt,
    explain: bool = ExplainOpt,
) -> None:
    """Active-surveillance growth rate in mm/year (fast growth ≥ 5 mm/year)."""

    def compute() -> dict[str, Any]:
        return growth_mod.growth_rate(
            cast(float, size1_mm), cast(float, size2_mm), cast(float, interval_days)
        ).to_dict()

    def render(p: dict[str, Any]) -> str:
        return f"growth {p['mm_per_year']:.2f} mm/year — {p['band']}"

    run_calculator(growth_mod.SPEC, explain, as_json, compute, render)
