"""Study dashboards: the salvage study and survival analyses, aggregate results only.

Clinicians, researchers and admins all see these pages: nothing here names a patient (the
eGFR plot labels lines with report-local numbers).  The JSON is exactly the CLI's
(`renalpath study salvage|survival --json`); the page shows the tables and figures of the
PDF report, built by the same report views (so page and PDF cannot disagree), the plots as
data: URIs (no inline script or style, CSP-safe), and links to the HTML, PDF and CSV
downloads of the same query.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.responses import Response

from renalpath.clinical.common import ClinicalInputError
from renalpath.clinical.durations import DAYS_PER_MONTH
from renalpath.clinical.egfr import EQUATIONS, MDRD
from renalpath.errors import Refusal
from renalpath.outcomes.salvage import SalvageStudy, salvage_study
from renalpath.outcomes.source import salvage_frames, survival_frames
from renalpath.outcomes.study_options import BY_FIELDS, ENDPOINTS
from renalpath.outcomes.survival_by_group import SurvivalStudy, survival_study
from renalpath.registry.cells import formula_safe
from renalpath.registry.frames import FramesError
from renalpath.reports.plots import EQUATION_LABEL, MIN_AT_RISK
from renalpath.reports.survival_view import ENDPOINT_TITLE
from renalpath.web.api.pathway import ERRORS
from renalpath.web.auth import Principal, any_user
from renalpath.web.deps import engine_of
from renalpath.web.errors import ErrorBody, FieldError, body, messages_by_field
from renalpath.web.labels import SURVIVAL_BY
from renalpath.web.templating import render

API_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    503: {"model": ErrorBody, "description": "No registry database configured"},
}
router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/studies", tags=["studies"], responses=API_ERRORS)
FORMATS = ("page", "html", "pdf", "csv")
MIN_AT_RISK_RANGE = (1, 1000)

# Words for the codes the study forms offer: the web's one label table for the grouping
# fields, the report's names for equations and endpoints.
LABELS: dict[str, str] = {**EQUATION_LABEL, **ENDPOINT_TITLE, **SURVIVAL_BY}


@dataclass(frozen=True)
class Window:
    start: str | None
    end: str | None


def _date(field: str, raw: str | None, errors: list[FieldError]) -> str | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw).isoformat()
    except ValueError:
        errors.append(
            FieldError(
                field=field,
                message=f"{field}: {raw!r} is not a date",
                value=raw,
                allowed="YYYY-MM-DD",
            )
        )
        return None


def _choice(field: str, raw: str | None, allowed: tuple[str, ...], errors: list[FieldError]) -> str:
    if raw is None or raw in allowed:
        return raw or ""
    errors.append(
        FieldError(
            field=field,
            message=f"{field}: {raw!r} is not allowed",
            value=raw,
            allowed=", ".join(allowed),
        )
    )
    return ""


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


def _window(window_from: str | None, window_to: str | None, errors: list[FieldError]) -> Window:
    lo = _date("from", window_from, errors)
    hi = _date("to", window_to, errors)
    if lo and hi and lo > hi:
        errors.append(FieldError(field="to", message=f"to: {hi} is before from {lo}", value=hi))
    return Window(lo, hi)


class StudyRefused(Refusal):
    """The registry holds values the analysis cannot use (the CLI's exit-1 refusal)."""


def _run_salvage(engine: Engine, w: Window, equation: str) -> SalvageStudy:
    try:
        return salvage_study(salvage_frames(engine, w.start, w.end), w.start, w.end, equation)
    except (ClinicalInputError, FramesError) as err:
        raise StudyRefused(f"registry data cannot be analysed: {err}") from err


def _run_survival(engine: Engine, w: Window, endpoint: str, by: str | None) -> SurvivalStudy:
    try:
        frames = survival_frames(engine, w.start, w.end)
        return survival_study(frames, endpoint, by, w.start, w.end)
    except (ClinicalInputError, FramesError) as err:
        raise StudyRefused(f"registry data cannot be analysed: {err}") from err


def _api_refusal(errors: list[FieldError], status: int = 422) -> JSONResponse:
    return JSONResponse(body(errors), status_code=status)


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
    w = _window(raw_from, raw_to, errors)
    eq = _choice("equation", equation, EQUATIONS, errors) or MDRD
    fmt = _choice("format", format, FORMATS, errors) or "page"
    min_risk = _min_at_risk(raw_min, errors)
    form = {"from": raw_from or "", "to": raw_to or "", "equation": equation,
            "min_at_risk": raw_min or str(MIN_AT_RISK)}  # fmt: skip
    ctx: dict[str, Any] = {
        "form": form, "equations": EQUATIONS, "labels": LABELS, "doc": None, "view": None,
        "default_min_at_risk": MIN_AT_RISK,
    }  # fmt: skip
    if errors:
        ctx["errors"] = messages_by_field(errors)
        return render(request, "studies/salvage.html", ctx, status_code=422)
    try:
        study = _run_salvage(engine_of(request), w, eq)
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


@api_router.get("/salvage")
def salvage_api(
    request: Request,
    _: Annotated[Principal, Depends(any_user)],
    equation: str = MDRD,
) -> Response:
    """`renalpath study salvage --json`; query `from`, `to` (YYYY-MM-DD), `equation`."""
    errors: list[FieldError] = []
    w = _window(request.query_params.get("from"), request.query_params.get("to"), errors)
    eq = _choice("equation", equation, EQUATIONS, errors)
    if errors:
        return _api_refusal(errors)
    try:
        doc = _run_salvage(engine_of(request), w, eq).to_json_dict()
    except StudyRefused as err:
        return _api_refusal([FieldError(field=None, message=str(err))])
    return JSONResponse(doc)


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
    w = _window(raw_from, raw_to, errors)
    ep = _choice("endpoint", endpoint, ENDPOINTS, errors) or "overall"
    group = _choice("by", by or None, tuple(sorted(BY_FIELDS)), errors) or None
    fmt = _choice("format", format, FORMATS, errors) or "page"
    min_risk = _min_at_risk(raw_min, errors)
    form = {"from": raw_from or "", "to": raw_to or "", "endpoint": endpoint, "by": by or "",
            "min_at_risk": raw_min or str(MIN_AT_RISK)}  # fmt: skip
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
        study = _run_survival(engine_of(request), w, ep, group)
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


@api_router.get("/survival")
def survival_api(
    request: Request,
    _: Annotated[Principal, Depends(any_user)],
    endpoint: str = "overall",
    by: str | None = None,
) -> Response:
    """`renalpath study survival --json`; query `endpoint`, `by`, `from`, `to`."""
    errors: list[FieldError] = []
    w = _window(request.query_params.get("from"), request.query_params.get("to"), errors)
    ep = _choice("endpoint", endpoint, ENDPOINTS, errors)
    group = _choice("by", by, tuple(sorted(BY_FIELDS)), errors) or None
    if errors:
        return _api_refusal(errors)
    try:
        doc = _run_survival(engine_of(request), w, ep, group).to_json_dict()
    except StudyRefused as err:
        return _api_refusal([FieldError(field=None, message=str(err))])
    return JSONResponse(doc)
