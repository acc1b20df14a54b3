"""Clinical content of the rule packs, checked as tumour-board vignettes.

Each expected answer comes from the source the rule cites, not from the engine's output:
the Oncolex page's own verbs ("should" → recommended, "may" → alternative, "should be
considered / discussed" → discuss), Duffey et al. 2004 for VHL (surveillance below 3 cm),
the EAU genetic-referral age ("46 years or younger"), KEYNOTE-564 eligibility (no evidence of
disease) and the Mirels thresholds that the pre-operative embolisation follows.
"""

from __future__ import annotations

import copy
from typing import Any

from renalpath.pathway import recommend
from renalpath.pathway.result import RecommendResult

AS_OF = "2025-06-01"
TWO_KIDNEYS = {"solitary_kidney": "none", "bilateral_tumours": False, "hereditary_syndrome": "none"}
NORMAL_LABS = {
    "hb_below_lln": False,
    "calcium_corrected_above_uln": False,
    "neutrophils_above_uln": False,
    "platelets_above_uln": False,
    "ldh_above_1_5_uln": False,
    "calcium_corrected_above_10_mg_dl": False,
}


def localised(size: int, **patient: Any) -> dict[str, Any]:
    return {
        "as_of": AS_OF,
        "patient": {"age": 60, "sex": "male", "ecog": 0, "frail": False, "fit_for_surgery": True}
        | patient,
        "kidney": {**TWO_KIDNEYS, "egfr": 90},
        "tumour": {
            "size_mm": size,
            "cn": "N0",
            "cm": "M0",
            "extension": {},
            "central": False,
            "lesion_type": "solid",
            "histology": "clear_cell",
            "biopsy": "done",
        },
        "surgeon": {"pn_feasible": "yes"},
    }


def contributions(r: RecommendResult, option: str, rule_id: str) -> list[str]:
    return [
        c.status
        for o in r.options
        if o.option == option
        for c in o.contributions
        if c.rule_id == rule_id
    ]


# ----------------------------------------------------------------------------- Oncolex alone


def test_oncolex_alone_unfit_patient_gets_no_surgery_from_the_page() -> None:
    # The page offers ablation to patients "not suitable for surgery": its surgical
    # statements are about the others.
    r = recommend(localised(35, frail=True, fit_for_surgery=False), ["oncolex"])
    for option in ("partial_nephrectomy", "radical_nephrectomy"):
        assert r.option(option) is None or r.status_of(option) != "recommended"
    assert "ONX-01" not in r.rules_fired and "ONX-04" not in r.rules_fired


def test_oncolex_alone_ablation_is_radiofrequency_not_any_modality() -> None:
    # In Norway radiofrequency ablation is offered to selected unfit patients.
    r = recommend(localised(25, frail=True, fit_for_surgery=False), ["oncolex"])
    ta = [o for o in r.options if o.option == "thermal_ablation"]
    assert [(o.modality, o.status) for o in ta] == [("rfa", "alternative")]


def test_oncolex_alone_no_rfa_beyond_30_mm() -> None:
    # No size is given on the page; RFA is routine only up to 3 cm.
    r = recommend(localised(38, frail=True, fit_for_surgery=False), ["oncolex"])
    assert "ONX-10" not in r.rules_fired
    assert not any(o.modality == "any" for o in r.options if o.option == "thermal_ablation")


def test_oncolex_alone_bosniak_i_cyst_gets_no_nephrectomy() -> None:
    case = localised(30)
    case["tumour"] |= {"lesion_type": "cystic", "bosniak": "I"}
    r = recommend(case, ["oncolex"])
    assert r.option("partial_nephrectomy") is None
    assert r.option("radical_nephrectomy") is None


