"""The patient page's eGFR trend: drawn from the stored values, redrawn when they change."""

from __future__ import annotations

import base64
from typing import Any

from renalpath.web.patient_plot import egfr_points, egfr_trend_png


def _labs(*values: float) -> list[dict[str, Any]]:
    return [
        {"date": f"2024-0{i + 1}-15", "egfr": v, "egfr_equation": "ckd_epi_2021"}
        for i, v in enumerate(values)
    ]


def test_no_egfr_means_no_plot() -> None:
    plot, equations = egfr_trend_png([{"date": "2024-01-01", "egfr": None}])
    assert plot is None
    assert equations == []


def test_plot_is_a_png_and_names_the_equation() -> None:
    plot, equations = egfr_trend_png(_labs(72.0, 55.5))
    assert equations == ["ckd_epi_2021"]
    assert plot is not None and plot.startswith("data:image/png;base64,")
    assert base64.b64decode(plot.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_corrected_value_gives_a_new_picture_and_a_repeat_view_the_same() -> None:
    # the cache must never serve the picture of the uncorrected value
    before, _ = egfr_trend_png(_labs(72.0, 55.5))
    again, _ = egfr_trend_png(_labs(72.0, 55.5))
    after, _ = egfr_trend_png(_labs(72.0, 35.5))
    assert before == again
    assert before != after


def test_points_skip_rows_without_egfr_and_keep_order() -> None:
    labs = [*_labs(80.0), {"date": "2024-03-01", "egfr": None}, *_labs(70.0)]
    points, _ = egfr_points(labs)
    assert [p[1] for p in points] == [80.0, 70.0]
