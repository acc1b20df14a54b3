"""Patient labels on the eGFR plot never overlap and stay next to their points."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from renalpath.reports.inputs import KidneyPair
from renalpath.reports.plots import egfr_slope_plot, label_positions


@given(
    st.lists(st.floats(min_value=0, max_value=150, allow_nan=False), min_size=1, max_size=20),
    st.floats(min_value=0.1, max_value=10),
)
def test_labels_keep_their_gap_and_order(values: list[float], gap: float) -> None:
    ys = label_positions(values, gap)
    assert len(ys) == len(values)
    ranked = sorted(range(len(values)), key=lambda i: (values[i], i))
    placed = [ys[i] for i in ranked]
    assert all(b - a >= gap - 1e-9 for a, b in itertools.pairwise(placed))
    # no label drifts further than the whole stack could need
    assert all(abs(y - v) <= gap * len(values) + 1e-9 for y, v in zip(ys, values, strict=True))


def test_identical_values_are_spread() -> None:
    assert label_positions([50.0, 50.0, 50.0], 2.0) == [48.0, 50.0, 52.0]


def test_plot_with_crowded_labels_renders() -> None:
    pairs = tuple(KidneyPair(str(i), 70.0, 55.0 + 0.1 * i) for i in range(1, 12))
    assert egfr_slope_plot(pairs, "mdrd").startswith(b"\x89PNG")
