"""Performance status: the conventional ECOG ↔ Karnofsky correspondence that is shown (never
scored), and the KPS < 80 factor.

Expected bands from the conventional table as printed in a respiratory guideline's table of
performance status scales and in clinical calculators (ECOG 0 = KPS 90–100, 1 = 70–80,
2 = 50–60, 3 = 30–40, 4 = 10–20), written out here independently of the module's table.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from renalpath.clinical.common import ClinicalInputError
from renalpath.clinical.performance_status import (
    ecog_equivalent,
    kps_equivalent,
    kps_factor,
)

CONVENTIONAL = {100: 0, 90: 0, 80: 1, 70: 1, 60: 2, 50: 2, 40: 3, 30: 3, 20: 4, 10: 4}


@pytest.mark.parametrize(("kps", "ecog"), sorted(CONVENTIONAL.items()))
def test_ecog_equivalent_of_each_karnofsky_step(kps: int, ecog: int) -> None:
    assert ecog_equivalent(kps) == ecog


def test_karnofsky_0_has_no_ecog_grade() -> None:
    assert ecog_equivalent(0) is None  # dead: ECOG 5 is not a status to score


@pytest.mark.parametrize(
    ("ecog", "band"), [(0, (90, 100)), (1, (70, 80)), (2, (50, 60)), (3, (30, 40)), (4, (10, 20))]
)
def test_karnofsky_band_of_each_ecog_grade(ecog: int, band: tuple[int, int]) -> None:
    assert kps_equivalent(ecog) == band


@pytest.mark.parametrize("bad", [85, 110, -10, 7.5, "80", True])
def test_equivalent_refuses_what_is_not_a_karnofsky_score(bad: object) -> None:
    with pytest.raises(ClinicalInputError):
        ecog_equivalent(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [5, -1, 1.5, None])
def test_equivalent_refuses_what_is_not_an_ecog_grade(bad: object) -> None:
    with pytest.raises(ClinicalInputError):
        kps_equivalent(bad)  # type: ignore[arg-type]


@given(st.sampled_from(range(10, 101, 10)))
def test_equivalents_are_inverse_bands(kps: int) -> None:
    ecog = ecog_equivalent(kps)
    assert ecog is not None
    low, high = kps_equivalent(ecog)
    assert low <= kps <= high


@given(st.sampled_from(range(0, 5)))
def test_the_factor_agrees_with_the_band_except_where_it_straddles_80(ecog: int) -> None:
    low, high = kps_equivalent(ecog)
    factor = kps_factor(None, ecog)
    if low < 80 <= high:  # ECOG 1 = KPS 70–80: both readings
        assert factor.present_alt is not None
    else:
        assert factor.present == (high < 80) and factor.present_alt is None