def m1_intermediate(kps: int = 90) -> dict[str, Any]:
    return {
        "as_of": AS_OF,
        "patient": {"age": 60, "sex": "male", "kps": kps, "fit_for_surgery": True},
        "kidney": {**TWO_KIDNEYS},
        "tumour": {
            "size_mm": 60,
            "cm": "M1",
            "extension": {},
            "histology": "clear_cell",
            "symptomatic": False,
        },
        "metastases": [
            {"organ": "lung", "count": 3, "resectable": False, "synchronous": True, "symptoms": []}
        ],
        "systemic": {"needs_systemic_therapy": "yes", "dx_to_systemic_days": 30, **NORMAL_LABS},
    }


def test_oncolex_alone_cytoreductive_nephrectomy_carries_pre_carmena_flag() -> None:
    # Intermediate risk (1 IMDC factor: < 1 year), good PS: the 2018 page removes the kidney;
    # the output must warn that the source predates CARMENA/SURTIME.
    r = recommend(m1_intermediate(), ["oncolex"])
    cn = r.option("cytoreductive_nephrectomy")
    assert cn is not None and "pre_carmena_source" in cn.flags
    assert any("CARMENA" in c for c in cn.counselling)


def test_oncolex_alone_volume_reduction_carries_pre_carmena_flag() -> None:
    r = recommend(m1_intermediate(kps=60), ["oncolex"])
    tvr = r.option("tumour_volume_reduction")
    assert tvr is not None and "pre_carmena_source" in tvr.flags


def test_oncolex_radiotherapy_after_non_radical_metastasis_surgery_is_alternative() -> None:
    # "may be appropriate" → alternative (both the Oncolex rule and its EAU-pack copy).
    case = m1_intermediate()
    case["metastases"][0] |= {"resection": "r1"}
    case["patient"]["life_expectancy_years"] = 2
    r = recommend(case)
    assert "alternative" in contributions(r, "palliative_radiotherapy", "ONX-11")
    assert contributions(r, "palliative_radiotherapy", "MDL-07") == ["alternative"]


def test_oncolex_older_patient_small_tumour_monitoring_is_alternative() -> None:
    r = recommend(localised(15, age=80), ["oncolex"])
    assert contributions(r, "active_surveillance", "ONX-09") == ["alternative"]


# ----------------------------------------------------------------------------- VHL (HER-01)


def vhl(size: int) -> dict[str, Any]:
    case = localised(size, age=35)
    case["kidney"] |= {"hereditary_syndrome": "confirmed"}
    case["tumour"] |= {"multifocal": True}
    return case


def test_vhl_22_mm_is_watched_not_operated() -> None:
    # Duffey 2004: no metastases while tumours stay under 3 cm → surveillance until 3 cm.
    r = recommend(vhl(22))
    assert r.status_of("active_surveillance") == "recommended"
    assert r.status_of("partial_nephrectomy") != "recommended"
    assert "HER-01" in r.rules_fired
    assert {"mdt_required", "refer_genetics"} <= set(r.flags)


def test_vhl_22_mm_oncolex_alone_no_sporadic_surgery() -> None:
    r = recommend(vhl(22), ["oncolex"])
    assert r.option("partial_nephrectomy") is None and r.option("radical_nephrectomy") is None


def test_vhl_30_mm_nephron_sparing_surgery() -> None:
    r = recommend(vhl(30))
    pn = r.option("partial_nephrectomy")
    assert pn is not None and pn.status == "recommended" and "HER-01" in pn.rule_ids
    assert contributions(r, "active_surveillance", "HER-01") == []


def test_vhl_source_is_duffey_2004_with_pmid() -> None:
    r = recommend(vhl(22))
    sources = r.option("active_surveillance").sources  # type: ignore[union-attr]
    assert any("J Urol 2004;172:63" in s["title"] and "15201738" in s["url"] for s in sources)


# ----------------------------------------------------------------------------- TRI-05


def test_genetic_referral_at_46_years() -> None:
    # "46 years or younger": 46 is referred, 47 is not (absent other indicators).
    assert recommend(localised(30, age=46)).status_of("genetic_referral") == "recommended"
    assert recommend(localised(30, age=47)).option("genetic_referral") is None


# ----------------------------------------------------------------------------- declines surgery


