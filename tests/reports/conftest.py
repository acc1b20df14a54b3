"""Hand-made report inputs.

The salvage numbers are the founding study's published results ([V]:
839 operated, 13 salvage, 85% male, mean age 64, 10 PN / 3 RN, creatinine 1.35 → 1.43 mg/dL,
MDRD eGFR 53.8 → 46.6, warm ischaemia 17.4 min in 10, blood loss 647 mL, pT1a 8/13, margins
13/13 negative, follow-up 32.9 months (3.5–88)). Values the paper does not give (SDs, p-values,
KM estimates) are invented here, chosen so each formatting rule is exercised; the expected
strings in the tests are worked out by hand from these inputs, not copied from our output.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest


def founding_study() -> dict[str, Any]:
    return {
        "n_surgical_patients": 839,
        "n_salvage": 13,
        "salvage_rate_pct": 100 * 13 / 839,  # 1.549… → "1.5%"
        "male_n": 11,
        "male_pct": 100 * 11 / 13,  # 84.6… → "85%"
        "age_mean": 64.0,
        "age_sd": 8.24,  # invented → "8.2"
        "age_min": 47.0,  # invented
        "age_max": 79.5,  # invented
        "primary_modality": {
            "cryoablation": 7,
            "radiofrequency_ablation": 2,
            "partial_nephrectomy": 4,
        },
        "primary_open_surgery_n": 4,  # 31% of 13 = 4.03 → 4 (31%)
        "salvage_procedure": {"partial_nephrectomy": 10, "radical_nephrectomy": 3},
        "approach": {"open": 12, "laparoscopic": 1},  # invented split
        "dialysis_expected_preop_n": 3,
        "renal_function": {
            "n": 10,
            "equation": "mdrd",
            "creatinine_pre_mean": 1.35,
            "creatinine_post_mean": 1.43,
            "egfr_pre_mean": 53.8,
            "egfr_post_mean": 46.6,
            "egfr_change_mean": -7.2,
            "paired_t_p": 0.0312,  # invented → "0.03"
            "wilcoxon_p": 0.0004,  # invented → "< 0.001"
            "ckd_upstaged_n": 4,  # invented → "4 (40%)"
            "mcnemar_p": 0.25,
            "ckd3_pre_n": 6,
            "ckd3_post_n": 8,
            "excluded_dialysis_n": 3,
            "missing_pre_n": 0,
            "missing_post_n": 0,
            "notes": [],
        },
        "warm_ischemia": {
            "n": 10,
            "mean": 17.4,
            "sd": 5.13,
            "median": 16.5,
            "min": 9.0,
            "max": 28.0,
            "missing_n": 3,
        },
        "blood_loss": {
            "n": 13,
            "mean": 647.0,
            "sd": 512.4,
            "median": 450.0,
            "min": 100.0,
            "max": 2000.0,
            "missing_n": 0,
        },
        "pt_stage": {"pT1a": 8, "pT1b": 3, "pT3a": 2},
        "margins": {"n": 13, "negative_n": 13, "positive_n": 0, "not_reported_n": 0},
        "complications": {
            "none": 8,
            "I": 1,
            "II": 2,
            "IIIa": 1,
            "IIIb": 1,
            "IVa": 0,
            "IVb": 0,
            "V": 0,
            "major_n": 2,
        },
        "followup_months": {"mean": 32.9, "median": 28.0, "min": 3.5, "max": 88.0},
        "recurrence_after_salvage_n": 2,
        "deaths_n": 1,
        "rfs": {
            "endpoint": "recurrence-free survival",
            "event_definition": "local recurrence or distant metastasis, or death",
            "n": 13,
            "events": 3,
            "estimates": [
                {
                    "months": 12,
                    "time_days": 365.25,
                    "survival": 0.923,
                    "ci_low": 0.789,
                    "ci_high": 1.0,
                    "n_risk": 11,
                },
                {
                    "months": 24,
                    "time_days": 730.5,
                    "survival": 0.838,
                    "ci_low": 0.661,
                    "ci_high": 1.0,
                    "n_risk": 8,
                },
                {
                    "months": 36,
                    "time_days": 1095.75,
                    "survival": 0.733,
                    "ci_low": 0.512,
                    "ci_high": 1.0,
                    "n_risk": 5,
                },
                {
                    "months": 60,
                    "time_days": 1826.25,
                    "survival": None,
                    "ci_low": None,
                    "ci_high": None,
                    "n_risk": 0,
                },
            ],
            "median": {"months": None, "ci_low_months": None, "ci_high_months": None},
            "at_risk": [
                {"months": m, "n_risk": r}
                for m, r in ((0, 13), (12, 11), (24, 8), (36, 5), (48, 2), (60, 0))
            ],
            "table": [
                {
                    "time_days": 200.0,
                    "n_risk": 12,
                    "n_event": 1,
                    "survival": 0.923,
                    "ci_low": 0.789,
                    "ci_high": 1.0,
                },
                {
                    "time_days": 600.0,
                    "n_risk": 9,
                    "n_event": 1,
                    "survival": 0.838,
                    "ci_low": 0.661,
                    "ci_high": 1.0,
                },
                {
                    "time_days": 1000.0,
                    "n_risk": 6,
                    "n_event": 1,
                    "survival": 0.733,
                    "ci_low": 0.512,
                    "ci_high": 1.0,
                },
            ],
            "ci_method": "Greenwood variance, log transform",
        },
        "window": {"from": "2004-01-01", "to": "2012-12-31"},
        "software": {"python": "3.11.0", "lifelines": "0.30.3"},
        "methods": "We reviewed all patients who underwent partial or radical nephrectomy.",
        "results": "Of 839 patients, 13 needed salvage renal surgery.",
        "notes": ["hand-made fixture note"],
    }


def empty_study() -> dict[str, Any]:
    """An empty window: counts 0, every statistic null (the outcomes contract: no NaN)."""
    s = copy.deepcopy(founding_study())
    s.update(
        n_surgical_patients=0,
        n_salvage=0,
        salvage_rate_pct=None,
        male_n=0,
        male_pct=None,
        age_mean=None,
        age_sd=None,
        age_min=None,
        age_max=None,
        primary_modality={},
        primary_open_surgery_n=0,
        salvage_procedure={},
        approach={},
        dialysis_expected_preop_n=0,
        pt_stage={},
        recurrence_after_salvage_n=0,
        deaths_n=0,
        methods="",
        results="none had salvage surgery",
        notes=["no salvage nephrectomy in the window: study statistics are null"],
    )
    s["renal_function"] = {
        "n": 0,
        "equation": "mdrd",
        "creatinine_pre_mean": None,
        "creatinine_post_mean": None,
        "egfr_pre_mean": None,
        "egfr_post_mean": None,
        "egfr_change_mean": None,
        "paired_t_p": None,
        "wilcoxon_p": None,
        "ckd_upstaged_n": 0,
        "excluded_dialysis_n": 0,
    }
    none_block = {"n": 0, "mean": None, "sd": None, "median": None, "min": None, "max": None}
    s["warm_ischemia"] = dict(none_block)
    s["blood_loss"] = dict(none_block)
    s["margins"] = {"n": 0, "negative_n": 0, "positive_n": 0}
    s["complications"] = {"none": 0, "major_n": 0}
    s["followup_months"] = {"mean": None, "median": None, "min": None, "max": None}
    s["rfs"] = {
        "n": 0,
        "events": 0,
        "estimates": [],
        "median": {"months": None},
        "at_risk": [],
        "table": [],
    }
    return s


@pytest.fixture
def study() -> dict[str, Any]:
    return founding_study()


@pytest.fixture
def empty() -> dict[str, Any]:
    return empty_study()


@pytest.fixture
def survival_doc() -> dict[str, Any]:
    """`study survival --by type` shaped JSON with two hand-made groups."""
    return {
        "endpoint": "overall",
        "event_definition": "death from any cause",
        "window": {"from": None, "to": None},
        "by": "type",
        "n": 30,
        "events": 7,
        "groups": [
            {
                "group": "partial_nephrectomy",
                "n": 20,
                "events": 4,
                "median": 730.5,
                "median_ci_low": 365.25,
                "median_ci_high": None,
                "table": [
                    {
                        "time_days": 100.0,
                        "n_risk": 20,
                        "n_event": 2,
                        "survival": 0.9,
                        "ci_low": 0.75,
                        "ci_high": 1.0,
                    },
                    {
                        "time_days": 500.0,
                        "n_risk": 10,
                        "n_event": 1,
                        "survival": 0.8,
                        "ci_low": 0.62,
                        "ci_high": 1.0,
                    },
                ],
                "at_risk": [
                    {"months": 0, "n_risk": 20},
                    {"months": 12, "n_risk": 14},
                    {"months": 24, "n_risk": 6},
                ],
            },
            {
                "group": "radical_nephrectomy",
                "n": 10,
                "events": 3,
                "median": None,
                "median_ci_low": None,
                "median_ci_high": None,
                "table": [
                    {
                        "time_days": 50.0,
                        "n_risk": 10,
                        "n_event": 3,
                        "survival": 0.7,
                        "ci_low": 0.47,
                        "ci_high": 1.0,
                    },
                ],
                "at_risk": [
                    {"months": 0, "n_risk": 10},
                    {"months": 12, "n_risk": 2},
                    {"months": 24, "n_risk": 0},
                ],
            },
        ],
        "logrank_p": 0.0123,
        "logrank": {
            "test": "log-rank",
            "chisq": 6.25,
            "df": 1,
            "p_value": 0.0123,
            "groups": [
                {"group": "partial_nephrectomy", "n": 20, "observed": 4, "expected": 6.1},
                {"group": "radical_nephrectomy", "n": 10, "observed": 3, "expected": 0.9},
            ],
        },
        "notes": [],
    }
