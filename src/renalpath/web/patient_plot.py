"""The eGFR trend of one patient as an SVG (matplotlib Agg, no pyplot state).

One line per equation and source: an eGFR the registry computed from a creatinine, and an
eGFR the laboratory reported, are separate series, and so are the equations, because MDRD,
CKD-EPI 2009 and 2021 differ by several mL/min/1.73 m² at the same creatinine (MDRD: Levey
2006; CKD-EPI 2009: Levey 2009; CKD-EPI 2021: Inker 2021) — one line through values of
different equations would show a change that is only the equation's.  Each intervention is a
vertical marker at its date, numbered, and named in the legend.

The plot is built in two steps: `egfr_plot` gathers what is drawn (series, markers — the plot
data, which tests inspect), `trend_svg` draws it.  Text stays text in the SVG (legend and
labels are words a test, a screen reader's caption and a search can read).
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from renalpath.reports.plots import data_uri
from renalpath.web import labels

# KDIGO 2012 CKD guideline (Kidney Int Suppl 2013;3:1) [V]: eGFR < 60 mL/min/1.73 m² is
# category G3a or worse.
CKD_G3_THRESHOLD = 60.0
_EPOCH = dt.date(1970, 1, 1).toordinal()
COMPUTED = "computed"
REPORTED = "reported"
# Colour-blind-safe colours (Okabe & Ito 2008), one per equation; computed eGFR is a solid
# line with circles, reported eGFR a dashed line with squares.
_COLOURS = {"ckd-epi-2021": "#0072B2", "ckd-epi-2009": "#D55E00", "mdrd": "#009E73"}
_OTHER_COLOURS = ("#CC79A7", "#E69F00", "#56B4E9", "#000000")
_MARKER_COLOUR = "#444444"
_RC: dict[Any, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "renalpath",  # stable ids: the same data gives the same bytes
    "svg.fonttype": "none",  # text stays text
}


@dataclass(frozen=True)
class Series:
    """One line: the eGFR values of one equation from one source, in date order."""

    source: str  # COMPUTED (from a creatinine, by the registry) or REPORTED (by the lab)
    equation: str  # the equation's code, "" when the laboratory did not state it
    points: tuple[tuple[dt.date, float, str], ...]  # (date, value, comparator or "")

    @property
    def label(self) -> str:
        eq = labels.equation(self.equation) if self.equation else "equation not stated"
        how = "computed from creatinine" if self.source == COMPUTED else "reported by the lab"
        return f"eGFR {eq}, {how}"

    @property
    def key(self) -> str:
        return f"{self.source}-{self.equation or 'unstated'}"


@dataclass(frozen=True)
class Marker:
    """An intervention: a numbered vertical line at its date."""

    number: int
    date: dt.date
    label: str  # in words, e.g. "Partial nephrectomy (left)"

    @property
    def legend(self) -> str:
        return f"{self.number}: {self.label}, {self.date.isoformat()}"


@dataclass(frozen=True)
class EgfrPlot:
    series: tuple[Series, ...]
    markers: tuple[Marker, ...]

    @property
    def equations(self) -> list[str]:
        return list(dict.fromkeys(s.equation for s in self.series if s.equation))


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def egfr_plot(
    labs: Sequence[dict[str, Any]], interventions: Sequence[dict[str, Any]] = ()
) -> EgfrPlot:
    """What the trend shows: a series per (source, equation), a marker per intervention."""
    grouped: dict[tuple[str, str], list[tuple[dt.date, float, str]]] = {}
    for lab in labs:
        day = _date(lab.get("date"))
        if day is None:
            continue
        if lab.get("egfr") is not None:
            key = (COMPUTED, str(lab.get("egfr_equation") or ""))
            grouped.setdefault(key, []).append((day, float(lab["egfr"]), ""))
        if lab.get("test") == "egfr" and lab.get("value") is not None:
            key = (REPORTED, str(lab.get("equation") or ""))
            point = (day, float(lab["value"]), str(lab.get("comparator") or ""))
            grouped.setdefault(key, []).append(point)
    series = tuple(
        Series(source, equation, tuple(sorted(points)))
        for (source, equation), points in sorted(
            grouped.items(), key=lambda kv: (kv[0][0] != COMPUTED, kv[0][1])
        )
    )
    dated = [(d, iv) for iv in interventions if (d := _date(iv.get("date"))) is not None]
    dated.sort(key=lambda t: t[0])
    markers = tuple(
        Marker(n, day, _intervention_words(iv)) for n, (day, iv) in enumerate(dated, start=1)
    )
    return EgfrPlot(series, markers)


def _intervention_words(iv: dict[str, Any]) -> str:
    text = labels.option(str(iv.get("type") or "other"))
    return f"{text} ({iv['side']})" if iv.get("side") else text


def egfr_trend(
    labs: Sequence[dict[str, Any]], interventions: Sequence[dict[str, Any]] = ()
) -> tuple[str | None, EgfrPlot]:
    """A data: URI of the trend (None when there is no eGFR to draw) and its plot data."""
    plot = egfr_plot(labs, interventions)
    if not plot.series:
        return None, plot
    return trend_svg(plot), plot


def _colour(equation: str, spare: list[str]) -> str:
    if equation in _COLOURS:
        return _COLOURS[equation]
    return spare.pop(0) if spare else _MARKER_COLOUR


# Drawing costs tens of milliseconds, most of a patient page's server time; the picture is a
# pure function of the plot data, so repeat views of an unchanged record reuse it.  A corrected
# lab or a new intervention changes the data and therefore the key.  256 SVGs of some tens of
# kB bound the memory.
@functools.lru_cache(maxsize=256)
def trend_svg(plot: EgfrPlot) -> str:
    with rc_context(_RC):
        return _draw(plot)


def _draw(plot: EgfrPlot) -> str:
    legend_rows = len(plot.series) + len(plot.markers) + 1
    height = 2.9 + 0.16 * legend_rows  # the legend sits under the axes, one row per entry
    fig = Figure(figsize=(6.4, height))
    bottom = (0.55 + 0.16 * legend_rows) / height
    fig.subplots_adjust(left=0.1, right=0.98, top=1 - 0.35 / height, bottom=bottom)
    ax = fig.add_subplot(1, 1, 1)
    spare = [c for c in _OTHER_COLOURS]
    handles = []
    for s in plot.series:
        colour = _colour(s.equation, spare)
        days = [float(p[0].toordinal() - _EPOCH) for p in s.points]
        values = [p[1] for p in s.points]
        style = "-" if s.source == COMPUTED else "--"
        mark = "o" if s.source == COMPUTED else "s"
        (line,) = ax.plot(
            days, values, linestyle=style, marker=mark, markersize=4, color=colour, label=s.label
        )
        line.set_gid(f"series-{s.key}")
        handles.append(line)
        limited = [(d, p[1]) for d, p in zip(days, s.points, strict=True) if p[2]]
        if limited:  # a value at a reporting limit ("> 90"): hollow, drawn at the limit
            ax.plot(
                [d for d, _ in limited], [v for _, v in limited], linestyle="none", marker=mark,
                markersize=7, markerfacecolor="white", color=colour,
            )  # fmt: skip
    for m in plot.markers:
        x = float(m.date.toordinal() - _EPOCH)
        vline = ax.axvline(x, color=_MARKER_COLOUR, linestyle=":", linewidth=1.0, label=m.legend)
        vline.set_gid(f"intervention-{m.number}")
        handles.append(vline)
        ax.annotate(
            str(m.number), xy=(x, 1.0), xycoords=("data", "axes fraction"), xytext=(2, -2),
            textcoords="offset points", va="top", fontsize=7.5, color=_MARKER_COLOUR,
            fontweight="bold", gid=f"intervention-label-{m.number}",
        )  # fmt: skip
    threshold = ax.axhline(
        CKD_G3_THRESHOLD, color="#999999", linestyle="--", linewidth=0.8,
        label="60 mL/min/1.73 m²: CKD G3a and below (KDIGO)",
    )  # fmt: skip
    handles.append(threshold)
    ax.xaxis_date()
    ax.set_ylabel("eGFR (mL/min/1.73 m²)")
    highest = max(max(p[1] for s in plot.series for p in s.points), CKD_G3_THRESHOLD)
    ax.set_ylim(0, highest * 1.12)  # room above the highest value and the 60 line
    for tick in ax.get_xticklabels():
        tick.set_rotation(30)
        tick.set_horizontalalignment("right")
    legend = fig.legend(
        handles=handles, loc="lower left", bbox_to_anchor=(0.02, 0.01), frameon=False,
        fontsize=7.5, ncols=1, title="Lines and markers", title_fontsize=7.5, alignment="left",
    )  # fmt: skip
    legend.set_gid("egfr-legend")
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    return data_uri(buf.getvalue(), "svg")