def test_fit_patient_declining_surgery_35_mm_gets_cryoablation_or_surveillance() -> None:
    r = recommend(localised(35, declines_surgery=True))
    assert r.status_of("active_surveillance") == "alternative"
    cryo = [o for o in r.options if o.option == "thermal_ablation" and o.modality == "cryo"]
    assert cryo and cryo[0].status == "alternative"


def test_fit_patient_declining_surgery_25_mm_gets_ablation_and_surveillance() -> None:
    r = recommend(localised(25, declines_surgery=True))
    assert r.status_of("thermal_ablation") in ("recommended", "alternative")
    assert r.status_of("active_surveillance") == "alternative"


def test_fit_patient_not_declining_gets_no_decliner_options() -> None:
    r = recommend(localised(35))
    assert "SRM-DEC-01" not in r.rules_fired


# ----------------------------------------------------------------------------- bone metastasis


def bone_case(pain: str) -> dict[str, Any]:
    case = m1_intermediate()
    case["metastases"] = [
        {
            "organ": "bone",
            "count": 1,
            "size_mm": 40,
            "resectable": False,
            "synchronous": True,
            "symptoms": ["pain"],
            "bone": {
                "weight_bearing": True,
                "site": "upper_limb",
                "lesion": "lytic",
                "cortical_fraction": "1_3_to_2_3",
                "pain": pain,
            },
        }
    ]
    return case


def test_embolisation_only_discussed_when_fixation_is_discussed() -> None:
    # Mirels: upper limb 1 + moderate pain 2 + lytic 3 + 1/3–2/3 cortex 2 = 8 → fixation is a
    # matter of judgement (discuss); the embolisation that would precede it cannot be firmer.
    r = recommend(bone_case("moderate"))
    assert r.derived["mirels"]["score"] == 8
    assert contributions(r, "orthopaedic_stabilisation", "MDL-09") == ["discuss"]
    assert contributions(r, "preoperative_embolisation", "MDL-10") == ["discuss"]


def test_embolisation_recommended_with_the_fixation_at_mirels_9() -> None:
    r = recommend(bone_case("functional"))  # 1 + 3 + 3 + 2 = 9
    assert contributions(r, "orthopaedic_stabilisation", "MDL-09") == ["recommended"]
    assert contributions(r, "preoperative_embolisation", "MDL-10") == ["recommended"]


# ----------------------------------------------------------------------------- provenance [P]


def test_bleeding_metastasis_alternatives_are_tagged_project_default() -> None:
    case = m1_intermediate()
    case["metastases"][0] |= {"symptoms": ["bleeding"], "resectable": True}
    r = recommend(case)
    emb = r.option("arterial_embolisation")
    assert emb is not None and emb.verification == "P" and emb.rule_ids == ["MDL-08b"]
    surgery = r.option("palliative_surgery")
    assert surgery is not None and "MDL-08" in surgery.rule_ids


def test_best_supportive_care_in_poor_risk_is_tagged_project_default() -> None:
    case = m1_intermediate(kps=50)
    case["systemic"] |= {"hb_below_lln": True, "neutrophils_above_uln": True}
    r = recommend(case)
    bsc = r.option("best_supportive_care")
    assert bsc is not None and bsc.verification == "P" and bsc.rule_ids == ["SYS-01b"]


# ----------------------------------------------------------------------------- adjuvant therapy


def postop(**pathology: Any) -> dict[str, Any]:
    return {
        "as_of": AS_OF,
        "patient": {"age": 60, "sex": "male"},
        "pathology": {
            "histology": "clear_cell",
            "pt": "pT3a",
            "pn": "pN0",
            "pm": "M0",
            "size_mm": 70,
            "isup_grade": 3,
            "necrosis": False,
            "sarcomatoid": False,
            "margin": "negative",
            "treatment": "radical_nephrectomy",
            "date": "2025-05-01",
        }
        | pathology,
        "metastases": [],
    }


