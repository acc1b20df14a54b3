"""Clavien–Dindo: worked examples, parse/format round trip, ranking."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from renalpath.clinical.clavien_dindo import (
    GRADES,
    REQUIRED,
    ClavienGrade,
    classify,
    grade_rank,
    highest,
    is_major,
    parse_grade,
)
from renalpath.clinical.common import ClinicalInputError


def test_grades_constant_matches_contract() -> None:
    assert GRADES == ("I", "II", "IIIa", "IIIb", "IVa", "IVb", "V")


@pytest.mark.parametrize(
    ("required", "disability", "label"),
    [
        ("allowed_regimens", False, "I"),  # (1) ileus managed with antiemetics
        ("transfusion", False, "II"),  # (2) two units transfused after PN
        ("intervention_local", False, "IIIa"),  # (3) urinoma drained percutaneously, local
        ("intervention_general_anaesthesia", False, "IIIb"),  # (3) ureteric stent under GA
        ("dialysis_unexpected", False, "IVa"),  # (4) ICU dialysis, dialysis-free at discharge
        ("icu_single_organ", False, "IVa"),
        ("dialysis_unexpected", True, "IVa-d"),  # (4) still on dialysis at discharge
        ("death", False, "V"),  # (5) death from haemorrhage
    ],
)
def test_worked_examples(required: str, disability: bool, label: str) -> None:
    assert classify(required, disability).label == label


@pytest.mark.parametrize(
    ("required", "grade"),
    [
        ("none", "I"),
        ("bedside_wound_opening", "I"),
        ("drugs", "II"),
        ("parenteral_nutrition", "II"),
        ("icu_multi_organ", "IVb"),
    ],
)
def test_other_required_categories(required: str, grade: str) -> None:
    assert classify(required).grade == grade


def test_every_required_value_maps_to_a_grade() -> None:
    assert {g for g, _ in REQUIRED.values()} == set(GRADES)


@pytest.mark.parametrize("grade", GRADES)
@pytest.mark.parametrize("suffix", ["", "-d"])
def test_round_trip(grade: str, suffix: str) -> None:
    text = grade + suffix
    if text == "V-d":  # death cannot carry "disability at discharge"
        with pytest.raises(ClinicalInputError):
            parse_grade(text)
        return
    parsed = parse_grade(text)
    assert str(parsed) == text
    assert parsed == ClavienGrade(grade, suffix == "-d")
    assert str(parse_grade(text.lower())) == text
    assert str(parse_grade(f"  {text.upper()} ")) == text


@pytest.mark.parametrize("grade", GRADES)
def test_is_major_exactly_iiia_and_worse(grade: str) -> None:
    expected = grade in ("IIIa", "IIIb", "IVa", "IVb", "V")
    assert is_major(grade) is expected
    if grade != "V":
        assert is_major(grade + "-d") is expected
    assert classify(next(k for k, (g, _) in REQUIRED.items() if g == grade)).is_major is expected


def test_rank_orders_grades() -> None:
    assert [grade_rank(g) for g in GRADES] == [1, 2, 3, 4, 5, 6, 7]
    assert grade_rank("IVa-d") == grade_rank("IVa")


def test_highest_grade_per_episode() -> None:
    top = highest(["II", "IIIb", "I", "IIIa-d"])
    assert top is not None and str(top) == "IIIb"
    top = highest(["IIIb", "IIIb-d"])
    assert top is not None and str(top) == "IIIb-d"
    assert highest([]) is None


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("III", "IIIa"),
        ("IV", "IVa"),
        ("VI", None),
        ("Ia", None),
        ("3a", None),
        ("", None),
        ("V-d", "death"),
    ],
)
def test_bad_grades_refused(text: str, hint: str | None) -> None:
    with pytest.raises(ClinicalInputError) as err:
        parse_grade(text)
    assert err.value.fields == ("grade",)
    if hint:
        assert hint in str(err.value)


def test_classify_refusals() -> None:
    with pytest.raises(ClinicalInputError) as err:
        classify("antibiotics")
    assert err.value.fields == ("required",)
    assert "intervention_local" in str(err.value)
    with pytest.raises(ClinicalInputError) as err:
        classify("death", True)
    assert err.value.fields == ("disability_at_discharge",)


@given(st.text(max_size=8))
def test_parse_never_crashes_and_names_field(text: str) -> None:
    try:
        parsed = parse_grade(text)
    except ClinicalInputError as err:
        assert err.fields == ("grade",)
    else:
        assert parsed.grade in GRADES
        assert parse_grade(str(parsed)) == parsed
