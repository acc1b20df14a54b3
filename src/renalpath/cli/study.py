"""`renalpath study salvage|survival` and `renalpath audit concordance`.

Thin wiring: load only the rows a study reads (`outcomes.source`, SQL does the filtering),
run the outcomes function, print JSON or a readable summary, render HTML/PDF reports.
Exit codes (design §5): 0 ok (an empty cohort is a result: nulls and notes, not an error),
1 refusal (database without schema, unreadable registry values, PDF engine missing),
2 usage error (bad date, unknown equation, endpoint or field).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from renalpath.cli import app
from renalpath.cli.registry import DbOpt, JsonFlag, audit_app
from renalpath.clinical.common import ClinicalInputError
from renalpath.clinical.egfr import EQUATIONS, MDRD
from renalpath.outcomes.concordance import CATEGORIES, concordance_audit, parse_assumption
from renalpath.outcomes.endpoints import ENDPOINTS
from renalpath.outcomes.frames import FramesError
from renalpath.outcomes.salvage import SalvageStudy, salvage_study
from renalpath.outcomes.source import load_frames, salvage_frames, survival_frames
from renalpath.outcomes.survival_study import BY_FIELDS, SurvivalStudy, survival_study
from renalpath.outcomes.table1 import table_one
from renalpath.registry.db import SchemaError

study_app = typer.Typer(help="Outcome studies on the registry.", no_args_is_help=True)
app.add_typer(study_app, name="study")

T = TypeVar("T")


def _date(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError as err:
        raise typer.BadParameter(f"{value!r} is not a date (allowed: YYYY-MM-DD)") from err


FromOpt = Annotated[
    str | None,
    typer.Option("--from", callback=_date, help="First operation date included (YYYY-MM-DD)."),
]
ToOpt = Annotated[
    str | None,
    typer.Option("--to", callback=_date, help="Last operation date included (YYYY-MM-DD)."),
]
HtmlOpt = Annotated[Path | None, typer.Option("--html", help="Write the HTML report here.")]
PdfOpt = Annotated[Path | None, typer.Option("--pdf", help="Write the PDF report here.")]


def _refuse(message: str) -> typer.Exit:
    typer.echo(f"refused: {message}", err=True)
    return typer.Exit(1)


def _guard(fn: Callable[[], T]) -> T:
    """Expected failures become a one-line refusal on stderr (exit 1), never a traceback."""
    try:
        return fn()
    except SchemaError as err:
        raise _refuse(str(err)) from err
    except (ClinicalInputError, FramesError) as err:
        raise _refuse(f"registry data cannot be analysed: {err}") from err
    except ValueError as err:
        raise _refuse(str(err)) from err


def _check_window(window_from: str | None, window_to: str | None) -> None:
    if window_from and window_to and window_from > window_to:
        raise typer.BadParameter(f"--from {window_from} is after --to {window_to}")


def _print_json(doc: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(doc, allow_nan=False) + "\n")


def _fmt(value: Any, digits: int = 1, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}{unit}"
    return f"{value}{unit}"


def _write_reports(html: Path | None, pdf: Path | None, render: Callable[[str], Any]) -> None:
    from renalpath.reports import PdfUnavailableError, ReportInputError

    try:
        if html is not None:
            render("html")
            typer.echo(f"wrote {html}", err=True)
        if pdf is not None:
            render("pdf")
            typer.echo(f"wrote {pdf}", err=True)
    except (PdfUnavailableError, ReportInputError, OSError) as err:
        raise _refuse(str(err)) from err


# --------------------------------------------------------------------------- salvage


def _salvage_table1(study: SalvageStudy) -> Any:
    """tableone Table 1b of the salvage cohort (None when there is nobody to describe)."""
    data = study.cohort
    if data.empty:
        return None
    data = data.assign(
        failed_primary=data["primary_type"],
        salvage_procedure=data["type"],
        ct_stage=data["ct"],
        pt_stage=data["pt"],
        clavien_max=data["clavien_max"],
    )
    cols = ["age_years", "sex", "failed_primary", "salvage_procedure", "approach", "ct_stage",
            "pt_stage", "histology", "clavien_max"]  # fmt: skip
    labels = {"age_years": "Age, years", "ct_stage": "cT", "pt_stage": "pT"}
    try:
        return table_one(data, cols, categorical=cols[1:], labels=labels).to_json_dict()
    except (ValueError, KeyError):  # tableone refuses some degenerate tables; built-in remains
        return None


def _salvage_text(doc: dict[str, Any]) -> None:
    w = doc.get("window") or {}
    typer.echo("Salvage renal surgery after failed primary treatment")
    typer.echo(f"window: {w.get('from') or 'start'} to {w.get('to') or 'end'}")
    typer.echo(
        f"patients with a partial or radical nephrectomy: {doc['n_surgical_patients']}; "
        f"salvage: {doc['n_salvage']} ({_fmt(doc['salvage_rate_pct'], 1, ' %')})"
    )
    if doc["n_salvage"]:
        typer.echo(
            f"age {_fmt(doc['age_mean'])} ± {_fmt(doc['age_sd'])} years "
            f"(range {_fmt(doc['age_min'])}–{_fmt(doc['age_max'])}); "
            f"male {doc['male_n']} ({_fmt(doc['male_pct'], 0, ' %')})"
        )
        typer.echo(f"failed primary: {doc['primary_modality']}")
        typer.echo(f"salvage procedure: {doc['salvage_procedure']}; approach: {doc['approach']}")
        rf = doc["renal_function"]
        typer.echo(
            f"kidney function ({rf['equation']}, n={rf['n']}): eGFR "
            f"{_fmt(rf['egfr_pre_mean'])} → {_fmt(rf['egfr_post_mean'])} mL/min/1.73 m² "
            f"(paired t p={_fmt(rf['paired_t_p'], 3)}, Wilcoxon p={_fmt(rf['wilcoxon_p'], 3)})"
        )
        rfs = doc["rfs"] or {}
        est = ", ".join(
            f"{e['months']} mo {_fmt(None if e['survival'] is None else 100 * e['survival'])} %"
            for e in rfs.get("estimates", [])
        )
        typer.echo(f"recurrence-free survival: {est}")
        typer.echo(
            f"recurrences after salvage: {doc['recurrence_after_salvage_n']}; "
            f"deaths: {doc['deaths_n']}"
        )
        typer.echo("")
        typer.echo(doc.get("results") or "")
    for note in doc.get("notes", []):
        typer.echo(f"note: {note}")


@study_app.command("salvage")
def salvage_cmd(
    window_from: FromOpt = None,
    window_to: ToOpt = None,
    equation: Annotated[
        str, typer.Option(help=f"eGFR equation: {' | '.join(EQUATIONS)} (the study used mdrd).")
    ] = MDRD,
    as_json: JsonFlag = False,
    html: HtmlOpt = None,
    pdf: PdfOpt = None,
    db: DbOpt = None,
) -> None:
    """The salvage-surgery study (issue 5): cohort, kidney function, RFS, methods text."""
    if equation not in EQUATIONS:
        raise typer.BadParameter(
            f"{equation!r} is not allowed (allowed: {', '.join(EQUATIONS)})",
            param_hint="--equation",
        )
    _check_window(window_from, window_to)
    study = _guard(
        lambda: salvage_study(
            salvage_frames(db, window_from, window_to), window_from, window_to, equation
        )
    )
    doc = study.to_json_dict()
    if as_json:
        _print_json(doc)
    else:
        _salvage_text(doc)

    def render(kind: str) -> None:
        from renalpath.reports import render_salvage_html, render_salvage_pdf, salvage_report_input

        inp = salvage_report_input(study, table1=_salvage_table1(study))
        if kind == "html" and html is not None:
            html.write_text(render_salvage_html(inp), encoding="utf-8")
        elif pdf is not None:
            render_salvage_pdf(inp, pdf)

    _write_reports(html, pdf, render)


# -------------------------------------------------------------------------- survival


def _survival_text(doc: dict[str, Any]) -> None:
    w = doc.get("window") or {}
    typer.echo(f"{doc['endpoint']} survival from the first partial or radical nephrectomy")
    typer.echo(f"event: {doc['event_definition']}")
    typer.echo(f"window: {w.get('from') or 'start'} to {w.get('to') or 'end'}; n={doc['n']}, "
               f"events={doc['events']}")  # fmt: skip
    for g in doc["groups"]:
        med = g.get("median")
        med_m = None if med is None else med / 30.4375
        typer.echo(f"  {g['group']}: n={g['n']}, events={g['events']}, "
                   f"median {_fmt(med_m)} months")  # fmt: skip
    if doc.get("by"):
        typer.echo(f"log-rank p = {_fmt(doc['logrank_p'], 4)}")
    for note in doc.get("notes", []):
        typer.echo(f"note: {note}")


@study_app.command("survival")
def survival_cmd(
    endpoint: Annotated[str, typer.Option(help=f"Endpoint: {' | '.join(ENDPOINTS)}.")] = "overall",
    by: Annotated[
        str | None, typer.Option(help=f"Compare groups by: {', '.join(sorted(BY_FIELDS))}.")
    ] = None,
    window_from: FromOpt = None,
    window_to: ToOpt = None,
    as_json: JsonFlag = False,
    html: HtmlOpt = None,
    pdf: PdfOpt = None,
    db: DbOpt = None,
) -> None:
    """Kaplan-Meier survival by group with log-rank test (and competing risks for RFS)."""
    if endpoint not in ENDPOINTS:
        raise typer.BadParameter(
            f"{endpoint!r} is not allowed (allowed: {', '.join(ENDPOINTS)})",
            param_hint="--endpoint",
        )
    if by is not None and by not in BY_FIELDS:
        raise typer.BadParameter(
            f"{by!r} is not allowed (allowed: {', '.join(sorted(BY_FIELDS))})", param_hint="--by"
        )
    _check_window(window_from, window_to)
    study: SurvivalStudy = _guard(
        lambda: survival_study(
            survival_frames(db, window_from, window_to), endpoint, by, window_from, window_to
        )
    )
    doc = study.to_json_dict()
    if as_json:
        _print_json(doc)
    else:
        _survival_text(doc)

    def render(kind: str) -> None:
        from renalpath.reports import (
            render_survival_html,
            render_survival_pdf,
            survival_report_input,
        )

        inp = survival_report_input(study)
        if kind == "html" and html is not None:
            html.write_text(render_survival_html(inp), encoding="utf-8")
        elif pdf is not None:
            render_survival_pdf(inp, pdf)

    _write_reports(html, pdf, render)


# ----------------------------------------------------------------------- concordance


def _assumption(text: str) -> tuple[str, Any]:
    try:
        return parse_assumption(text)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from err


@audit_app.command("concordance")
def concordance_cmd(
    db: DbOpt = None,
    as_json: JsonFlag = False,
    window_from: FromOpt = None,
    window_to: ToOpt = None,
    assume: Annotated[
        list[str] | None,
        typer.Option(
            help="State a case field the registry does not hold, for every case "
            "(FIELD=VALUE, repeatable), e.g. patient.fit_for_surgery=true; reported in output.",
        ),
    ] = None,
) -> None:
    """Was each tumour's first treatment what the pathway recommends at decision time?"""
    _check_window(window_from, window_to)
    assumed = dict(_assumption(a) for a in assume or [])

    def run() -> dict[str, Any]:
        frames = load_frames(db, window_from, window_to)
        audit = concordance_audit(
            frames, window_from=window_from, window_to=window_to, assume=assumed
        )
        return audit.to_json_dict()

    doc = _guard(run)
    if as_json:
        _print_json(doc)
        return
    overall = doc["overall"]
    typer.echo(f"first treatments audited: {doc['n_treatments']}")
    for c in CATEGORIES:
        typer.echo(f"  {c}: {overall['counts'][c]} ({_fmt(overall['pct'][c], 1, ' %')})")
    typer.echo(
        "concordant (recommended or alternative) among evaluable: "
        f"{_fmt(overall['concordant_pct_of_evaluable'], 1, ' %')} of {overall['evaluable_n']}"
    )
    pn = doc["pn_rate_ct1a"]
    typer.echo(
        f"partial-nephrectomy rate in cT1a: {_fmt(pn['rate_pct'], 1, ' %')} "
        f"(PN {pn['pn_n']} / PN+RN {pn['pn_n'] + pn['rn_n']})"
    )
    typer.echo("by cT:")
    for ct, r in doc["by_ct"].items():
        typer.echo(f"  {ct}: n={r['n']}, recommended {r['counts']['recommended']}, "
                   f"not evaluable {r['counts']['not_evaluable']}")  # fmt: skip
    top = list(doc["missing_inputs"].items())[:5]
    if top:
        typer.echo("most frequent missing inputs: " + ", ".join(f"{k} ({v})" for k, v in top))
    for note in doc["notes"]:
        typer.echo(f"note: {note}")
