"""Follow-up plans as a clinic would read them: which profile, which group, which dates.

Expected answers come from the sources the profiles cite: the Delphi consensus on follow-up
after ablation (first imaging at 3 months; Zondervan et al., World J Urol 2016, PMID
27106492), the EAU advice to stratify by recurrence risk and to intensify follow-up after a
positive margin, and plain calendar arithmetic for the anchoring to the treatment date.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from renalpath.pathway import recommend
from renalpath.pathway.case import parse_case
from renalpath.pathway.derive import derive
from renalpath.pathway.followup import (
    PROFILE_DIR,
    add_months,
    followup_applies,
    followup_plan,
    load_profiles,
)
from tests.test_standalone import PATTERN

AS_OF = "2025-06-01"
PATHWAY = Path(__file__).resolve().parents[2] / "src" / "renalpath" / "pathway"


def postop(date: str = "2025-05-01", **pathology: Any) -> dict[str, Any]:
    return {
        "as_of": AS_OF,
        "patient": {"age": 60, "sex": "male"},
        "pathology": {
            "histology": "clear_cell",
            "pt": "pT1a",
            "pn": "pN0",
            "pm": "M0",
            "size_mm": 30,
            "isup_grade": 2,
            "necrosis": False,
            "sarcomatoid": False,
            "margin": "negative",
            "treatment": "partial_nephrectomy",
            "date": date,
        }
        | pathology,
        "metastases": [],
    }


def plan_of(case: dict[str, Any], profile_id: str | None = None) -> dict[str, Any]:
    model = parse_case(case, today=dt.date(2025, 6, 1))
    plan = followup_plan(model, derive(model, dt.date(2025, 6, 1)), profile_id)
    assert plan is not None
    return plan


# ----------------------------------------------------------------------------- anchoring


def test_add_months_is_calendar_arithmetic() -> None:
    assert add_months(dt.date(2025, 5, 1), 6) == dt.date(2025, 11, 1)
    assert add_months(dt.date(2025, 1, 31), 1) == dt.date(2025, 2, 28)
    assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2021, 5, 1), 48) == dt.date(2025, 5, 1)


def test_nephrectomy_four_years_ago_does_not_start_at_month_6() -> None:
    # Leibovich 4 (pT2a 9 cm G3, pN0) = intermediate; operated 2021-05-01, seen 2025-06-01:
    # every visit up to month 48 (2025-05-01) is already past.
    r = recommend(
        postop(
            date="2021-05-01",
            pt="pT2a",
            size_mm=90,
            isup_grade=3,
            treatment="radical_nephrectomy",
        )
    )
    schedule = r.followup["schedule"]  # type: ignore[index]
    assert r.followup["risk_group"] == "intermediate"  # type: ignore[index]
    assert schedule["treatment_date"] == "2021-05-01" and schedule["as_of"] == AS_OF
    assert [v["month"] for v in schedule["visits"]] == [60]
    assert schedule["visits"][0]["date"] == "2026-05-01"
    assert schedule["past_visits"] == 6


def test_recent_operation_lists_every_visit_with_its_date() -> None:
    plan = plan_of(postop(pt="pT2a", size_mm=90, isup_grade=3, treatment="radical_nephrectomy"))
    visits = plan["schedule"]["visits"]
    assert visits[0] == {"month": 6, "imaging": "CT", "date": "2025-11-01"}
    assert plan["schedule"]["past_visits"] == 0


def test_missing_treatment_date_gives_months_and_asks_for_the_date() -> None:
    case = postop()
    del case["pathology"]["date"]
    plan = plan_of(case)
    assert "pathology.date" in plan["missing"]
    assert all("date" not in v for v in plan["schedule"]["visits"])


# ----------------------------------------------------------------------------- not localised


def test_metastatic_patient_gets_no_localised_schedule() -> None:
    case = postop(pt="pT3a", pm="M1", ned=False, treatment="radical_nephrectomy")
    case["metastases"] = [{"organ": "lung", "count": 5, "synchronous": True}]
    r = recommend(case)
    assert r.followup is not None and r.followup["schedule"] is None
    assert "no_localised_schedule" in r.followup["flags"]


def test_metachronous_metastasis_gets_no_localised_schedule() -> None:
    case = postop(date="2021-05-01")
    case["metastases"] = [{"organ": "lung", "count": 1, "synchronous": False}]
    plan = plan_of(case)
    assert plan["schedule"] is None and "no_localised_schedule" in plan["flags"]


def test_recurrence_gets_no_localised_schedule() -> None:
    case = postop(date="2023-01-10")
    case["prior_treatment"] = {
        "type": "partial_nephrectomy",
        "date": "2023-01-10",
        "failure": "recurrence",
        "failure_site": "resection_bed",
        "failure_date": "2025-04-01",
    }
    plan = plan_of(case)
    assert plan["schedule"] is None and "no_localised_schedule" in plan["flags"]


# ----------------------------------------------------------------------------- margin, groups


def test_positive_margin_changes_the_schedule_not_only_a_flag() -> None:
    # Leibovich 0 (pT1a, G2): low risk.  A positive margin intensifies imaging: the plan moves
    # to the intermediate-risk schedule (first CT at 6 months instead of 12).
    negative = plan_of(postop())
    positive = plan_of(postop(margin="positive"))
    assert negative["risk_group"] == positive["risk_group"] == "low"
    assert negative["schedule"]["visits"][0]["month"] == 12
    assert positive["schedule"]["group"] == "intermediate"
    assert positive["schedule"]["visits"][0]["month"] == 6
    assert "intensified_followup" in positive["flags"]


def test_margin_rule_names_its_sources_primary_first() -> None:
    # EAU 2021 update, as summarised by Action Kidney Cancer: "Intensify follow-up in patients
    # with a positive surgical margin" [S].  How much to intensify is not stated: the one-group
    # step is the project's [P].  A negative margin carries no margin sources.
    positive = plan_of(postop(margin="positive"))
    tags = [src["verification"] for src in positive["rule_sources"]]
    assert tags == ["S", "V", "P"]
    eau = positive["rule_sources"][0]
    assert eau["url"].startswith("https://uroweb.org/") and "read via" in eau["section"]
    assert "rule_sources" not in plan_of(postop())


@pytest.mark.parametrize(
    ("changes", "group"),
    [
        ({"pt": "pT1a", "isup_grade": 2}, "low"),
        ({"pt": "pT1b", "isup_grade": 3}, "intermediate"),
        ({"pt": "pT2a", "isup_grade": 1}, "high"),
        ({"pt": "pT1a", "isup_grade": 1, "pn": "pN1"}, "high"),
    ],
)
def test_non_clear_cell_is_grouped_by_stage_and_grade(changes: dict[str, Any], group: str) -> None:
    plan = plan_of(postop(histology="papillary", **changes))
    assert plan["risk_group"] == group and plan["risk_model"] == "stage_grade"
    assert plan["schedule"] is not None


def test_non_clear_cell_without_grade_asks_for_it() -> None:
    case = postop(histology="chromophobe")
    del case["pathology"]["isup_grade"]
    plan = plan_of(case)
    assert plan["schedule"] is None and plan["missing"] == ["pathology.isup_grade"]


def test_benign_histology_gets_no_cancer_schedule() -> None:
    plan = plan_of(postop(histology="oncocytoma"))
    assert plan["schedule"] is None and plan["risk_group"] is None


# ----------------------------------------------------------------------------- after ablation


def ablated(date: str = "2025-01-15") -> dict[str, Any]:
    return {
        "as_of": AS_OF,
        "patient": {"age": 78, "sex": "male"},
        "kidney": {"solitary_kidney": "none"},
        "metastases": [],
        "prior_treatment": {"type": "cryoablation", "date": date, "failure": "none"},
    }


def test_after_ablation_the_delphi_schedule_applies_from_month_3() -> None:
    case = ablated(date="2025-05-20")
    assert followup_applies(parse_case(case, today=dt.date(2025, 6, 1)))
    plan = plan_of(case)
    assert plan["profile"]["id"] == "delphi-post-ablation" and plan["verification"] == "V"
    visits = plan["schedule"]["visits"]
    assert visits[0]["month"] == 3 and visits[0]["date"] == "2025-08-20"
    # At least two studies in year 1, then every 6 months in year 2, yearly from year 3.
    months = [v["month"] for v in visits]
    assert sum(m <= 12 for m in months) >= 2
    assert {18, 24} <= set(months) and {36, 48, 60} <= set(months)
    assert "27106492" in plan["source"]["section"]


def test_recommend_after_ablation_carries_the_post_ablation_plan() -> None:
    # No pathology record after an ablation: the plan still comes with the recommendation.
    result = recommend(ablated(date="2025-05-20"))
    assert result.followup is not None
    assert result.followup["profile"]["id"] == "delphi-post-ablation"
    assert result.followup["schedule"]["visits"][0]["date"] == "2025-08-20"


def test_after_ablation_past_visits_are_left_out() -> None:
    plan = plan_of(ablated(date="2024-01-10"))
    assert plan["schedule"]["visits"][0]["month"] == 18


# ----------------------------------------------------------------------------- profiles


def test_live_surgery_profile_is_marked_recalled_and_needs_verification() -> None:
    plan = plan_of(postop())
    assert plan["profile"]["id"] == "eau-fu-current" and plan["profile"]["status"] == "live"
    assert plan["verification"] == "R" and "needs_verification" in plan["flags"]


def test_live_surgery_profile_cites_the_guideline_page_and_records_the_search() -> None:
    # The EAU follow-up table could not be retrieved (searched again 2026-12-07): the profile
    # keeps [R] and says so, and it cites the guideline's own page, not a summary of it.
    profile = load_profiles()["eau-fu-current"]
    assert profile.verification == "R"
    assert all(g.verification == "R" for g in profile.groups.values())
    assert (
        profile.source.url
        == "https://uroweb.org/guidelines/renal-cell-carcinoma/chapter/followup-in-rcc"
    )
    assert "2026-12-07" in profile.retrieved and "2026-12-07" in profile.source.section


def test_superseded_profile_only_on_request_and_flagged() -> None:
    profiles = load_profiles()
    old = profiles["eau-fu-pre2022-superseded"]
    assert old.status == "superseded" and old.superseded_by == "eau-fu-current"
    assert plan_of(postop())["profile"]["id"] != old.id
    plan = plan_of(postop(), "eau-fu-pre2022-superseded")
    assert "superseded_profile" in plan["flags"]


def test_every_profile_carries_a_verification_tag_per_group() -> None:
    for profile in load_profiles().values():
        assert profile.verification in ("V", "S", "R", "B", "P")
        assert all(g.verification in ("V", "S", "R", "B", "P") for g in profile.groups.values())
        assert profile.retrieved


def test_rule_content_names_no_internal_working_documents() -> None:
    # Packs, profiles and the follow-up module speak in their own words.
    files = [*sorted((PATHWAY / "packs").glob("*.yaml")), *sorted(PROFILE_DIR.glob("*.yaml"))]
    files.append(PATHWAY / "followup.py")
    offenders = [f.name for f in files if PATTERN.search(f.read_text(encoding="utf-8"))]
    assert offenders == []
