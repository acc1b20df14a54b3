"""The eGFR trend of one patient as a PNG (matplotlib Agg, no pyplot state).

Only values the registry stored with their equation are drawn; the equation is named in the
title because MDRD, CKD-EPI 2009 and 2021 differ by several mL/min/1.73 m² at the same
creatinine (MDRD: Levey 2006; CKD-EPI 2009: Levey 2009; CKD-EPI 2021: Inker 2021).
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from collections.abc import Sequence
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from renalpath.reports.plots import EQUATION_LABEL, data_uri

# KDIGO 2012 CKD guideline (Kidney Int Suppl 2013;3:1) [V]: eGFR < 60 mL/min/1.73 m² is
# category G3a or worse.
CKD_G3_THRESHOLD = 60.0
_EPOCH = dt.date(1970, 1, 1).toordinal()


def egfr_points(labs: Sequence[dict[str, Any]]) -> tuple[list[tuple[dt.date, float]], list[str]]:
    """(date, eGFR) of creatinine rows with a derived eGFR, and the equations among them."""
    points: list[tuple[dt.date, float]] = []
    equations: list[str] = []
    for lab in labs:
        if lab.get("egfr") is None:
            continue
        points.append((dt.date.fromisoformat(str(lab["date"])), float(lab["egfr"])))
        eq = str(lab.get("egfr_equation") or "")
        if eq and eq not in equations:
            equations.append(eq)
    return points, equations


def egfr_trend_png(labs: Sequence[dict[str, Any]]) -> tuple[str | None, list[str]]:
    """A data: URI of the trend (None when there is no eGFR) and the equations named."""
    points, equations = egfr_points(labs)
    if not points:
        return None, equations
    return _trend_uri(tuple(points), tuple(equations)), equations


# Drawing costs tens of milliseconds, most of a patient page's server time; the picture is a
# pure function of the points, so repeat views of an unchanged record reuse it. A corrected
# lab changes the points and therefore the key. 256 PNGs of ~20 kB bound the memory.
@functools.lru_cache(maxsize=256)
def _trend_uri(points: tuple[tuple[dt.date, float], ...], equations: tuple[str, ...]) -> str:
    fig = Figure(figsize=(6.4, 2.8))
    ax = fig.add_subplot(1, 1, 1)
    # matplotlib's date axis counts days since its epoch, 1970-01-01
    dates = [float(p[0].toordinal() - _EPOCH) for p in points]
    ax.plot(dates, [p[1] for p in points], marker="o", color="#1f5f8b")
    ax.xaxis_date()
    ax.axhline(CKD_G3_THRESHOLD, color="#999999", linestyle="--", linewidth=0.8)
    ax.set_ylabel("eGFR (mL/min/1.73 m²)")
    names = ", ".join(EQUATION_LABEL.get(e, e) for e in equations)
    ax.set_title(f"eGFR by {names}", fontsize=9, loc="left")
    ax.set_ylim(bottom=0)
    fig.autofmt_xdate()
    # fixed margins that fit the rotated date labels: tight_layout would draw the figure an
    # extra time to measure them (about a third of the drawing time)
    fig.subplots_adjust(left=0.1, right=0.98, top=0.9, bottom=0.25)
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return data_uri(buf.getvalue(), "png")
