"""IMDC: worked examples, vignettes V10/V12, ECOG mapping, refusals."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from renalpath.clinical.common import ClinicalInputError
from renalpath.clinical.prognosis import imdc

NORMAL_LABS: dict[str, Any] = {
    "hb_below_lln": False,
    "calcium_corrected_above_uln": False,
    "neutrophils_above_uln": False,
    "platelets_above_uln": False,
}
LAB_FIELDS = tuple(NORMAL_LABS)


def spec_group(score: int) -> str:
    # favourable 0; intermediate 1–2; poor 3–6 (IMDC, Heng 2009 [V])
    return "favourable" if score == 0 else "intermediate" if score <= 2 else "poor"


def test_example_1_favourable() -> None:
    result = imdc(kps=90, dx_to_systemic_days=3 * 365, **NORMAL_LABS)
    assert (result.score, result.group) == (0, "favourable")


def test_example_2_kps_80_is_not_below_80() -> None:
    result = imdc(kps=80, dx_to_systemic_days=60, **{**NORMAL_LABS, "hb_below_lln": True})
    assert (result.score, result.group) == (2, "intermediate")
    assert result.components["kps_lt_80"] == 0


def test_example_3_poor() -> None:
    result = imdc(
        kps=60,
        dx_to_systemic_days=30,
        hb_below_lln=True,
        calcium_corrected_above_uln=True,
        neutrophils_above_uln=True,
        platelets_above_uln=False,
    )
    assert (result.score, result.group) == (5, "poor")


def test_example_4_exactly_365_days_absent_364_present() -> None:
    assert imdc(kps=90, dx_to_systemic_days=365, **NORMAL_LABS).score == 0
    assert imdc(kps=90, dx_to_systemic_days=364, **NORMAL_LABS).score == 1


def test_kps_70_present() -> None:
    assert imdc(kps=70, dx_to_systemic_days=400, **NORMAL_LABS).components["kps_lt_80"] == 1


def test_v10_provisional_when_no_systemic_therapy_planned() -> None:
    result = imdc(kps=90, dx_to_systemic_days=None, systemic_planned=False, **NORMAL_LABS)
    assert (result.score, result.group) == (1, "intermediate")
    assert "imdc_provisional" in result.flags


def test_v12_poor() -> None:
    result = imdc(
        kps=60,
        dx_to_systemic_days=14,
        hb_below_lln=True,
        calcium_corrected_above_uln=True,
        neutrophils_above_uln=True,
        platelets_above_uln=False,
    )
    assert (result.score, result.group) == (5, "poor")


def test_ecog_0_and_2_map_to_kps() -> None:
    e0 = imdc(ecog=0, dx_to_systemic_days=400, **NORMAL_LABS)
    e2 = imdc(ecog=2, dx_to_systemic_days=400, **NORMAL_LABS)
    assert (e0.score, e2.score) == (0, 1)
    assert "ecog_mapped_to_kps" in e0.flags
    assert e0.score_alt is None


def test_ecog_1_indeterminate_gives_both_readings() -> None:
    result = imdc(ecog=1, dx_to_systemic_days=30, **{**NORMAL_LABS, "hb_below_lln": True})
    assert "kps_indeterminate" in result.flags
    assert (result.score, result.group) == (2, "intermediate")  # KPS ≥ 80
    assert (result.score_alt, result.group_alt) == (3, "poor")  # KPS < 80


def test_kps_wins_over_ecog_and_discordance_flagged() -> None:
    result = imdc(kps=60, ecog=0, dx_to_systemic_days=400, **NORMAL_LABS)
    assert result.score == 1
    assert "ecog_kps_discordant" in result.flags
    assert result.score_alt is None


@pytest.mark.parametrize(
    ("kwargs", "field", "text"),
    [
        ({"kps": 85}, "kps", "multiple"),
        ({"kps": 110}, "kps", "0–100"),
        ({"kps": 3}, "kps", "ECOG"),
        ({"kps": None, "ecog": 7}, "ecog", "0–4"),
        ({"kps": None}, "kps", "ECOG"),
        ({"dx_to_systemic_days": -1}, "dx_to_systemic_days", "negative"),
        ({"dx_to_systemic_days": None}, "dx_to_systemic_days", "required"),
        ({"dx_to_systemic_days": 10.5}, "dx_to_systemic_days", "whole"),
        ({"hb_below_lln": None}, "hb_below_lln", "never assumed normal"),
        ({"platelets_above_uln": "yes"}, "platelets_above_uln", "true or false"),
    ],
)
def test_refusals(kwargs: dict[str, Any], field: str, text: str) -> None:
    args: dict[str, Any] = {"kps": 90, "dx_to_systemic_days": 400, **NORMAL_LABS, **kwargs}
    with pytest.raises(ClinicalInputError) as err:
        imdc(**args)
    assert err.value.fields == (field,)
    assert text in str(err.value)


def test_all_missing_factors_named_together() -> None:
    with pytest.raises(ClinicalInputError) as err:
        imdc(
            dx_to_systemic_days=None,
            hb_below_lln=None,
            calcium_corrected_above_uln=None,
            neutrophils_above_uln=None,
            platelets_above_uln=None,
        )
    assert set(err.value.fields) == {"kps", "dx_to_systemic_days", *LAB_FIELDS}


factors = st.fixed_dictionaries({name: st.booleans() for name in LAB_FIELDS})


@given(st.integers(0, 10).map(lambda k: k * 10), st.integers(0, 5000), factors)
def test_score_in_range_and_matches_count(kps: int, days: int, labs: dict[str, bool]) -> None:
    result = imdc(kps=kps, dx_to_systemic_days=days, **labs)
    expected = (kps < 80) + (days < 365) + sum(labs.values())
    assert result.score == expected
    assert 0 <= expected <= 6
    assert result.group == spec_group(expected)


@given(st.integers(0, 10).map(lambda k: k * 10), st.integers(0, 5000), factors)
def test_monotone_in_each_factor(kps: int, days: int, labs: dict[str, bool]) -> None:
    base = imdc(kps=kps, dx_to_systemic_days=days, **labs).score
    assert base is not None
    assert (imdc(kps=max(kps - 10, 0), dx_to_systemic_days=days, **labs).score or 0) >= base
    assert (imdc(kps=kps, dx_to_systemic_days=days // 2, **labs).score or 0) >= base
    for name in LAB_FIELDS:
        worse = imdc(kps=kps, dx_to_systemic_days=days, **{**labs, name: True}).score
        assert (worse or 0) >= base


@given(
    st.sampled_from(["kps", "dx_to_systemic_days", *LAB_FIELDS]),
    st.one_of(st.none(), st.text(max_size=3), st.integers(-50, 200), st.floats()),
)
def test_every_refusal_names_its_field(field: str, bad: object) -> None:
    args: dict[str, Any] = {"kps": 90, "dx_to_systemic_days": 400, **NORMAL_LABS, field: bad}
    try:
        imdc(**args)
    except ClinicalInputError as err:
        assert err.fields == (field,)
        assert field in str(err)
