"""KDIGO G categories on eGFR rounded half-up."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from renalpath.clinical.ckd import ckd_stage, round_half_up
from renalpath.clinical.common import ClinicalInputError


# KDIGO 2012 G categories examples, verbatim.
@pytest.mark.parametrize(
    ("egfr", "stage"),
    [
        (53.21, "G3a"),
        (75.499, "G2"),
        (33.01, "G3b"),
        (59.6, "G2"),
        (59.4, "G3a"),
        (44.5, "G3a"),
        (14.6, "G4"),
        (14.4, "G5"),
    ],
)
def test_b5_examples(egfr: float, stage: str) -> None:
    assert ckd_stage(egfr) == stage


@pytest.mark.parametrize(
    ("egfr", "stage"),
    [(90, "G1"), (89.49, "G2"), (60, "G2"), (45, "G3a"), (30, "G3b"), (29.5, "G3b"), (15, "G4")],
)
def test_kdigo_boundaries(egfr: float, stage: str) -> None:
    # KDIGO 2012 table (B5): G1 ≥ 90, G2 60–89, G3a 45–59, G3b 30–44, G4 15–29, G5 < 15.
    assert ckd_stage(egfr) == stage


def test_zero_is_g5() -> None:
    assert ckd_stage(0.0) == "G5"


@pytest.mark.parametrize(
    ("x", "expected"), [(44.5, 45), (0.5, 1), (2.5, 3), (14.5, 15), (59.5, 60)]
)
def test_round_half_up_is_not_bankers(x: float, expected: int) -> None:
    # Python's round(2.5) == 2 and round(44.5) == 44; laboratories round halves up.
    assert round_half_up(x) == expected


def test_round_half_up_below_half() -> None:
    assert round_half_up(44.49999999) == 44
    assert round_half_up(0.49999999999999994) == 0  # floor(x + 0.5) would give 1


@pytest.mark.parametrize("bad", [-0.1, math.nan, math.inf, None, "60"])
def test_bad_egfr_refused(bad: object) -> None:
    with pytest.raises(ClinicalInputError) as err:
        ckd_stage(bad)  # type: ignore[arg-type]
    assert err.value.fields == ("egfr",)
    assert "egfr" in str(err.value)


_ORDER = ("G5", "G4", "G3b", "G3a", "G2", "G1")


@given(st.floats(0, 300), st.floats(0, 300))
def test_stage_never_worsens_as_egfr_rises(a: float, b: float) -> None:
    lo, hi = sorted((a, b))
    assert _ORDER.index(ckd_stage(lo)) <= _ORDER.index(ckd_stage(hi))


@given(st.floats(0, 1e6, allow_nan=False))
def test_round_half_up_within_half(x: float) -> None:
    assert abs(round_half_up(x) - x) <= 0.5
