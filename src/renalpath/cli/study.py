"""`renalpath study salvage|survival`: outcome studies on the registry, with HTML/PDF reports.

Thin wiring: load only the rows a study reads (`outcomes.source`, SQL does the filtering),
run the outcomes function, print JSON or a readable summary, render HTML/PDF reports.
Exit codes: 0 ok (an empty cohort is a result: nulls and notes, not an error), 1 refusal
(database without schema, unreadable registry values, PDF engine missing), 2 usage error (bad
date, unknown equation, endpoint or field).

The outcomes layer (pandas, SciPy, lifelines) is imported when a study runs; the option lists
below (equations, endpoints, grouping fields) come from modules that do not import it
(`clinical.egfr`, `outcomes.study_options`), so `--help` stays fast (tests/test_cli_lazy.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from renalpath.cli.options import (
    DbOpt,
    FromOpt,
    JsonFlag,
    ToOpt,
    analysable,
    check_window,
    print_json,
    sub_app,
)
from renalpath.cli.options import fmt as _fmt
from renalpath.clinical.durations import DAYS_PER_MONTH
from renalpath.clinical.egfr import EQUATIONS, MDRD
from renalpath.outcomes.study_options import BY_FIELDS, ENDPOINTS

if TYPE_CHECKING:
    from renalpath.outcomes.salvage import SalvageStudy

app = study_app = sub_app("Outcome studies on the registry.")

HtmlOpt = Annotated[Path | None, typer.Option("--html", help="Write the HTML report here.")]
PdfOpt = Annotated[Path | None, typer.Option("--pdf", help="Write the PDF report here.")]


def _write_reports(html: Path | None, pdf: Path | None, render: Callable[[str], Any]) -> None:
    """Write the requested reports; a missing PDF engine or an unwritable path is a refusal."""
    from renalpath.errors import Refusal

    try:
        if html is not None:
            render("html")
            typer.echo(f"wrote {html}", err=True)
        if pdf is not None:
            render("pdf")
            typer.echo(f"wrote {pdf}", err=True)
    except OSError as err:
        raise Refusal(str(err)) from err


# --------------------------------------------------------------------------- salvage


def _salvage_table1(study: SalvageStudy) -> Any:
    """tableone Table 1b of the salvage cohort (None when there is nobody to describe)."""
    from renalpath.outcomes.table1 import table_one

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
    cols = [
        "age_years",
        "sex",
        "failed_primary",
        "salvage_procedure",
        "approach",
        "ct_stage",
        "pt_stage",
        "histology",
        "clavien_max",
    ]
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
    """The salvage-surgery study: cohort, kidney function, RFS, methods text."""
    from renalpath.outcomes.salvage import salvage_study
    from renalpath.outcomes.source import salvage_frames

    if equation not in EQUATIONS:
        raise typer.BadParameter(
            f"{equation!r} is not allowed (allowed: {', '.join(EQUATIONS)})",
            param_hint="--equation",
        )
    check_window(window_from, window_to)
    study = analysable(
        lambda: salvage_study(
            salvage_frames(db, window_from, window_to), window_from, window_to, equation
        )
    )
    doc = study.to_json_dict()
    if as_json:
        print_json(doc)
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
    typer.echo(
        f"window: {w.get('from') or 'start'} to {w.get('to') or 'end'}; n={doc['n']}, "
        f"events={doc['events']}"
    )
    for g in doc["groups"]:
        med = g.get("median")
        med_m = None if med is None else med / DAYS_PER_MONTH
        typer.echo(f"  {g['group']}: n={g['n']}, events={g['events']}, median {_fmt(med_m)} months")
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
    from renalpath.outcomes.source import survival_frames
    from renalpath.outcomes.survival_by_group import survival_study

    if endpoint not in ENDPOINTS:
        raise typer.BadParameter(
            f"{endpoint!r} is not allowed (allowed: {', '.join(ENDPOINTS)})",
            param_hint="--endpoint",
        )
    if by is not None and by not in BY_FIELDS:
        raise typer.BadParameter(
            f"{by!r} is not allowed (allowed: {', '.join(sorted(BY_FIELDS))})", param_hint="--by"
        )
    check_window(window_from, window_to)
    study = analysable(
        lambda: survival_study(
            survival_frames(db, window_from, window_to), endpoint, by, window_from, window_to
        )
    )
    doc = study.to_json_dict()
    if as_json:
        print_json(doc)
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