def test_adjuvant_after_cytoreductive_nephrectomy_with_active_metastases_is_not_offered() -> None:
    # pM1, ned false, five lung metastases: KEYNOTE-564 requires no evidence of disease.
    case = postop(pm="M1", ned=False)
    case["metastases"] = [{"organ": "lung", "count": 5, "synchronous": True, "resectable": False}]
    r = recommend(case)
    assert r.status_of("adjuvant_immunotherapy") not in ("recommended", "alternative", "discuss")
    assert contributions(r, "adjuvant_immunotherapy", "ADJ-01") == []


def test_adjuvant_m0_pt3_is_discussed() -> None:
    r = recommend(postop())
    assert contributions(r, "adjuvant_immunotherapy", "ADJ-01") == ["discuss"]


def test_adjuvant_m1_ned_after_complete_metastasectomy_is_discussed() -> None:
    case = postop(pm="M1", ned=True)
    case["metastases"] = [
        {"organ": "lung", "count": 1, "synchronous": True, "resectable": True, "resection": "r0"}
    ]
    r = recommend(case)
    assert contributions(r, "adjuvant_immunotherapy", "ADJ-01") == ["discuss"]


def test_adjuvant_m0_with_known_residual_disease_is_not_offered() -> None:
    r = recommend(postop(ned=False))
    assert contributions(r, "adjuvant_immunotherapy", "ADJ-01") == []


def test_adjuvant_source_cites_keynote_564_primary() -> None:
    r = recommend(postop())
    io = r.option("adjuvant_immunotherapy")
    assert io is not None
    assert any("34407342" in s.get("url", "") + s.get("section", "") for s in io.sources)


def test_metastasectomy_recommended_is_not_adjuvant_eligibility() -> None:
    # A metastasectomy that is only recommended leaves disease in place: no adjuvant discuss.
    case = copy.deepcopy(postop(date="2025-03-01", pt="pT2a"))
    case["patient"] |= {"kps": 90, "fit_for_surgery": True}
    case["metastases"] = [
        {
            "organ": "lung",
            "count": 1,
            "size_mm": 14,
            "resectable": True,
            "synchronous": False,
            "symptoms": [],
            "date": "2025-05-15",
        }
    ]
    r = recommend(case)
    assert "discuss" not in contributions(r, "adjuvant_immunotherapy", "MDL-05")


# ----------------------------------------------------------------------------- salvage


def salvage(**prior: Any) -> dict[str, Any]:
    return {
        "as_of": AS_OF,
        "patient": {"age": 70, "sex": "male", "frail": False, "fit_for_surgery": True},
        "kidney": {**TWO_KIDNEYS},
        "metastases": [],
        "prior_treatment": {
            "type": "cryoablation",
            "date": "2024-01-10",
            "failure": "recurrence",
            "failure_site": "ablation_zone",
            "failure_date": "2025-04-01",
            "lesion_size_mm": 45,
            "reablation_feasible": False,
        }
        | prior,
        "surgeon": {"pn_feasible": "yes"},
    }


def test_salvage_counselling_states_the_founding_study_margin_result() -> None:
    # Int Braz J Urol 2015: negative surgical margins in all 13 salvage operations.
    r = recommend(salvage())
    pn = r.option("salvage_partial_nephrectomy")
    assert pn is not None and pn.status == "recommended"
    assert any("negative surgical margins in 13 of 13" in c for c in pn.counselling)
    rn = recommend(salvage(), ["salvage"])
    assert rn.option("salvage_partial_nephrectomy") is not None


def test_salvage_radical_counselling_states_the_margin_result() -> None:
    case = salvage()
    case["surgeon"] = {"pn_feasible": "no"}
    rn = recommend(case).option("salvage_radical_nephrectomy")
    assert rn is not None and any("13 of 13" in c for c in rn.counselling)


