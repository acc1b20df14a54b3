"""Golden tests: the 12 clinical vignettes of the clinical vignettes (plus post-operative parts).

Expected options, statuses, flags and missing inputs are transcribed from the vignette text,
not from engine output; each case says why it expects what it expects.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from renalpath.pathway import RecommendResult, recommend

CASES = Path(__file__).parent / "cases"


def run(name: str, **changes: Any) -> RecommendResult:
    data = json.loads((CASES / f"{name}.json").read_text())
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split("__")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return recommend(data)


def status(result: RecommendResult, option: str, modality: str | None = None) -> str | None:
    for o in result.options:
        if o.option == option and (modality is None or o.modality == modality):
            return o.status
    return None


def test_v01_small_mass_frail_elderly() -> None:
    # F 84, frail, 18 mm: EAU (Weak) offers surveillance/ablation to frail patients and ≤ 2 cm
    # masses are often indolent (SRM-AS-01/03, ONX-09); ablation needs a biopsy first; PN only
    # discussed in an unfit patient; RN not recommended because PN is feasible (LOC-PN-02).
    r = run("v01_srm_frail_elderly")
    assert r.derived["ckd_stage"] == "G3a"  # 44.64 rounds to 45 → G3a (B5 rounding rule)
    assert r.derived["renal"] == "4a"
    assert status(r, "active_surveillance") == "recommended"
    ta = r.option("thermal_ablation")
    assert ta is not None and ta.status == "alternative"
    assert "biopsy_before_ablation" in ta.flags
    assert status(r, "partial_nephrectomy") == "discuss"
    rn = r.option("radical_nephrectomy")
    assert rn is not None and rn.status == "not_recommended" and "LOC-PN-02" in rn.rule_ids
    assert any("growth" in c for c in r.option("active_surveillance").counselling)  # type: ignore[union-attr]
    assert r.missing_inputs == []


def test_v02_ct1a_comorbid_wants_treatment() -> None:
    # 26 mm is within both RFA and cryo limits; no histology → biopsy first (EAU Strong);
    # the patient wants treatment, so ablation is recommended and surveillance the alternative.
    r = run("v02_ct1a_comorbid_wants_treatment")
    assert r.derived["renal"] == "5p"
    assert status(r, "renal_mass_biopsy") == "recommended"
    assert status(r, "thermal_ablation", "any") == "recommended"
    assert status(r, "active_surveillance") == "alternative"


def test_v02_biopsy_refused_blocks_ablation() -> None:
    # "If patient refuses biopsy → TA status blocked_missing_input" (V02).
    r = run("v02_ct1a_comorbid_wants_treatment", tumour__biopsy="declined")
    ta = r.option("thermal_ablation")
    assert ta is not None and ta.status == "blocked_missing_input"
    assert "tumour.histology" in r.missing_inputs


def test_v03_fit_patient_ct1a() -> None:
    # Fit 52-year-old, 31 mm: EAU Strong partial nephrectomy; RN not when PN feasible; no
    # adrenalectomy without involvement; surveillance/ablation are not first line.
    r = run("v03_fit_ct1a")
    assert (r.derived["renal"], r.derived["padua"]) == ("6p", "7p")
    assert status(r, "partial_nephrectomy") == "recommended"
    assert status(r, "radical_nephrectomy") == "not_recommended"
    assert status(r, "adrenalectomy") == "not_recommended"
    assert status(r, "active_surveillance") is None
    positive = {"recommended", "alternative", "discuss"}
    assert not any(o.option == "thermal_ablation" and o.status in positive for o in r.options)


def test_v05_ct2a() -> None:
    # 90 mm confined, N0 M0: laparoscopic RN (EAU Strong); PN only if the surgeon finds it
    # feasible — unknown here, so it is blocked and asked for; no adrenalectomy, no extended
    # LND; stage II.
    r = run("v05_ct2a")
    assert (r.derived["ct"], r.derived["stage_group"]) == ("T2a", "II")
    assert status(r, "radical_nephrectomy") == "recommended"
    assert status(r, "partial_nephrectomy") == "blocked_missing_input"
    assert "surgeon.pn_feasible" in r.missing_inputs
    assert status(r, "adrenalectomy") == "not_recommended"
    assert status(r, "lymph_node_dissection") == "not_recommended"


def test_v05_ct2a_pn_feasible_is_alternative() -> None:
    r = run("v05_ct2a", surgeon__pn_feasible="yes")
    assert status(r, "partial_nephrectomy") == "alternative"
    assert status(r, "radical_nephrectomy") == "recommended"


def test_v05_postop_leibovich_intermediate_no_adjuvant() -> None:
    # pT2a 9 cm G3 no necrosis pN0 → 3+0+0+1+0 = 4 (intermediate); pT2 needs G4/sarcomatoid
    # for ADJ-01, so no adjuvant pembrolizumab; follow-up on the intermediate profile.
    r = run("v05b_ct2a_postop")
    assert r.derived["leibovich"]["score"] == 4
    assert r.followup is not None and r.followup["risk_group"] == "intermediate"
    assert r.followup["schedule"]["visits"][0] == {"month": 6, "imaging": "CT"}
    assert status(r, "adjuvant_immunotherapy") is None
    assert status(r, "adjuvant_tki") == "not_recommended"


def test_v06_solitary_kidney_ct1a() -> None:
    # Anatomic solitary kidney = imperative NSS: PN recommended; ablation (≤ 30 mm) after
    # biopsy as alternative; RN not recommended and would mean permanent dialysis.
    r = run("v06_solitary_kidney_ct1a")
    pn = r.option("partial_nephrectomy")
    assert pn is not None and pn.status == "recommended" and "imperative_indication" in pn.flags
    assert status(r, "thermal_ablation", "any") == "alternative"
    assert status(r, "renal_mass_biopsy") == "recommended"
    rn = r.option("radical_nephrectomy")
    assert rn is not None and rn.status == "not_recommended"
    assert "permanent_dialysis_expected" in rn.flags


def test_v08_ct3b_ivc_thrombus() -> None:
    # IVC thrombus below the diaphragm → cT3b, stage III; RN + thrombectomy (EAU Strong); MDT.
    r = run("v08_ct3b_ivc_thrombus")
    assert (r.derived["ct"], r.derived["stage_group"]) == ("T3b", "III")
    assert status(r, "radical_nephrectomy_with_thrombectomy") == "recommended"
    assert "mdt_required" in r.flags
    assert status(r, "lymph_node_dissection") == "not_recommended"


def test_v08_postop_high_risk_adjuvant_discuss() -> None:
    # pT3b 9.5 cm pN0 G3 necrosis → 4+0+0+1+1 = 6 (high); pT3 ccRCC → adjuvant
    # pembrolizumab discussed (ADJ-01); high-risk follow-up.
    r = run("v08b_ct3b_postop")
    assert r.derived["leibovich"] == {
        "score": 6,
        "group": "high",
        "flags": ["needs_verification", "who_isup_grade_scored_as_fuhrman"],
    }
    assert status(r, "adjuvant_immunotherapy") == "discuss"
    assert r.followup is not None and r.followup["risk_group"] == "high"


def test_v08_postop_after_12_weeks_no_adjuvant() -> None:
    r = run("v08b_ct3b_postop", pathology__date="2025-01-02")
    assert status(r, "adjuvant_immunotherapy") is None


def test_v10_metastatic_good_ps_no_systemic() -> None:
    # No systemic therapy needed, KPS 90: immediate CN (EAU Weak, CN-04), consistent with
    # ONX-02; IMDC provisional 1 (time factor scored present) → intermediate; brain imaging
    # before surgery (TRI-06); MDT.
    r = run("v10_m1_good_ps_no_systemic")
    assert r.derived["imdc"]["score"] == 1 and r.derived["imdc"]["group"] == "intermediate"
    assert "imdc_provisional" in r.flags
    cn = r.option("cytoreductive_nephrectomy")
    assert cn is not None and cn.status == "recommended" and "CN-04" in cn.rule_ids
    assert status(r, "brain_imaging") == "recommended"
    assert "mdt_required" in r.flags
    assert [c["id"] for c in r.conflicts] == ["C1"]


def test_v12_metastatic_imdc_poor() -> None:
    # IMDC 5 (poor), MSKCC 4 (poor): no CN (EAU Strong) beats Oncolex; ONX-03 tumour-volume
    # reduction only discussed (C3); systemic therapy or best supportive care; palliative RT
    # for the painful site (MDL-06).
    r = run("v12_m1_imdc_poor")
    assert r.derived["imdc"] == {"score": 5, "group": "poor"}
    assert r.derived["mskcc"] == {"score": 4, "group": "poor"}
    cn = r.option("cytoreductive_nephrectomy")
    assert cn is not None and cn.status == "not_recommended" and cn.strength == "EAU Strong"
    assert "CN-01" in cn.rule_ids and cn.why
    assert status(r, "tumour_volume_reduction") == "discuss"
    assert status(r, "systemic_therapy") == "recommended"
    assert status(r, "best_supportive_care") == "alternative"
    assert status(r, "palliative_radiotherapy") == "recommended"
    assert "C3" in [c["id"] for c in r.conflicts]
    assert "mdt_required" in r.flags


def test_v14_solitary_lung_metastasis() -> None:
    # Metachronous (DFI 4 y ≥ 12 mo), 1 lesion, lung, KPS 90: metastasectomy (EAU Weak),
    # SABR alternative; no adjuvant TKI; adjuvant pembrolizumab outside KEYNOTE-564 (> 1 y).
    r = run("v14_solitary_lung_metastasis")
    assert status(r, "metastasectomy") == "recommended"
    assert status(r, "stereotactic_radiotherapy") == "alternative"
    assert status(r, "adjuvant_tki") == "not_recommended"
    io = r.option("adjuvant_immunotherapy")
    assert io is not None and io.status == "not_recommended" and "not_applicable" in io.flags
    assert "mdt_required" in r.flags


def test_v16_bleeding_ulcerating_metastasis() -> None:
    # Ulcerating, bleeding, resectable: palliative excision; embolisation or RT alternatives.
    r = run("v16_bleeding_metastasis")
    assert status(r, "palliative_surgery") == "recommended"
    assert status(r, "arterial_embolisation") == "alternative"
    assert status(r, "palliative_radiotherapy") == "alternative"


def test_v17_painful_unresectable_metastasis() -> None:
    # Painful, not resectable: palliative RT (≈ 1/3 palliated per Oncolex); SBRT alternative.
    r = run("v17_painful_unresectable_metastasis")
    rt = r.option("palliative_radiotherapy")
    assert rt is not None and rt.status == "recommended"
    assert any("one third" in c for c in rt.counselling)
    assert status(r, "stereotactic_radiotherapy") == "alternative"
    assert "emergency_pathway_out_of_scope" not in r.flags


def test_v17_neurological_deficit_emergency_flag() -> None:
    data = json.loads((CASES / "v17_painful_unresectable_metastasis.json").read_text())
    data["metastases"][0]["symptoms"] = ["pain", "neurological"]
    assert "emergency_pathway_out_of_scope" in recommend(data).flags


def test_v18_residual_after_cryoablation() -> None:
    # Enhancement at the 3-month scan = residual disease: repeat cryoablation first (SAL-02),
    # short-interval imaging as alternative (SAL-01), salvage PN only if re-ablation fails.
    r = run("v18_residual_after_cryo")
    assert status(r, "repeat_ablation", "cryo") == "recommended"
    assert status(r, "repeat_imaging") == "alternative"
    assert status(r, "salvage_partial_nephrectomy") == "discuss"
    assert "mdt_required" in r.flags
    assert any(n["rule_id"] == "SAL-00" for n in r.notes)


@pytest.mark.parametrize("path", sorted(CASES.glob("v*.json")), ids=lambda p: p.stem)
def test_every_vignette_result_is_in_vocabulary(path: Path) -> None:
    from renalpath.pathway.vocabulary import OPTION_CODES, STATUSES

    r = recommend(json.loads(path.read_text()))
    for o in r.options:
        assert o.option in OPTION_CODES and o.status in STATUSES
        if o.status == "not_recommended":
            assert o.rule_ids and o.why  # every "why not" names its rule and reason
