"""The patient page's eGFR trend: one line per equation and source, a numbered marker at each
intervention, the legend in words; drawn from the stored values, redrawn when they change.

The SVG keeps its text as text and names its parts (`gid`), so the tests read the picture
itself, not only the data it was drawn from.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from typing import Any

from renalpath.web.patient_plot import COMPUTED, REPORTED, egfr_plot, egfr_trend


def _labs(*values: float, equation: str = "ckd-epi-2021") -> list[dict[str, Any]]:
    return [
        {
            "date": f"2024-0{i + 1}-15",
            "test": "creatinine",
            "value": 1.0,
            "egfr": v,
            "egfr_equation": equation,
        }
        for i, v in enumerate(values)
    ]


def _reported(day: str, value: float, equation: str | None, comparator: str | None = None) -> Any:
    return {
        "date": day,
        "test": "egfr",
        "value": value,
        "equation": equation,
        "comparator": comparator,
        "egfr": None,
    }


IVS = [
    {"date": "2024-02-01", "type": "partial_nephrectomy", "side": "left"},
    {"date": "2024-04-20", "type": "cryoablation", "side": None},
]


def _svg(uri: str | None) -> str:
    assert uri is not None and uri.startswith("data:image/svg+xml;base64,")
    return base64.b64decode(uri.split(",", 1)[1]).decode("utf-8")


def test_no_egfr_means_no_plot() -> None:
    plot, data = egfr_trend([{"date": "2024-01-01", "test": "creatinine", "egfr": None}], IVS)
    assert plot is None and data.series == ()


def test_one_series_per_equation_and_source() -> None:
    labs = [
        *_labs(72.0, 55.5),
        *_labs(70.0, equation="mdrd"),
        _reported("2024-01-10", 75, "ckd-epi-2009"),
        _reported("2024-03-10", 60, "ckd-epi-2009"),
        _reported("2024-05-10", 58, None),
    ]
    data = egfr_plot(labs)
    keys = [(s.source, s.equation, len(s.points)) for s in data.series]
    assert keys == [
        (COMPUTED, "ckd-epi-2021", 2),
        (COMPUTED, "mdrd", 1),
        (REPORTED, "", 1),
        (REPORTED, "ckd-epi-2009", 2),
    ]
    labels = [s.label for s in data.series]
    assert labels[0] == "eGFR CKD-EPI 2021, computed from creatinine"
    assert labels[2] == "eGFR equation not stated, reported by the lab"
    assert labels[3] == "eGFR CKD-EPI 2009, reported by the lab"


def test_the_svg_has_a_line_and_a_legend_entry_per_series_in_words() -> None:
    labs = [*_labs(72.0, 55.5), _reported("2024-01-10", 75, "ckd-epi-2009")]
    svg = _svg(egfr_trend(labs)[0])
    for key in ("computed-ckd-epi-2021", "reported-ckd-epi-2009"):
        assert f'id="series-{key}"' in svg, key
    assert 'id="egfr-legend"' in svg
    legend = svg[svg.index('id="egfr-legend"') :]
    for words in (
        "eGFR CKD-EPI 2021, computed from creatinine",
        "eGFR CKD-EPI 2009, reported by the lab",
        "CKD G3a",
    ):
        assert words in legend, words
    assert "ckd-epi" not in re.sub(r'id="[^"]*"', "", svg)  # no equation code shown as text


def test_each_intervention_is_a_numbered_marker_at_its_date_named_in_the_legend() -> None:
    data = egfr_plot(_labs(72.0, 55.5, 50.0), IVS)
    assert [(m.number, m.date, m.label) for m in data.markers] == [
        (1, dt.date(2024, 2, 1), "Partial nephrectomy (left)"),
        (2, dt.date(2024, 4, 20), "Cryoablation"),
    ]
    svg = _svg(egfr_trend(_labs(72.0, 55.5, 50.0), IVS)[0])
    for n in (1, 2):
        assert f'id="intervention-{n}"' in svg and f'id="intervention-label-{n}"' in svg
    legend = svg[svg.index('id="egfr-legend"') :]
    assert "1: Partial nephrectomy (left), 2024-02-01" in legend
    assert "2: Cryoablation, 2024-04-20" in legend


def test_markers_are_vertical_lines_at_their_dates() -> None:
    # the two markers' x positions keep the dates' order and the spacing of the points
    svg = _svg(egfr_trend(_labs(72.0, 55.5, 50.0), IVS)[0])

    def xs(gid: str) -> set[float]:
        block = re.search(rf'<g id="{gid}">(.*?)</g>', svg, re.S)
        assert block is not None, gid
        path = re.search(r'd="M ([\d.]+) ([\d.]+)\s+L ([\d.]+) ([\d.]+)', block.group(1))
        assert path is not None, gid
        x0, y0, x1, y1 = map(float, path.groups())
        assert x0 == x1 and y0 != y1  # vertical
        return {x0}

    (first,) = xs("intervention-1")
    (second,) = xs("intervention-2")
    assert first < second


def test_interventions_without_egfr_draw_nothing() -> None:
    plot, data = egfr_trend([], IVS)
    assert plot is None and len(data.markers) == 2


def test_a_value_at_a_reporting_limit_keeps_its_comparator() -> None:
    data = egfr_plot([_reported("2024-01-10", 90, "ckd-epi-2021", ">")])
    assert data.series[0].points == ((dt.date(2024, 1, 10), 90.0, ">"),)


def test_a_corrected_value_gives_a_new_picture_and_a_repeat_view_the_same() -> None:
    # the cache must never serve the picture of the uncorrected value
    before, _ = egfr_trend(_labs(72.0, 55.5), IVS)
    again, _ = egfr_trend(_labs(72.0, 55.5), IVS)
    after, _ = egfr_trend(_labs(72.0, 35.5), IVS)
    moved, _ = egfr_trend(_labs(72.0, 55.5), IVS[:1])
    assert before == again
    assert before != after and before != moved


def test_rows_without_a_date_or_egfr_are_skipped_and_order_kept() -> None:
    labs = [
        *_labs(80.0, 70.0),
        {"date": "2024-03-01", "test": "creatinine", "egfr": None},
        {"date": "not a date", "egfr": 10.0},
    ]
    (series,) = egfr_plot(labs).series
    assert [p[1] for p in series.points] == [80.0, 70.0]
