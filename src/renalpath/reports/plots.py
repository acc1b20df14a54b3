"""Report figures: Kaplan-Meier curve with at-risk table, per-patient eGFR before/after.

Figures are built with matplotlib's object API on an Agg canvas (no pyplot global state, safe
in a web worker) and returned as PNG or SVG bytes, so a report can embed them as data: URIs.
Every function draws something for empty and one-patient inputs — a report must never fail
because a cohort is small.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from typing import Any, Literal

from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from renalpath.reports.inputs import DAYS_PER_MONTH, KidneyPair, KmCurve

ImageFormat = Literal["png", "svg"]

# Colour-blind-safe palette (Okabe & Ito 2008).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")

EQUATION_LABEL: dict[str, str] = {
    "mdrd": "MDRD Study (4-variable, IDMS-traceable)",
    "ckd-epi-2009": "CKD-EPI 2009 creatinine",
    "ckd-epi-2021": "CKD-EPI 2021 creatinine (race-free)",
}

# KDIGO 2012 CKD guideline (Kidney Int Suppl 2013;3:1-150): eGFR < 60 mL/min/1.73 m² is
# category G3a or worse.
KDIGO_G3A_THRESHOLD = 60.0

_RC: dict[Any, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "renalpath",  # stable SVG ids, so identical input gives identical bytes
    "svg.fonttype": "path",  # text as outlines: renders identically in any viewer/WeasyPrint
}

CENSOR_MARK_LIMIT = 100  # more censoring ticks than this turn the curve into a smear
# A curve stops where fewer than this many patients remain at risk: its tail then rests on a
# handful of patients and swings with each event (Pocock, Clayton & Altman, Lancet 2002;
# 359:1686-9, advise curtailing plots where few remain). The number 10 is this project's
# default, not a published threshold; reports state it and the study pages let it be changed.
MIN_AT_RISK = 10
_LABEL_LIMIT = 20  # beyond this many patients, per-line labels become unreadable


def _render(fig: Figure, fmt: ImageFormat) -> bytes:
    if fmt not in ("png", "svg"):
        raise ValueError(f"fmt: {fmt!r} is not allowed (allowed: 'png', 'svg')")
    FigureCanvasAgg(fig)  # the Agg canvas explicitly: headless, no pyplot backend switching
    buf = io.BytesIO()
    meta = {"Software": None} if fmt == "png" else {"Date": None, "Creator": None}
    fig.savefig(buf, format=fmt, dpi=200, metadata=meta)
    return buf.getvalue()


def data_uri(image: bytes, fmt: ImageFormat) -> str:
    """A data: URI so the HTML report is one self-contained file."""
    mime = "image/png" if fmt == "png" else "image/svg+xml"
    return f"data:{mime};base64,{base64.b64encode(image).decode('ascii')}"


def _empty_message(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#555555")


def at_risk_cut_days(curve: KmCurve, min_at_risk: int) -> float | None:
    """Last time (days) at which at least `min_at_risk` patients are still under observation.

    None when the curve never falls below the threshold (no cut). 0 when the cohort starts
    below it. Uses every observed time (`risk_steps`) when known, else the event rows: in
    (t[k-1], t[k]] the number at risk is that of row k, so the curve is cut at t[k-1] for the
    first row k below the threshold.
    """
    steps = curve.risk_steps or tuple((r.time_days, r.n_risk) for r in curve.rows)
    if curve.n < min_at_risk:
        return 0.0
    previous = 0.0
    for time_days, n_risk in steps:
        if n_risk < min_at_risk:
            return previous
        previous = time_days
    return None


def _drawn_end_months(curve: KmCurve, cut_days: float | None) -> float:
    return _curve_end_months(curve) if cut_days is None else cut_days / DAYS_PER_MONTH


def _step_data(
    curve: KmCurve, cut_days: float | None = None
) -> tuple[list[float], list[float], list[float], list[float]]:
    """Months and S(t)/CI as step vertices starting at (0, 1), extended to the last follow-up
    or stopped at `cut_days`."""
    xs, ys, lo, hi = [0.0], [1.0], [1.0], [1.0]
    for row in curve.rows:
        if cut_days is not None and row.time_days > cut_days:
            break
        xs.append(row.time_days / DAYS_PER_MONTH)
        ys.append(math.nan if row.survival is None else row.survival)
        lo.append(math.nan if row.ci_low is None else row.ci_low)
        hi.append(math.nan if row.ci_high is None else row.ci_high)
    end = _curve_end_months(curve)
    if cut_days is not None:
        end = min(end, cut_days / DAYS_PER_MONTH)
    if end > xs[-1]:
        xs.append(end)
        ys.append(ys[-1])
        lo.append(lo[-1])
        hi.append(hi[-1])
    return xs, ys, lo, hi


def _curve_end_months(curve: KmCurve) -> float:
    """Last follow-up if known, else the last time with someone at risk or an event."""
    candidates = [0.0]
    if curve.max_time_days is not None:
        candidates.append(curve.max_time_days / DAYS_PER_MONTH)
    else:
        candidates += [a.months for a in curve.at_risk if a.n_risk > 0]
    candidates += [r.time_days / DAYS_PER_MONTH for r in curve.rows]
    candidates += [c / DAYS_PER_MONTH for c in curve.censor_days]
    return max(candidates)


def axis_limit_months(curves: Sequence[KmCurve]) -> float | None:
    """Where to cut the x axis when curves come from JSON alone (no last follow-up known).

    Without censoring data the numbers at risk exist only at the study's fixed times, so the
    plot stops at the last of them rather than squeezing the at-risk table into a corner.
    """
    if any(c.max_time_days is not None for c in curves):
        return None
    ticks = [a.months for c in curves for a in c.at_risk]
    if not ticks:
        return None
    last = max(ticks)
    beyond = any(r.time_days / DAYS_PER_MONTH > last for c in curves for r in c.rows)
    return last if beyond and last > 0 else None


def _survival_at(curve: KmCurve, days: float) -> float:
    value = 1.0
    for row in curve.rows:
        if row.time_days <= days and row.survival is not None:
            value = row.survival
    return value


def km_plot(
    curves: Sequence[KmCurve],
    *,
    y_label: str = "Survival probability",
    fmt: ImageFormat = "png",
    width_in: float = 6.4,
    x_max_months: float | None = None,
    min_at_risk: int = MIN_AT_RISK,
) -> bytes:
    """Step curves with shaded 95 % CI, censoring ticks, x in months, numbers at risk below.

    The at-risk table uses each curve's `at_risk` counts (computed by the outcomes layer as R
    does: still under observation at t); ticks are those months, so table and axis align.
    `x_max_months` cuts the axis (e.g. at the last at-risk time when only JSON is at hand);
    each curve stops where fewer than `min_at_risk` patients remain at risk.
    """
    drawable = [c for c in curves if c.n > 0]
    tick_months = sorted({a.months for c in curves for a in c.at_risk})
    n_table_rows = len(curves) if tick_months else 0
    table_h = 0.28 + 0.17 * n_table_rows if n_table_rows else 0.0
    with rc_context(_RC):
        fig = Figure(figsize=(width_in, 3.3 + table_h))
        if n_table_rows:
            grid = fig.add_gridspec(2, 1, height_ratios=[3.3, table_h], hspace=0.35)
            ax = fig.add_subplot(grid[0])
            tab = fig.add_subplot(grid[1], sharex=ax)
        else:
            ax = fig.add_subplot(1, 1, 1)
            tab = None
        x_max = max([_curve_end_months(c) for c in drawable] + tick_months + [1.0])
        if x_max_months is not None and x_max_months > 0:
            x_max = x_max_months
        cuts = {id(c): at_risk_cut_days(c, min_at_risk) for c in drawable}
        ends = [_drawn_end_months(c, cuts[id(c)]) for c in drawable]
        if drawable and max(ends) > 0:
            # The axis ends at the first tick at or beyond the longest drawn curve.
            reach = max(ends)
            later = [m for m in tick_months if m >= reach]
            x_max = min(x_max, later[0] if later else x_max)
            tick_months = [m for m in tick_months if m <= x_max]
        for i, curve in enumerate(drawable):
            colour = PALETTE[i % len(PALETTE)]
            cut = cuts[id(curve)]
            xs, ys, lo, hi = _step_data(curve, cut)
            name = f"{curve.label} (n = {curve.n}, events = {curve.events})"
            if cut == 0.0:
                name += f": fewer than {min_at_risk} at risk, not drawn"
            ax.step(xs, ys, where="post", color=colour, linewidth=1.6, label=name)
            ax.fill_between(xs, lo, hi, step="post", color=colour, alpha=0.15, linewidth=0)
            shown = [d for d in curve.censor_days if cut is None or d <= cut]
            if 0 < len(shown) <= CENSOR_MARK_LIMIT:
                cx = [d / DAYS_PER_MONTH for d in shown]
                cy = [_survival_at(curve, d) for d in shown]
                ax.plot(cx, cy, linestyle="none", marker="|", markersize=6, color=colour)
        ax.set_ylim(0.0, 1.04)
        ax.set_xlim(0.0, x_max * 1.02)
        if not drawable:
            _empty_message(ax, "No patients in this analysis: no curve to draw")
            if not tick_months:
                ax.set_xlim(0.0, 12.0)
                ax.set_xticks([0, 6, 12])
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
        ax.set_ylabel(y_label)
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        if tick_months:
            ax.set_xticks(tick_months)
        ax.set_xlabel("Months since surgery")
        if len(drawable) > 1 or drawable:
            ax.legend(loc="lower left", frameon=False, fontsize=7.5)
        if tab is not None:
            _at_risk_table(tab, curves, tick_months)
        # Leave room left of the axis for the at-risk row names (about 0.06 in per character).
        longest = max((len(_short(c.label)) for c in curves), default=0) if tab else 0
        left = min(0.4, max(0.13, (0.45 + 0.062 * longest) / width_in))
        fig.subplots_adjust(left=left, right=0.97, top=0.97, bottom=0.03 if tab else 0.14)
        return _render(fig, fmt)


def _short(label: str, limit: int = 28) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _at_risk_table(tab: Axes, curves: Sequence[KmCurve], tick_months: Sequence[float]) -> None:
    """Numbers at risk aligned under the x ticks (a dash where a curve lacks that time)."""
    tab.set_ylim(-0.5, len(curves) - 0.5)
    tab.invert_yaxis()
    for spine in tab.spines.values():
        spine.set_visible(False)
    tab.tick_params(axis="both", length=0, labelbottom=False)
    tab.tick_params(axis="y", pad=14)  # keep group names clear of the month-0 counts
    tab.set_yticks(range(len(curves)))
    tab.set_yticklabels([_short(c.label) for c in curves], fontsize=7.5)
    for i, curve in enumerate(curves):
        counts = {a.months: a.n_risk for a in curve.at_risk}
        colour = PALETTE[i % len(PALETTE)] if curve.n > 0 else "#555555"
        for m in tick_months:
            text = str(counts[m]) if m in counts else "—"
            tab.text(m, i, text, ha="center", va="center", fontsize=7.5, color=colour)
    tab.set_title("Number at risk", loc="left", fontsize=7.5, pad=2)


def label_positions(values: Sequence[float], min_gap: float) -> list[float]:
    """Label heights near `values`, at least `min_gap` apart, in the input order.

    Sorted, each label is pushed up past its lower neighbour, then the stack is shifted down by
    its mean overshoot so labels stay centred on their points (no overlapping patient numbers).
    """
    order = sorted(range(len(values)), key=lambda i: values[i])
    placed: list[float] = []
    for i in order:
        y = values[i]
        placed.append(y if not placed else max(y, placed[-1] + min_gap))
    overshoot = sum(p - values[i] for p, i in zip(placed, order, strict=True))
    shift = overshoot / len(placed) if placed else 0.0
    out = [0.0] * len(values)
    for p, i in zip(placed, order, strict=True):
        out[i] = p - shift
    return out


def egfr_slope_plot(
    pairs: Sequence[KidneyPair],
    equation: str,
    *,
    fmt: ImageFormat = "png",
    width_in: float = 4.6,
) -> bytes:
    """One line per patient from pre- to post-operative eGFR, mean change in bold.

    Only complete pairs are drawn; the dashed line marks 60 mL/min/1.73 m² (KDIGO G3a),
    the threshold behind the CKD up-staging reported beside the plot.
    """
    complete = [
        (p.label, p.egfr_pre, p.egfr_post)
        for p in pairs
        if p.egfr_pre is not None and p.egfr_post is not None
    ]
    eq = EQUATION_LABEL.get(equation, equation)
    with rc_context(_RC):
        fig = Figure(figsize=(width_in, 3.3))
        ax = fig.add_subplot(1, 1, 1)
        ax.set_xticks([0, 1], ["Before surgery", "After surgery"])
        ax.set_xlim(-0.25, 1.45)
        ax.set_ylabel("eGFR (mL/min/1.73 m²)")
        ax.set_title(f"eGFR by {eq}", fontsize=8.5, loc="left")
        if not complete:
            _empty_message(ax, "No complete before/after pairs")
            ax.set_ylim(0, 120)
        else:
            values = [v for c in complete for v in c[1:]]
            low, high = min(values), max(values)
            pad = max(5.0, 0.08 * (high - low))
            y_lo, y_hi = max(0.0, low - pad), max(high + pad, KDIGO_G3A_THRESHOLD + 5)
            ax.set_ylim(y_lo, y_hi)
            for _, pre, post in complete:
                colour = PALETTE[1] if post < pre else PALETTE[0]
                ax.plot(
                    [0, 1],
                    [pre, post],
                    color=colour,
                    alpha=0.75,
                    linewidth=1.0,
                    marker="o",
                    markersize=3.5,
                )
            if len(complete) <= _LABEL_LIMIT:
                posts = [c[2] for c in complete]
                spread = label_positions(posts, min_gap=0.045 * (y_hi - y_lo))
                for (name, _, post), y in zip(complete, spread, strict=True):
                    ax.annotate(
                        name,
                        (1, post),
                        xytext=(1.06, y),
                        textcoords="data",
                        va="center",
                        fontsize=6.5,
                        color="#444444",
                        arrowprops={"arrowstyle": "-", "color": "#bbbbbb", "linewidth": 0.5},
                    )
            pre_mean = sum(c[1] for c in complete) / len(complete)
            post_mean = sum(c[2] for c in complete) / len(complete)
            ax.plot(
                [0, 1],
                [pre_mean, post_mean],
                color="#000000",
                linewidth=2.6,
                marker="s",
                markersize=5,
                label="mean",
                zorder=5,
            )
            ax.legend(loc="upper right", frameon=False, fontsize=7)
        ax.axhline(KDIGO_G3A_THRESHOLD, color="#888888", linestyle="--", linewidth=0.8)
        ax.text(
            1.44,
            KDIGO_G3A_THRESHOLD,
            "60 (G3a)",
            ha="right",
            va="bottom",
            fontsize=6.5,
            color="#666666",
        )
        ax.grid(axis="y", color="#eeeeee", linewidth=0.6)
        fig.subplots_adjust(left=0.15, right=0.97, top=0.9, bottom=0.1)
        return _render(fig, fmt)
