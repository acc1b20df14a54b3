"""Active-surveillance growth rate (linear growth rate, SRM-AS-P)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from renalpath.clinical.common import ClinicalInputError
from renalpath.clinical.growth import growth_rate


def test_b15_example_18_to_24_mm_over_10_months() -> None:
    # B15: 18 → 24 mm over 10 months (0.833 y) = 7.2 mm/y → ≥ 5 mm/y trigger fires.
    ten_months_days = 10 / 12 * 365.25
    r = growth_rate(18, 24, ten_months_days)
    assert r.mm_per_year == pytest.approx(7.2, abs=1e-9)
    assert r.fast_growth is True


def test_exactly_5_mm_per_year_is_fast() -> None:
    # SRM-AS-P: growth ≥ 5 mm/year [V AUA 2017]; 365.25 days/year [P].
    assert growth_rate(20, 25, 365.25).fast_growth is True
    assert growth_rate(20, 24.9, 365.25).fast_growth is False


def test_shrinking_mass_has_negative_rate() -> None:
    r = growth_rate(30, 27, 365.25)
    assert r.mm_per_year == pytest.approx(-3.0)
    assert r.fast_growth is False


def test_interval_under_180_days_refused() -> None:
    with pytest.raises(ClinicalInputError) as err:
        growth_rate(18, 24, 90)
    assert err.value.fields == ("interval_days",)
    assert "180" in str(err.value)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((0, 24, 365), "size1_mm"),
        ((18, 401, 365), "size2_mm"),
        ((18, 24, math.nan), "interval_days"),
        ((18, 24, None), "interval_days"),
        ((None, 24, 365), "size1_mm"),
    ],
)
def test_refusals_name_field(args: tuple[Any, ...], field: str) -> None:
    with pytest.raises(ClinicalInputError) as err:
        growth_rate(*args)
    assert err.value.fields == (field,)
    assert field in str(err.value)


@given(
    st.floats(min_value=1, max_value=400),
    st.floats(min_value=1, max_value=400),
    st.floats(min_value=180, max_value=20000),
)
def test_rate_sign_and_threshold(d1: float, d2: float, days: float) -> None:
    r = growth_rate(d1, d2, days)
    assert math.copysign(1, r.mm_per_year) == math.copysign(1, d2 - d1) or d1 == d2
    assert r.fast_growth == (r.mm_per_year >= 5.0)
    assert r.mm_per_year * days / 365.25 == pytest.approx(d2 - d1, abs=1e-9)
