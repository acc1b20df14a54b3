"""Mirels: worked examples, group cut-offs, range and monotonicity."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from renalpath.clinical.common import ClinicalInputError
from renalpath.clinical.mirels import mirels

# Ordered categories, 1–3 points each, typed in from Mirels 1989.
SITES = ("upper_limb", "lower_limb", "peritrochanteric")
PAINS = ("mild", "moderate", "functional")
LESIONS = ("blastic", "mixed", "lytic")
FRACTIONS = ("lt_1_3", "1_3_to_2_3", "gt_2_3")
FIELDS = ("site", "pain", "lesion", "cortical_fraction")
ORDERS = dict(zip(FIELDS, (SITES, PAINS, LESIONS, FRACTIONS), strict=True))


def spec_group(score: int) -> str:
    if score >= 9:
        return "prophylactic_fixation"
    return "clinical_judgement" if score == 8 else "radiotherapy_or_observation"


@pytest.mark.parametrize(
    ("args", "score", "group"),
    [
        (("peritrochanteric", "functional", "lytic", "gt_2_3"), 12, "prophylactic_fixation"),
        (("upper_limb", "mild", "mixed", "1_3_to_2_3"), 6, "radiotherapy_or_observation"),
        (("lower_limb", "moderate", "lytic", "lt_1_3"), 8, "clinical_judgement"),
    ],
)
def test_worked_examples(args: tuple[str, str, str, str], score: int, group: str) -> None:
    result = mirels(*args)
    assert (result.score, result.group) == (score, group)


def test_group_boundaries_9_8_7() -> None:
    assert mirels("lower_limb", "moderate", "lytic", "1_3_to_2_3").group == "prophylactic_fixation"
    assert mirels("lower_limb", "moderate", "mixed", "1_3_to_2_3").group == "clinical_judgement"
    assert mirels("lower_limb", "moderate", "mixed", "lt_1_3").group == (
        "radiotherapy_or_observation"
    )


def test_humerus_caution_in_notes() -> None:
    assert any("8" in note for note in mirels("upper_limb", "mild", "mixed", "lt_1_3").notes)


def test_refusal_names_every_bad_field() -> None:
    with pytest.raises(ClinicalInputError) as err:
        mirels("spine", "severe", "lytic", None)
    assert set(err.value.fields) == {"site", "pain", "cortical_fraction"}
    assert "peritrochanteric" in str(err.value)


choices = st.tuples(*(st.integers(0, 2) for _ in FIELDS))


@given(choices)
def test_range_and_points(idx: tuple[int, int, int, int]) -> None:
    args = [ORDERS[f][i] for f, i in zip(FIELDS, idx, strict=True)]
    result = mirels(*args)
    expected = sum(i + 1 for i in idx)
    assert result.score == expected
    assert 4 <= expected <= 12
    assert result.group == spec_group(expected)


@given(choices, st.sampled_from(FIELDS))
def test_monotone_in_each_factor(idx: tuple[int, int, int, int], field: str) -> None:
    args = dict(zip(FIELDS, (ORDERS[f][i] for f, i in zip(FIELDS, idx, strict=True)), strict=True))
    base = mirels(**args).score or 0
    pos = ORDERS[field].index(args[field])
    if pos < 2:
        worse = mirels(**{**args, field: ORDERS[field][pos + 1]}).score or 0
        assert worse == base + 1


@given(st.sampled_from(FIELDS), st.one_of(st.none(), st.text(max_size=6), st.integers()))
def test_every_refusal_names_its_field(field: str, bad: object) -> None:
    args: dict[str, object] = {
        "site": "lower_limb",
        "pain": "mild",
        "lesion": "mixed",
        "cortical_fraction": "lt_1_3",
        field: bad,
    }
    try:
        mirels(**args)  # type: ignore[arg-type]
    except ClinicalInputError as err:
        assert err.fields == (field,)
