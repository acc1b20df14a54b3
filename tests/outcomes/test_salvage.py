"""The salvage study on the hand-built registry (tests/outcomes/registry_fixture.py).

Every expected number is worked out here from the registry as written, without renalpath code:
ages and follow-up by date subtraction, eGFR with the MDRD-175 formula typed out
(MDRD, Levey 2006: 175 × Scr^−1.154 × age^−0.203 × 0.742 if female), KM by hand.
"""

from __future__ import annotations

import json
import math
import statistics
from datetime import date

import pytest
from scipy import stats

from renalpath.outcomes.salvage import salvage_study

from .registry_fixture import WINDOW, registry


def years(born: date, on: date) -> float:
    return (on - born).days / 365.25


def mdrd(scr_mg_dl: float, age: float, female: bool) -> float:
    # MDRD, Levey 2006 [V]: IDMS-traceable MDRD, no Black coefficient (all black_race false/blank)
    return 175 * scr_mg_dl**-1.154 * age**-0.203 * (0.742 if female else 1.0)


def g_stage(egfr: float) -> int:
    # KDIGO on the half-up integer: G1 ≥90, G2 60–89, G3a 45–59, G3b 30–44, G4 15–29, G5 <15
    r = math.floor(egfr + 0.5)
    return next(i for i, lo in enumerate((90, 60, 45, 30, 15, 0)) if r >= lo)


@pytest.fixture(scope="module")
def study() -> dict[str, object]:
    return salvage_study(registry(), *WINDOW).to_json_dict()


def test_denominator_and_cohort(study: dict[str, object]) -> None:
    # Surgical patients in 2010-01-01..2012-12-31 (inclusive): P1 P2 P3 P4 P5 P6 P7 P10 P11 P12
    # = 10 (P8 after the window, P13 one day before it).
    assert study["n_surgical_patients"] == 10
    # Salvage: P1 (derived), P2 (explicit), P3 (derived), P10, P11 = 5. Not P6 (contralateral
    # new tumour, derived primary), not P7 (explicit primary wins over derived salvage).
    assert study["n_salvage"] == 5
    assert study["salvage_rate_pct"] == pytest.approx(100 * 5 / 10)  # 50.0 %
    # Men: P1, P3, P11 = 3/5 = 60 %
    assert study["male_n"] == 3
    assert study["male_pct"] == pytest.approx(60.0)


def test_age(study: dict[str, object]) -> None:
    ages = [
        years(date(1946, 6, 15), date(2010, 3, 1)),  # P1 first salvage (PN, not the 2012 RN)
        years(date(1950, 1, 1), date(2011, 1, 10)),  # P2
        years(date(1940, 2, 1), date(2012, 2, 1)),  # P3
        years(date(1945, 3, 10), date(2010, 8, 1)),  # P10
        years(date(1944, 1, 1), date(2011, 3, 1)),  # P11
    ]
    assert study["age_mean"] == pytest.approx(statistics.mean(ages))
    assert study["age_sd"] == pytest.approx(statistics.stdev(ages))
    assert study["age_min"] == pytest.approx(min(ages))
    assert study["age_max"] == pytest.approx(max(ages))


def test_primary_modality_and_procedure(study: dict[str, object]) -> None:
    # Roots of the lineages: P1 cryo, P2 RFA, P3 open PN, P10 MWA, P11 cryo (via a repeat cryo)
    assert study["primary_modality"] == {
        "cryoablation": 2,
        "microwave_ablation": 1,
        "partial_nephrectomy": 1,
        "radiofrequency_ablation": 1,
    }
    assert study["primary_open_surgery_n"] == 1  # P3
    assert study["salvage_procedure"] == {"partial_nephrectomy": 4, "radical_nephrectomy": 1}
    assert study["approach"] == {"open": 3, "laparoscopic": 1, "robotic": 1}
    assert study["dialysis_expected_preop_n"] == 1  # P3


