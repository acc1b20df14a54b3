"""The `study survival` JSON laid out as a report: groups, estimates, log-rank, KM figure.

Fixed-time estimates are read off the step function the outcomes layer computed (R's
``summary(fit, times=…)`` convention: S at the last event time ≤ t); a time with nobody left
under observation is beyond follow-up and shown as a dash with that reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from renalpath.reports import formatting as f
from renalpath.reports.inputs import DAYS_PER_MONTH, AtRisk, KmCurve, SurvivalReportInput
from renalpath.reports.plots import (
    CENSOR_MARK_LIMIT,
    MIN_AT_RISK,
    axis_limit_months,
    data_uri,
    km_plot,
)
from renalpath.reports.salvage_view import DASH_LEGEND, DISCLAIMER, ReportFigure, window_text
from renalpath.reports.tables import Table
from renalpath.reports.versions import software_versions

ENDPOINT_TITLE: dict[str, str] = {
    "overall": "Overall survival",
    "recurrence-free": "Recurrence-free survival",
    "cancer-specific": "Cancer-specific survival",
}


@dataclass
class SurvivalView:
    title: str
    window: str
    generated: str
    disclaimer: str
    summary: str
    tables: list[Table] = field(default_factory=list)
    km_figure: ReportFigure | None = None
    notes: list[str] = field(default_factory=list)
    versions: list[tuple[str, str]] = field(default_factory=list)


def estimate_at(
    curve: KmCurve, months: float, n_risk: int | None = None
) -> tuple[float | None, float | None, float | None]:
    """(S, CI low, CI high) at `months`; None beyond the last follow-up (nobody observed)."""
    days = months * DAYS_PER_MONTH
    if curve.n == 0:
        return None, None, None
    if curve.max_time_days is not None:
        if days > curve.max_time_days:
            return None, None, None
    elif months > 0 and n_risk == 0:
        return None, None, None
    s: float = 1.0
    lo: float | None = 1.0
    hi: float | None = 1.0
    for row in curve.rows:
        if row.time_days <= days:
            s = row.survival if row.survival is not None else s
            lo, hi = row.ci_low, row.ci_high
    return s, lo, hi


def _median_text(c: KmCurve) -> str:
    if c.n == 0:
        return f.DASH
    if c.median_days is None:
        return "not reached"
    lo = f.num(None if c.median_ci_low_days is None else c.median_ci_low_days / DAYS_PER_MONTH)
    hi = (
        "not reached"
        if c.median_ci_high_days is None
        else f.num(c.median_ci_high_days / DAYS_PER_MONTH)
    )
    return f"{f.num(c.median_days / DAYS_PER_MONTH)} ({lo}–{hi})"


def _groups_table(title: str, curves: tuple[KmCurve, ...]) -> Table:
    t = Table(
        f"Table 1. {title} by group",
        ("Group", "n", "Events", "Median, months (95% CI)"),
    )
    for c in curves:
        t.add(c.label, str(c.n), str(c.events), _median_text(c))
    if not curves:
        t.add("no patients", "0", "0", f.DASH)
    t.note(
        "Median and its CI as R's quantile.survfit; 'not reached' when the curve (or the CI "
        "limit) stays above 50%."
    )
    return t


def _estimates_table(
    title: str, curves: tuple[KmCurve, ...], groups: list[Mapping[str, Any]]
) -> Table:
    t = Table(
        f"Table 2. {title} at fixed times (Kaplan–Meier)",
        ("Group", "Months", "At risk", "Survival, % (95% CI)"),
    )
    beyond = False
    for k, c in enumerate(curves):
        # The study's own fixed times (JSON at_risk) win over the plot's tick times.
        given = groups[k].get("at_risk") if k < len(groups) else None
        times = [AtRisk(float(a["months"]), int(a["n_risk"])) for a in given or ()] or c.at_risk
        for i, a in enumerate(times):
            s, lo, hi = estimate_at(c, a.months, a.n_risk)
            beyond = beyond or s is None
            t.add(
                c.label if i == 0 else "",
                f.num(a.months, 0),
                str(a.n_risk),
                f.estimate_ci(s, lo, hi),
            )
    if beyond:
        t.note(f"{f.DASH}: nobody left under observation at that time, so not estimable.")
    t.note(
        f"'{f.NO_EVENT_CI}': no event by that time, so the estimate is 100% and a 95% CI "
        "is not defined (its variance is 0)."
    )
    t.note("95% CI: Greenwood variance, log transform (R survival default).")
    return t


def _logrank_table(doc: Mapping[str, Any]) -> Table | None:
    lr = doc.get("logrank")
    if not isinstance(lr, Mapping):
        return None
    t = Table("Table 3. Log-rank test", ("Group", "n", "Observed events", "Expected events"))
    for g in lr.get("groups") or ():
        t.add(
            str(g.get("group")),
            str(g.get("n")),
            str(g.get("observed")),
            f.num(g.get("expected"), 2),
        )
    t.note(
        f"χ² = {f.num(lr.get('chisq'), 2)}, df = {lr.get('df', f.DASH)}, "
        f"{f.p_phrase(lr.get('p_value'))}."
        if lr.get("p_value") is not None
        else f"p = {f.DASH}: {lr.get('note') or 'the test could not be computed'}."
    )
    return t


def _competing_table(doc: Mapping[str, Any], months: list[float]) -> Table | None:
    cr = doc.get("competing_risks")
    if not isinstance(cr, Mapping) or not cr.get("causes"):
        return None
    causes = [str(c) for c in cr["causes"]]
    t = Table(
        "Table 4. Cumulative incidence with competing risks (Aalen–Johansen)",
        ("Months", *(f"{f.label(c)}, %" for c in causes)),
    )
    rows = cr.get("table") or ()
    for m in months:
        days = m * DAYS_PER_MONTH
        before = [r for r in rows if r.get("time_days") is not None and r["time_days"] <= days]
        last = before[-1] if before else None
        t.add(
            f.num(m, 0),
            *(f.pct(100 * (last.get(f"cif_{c}") or 0.0) if last else 0.0, 1) for c in causes),
        )
    for note in cr.get("notes") or ():
        t.note(str(note))
    t.note("Values are carried forward from the last event time; check follow-up at late times.")
    return t


def cut_note(min_at_risk: int) -> str:
    """The sentence every KM figure carries about where its curves stop."""
    return (
        f"Curves stop where fewer than {min_at_risk} patients remain at risk "
        f"({'project default' if min_at_risk == MIN_AT_RISK else 'chosen for this report'}); "
        "the tables give the estimates and numbers at risk at each time."
    )


def build_survival_view(
    inp: SurvivalReportInput, *, today: dt.date | None = None, min_at_risk: int = MIN_AT_RISK
) -> SurvivalView:
    doc = inp.study
    endpoint = str(doc["endpoint"])
    title = ENDPOINT_TITLE.get(endpoint, endpoint)
    # Registry codes as words in tables and legends ('partial_nephrectomy' → 'partial nephrectomy').
    curves = tuple(replace(c, label=f.label(c.label)) for c in inp.group_curves())
    groups = [g for g in doc["groups"] or () if isinstance(g, Mapping)]
    tables = [_groups_table(title, curves), _estimates_table(title, curves, groups)]
    lr = _logrank_table(doc)
    if lr is not None:
        tables.append(lr)
    months = sorted(
        {float(a["months"]) for g in groups for a in g.get("at_risk") or () if a["months"] > 0}
        or {a.months for c in curves for a in c.at_risk if a.months > 0}
    )
    cr = _competing_table(doc, months)
    if cr is not None:
        tables.append(cr)
    by = doc.get("by")
    p = doc.get("logrank_p")
    summary = (
        f"{title} from the index operation "
        f"({doc.get('index') or 'first partial or radical nephrectomy per patient'}); "
        f"event: {doc.get('event_definition') or endpoint}. {doc['n']} patient(s), "
        f"{doc.get('events', sum(c.events for c in curves))} event(s)"
        + (f", compared by {by}: log-rank {f.p_phrase(p)}." if by else ".")
    )
    cut = axis_limit_months(curves)
    png = km_plot(list(curves), y_label=title, x_max_months=cut, min_at_risk=min_at_risk)
    shown = "" if cut is None else f" Shown to {f.num(cut, 0)} months, the last fixed time."
    fig = ReportFigure(
        1,
        f"Figure 1. {title} (Kaplan–Meier) with 95% confidence bands; numbers at risk below. "
        f"Ticks mark censoring where known (curves with ≤ {CENSOR_MARK_LIMIT} censored).{shown} "
        + cut_note(min_at_risk),
        data_uri(png, "png"),
        f"Kaplan-Meier curves of {title.lower()}",
    )
    notes = [str(n) for n in doc.get("notes") or ()]
    notes.append(DASH_LEGEND)
    return SurvivalView(
        title=inp.title + f" — {title.lower()}",
        window=window_text(doc.get("window")),
        generated=(today or dt.date.today()).isoformat(),
        disclaimer=DISCLAIMER.format(data=inp.data_note),
        summary=summary,
        tables=tables,
        km_figure=fig,
        notes=notes,
        versions=software_versions(doc.get("software")),
    )
