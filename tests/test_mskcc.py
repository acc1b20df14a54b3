"""MSKCC 2002: worked examples, V12, refusals, properties."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from renalpath.clinical.calcium import above_mskcc_cutoff
from renalpath.clinical.common import ClinicalInputError
from renalpath.clinical.prognosis import corrected_calcium, mskcc

BOOL_FIELDS = ("ldh_above_1_5_uln", "hb_below_lln", "calcium_corrected_above_10_mg_dl")


def spec_group(score: int) -> str:
    return "favourable" if score == 0 else "intermediate" if score <= 2 else "poor"


def test_example_1_favourable() -> None:
    # KPS 90, LDH 1.2×ULN, Hb normal, Ca_corr 9.6, 2 years
    result = mskcc(
        kps=90,
        ldh_above_1_5_uln=1.2 > 1.5,
        hb_below_lln=False,
        calcium_corrected_above_10_mg_dl=above_mskcc_cutoff(9.6),
        dx_to_systemic_days=2 * 365,
    )
    assert (result.score, result.group) == (0, "favourable")


def test_example_2_poor() -> None:
    # KPS 70, LDH 1.6×ULN, Hb normal, Ca_corr 9.0, 3 months
    result = mskcc(
        kps=70,
        ldh_above_1_5_uln=1.6 > 1.5,
        hb_below_lln=False,
        calcium_corrected_above_10_mg_dl=above_mskcc_cutoff(9.0),
        dx_to_systemic_days=90,
    )
    assert (result.score, result.group) == (3, "poor")


def test_example_3_corrected_calcium_makes_intermediate() -> None:
    ca = corrected_calcium(9.8, 3.0)
    assert ca == pytest.approx(10.6)
    result = mskcc(
        kps=80,
        ldh_above_1_5_uln=False,
        hb_below_lln=True,
        calcium_corrected_above_10_mg_dl=above_mskcc_cutoff(ca),
        dx_to_systemic_days=5 * 365,
    )
    assert (result.score, result.group) == (2, "intermediate")


def test_v12_poor_4() -> None:
    # KPS 60, Hb low, Ca > 10, 2 weeks, LDH 1.2×ULN → 4 (poor)
    result = mskcc(
        kps=60,
        ldh_above_1_5_uln=False,
        hb_below_lln=True,
        calcium_corrected_above_10_mg_dl=True,
        dx_to_systemic_days=14,
    )
    assert (result.score, result.group) == (4, "poor")


def test_version_2002_labelled() -> None:
    result = mskcc(
        kps=90,
        ldh_above_1_5_uln=False,
        hb_below_lln=False,
        calcium_corrected_above_10_mg_dl=False,
        dx_to_systemic_days=400,
    )
    assert result.calculator_id == "mskcc-2002"
    assert result.version == "2002"
    assert "2002" in result.band


def test_ecog_1_both_readings() -> None:
    result = mskcc(
        ecog=1,
        ldh_above_1_5_uln=True,
        hb_below_lln=True,
        calcium_corrected_above_10_mg_dl=False,
        dx_to_systemic_days=400,
    )
    assert (result.score, result.group, result.score_alt, result.group_alt) == (
        2,
        "intermediate",
        3,
        "poor",
    )
    assert "kps_indeterminate" in result.flags


def test_missing_factors_named() -> None:
    with pytest.raises(ClinicalInputError) as err:
        mskcc(
            kps=90,
            ldh_above_1_5_uln=None,
            hb_below_lln=False,
            calcium_corrected_above_10_mg_dl=None,
            dx_to_systemic_days=None,
        )
    assert set(err.value.fields) == {
        "ldh_above_1_5_uln",
        "calcium_corrected_above_10_mg_dl",
        "dx_to_systemic_days",
    }


labs = st.fixed_dictionaries({name: st.booleans() for name in BOOL_FIELDS})


@given(st.integers(0, 10).map(lambda k: k * 10), st.integers(0, 5000), labs)
def test_range_and_count(kps: int, days: int, flags: dict[str, bool]) -> None:
    result = mskcc(kps=kps, dx_to_systemic_days=days, **flags)
    expected = (kps < 80) + (days < 365) + sum(flags.values())
    assert result.score == expected
    assert 0 <= expected <= 5
    assert result.group == spec_group(expected)


@given(st.integers(0, 10).map(lambda k: k * 10), st.integers(0, 5000), labs)
def test_monotone(kps: int, days: int, flags: dict[str, bool]) -> None:
    base = mskcc(kps=kps, dx_to_systemic_days=days, **flags).score or 0
    assert (mskcc(kps=max(0, kps - 10), dx_to_systemic_days=days, **flags).score or 0) >= base
    assert (mskcc(kps=kps, dx_to_systemic_days=days // 3, **flags).score or 0) >= base
    for name in BOOL_FIELDS:
        worse = mskcc(kps=kps, dx_to_systemic_days=days, **{**flags, name: True}).score
        assert (worse or 0) >= base


@given(
    st.sampled_from(["kps", "dx_to_systemic_days", *BOOL_FIELDS]),
    st.one_of(st.none(), st.text(max_size=3), st.integers(-50, 200), st.floats()),
)
def test_every_refusal_names_its_field(field: str, bad: object) -> None:
    args: dict[str, Any] = {
        "kps": 90,
        "dx_to_systemic_days": 400,
        **dict.fromkeys(BOOL_FIELDS, False),
        field: bad,
    }
    try:
        mskcc(**args)
    except ClinicalInputError as err:
        assert err.fields == (field,)
