"""Plot functions return valid images for normal, single-patient and empty inputs."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from renalpath.reports.inputs import AtRisk, KidneyPair, KmCurve, KmRow
from renalpath.reports.plots import axis_limit_months, egfr_slope_plot, km_plot

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _check(image: bytes, fmt: str) -> None:
    if fmt == "png":
        assert image.startswith(PNG_MAGIC)
        with Image.open(io.BytesIO(image)) as im:
            im.verify()
            assert im.size[0] > 300 and im.size[1] > 300
    else:
        head = image[:400]
        assert head.startswith(b"<?xml") and b"<svg" in image
        assert image.rstrip().endswith(b"</svg>")


CURVE = KmCurve(
    label="salvage",
    n=4,
    events=2,
    rows=(KmRow(30.0, 4, 1, 0.75, 0.43, 1.0), KmRow(800.0, 2, 1, 0.375, 0.1, 1.0)),
    at_risk=(AtRisk(0, 4), AtRisk(12, 3), AtRisk(24, 2), AtRisk(36, 1)),
    censor_days=(400.0, 1200.0),
    max_time_days=1200.0,
)
SINGLE = KmCurve("one", 1, 0, (), (AtRisk(0, 1), AtRisk(12, 0)), (200.0,), 200.0)
EMPTY = KmCurve("none", 0, 0)


@pytest.mark.parametrize("fmt", ["png", "svg"])
@pytest.mark.parametrize("curves", [[CURVE], [CURVE, SINGLE], [SINGLE], [EMPTY], []])
def test_km_plot_returns_an_image(curves: list[KmCurve], fmt: str) -> None:
    _check(km_plot(curves, fmt=fmt), fmt)  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["png", "svg"])
@pytest.mark.parametrize(
    "pairs",
    [
        [KidneyPair(str(i), 40.0 + i, 35.0 + i) for i in range(12)],
        [KidneyPair("1", 53.8, 46.6)],
        [KidneyPair("1", 53.8, None)],  # incomplete pair: nothing to draw, message instead
        [],
    ],
)
def test_egfr_slope_plot_returns_an_image(pairs: list[KidneyPair], fmt: str) -> None:
    _check(egfr_slope_plot(pairs, "mdrd", fmt=fmt), fmt)  # type: ignore[arg-type]


def test_svg_names_the_equation_and_is_deterministic() -> None:
    # Text is drawn as outlines, so check determinism rather than words in the SVG.
    a = egfr_slope_plot([KidneyPair("1", 50.0, 45.0)], "ckd-epi-2021", fmt="svg")
    b = egfr_slope_plot([KidneyPair("1", 50.0, 45.0)], "ckd-epi-2021", fmt="svg")
    c = egfr_slope_plot([KidneyPair("1", 50.0, 45.0)], "mdrd", fmt="svg")
    assert a == b
    assert a != c  # the title names the equation


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="fmt"):
        km_plot([CURVE], fmt="gif")  # type: ignore[arg-type]


def test_axis_is_cut_only_when_follow_up_is_unknown() -> None:
    assert axis_limit_months([CURVE]) is None  # max_time known: draw the whole curve
    json_only = KmCurve("j", 4, 2, CURVE.rows, (AtRisk(0, 4), AtRisk(12, 3)))
    assert axis_limit_months([json_only]) == 12  # an event at 800 d lies beyond 12 months