def test_renal_function(study: dict[str, object]) -> None:
    rf = study["renal_function"]
    assert isinstance(rf, dict)
    # P3 (dialysis expected) and P11 (dialysis 19 days after surgery) are excluded → n = 3.
    assert rf["n"] == 3
    assert rf["excluded_dialysis_n"] == 2
    assert rf["equation"] == "mdrd"
    # Pre/post creatinine (mg/dL): P1 1.2 → 1.4 (80 days, tie with 100 days → earlier);
    # P2 100/88.4 → 1.6; P10 0.8 → 0.85 (106 days beats 334 days).
    scr = {
        "P1": (1.2, 1.4),
        "P2": (100 / 88.4, 1.6),
        "P10": (0.8, 0.85),
    }
    dates = {
        "P1": (date(1946, 6, 15), date(2010, 1, 15), date(2010, 5, 20), False),
        "P2": (date(1950, 1, 1), date(2011, 1, 5), date(2011, 4, 10), True),
        "P10": (date(1945, 3, 10), date(2010, 7, 25), date(2010, 11, 15), True),
    }
    pre = [mdrd(scr[p][0], years(b, d0), f) for p, (b, d0, _, f) in dates.items()]
    post = [mdrd(scr[p][1], years(b, d1), f) for p, (b, _, d1, f) in dates.items()]
    # e.g. P1 pre: 175 × 1.2^−1.154 × 63.59^−0.203 ≈ 61.0 (G2); post ≈ 51.0 (G3a)
    assert rf["creatinine_pre_mean"] == pytest.approx((1.2 + 100 / 88.4 + 0.8) / 3)
    assert rf["creatinine_post_mean"] == pytest.approx((1.4 + 1.6 + 0.85) / 3)
    assert rf["egfr_pre_mean"] == pytest.approx(sum(pre) / 3)
    assert rf["egfr_post_mean"] == pytest.approx(sum(post) / 3)
    assert rf["egfr_change_mean"] == pytest.approx((sum(post) - sum(pre)) / 3)
    # Paired t: t = mean(d) / (sd(d)/√n), two-sided p from t with n − 1 = 2 df.
    d = [b - a for a, b in zip(pre, post, strict=True)]
    t = statistics.mean(d) / (statistics.stdev(d) / math.sqrt(3))
    assert rf["paired_t_p"] == pytest.approx(2 * stats.t.sf(abs(t), 2))
    # Wilcoxon exact, n = 3, all differences negative: p = 2 × (1/2³) = 0.25
    assert rf["wilcoxon_p"] == pytest.approx(0.25)
    upstaged = sum(g_stage(b) > g_stage(a) for a, b in zip(pre, post, strict=True))
    assert upstaged == 2  # P1 G2→G3a, P2 G3a→G3b; P10 stays G2
    assert rf["ckd_upstaged_n"] == upstaged


def test_perioperative(study: dict[str, object]) -> None:
    wi = study["warm_ischemia"]
    # P1 20, P3 25, P10 15, P11 30 (P2 radical: blank) → mean 22.5, sd √(125/3)
    assert wi["n"] == 4 and wi["mean"] == pytest.approx(22.5)
    assert wi["sd"] == pytest.approx(math.sqrt(125 / 3))
    assert (wi["median"], wi["min"], wi["max"]) == (22.5, 15, 30)
    bl = study["blood_loss"]
    ebl = [500, 800, 300, 200, 1200]
    assert bl["n"] == 5 and bl["mean"] == pytest.approx(600)
    assert bl["sd"] == pytest.approx(statistics.stdev(ebl))
    assert (bl["median"], bl["min"], bl["max"]) == (500, 200, 1200)
    # pT: P1 pT1a, P10 "T1a", P11 "1a" → pT1a 3; P2 pT3a; P3 pT1b
    assert study["pt_stage"] == {"pT1a": 3, "pT1b": 1, "pT3a": 1}
    assert study["margins"] == {"n": 5, "negative_n": 4, "positive_n": 1, "not_reported_n": 0}
    cx = study["complications"]
    # Highest per episode: P1 II, P2 IIIa (I and IIIa), P3 none, P10 I, P11 IVa(-d)
    assert {k: v for k, v in cx.items() if v} == {
        "none": 1,
        "I": 1,
        "II": 1,
        "IIIa": 1,
        "IVa": 1,
        "major_n": 2,
    }


