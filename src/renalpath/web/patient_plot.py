"""The eGFR trend of one patient as an SVG, written directly.

One line per equation and source: an eGFR the registry computed from a creatinine, and an
eGFR the laboratory reported, are separate series, and so are the equations, because MDRD,
CKD-EPI 2009 and 2021 differ by several mL/min/1.73 m² at the same creatinine (MDRD: Levey
2006; CKD-EPI 2009: Levey 2009; CKD-EPI 2021: Inker 2021) — one line through values of
different equations would show a change that is only the equation's.  Each intervention is a
vertical marker at its date, numbered, and named in the legend.

The plot is built in two steps: `egfr_plot` gathers what is drawn (series, markers — the plot
data, which tests inspect), `trend_svg` draws it.  Text stays text in the SVG (legend and
labels are words a test and a search can read; the page repeats them in a caption).
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from renalpath.reports.plots import data_uri
from renalpath.web import labels

# KDIGO 2012 CKD guideline (Kidney Int Suppl 2013;3:1) [V]: eGFR < 60 mL/min/1.73 m² is
# category G3a or worse.
CKD_G3_THRESHOLD = 60.0
COMPUTED = "computed"
REPORTED = "reported"
# Colour-blind-safe colours (Okabe & Ito 2008), one per equation; computed eGFR is a solid
# line with circles, reported eGFR a dashed line with squares.
_COLOURS = {"ckd-epi-2021": "#0072B2", "ckd-epi-2009": "#D55E00", "mdrd": "#009E73"}
_OTHER_COLOURS = ("#CC79A7", "#E69F00", "#56B4E9", "#000000")
_MARKER_COLOUR = "#444444"


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


# The SVG is written directly (no plotting library): the picture is a few lines, points and
# words, and matplotlib took 50–250 ms per first view of a patient (most of the page's server
# time; bench/RESULTS.md), this takes well under a millisecond.  A repeat view of an unchanged
# record reuses the text; a corrected lab or a new intervention changes the plot data and so
# the key.  256 entries of some kB bound the memory.
@functools.lru_cache(maxsize=256)
def trend_svg(plot: EgfrPlot) -> str:
    return data_uri(_svg(plot).encode("utf-8"), "svg")


_W, _LEFT, _RIGHT, _TOP, _AXIS = 640.0, 58.0, 628.0, 22.0, 222.0
_FONT = 'font-family="DejaVu Sans, Verdana, Arial, sans-serif"'


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _nice_top(value: float) -> float:
    step = 10.0 if value <= 100 else 20.0
    return step * math.ceil(value / step)


def _date_ticks(first: dt.date, last: dt.date) -> list[tuple[dt.date, str]]:
    """Year starts (every k years), or month starts for a span under about three years."""
    span = (last - first).days
    if span > 3 * 365:
        years = range(first.year + 1, last.year + 1)
        k = max(1, math.ceil(len(years) / 8))
        return [(dt.date(y, 1, 1), str(y)) for y in years if (y - years[0]) % k == 0]
    months = []
    y, m = first.year, first.month
    while True:
        m += 1
        if m > 12:
            y, m = y + 1, 1
        day = dt.date(y, m, 1)
        if day > last:
            break
        months.append(day)
    k = max(1, math.ceil(len(months) / 8))
    return [(d, d.strftime("%Y-%m")) for i, d in enumerate(months) if i % k == 0]


def _svg(plot: EgfrPlot) -> str:
    days = [p[0] for s in plot.series for p in s.points] + [m.date for m in plot.markers]
    first, last = min(days), max(days)
    pad = max(15, (last - first).days // 30)
    first, last = first - dt.timedelta(days=pad), last + dt.timedelta(days=pad)
    span = float((last - first).days)
    top = _nice_top(max(max(p[1] for s in plot.series for p in s.points), CKD_G3_THRESHOLD) * 1.12)

    def x(day: dt.date) -> float:
        return _LEFT + (day - first).days / span * (_RIGHT - _LEFT)

    def y(value: float) -> float:
        return _AXIS - value / top * (_AXIS - _TOP)

    rows = len(plot.series) + len(plot.markers) + 1
    height = _AXIS + 48 + 18 * (rows + 1)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {_W:.0f} {height:.0f}" {_FONT} font-size="11">',
        "<title>eGFR over time</title>",
        f'<rect width="{_W:.0f}" height="{height:.0f}" fill="#ffffff"/>',
    ]
    step = 10.0 if top <= 100 else 20.0
    value = 0.0
    out.append('<g id="y-axis">')
    while value <= top + 1e-9:
        out.append(
            f'<path d="M {_LEFT:.2f} {y(value):.2f} L {_RIGHT:.2f} {y(value):.2f}" '
            'stroke="#eeeeee" stroke-width="1"/>'
            f'<text x="{_LEFT - 6:.2f}" y="{y(value) + 4:.2f}" text-anchor="end">{value:.0f}</text>'
        )
        value += step
    out.append(
        f'<text transform="translate(14 {(_TOP + _AXIS) / 2:.2f}) rotate(-90)" '
        'text-anchor="middle">eGFR (mL/min/1.73 m²)</text></g>'
    )
    out.append('<g id="x-axis">')
    out.append(
        f'<path d="M {_LEFT:.2f} {_AXIS:.2f} L {_RIGHT:.2f} {_AXIS:.2f}" stroke="#333333"/>'
        f'<path d="M {_LEFT:.2f} {_AXIS:.2f} L {_LEFT:.2f} {_TOP:.2f}" stroke="#333333"/>'
    )
    for day, label in _date_ticks(first, last):
        out.append(
            f'<path d="M {x(day):.2f} {_AXIS:.2f} L {x(day):.2f} {_AXIS + 4:.2f}" '
            f'stroke="#333333"/><text x="{x(day):.2f}" y="{_AXIS + 16:.2f}" '
            f'text-anchor="middle">{_esc(label)}</text>'
        )
    out.append("</g>")
    g3 = y(CKD_G3_THRESHOLD)
    out.append(
        f'<g id="ckd-g3a"><path d="M {_LEFT:.2f} {g3:.2f} L {_RIGHT:.2f} {g3:.2f}" '
        'stroke="#999999" stroke-dasharray="5 3" stroke-width="1"/></g>'
    )
    legend: list[tuple[str, str, str, str]] = []  # (colour, dash, marker, words)
    spare = list(_OTHER_COLOURS)
    for s in plot.series:
        colour = _colour(s.equation, spare)
        dash = "" if s.source == COMPUTED else "6 3"
        mark = "circle" if s.source == COMPUTED else "square"
        legend.append((colour, dash, mark, s.label))
        coords = [(x(p[0]), y(p[1]), p[2]) for p in s.points]
        line = " L ".join(f"{cx:.2f} {cy:.2f}" for cx, cy, _ in coords)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(
            f'<g id="series-{_esc(s.key)}"><path d="M {line}" fill="none" stroke="{colour}" '
            f'stroke-width="1.8"{dash_attr}/>'
        )
        for cx, cy, limit in coords:
            fill = "#ffffff" if limit else colour  # a reporting limit ("> 90"): hollow
            out.append(_mark(mark, cx, cy, colour, fill, 5.0 if limit else 3.2))
        out.append("</g>")
    for m in plot.markers:
        mx = x(m.date)
        out.append(
            f'<g id="intervention-{m.number}"><path d="M {mx:.2f} {_AXIS:.2f} L {mx:.2f} '
            f'{_TOP:.2f}" stroke="{_MARKER_COLOUR}" stroke-dasharray="1.5 2.5" '
            'stroke-width="1.2"/></g>'
            f'<g id="intervention-label-{m.number}"><text x="{mx + 3:.2f}" y="{_TOP + 10:.2f}" '
            f'font-weight="bold" fill="{_MARKER_COLOUR}">{m.number}</text></g>'
        )
        legend.append((_MARKER_COLOUR, "1.5 2.5", "", m.legend))
    legend.append(("#999999", "5 3", "", "60 mL/min/1.73 m²: CKD G3a and below (KDIGO)"))
    ly = _AXIS + 48
    out.append(f'<g id="egfr-legend"><text x="{_LEFT:.2f}" y="{ly:.2f}">Lines and markers</text>')
    for colour, dash, mark, words in legend:
        ly += 18
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(
            f'<path d="M {_LEFT:.2f} {ly - 4:.2f} L {_LEFT + 28:.2f} {ly - 4:.2f}" '
            f'stroke="{colour}" stroke-width="1.8"{dash_attr}/>'
        )
        if mark:
            out.append(_mark(mark, _LEFT + 14, ly - 4, colour, colour, 3.2))
        out.append(f'<text x="{_LEFT + 36:.2f}" y="{ly:.2f}">{_esc(words)}</text>')
    out.append("</g></svg>")
    return "".join(out)


def _mark(kind: str, cx: float, cy: float, stroke: str, fill: str, r: float) -> str:
    if kind == "circle":
        return f'<circle cx="{cx:.2f}" cy="{cy:.2f}" r="{r:.1f}" fill="{fill}" stroke="{stroke}"/>'
    return (
        f'<rect x="{cx - r:.2f}" y="{cy - r:.2f}" width="{2 * r:.2f}" height="{2 * r:.2f}" '
        f'fill="{fill}" stroke="{stroke}"/>'
    )