def solitary_recurrence_after_pn(pn_feasible: str | None) -> dict[str, Any]:
    case = salvage(
        type="partial_nephrectomy",
        date="2022-03-01",
        failure_site="resection_bed",
        lesion_size_mm=45,
        reablation_feasible=False,
    )
    case["kidney"] |= {"solitary_kidney": "anatomic"}
    case["surgeon"] = {} if pn_feasible is None else {"pn_feasible": pn_feasible}
    return case


def test_solitary_kidney_45_mm_recurrence_after_pn_gets_real_options() -> None:
    r = recommend(solitary_recurrence_after_pn("yes"))
    assert r.status_of("salvage_partial_nephrectomy") == "recommended"
    rn = r.option("completion_radical_nephrectomy")
    assert rn is not None and rn.status == "not_recommended"
    assert "permanent_dialysis_expected" in rn.flags
    assert "mdt_required" in r.flags
    assert {o.option for o in r.options} - {"renal_mass_biopsy"}


def test_solitary_kidney_recurrence_pn_not_feasible_completion_rn_last_resort() -> None:
    r = recommend(solitary_recurrence_after_pn("no"))
    rn = r.option("completion_radical_nephrectomy")
    assert rn is not None and rn.status == "discuss"
    assert {"permanent_dialysis_expected", "last_resort"} <= set(rn.flags)
    assert "mdt_required" in r.flags


def test_renal_fossa_recurrence_is_not_called_a_metastasectomy() -> None:
    case = salvage(type="radical_nephrectomy", failure_site="renal_fossa", lesion_size_mm=30)
    case["surgeon"] = {"complete_resection_feasible": True}
    r = recommend(case)
    assert r.status_of("local_recurrence_excision") == "recommended"
    assert r.option("metastasectomy") is None


# ----------------------------------------------------------------------------- provenance


WEAK_SECONDARY = ("medscape", "wikiuro", "blogspot", "issuu", "medluna", "ouci.dntb", "jesse.tg")


def test_weak_secondary_links_are_read_via_never_the_cited_source() -> None:
    # The cited source is the primary publication or the guideline's own page; a secondary
    # summary may appear only as "read via".
    from renalpath.pathway.loader import load_packs

    for pack in load_packs().packs.values():
        for rule in pack.rules:
            for src in rule.sources:
                title, url = src["title"].lower(), src.get("url", "").lower()
                assert not any(w in title or w in url for w in WEAK_SECONDARY), (
                    rule.id,
                    src,
                )
                if any(w in src.get("section", "").lower() for w in WEAK_SECONDARY):
                    assert "read via" in src["section"], (rule.id, src)


# ----------------------------------------------------------------------------- feasibility


def test_oncolex_alone_no_resection_when_surgeon_says_not_feasible() -> None:
    case = localised(50)
    case["surgeon"] = {"pn_feasible": "no"}
    r = recommend(case, ["oncolex"])
    assert r.option("partial_nephrectomy") is None


def test_oncolex_alone_no_resection_with_renal_vein_thrombus() -> None:
    case = localised(60)
    case["tumour"]["extension"] = {"renal_vein": True}
    r = recommend(case, ["oncolex"])
    assert r.option("partial_nephrectomy") is None


def test_solitary_kidney_ct1b_pn_not_feasible() -> None:
    # The imperative indication does not make an unfeasible partial nephrectomy recommended,
    # the two-kidney rule LOC-PN-03 stays silent, and removing the only kidney is discussed
    # as the last resort with dialysis expected, in the MDT.
    case = localised(55)
    case["kidney"] |= {"solitary_kidney": "functional"}
    case["surgeon"] = {"pn_feasible": "no"}
    r = recommend(case)
    assert "LOC-PN-03" not in r.rules_fired
    pn = r.option("partial_nephrectomy")
    assert pn is None or "imperative_indication" not in pn.flags
    rn_eau = contributions(r, "radical_nephrectomy", "LOC-SK-01")
    assert rn_eau == ["discuss"]
    rn = r.option("radical_nephrectomy")
    assert rn is not None and "permanent_dialysis_expected" in rn.flags
    assert "mdt_required" in r.flags