def test_followup_recurrence_death(study: dict[str, object]) -> None:
    fu_days = [
        (date(2012, 9, 1) - date(2010, 3, 1)).days,  # P1 last contact
        (date(2012, 6, 1) - date(2011, 1, 10)).days,  # P2 death
        (date(2013, 2, 1) - date(2012, 2, 1)).days,  # P3 last contact
        (date(2011, 7, 1) - date(2010, 8, 1)).days,  # P10 latest lab (no contact date)
        (date(2012, 1, 15) - date(2011, 3, 1)).days,  # P11 last_followup event
    ]
    months = [d / 30.4375 for d in fu_days]
    fu = study["followup_months"]
    assert fu["mean"] == pytest.approx(statistics.mean(months))
    assert fu["median"] == pytest.approx(statistics.median(months))
    assert fu["min"] == pytest.approx(min(months))
    assert fu["max"] == pytest.approx(max(months))
    # P1 local recurrence 2011 and P2 metastasis 2011 after salvage; P11's 2010 is before it
    assert study["recurrence_after_salvage_n"] == 2
    assert study["deaths_n"] == 1


def test_rfs_by_hand(study: dict[str, object]) -> None:
    rfs = study["rfs"]
    # P2 event at 264 d (n=5) → S = 4/5; P11 censored 320, P10 censored 334;
    # P1 event at 365 d (n=2) → S = 0.8 × 1/2 = 0.4; P3 censored 366.
    assert rfs["n"] == 5 and rfs["events"] == 2
    twelve = rfs["estimates"][0]
    assert twelve["months"] == 12
    assert twelve["survival"] == pytest.approx(0.4)  # 365 ≤ 12 × 30.4375 = 365.25
    # Greenwood on log scale: 1/(5·4) + 1/(2·1) = 0.55; CI = 0.4·exp(∓1.959964·√0.55)
    se = math.sqrt(0.55)
    assert twelve["ci_low"] == pytest.approx(0.4 * math.exp(-1.959964 * se), rel=1e-6)
    assert twelve["ci_high"] == 1.0  # capped at 1
    assert twelve["n_risk"] == 1  # only P3 (366 d) still observed at 365.25 d
    assert rfs["estimates"][1]["survival"] is None  # 24 months: beyond the last follow-up
    assert rfs["median"]["months"] == pytest.approx(365 / 30.4375)
    assert rfs["at_risk"][0] == {"months": 0, "n_risk": 5}


def test_methods_and_results_text(study: dict[str, object]) -> None:
    methods, results = study["methods"], study["results"]
    assert isinstance(methods, str) and isinstance(results, str)
    for phrase in (
        "paired t-test",
        "Wilcoxon signed-rank",
        "McNemar",
        "MDRD",
        "Kaplan–Meier",
        "Greenwood",
        "30.4375",
        "lifelines",
        "statsmodels",
        "SciPy",
        "renalpath",
    ):
        assert phrase in methods
    assert "Of 10 patients" in results and "5 (50.0%)" in results


