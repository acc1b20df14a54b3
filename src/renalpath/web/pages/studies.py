"""Study dashboards: the salvage study and survival analyses, aggregate results only.

Clinicians, researchers and admins all see these pages: nothing here names a patient (the
eGFR plot labels lines with report-local numbers).  The JSON is exactly the CLI's
(`renalpath study salvage|survival --json`); the page shows the tables and figures of the
PDF report, built by the same report views (so page and PDF cannot disagree), the plots as
data: URIs (no inline script or style, CSP-safe), and links to the HTML, PDF and CSV
downloads of the same query. The query checks and the study runs are `api/studies.py`,
shared with the JSON routes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from renalpath.clinical.durations import DAYS_PER_MONTH
from renalpath.clinical.egfr import EQUATIONS, MDRD
from renalpath.outcomes.study_options import BY_FIELDS, ENDPOINTS
from renalpath.registry.cells import formula_safe
from renalpath.reports.plots import EQUATION_LABEL, MIN_AT_RISK
from renalpath.reports.survival_view import ENDPOINT_TITLE
from renalpath.web.api.studies import (
    StudyRefused,
    parse_choice,
    parse_window,
    run_salvage,
    run_survival,
)
from renalpath.web.auth import Principal
from renalpath.web.deps import any_user, engine_of
from renalpath.web.errors import FieldError, messages_by_field
from renalpath.web.labels import SURVIVAL_BY
from renalpath.web.templating import render

router = APIRouter(include_in_schema=False)
FORMATS = ("page", "html", "pdf", "csv")
MIN_AT_RISK_RANGE = (1, 1000)

# Words for the codes the study forms offer: the web's one label table for the grouping
# fields, the report's names for equations and endpoints.
LABELS: dict[str, str] = {**EQUATION_LABEL, **ENDPOINT_TITLE, **SURVIVAL_BY}


def _min_at_risk(raw: str | None, errors: list[FieldError]) -> int:
    lo, hi = MIN_AT_RISK_RANGE
    if not raw:
        return MIN_AT_RISK
    if raw.isascii() and raw.isdigit() and lo <= int(raw) <= hi:
        return int(raw)
    errors.append(
        FieldError(
            field="min_at_risk",
            message=f"Curves stop below: {raw!r} is not a whole number from {lo} to {hi}",
            value=raw,
            allowed=f"{lo}–{hi}",
        )
    )
    return MIN_AT_RISK


# ------------------------------------------------------------------------- summaries (CSV)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def salvage_rows(doc: Mapping[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """(section, measure, value) rows of the salvage cohort summary: scalars and counts."""
    skip = {"methods", "results", "software", "definitions", "notes", "window", "rfs"}
    for key, value in doc.items():
        if key in skip:
            continue
        if _scalar(value):
            yield "cohort", key, value
        elif isinstance(value, Mapping):
            for sub, v in value.items():
                if _scalar(v) and sub != "notes":
                    yield key, str(sub), v
    rfs = doc.get("rfs") or {}
    for est in rfs.get("estimates") or ():
        yield "rfs", f"survival_at_{est.get('months')}_months", est.get("survival")


def survival_rows(doc: Mapping[str, Any]) -> Iterator[tuple[Any, ...]]:
    for g in doc.get("groups") or ():
        med = g.get("median")
        months = None if med is None else round(float(med) / DAYS_PER_MONTH, 2)
        yield g.get("group"), g.get("n"), g.get("events"), med, months


def _csv(header: tuple[str, ...], rows: Iterator[tuple[Any, ...]], name: str) -> Response:
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(header)
    out.writerows(
        ["" if v is None else formula_safe(v) if isinstance(v, str) else v for v in row]
        for row in rows
    )
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _download(content: str | bytes, media: str, name: str) -> Response:
    return Response(
        content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def _links(path: str, params: dict[str, str | None]) -> dict[str, str]:
    query = {k: v for k, v in params.items() if v}
    return {f: f"{path}?{urlencode({**query, 'format': f})}" for f in ("html", "pdf", "csv")}


# ---------------------------------------------------------------------------- salvage


@router.get("/studies/salvage")
def salvage_page(
    request: Request,
    _: Annotated[Principal, Depends(any_user)],
    equation: str = MDRD,
    format: str = "page",
) -> Response:
    from renalpath.reports import PdfUnavailableError, html_to_pdf, salvage_report_input
    from renalpath.reports.html import render_salvage_html
    from renalpath.reports.salvage_view import build_salvage_view

    q = request.query_params
    raw_from, raw_to, raw_min = q.get("from"), q.get("to"), q.get("min_at_risk")
    errors: list[FieldError] = []
    w = parse_window(raw_from, raw_to, errors)
    eq = parse_choice("equation", equation, EQUATIONS, errors) or MDRD
    fmt = parse_choice("format", format, FORMATS, errors) or "page"
    min_risk = _min_at_risk(raw_min, errors)
    form = {
        "from": raw_from or "",
        "to": raw_to or "",
        "equation": equation,
        "min_at_risk": raw_min or str(MIN_AT_RISK),
    }
    ctx: dict[str, Any] = {
        "form": form,
        "equations": EQUATIONS,
        "labels": LABELS,
        "doc": None,
        "view": None,
        "default_min_at_risk": MIN_AT_RISK,
    }
    if errors:
        ctx["errors"] = messages_by_field(errors)
        return render(request, "studies/salvage.html", ctx, status_code=422)
    try:
        study = run_salvage(engine_of(request), w, eq)
    except StudyRefused as err:
        ctx["errors"] = {"": [str(err)]}
        return render(request, "studies/salvage.html", ctx, status_code=422)
    doc = study.to_json_dict()
    if fmt == "csv":
        return _csv(("section", "measure", "value"), salvage_rows(doc), "salvage-summary.csv")
    inp = salvage_report_input(study)
    if fmt in ("html", "pdf"):
        html = render_salvage_html(inp, min_at_risk=min_risk)
        if fmt == "html":
            return _download(html, "text/html; charset=utf-8", "salvage-report.html")
        try:
            return _download(html_to_pdf(html), "application/pdf", "salvage-report.pdf")
        except PdfUnavailableError as err:
            ctx["errors"] = {"": [str(err)]}
            return render(request, "studies/salvage.html", ctx, status_code=503)
    ctx["doc"] = doc
    ctx["view"] = build_salvage_view(inp, min_at_risk=min_risk)
    params = {"from": w.start, "to": w.end, "equation": eq, "min_at_risk": raw_min}
    ctx["links"] = _links("/studies/salvage", params)
    return render(request, "studies/salvage.html", ctx)


# --------------------------------------------------------------------------- survival


@router.get("/studies/survival")
def survival_page(
    request: Request,
    _: Annotated[Principal, Depends(any_user)],
    endpoint: str = "overall",
    by: str | None = None,
    format: str = "page",
) -> Response:
    from renalpath.reports import PdfUnavailableError, html_to_pdf, survival_report_input
    from renalpath.reports.html import render_survival_html
    from renalpath.reports.survival_view import build_survival_view

    errors: list[FieldError] = []
    q = request.query_params
    raw_from, raw_to, raw_min = q.get("from"), q.get("to"), q.get("min_at_risk")
    w = parse_window(raw_from, raw_to, errors)
    ep = parse_choice("endpoint", endpoint, ENDPOINTS, errors) or "overall"
    group = parse_choice("by", by or None, tuple(sorted(BY_FIELDS)), errors) or None
    fmt = parse_choice("format", format, FORMATS, errors) or "page"
    min_risk = _min_at_risk(raw_min, errors)
    form = {
        "from": raw_from or "",
        "to": raw_to or "",
        "endpoint": endpoint,
        "by": by or "",
        "min_at_risk": raw_min or str(MIN_AT_RISK),
    }
    ctx: dict[str, Any] = {
        "form": form,
        "endpoints": ENDPOINTS,
        "by_fields": sorted(BY_FIELDS),
        "labels": LABELS,
        "default_min_at_risk": MIN_AT_RISK,
        "doc": None,
        "view": None,
    }
    if errors:
        ctx["errors"] = messages_by_field(errors)
        return render(request, "studies/survival.html", ctx, status_code=422)
    try:
        study = run_survival(engine_of(request), w, ep, group)
    except StudyRefused as err:
        ctx["errors"] = {"": [str(err)]}
        return render(request, "studies/survival.html", ctx, status_code=422)
    doc = study.to_json_dict()
    if fmt == "csv":
        header = ("group", "n", "events", "median_days", "median_months")
        return _csv(header, survival_rows(doc), "survival-groups.csv")
    inp = survival_report_input(study)
    if fmt in ("html", "pdf"):
        html = render_survival_html(inp, min_at_risk=min_risk)
        if fmt == "html":
            return _download(html, "text/html; charset=utf-8", "survival-report.html")
        try:
            return _download(html_to_pdf(html), "application/pdf", "survival-report.pdf")
        except PdfUnavailableError as err:
            ctx["errors"] = {"": [str(err)]}
            return render(request, "studies/survival.html", ctx, status_code=503)
    ctx["doc"] = doc
    ctx["view"] = build_survival_view(inp, min_at_risk=min_risk)
    params = {"from": w.start, "to": w.end, "endpoint": ep, "by": group, "min_at_risk": raw_min}
    ctx["links"] = _links("/studies/survival", params)
    return render(request, "studies/survival.html", ctx)
