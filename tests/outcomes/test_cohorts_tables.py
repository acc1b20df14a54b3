"""Frames, cohorts, perioperative summaries, Table 1 and the paired table."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from renalpath.clinical.common import ClinicalInputError
from renalpath.outcomes import perioperative as peri
from renalpath.outcomes.cohorts import (
    CohortSpec,
    build_cohort,
    followup_end,
    normalise_t,
    t_group,
)
from renalpath.outcomes.renal_function import kidney_function_pairs
from renalpath.outcomes.table1 import paired_table, table_one
from renalpath.registry.frames import FramesError, RegistryFrames

from .registry_fixture import WINDOW, registry


def test_frames_refuse_missing_required_column() -> None:
    with pytest.raises(FramesError, match=r"patients: required column\(s\) \['birth_date'\]"):
        RegistryFrames.build(patients=pd.DataFrame({"patient_id": ["1"], "sex": ["male"]}))


def test_frames_refuse_unreadable_date_naming_table_and_column() -> None:
    bad = pd.DataFrame({"patient_id": ["1"], "sex": ["male"], "birth_date": ["15/13/1950"]})
    with pytest.raises(FramesError, match=r"patients\.birth_date: 1 value\(s\) are not dates"):
        RegistryFrames.build(patients=bad)


def test_frames_parse_booleans_and_integer_ids() -> None:
    f = RegistryFrames.build(
        interventions=pd.DataFrame(
            {
                "intervention_id": [1, 2],
                "patient_id": [10.0, 11.0],
                "date": ["2010-01-01"] * 2,
                "type": ["partial_nephrectomy"] * 2,
                "dialysis_expected_preop": ["true", ""],
            }
        )
    )
    iv = f.interventions
    assert iv["intervention_id"].tolist() == ["1", "2"]
    assert iv["patient_id"].tolist() == ["10", "11"]
    assert bool(iv["dialysis_expected_preop"].iloc[0]) is True
    assert pd.isna(iv["dialysis_expected_preop"].iloc[1])


def test_frames_refuse_unknown_table() -> None:
    with pytest.raises(FramesError, match="unknown table"):
        RegistryFrames.build(tumors=pd.DataFrame())


@pytest.mark.parametrize(
    ("raw", "norm", "group"),
    [
        ("pT1a", "T1a", "T1-T2"),
        ("1a", "T1a", "T1-T2"),
        ("cT3A", "T3a", "T3-T4"),
        ("0", "T0", "T0"),
        ("TX", "TX", None),
        ("", None, None),
        ("pT4", "T4", "T3-T4"),
    ],
)
def test_normalise_t(raw: str, norm: str | None, group: str | None) -> None:
    assert normalise_t(raw) == norm
    assert t_group(norm) == group


def test_followup_end_rule() -> None:
    end = followup_end(registry())
    assert end["P10"] == pd.Timestamp("2011-07-01")  # latest lab, no contact date
    assert end["P11"] == pd.Timestamp("2012-01-15")  # last_followup event after last contact
    assert end["P2"] == pd.Timestamp("2012-06-01")  # death


def test_cohort_filters_and_attrition() -> None:
    spec = CohortSpec(
        name="salvage cT1",
        window_from=WINDOW[0],
        window_to=WINDOW[1],
        intents=("salvage",),
        ct=("T1",),
    )
    cohort = build_cohort(registry(), spec)
    # Salvage PN/RN in window: I1b, I1c (P1), I2b, I3b, I10b, I11c = 6 ops / 5 patients;
    # all cT1a/cT1b; first per patient → 5.
    steps = [(s.n_interventions, s.n_patients) for s in cohort.attrition]
    assert steps == [(11, 10), (6, 5), (6, 5), (5, 5)]
    assert sorted(cohort.rows["patient_id"]) == ["P1", "P10", "P11", "P2", "P3"]
    assert cohort.rows.set_index("patient_id").loc["P1", "intervention_id"] == "I1b"
    json.dumps(cohort.to_json_dict(), allow_nan=False)


def test_cohort_by_histology_and_type() -> None:
    spec = CohortSpec(
        window_from=WINDOW[0],
        window_to=WINDOW[1],
        types=("radical_nephrectomy",),
        histology=("chromophobe",),
    )
    rows = build_cohort(registry(), spec).rows
    assert rows["patient_id"].tolist() == ["P5"]


def test_explicit_intent_wins_and_contralateral_is_not_salvage() -> None:
    rows = build_cohort(registry(), CohortSpec(window_from=WINDOW[0], window_to=WINDOW[1])).rows
    by_pid = rows.set_index("patient_id")
    assert by_pid.loc["P7", "intent_effective"] == "primary"  # explicit beats derived salvage
    assert by_pid.loc["P7", "intent_source"] == "explicit"
    assert by_pid.loc["P6", "intent_effective"] == "primary"  # new contralateral tumour
    assert by_pid.loc["P1", "intent_source"] == "derived"


def test_describe_empty_and_single() -> None:
    assert peri.describe(pd.Series([], dtype=float))["mean"] is None
    one = peri.describe(pd.Series([5.0, None]))
    assert one == {
        "n": 1,
        "mean": 5.0,
        "sd": None,
        "median": 5.0,
        "min": 5.0,
        "max": 5.0,
        "missing_n": 1,
    }


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=5000, allow_nan=False), max_size=30))
def test_describe_properties(values: list[float]) -> None:
    d = peri.describe(pd.Series(values, dtype=float))
    assert d["n"] == len(values)
    if values:
        assert d["min"] <= d["median"] <= d["max"]
        assert d["min"] - 1e-9 <= d["mean"] <= d["max"] + 1e-9
    json.dumps(d, allow_nan=False)


def test_renal_window_boundaries() -> None:
    # Op 2020-06-01; creatinine 90 days before (2020-03-03) counts, 91 days (2020-03-02) not;
    # post at 29 days does not count, 366 days does not, 30 days does.
    f = RegistryFrames.build(
        patients=pd.DataFrame(
            {
                "patient_id": ["A", "B"],
                "sex": ["male", "male"],
                "birth_date": ["1950-01-01", "1950-01-01"],
                "black_race": ["false", "false"],
            }
        ),
        labs=pd.DataFrame(
            {
                "patient_id": ["A", "A", "A", "B", "B", "B"],
                "date": [
                    "2020-03-03",
                    "2020-06-30",
                    "2021-06-02",
                    "2020-03-02",
                    "2020-07-01",
                    "2020-06-01",
                ],
                "test": "creatinine",
                "value": [1.0, 1.1, 1.2, 1.0, 1.3, 1.4],
                "unit": "mg/dL",
            }
        ),
    )
    ops = pd.DataFrame(
        {
            "intervention_id": ["a", "b"],
            "patient_id": ["A", "B"],
            "date": pd.to_datetime(["2020-06-01", "2020-06-01"]),
            "dialysis_expected_preop": [False, False],
        }
    )
    pairs, _ = kidney_function_pairs(f, ops)
    a, b = pairs.set_index("patient_id").loc["A"], pairs.set_index("patient_id").loc["B"]
    assert a["creatinine_pre"] == 1.0  # day −90 included
    assert pd.isna(a["creatinine_post"])  # day 29 and day 366 both outside 30–365
    assert b["creatinine_pre"] == 1.4  # same-day (day 0) value, the latest on or before surgery
    assert b["creatinine_post"] == 1.3  # day 30 included


def test_implausible_creatinine_is_refused_naming_the_patient() -> None:
    f = RegistryFrames.build(
        patients=pd.DataFrame({"patient_id": ["A"], "sex": ["male"], "birth_date": ["1950-01-01"]}),
        labs=pd.DataFrame(
            {
                "patient_id": ["A"],
                "date": ["2020-05-01"],
                "test": ["creatinine"],
                "value": [120.0],
                "unit": ["mg/dL"],
            }
        ),
    )
    ops = pd.DataFrame(
        {
            "intervention_id": ["a"],
            "patient_id": ["A"],
            "date": pd.to_datetime(["2020-06-01"]),
            "dialysis_expected_preop": [False],
        }
    )
    with pytest.raises(ClinicalInputError, match=r"patient_id=A.*did you mean µmol/L"):
        kidney_function_pairs(f, ops)


def test_table_one_pvalues_opt_in_and_named() -> None:
    rows = build_cohort(registry(), CohortSpec(window_from=WINDOW[0], window_to=WINDOW[1])).rows
    plain = table_one(rows, ["age_years", "sex"], categorical=["sex"])
    assert "p_value" not in plain.columns and all("test" not in r for r in plain.rows)
    t = table_one(
        rows,
        ["age_years", "sex", "blood_loss_ml"],
        categorical=["sex"],
        nonnormal=["blood_loss_ml"],
        groupby="type",
        pval=True,
    )
    tests = {r["variable"].split(",")[0]: r["test"] for r in t.rows if r["variable"] != "n"}
    assert tests["age_years"] == "Welch’s T-test"
    assert tests["blood_loss_ml"] == "Kruskal-Wallis"
    assert tests["sex"] in ("Chi-squared", "Fisher's exact")
    # every level of a categorical variable carries its test and p
    assert all(r["p_value"] is not None for r in t.rows if r["variable"].startswith("sex"))
    json.dumps(t.to_json_dict(), allow_nan=False)
    with pytest.raises(ValueError, match="groupby"):
        table_one(rows, ["age_years"], pval=True)


def test_paired_table() -> None:
    # Differences +1, +2, +3, +4: mean change 2.5; Wilcoxon exact p = 2/16 = 0.125;
    # McNemar: 2 discordant (False→True), 0 the other way: exact p = 2 × 0.5² = 0.5.
    d = pd.DataFrame(
        {
            "pre": [10.0, 20, 30, 40],
            "post": [11.0, 22, 33, 44],
            "ckd_pre": [False, False, True, False],
            "ckd_post": [True, True, True, False],
        }
    )
    rows = paired_table(d, [("eGFR", "pre", "post")], [("eGFR < 60", "ckd_pre", "ckd_post")])
    assert rows[0]["n"] == 4 and rows[0]["change_mean"] == pytest.approx(2.5)
    assert rows[0]["tests"][1] == {"test": "Wilcoxon signed-rank", "p_value": pytest.approx(0.125)}
    assert rows[1]["tests"][0]["p_value"] == pytest.approx(0.5)
    assert rows[1]["pre_n"] == 1 and rows[1]["post_n"] == 3
    json.dumps(rows, allow_nan=False)