def test_json_contract_keys_and_no_nan(study: dict[str, object]) -> None:
    keys = {
        "n_surgical_patients",
        "n_salvage",
        "salvage_rate_pct",
        "male_n",
        "male_pct",
        "age_mean",
        "age_sd",
        "age_min",
        "age_max",
        "primary_modality",
        "primary_open_surgery_n",
        "salvage_procedure",
        "approach",
        "dialysis_expected_preop_n",
        "renal_function",
        "warm_ischemia",
        "blood_loss",
        "pt_stage",
        "margins",
        "complications",
        "followup_months",
        "recurrence_after_salvage_n",
        "deaths_n",
        "rfs",
        "methods",
        "results",
    }
    assert keys <= set(study)
    rf_keys = {
        "n",
        "equation",
        "creatinine_pre_mean",
        "creatinine_post_mean",
        "egfr_pre_mean",
        "egfr_post_mean",
        "egfr_change_mean",
        "paired_t_p",
        "wilcoxon_p",
        "ckd_upstaged_n",
    }
    assert rf_keys <= set(study["renal_function"])
    assert {"n", "mean", "sd", "median", "min", "max"} <= set(study["warm_ischemia"])
    json.dumps(study, allow_nan=False)


def test_other_equation_changes_only_egfr() -> None:
    s = salvage_study(registry(), *WINDOW, equation="ckd-epi-2021").to_json_dict()
    rf = s["renal_function"]
    assert rf["equation"] == "ckd-epi-2021"

    # CKD-EPI 2021, P1 pre: male, Scr/0.9 = 1.333 > 1 →
    # 142 × 1.333^−1.200 × 0.9938^age; checked on the mean of the three pairs.
    def ckd21(scr: float, age: float, female: bool) -> float:
        k, a = (0.7, -0.241) if female else (0.9, -0.302)
        return (
            142
            * min(scr / k, 1) ** a
            * max(scr / k, 1) ** -1.2
            * 0.9938**age
            * (1.012 if female else 1)
        )

    pre = [
        ckd21(1.2, years(date(1946, 6, 15), date(2010, 1, 15)), False),
        ckd21(100 / 88.4, years(date(1950, 1, 1), date(2011, 1, 5)), True),
        ckd21(0.8, years(date(1945, 3, 10), date(2010, 7, 25)), True),
    ]
    assert rf["egfr_pre_mean"] == pytest.approx(sum(pre) / 3)
    assert s["n_salvage"] == 5


def test_empty_window_gives_nulls_and_a_message() -> None:
    s = salvage_study(registry(), "2000-01-01", "2001-12-31")
    doc = s.to_json_dict()
    assert doc["n_surgical_patients"] == 0 and doc["n_salvage"] == 0
    assert doc["salvage_rate_pct"] is None and doc["age_mean"] is None
    assert doc["renal_function"]["egfr_pre_mean"] is None
    assert doc["rfs"]["median"]["months"] is None
    assert any("no salvage nephrectomy" in n for n in doc["notes"])
    assert "none had salvage surgery" in doc["results"]
    json.dumps(doc, allow_nan=False)


def test_single_patient_cohort_is_json_safe() -> None:
    # Only P2's salvage RN (2011-01-10) lies in January 2011.
    doc = salvage_study(registry(), "2011-01-01", "2011-01-31").to_json_dict()
    assert doc["n_surgical_patients"] == 1 and doc["n_salvage"] == 1
    assert doc["age_sd"] is None  # SD undefined for one patient
    assert doc["renal_function"]["n"] == 1
    assert doc["renal_function"]["paired_t_p"] is None
    assert any("at least 2 pairs" in n for n in doc["notes"])
    assert any("only 1 salvage patient" in n for n in doc["notes"])
    json.dumps(doc, allow_nan=False)


def test_bad_equation_and_window_are_refused() -> None:
    with pytest.raises(ValueError, match="equation"):
        salvage_study(registry(), equation="cockcroft")
    with pytest.raises(ValueError, match="after"):
        salvage_study(registry(), "2012-01-01", "2010-01-01")


def test_empty_registry_is_json_safe() -> None:
    from renalpath.registry.frames import RegistryFrames

    doc = salvage_study(RegistryFrames.empty()).to_json_dict()
    assert doc["n_surgical_patients"] == 0
    assert any("no partial or radical nephrectomy" in n for n in doc["notes"])
    json.dumps(doc, allow_nan=False)
