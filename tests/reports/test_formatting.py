"""Journal-style number formatting (NEJM/AMA conventions: p to 2 dp, 3 dp below 0.01)."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from renalpath.reports import formatting as f


def test_p_values_follow_journal_style() -> None:
    assert f.p_value(0.0312) == "0.03"
    assert f.p_value(0.0046) == "0.005"
    assert f.p_value(0.0004) == "< 0.001"
    assert f.p_value(0.5) == "0.50"
    assert f.p_value(1.0) == "1.00"
    # 0.0496 must not print as "0.05" (it would read as not significant at 5%).
    assert f.p_value(0.0496) == "0.050"
    assert f.p_value(None) == f.DASH
    assert f.p_value(math.nan) == f.DASH


def test_p_phrase_has_one_relation_sign() -> None:
    assert f.p_phrase(0.0001) == "p < 0.001"
    assert f.p_phrase(0.2) == "p = 0.20"


def test_means_counts_ranges() -> None:
    assert f.num(17.44) == "17.4"
    assert f.num(-7.25) == "−7.2"  # banker's-free: 7.25 stored as 7.2499… in binary
    assert f.num(-0.04) == "0.0"  # no "−0.0"
    assert f.num(None) == f.DASH
    assert f.n_pct(11, 13) == "11 (85%)"  # 84.6 %
    assert f.n_pct(13, 839, 1) == "13 (1.5%)"  # 1.549 %
    assert f.n_pct(0, 0) == f"0 ({f.DASH})"
    assert f.mean_sd(64.0, 8.24) == "64.0 ± 8.2"
    assert f.mean_sd(64.0, None) == f"64.0 ± {f.DASH}"
    assert f.value_range(3.5, 88) == "3.5–88.0"
    assert f.value_range(None, 88) == f.DASH
    assert f.estimate_ci(0.923, 0.789, 1.0) == "92% (79–100)"
    assert f.estimate_ci(None, None, None) == f.DASH


@given(st.floats(min_value=0.0, max_value=1.0, allow_nan=False))
def test_p_value_text_is_never_below_the_true_value_class(p: float) -> None:
    text = f.p_value(p)
    if text.startswith("<"):
        assert p < 0.001
    else:
        shown = float(text)
        # Rounding moves at most half a unit in the last place shown.
        assert abs(shown - p) <= 0.005 + 1e-12
        assert not (p < 0.05 <= shown and text == "0.05")
