"""One named case per defect class found when the engine was tried as a tumour board would.

Each expected answer follows from the clinical safety rules (cited in packs/_gates.yaml) or
from the choice-group and decisive-input rules, not from engine output.  The invariant suite
(test_safety_invariants.py) checks the same classes over generated cases.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from renalpath.pathway import RecommendResult, UnknownPackError, recommend
from renalpath.pathway.conditions import PackError
from renalpath.pathway.loader import PACK_DIR, load_from
from renalpath.pathway.text import summary

TODAY = dt.date(2025, 6, 1)
ALL_SELECTIONS = [None, ["eau"], ["oncolex"], ["salvage"], ["oncolex", "eau"]]


def fit(**patient: Any) -> dict[str, Any]:
    return {"age": 60, "sex": "male", "fit_for_surgery": True, **patient}


def localised(size: int, **tumour: Any) -> dict[str, Any]:
    return {"size_mm": size, "cm": "M0", "cn": "N0", "extension": {}, "central": False, **tumour}


def status(r: RecommendResult, option: str, target: str | None = None) -> str | None:
    rec = r.option(option, target)
    return None if rec is None else rec.status


# --- unsafe: a pack without the gates of another ------------------------------------------


@pytest.mark.parametrize("packs", ALL_SELECTIONS)
def test_bosniak_i_cyst_gets_no_nephrectomy_whatever_the_packs(packs: list[str] | None) -> None:
    case = {
        "patient": fit(),
        "tumour": localised(30, lesion_type="cystic", bosniak="I"),
    }
    r = recommend(case, packs, today=TODAY)
    for option in ("partial_nephrectomy", "radical_nephrectomy"):
        assert status(r, option) in (None, "not_recommended"), (option, packs)


def test_ct3a_renal_vein_pn_not_feasible_no_partial_beside_thrombectomy() -> None:
    case = {
        "patient": fit(),
        "surgeon": {"pn_feasible": "no"},
        "tumour": localised(50, extension={"renal_vein": True}),
    }
    r = recommend(case, today=TODAY)
    assert status(r, "radical_nephrectomy_with_thrombectomy") == "recommended"
    # Not offered at all (no pack speaks of it) is as safe as offered and capped.
    assert status(r, "partial_nephrectomy") in (None, "not_recommended")
    assert status(r, "radical_nephrectomy") in (None, "discuss", "not_recommended")


def test_oncolex_alone_unfit_patient_gets_no_surgery_recommended() -> None:
    case = {"patient": fit(age=82, fit_for_surgery=False), "tumour": localised(50)}
    r = recommend(case, ["oncolex"], today=TODAY)
    # Oncolex's surgical statements are for fit patients; when one is present it is capped.
    for option in ("partial_nephrectomy", "radical_nephrectomy"):
        rec = r.option(option)
        assert rec is None or rec.status in ("discuss", "not_recommended"), option
        assert rec is None or rec.status == "not_recommended" or "GATE-UNFIT" in rec.rule_ids


# --- unsafe: solitary kidney ----------------------------------------------------------------


def test_ct2a_anatomic_solitary_kidney_oncolex_alone_rn_last_resort() -> None:
    case = {
        "patient": fit(),
        "kidney": {"solitary_kidney": "anatomic"},
        "surgeon": {"pn_feasible": "no"},
        "tumour": localised(80),
    }
    r = recommend(case, ["oncolex"], today=TODAY)
    rn = r.option("radical_nephrectomy")
    assert rn is not None and rn.status == "discuss"
    assert "permanent_dialysis_expected" in rn.flags
    assert "mdt_required" in r.flags


def test_ct1b_functional_solitary_pn_not_feasible() -> None:
    case = {
        "patient": fit(),
        "kidney": {"solitary_kidney": "functional"},
        "surgeon": {"pn_feasible": "no"},
        "tumour": localised(55),
    }
    r = recommend(case, today=TODAY)
    assert status(r, "partial_nephrectomy") == "not_recommended"  # not feasible
    rn = r.option("radical_nephrectomy")  # LOC-PN-03 is written for two kidneys
    assert rn is None or (rn.status == "discuss" and "permanent_dialysis_expected" in rn.flags)
    assert not any("LOC-PN-03" in o.rule_ids for o in r.options)
    assert "mdt_required" in r.flags


# --- unsafe: adjuvant therapy with active metastases --------------------------------------


def test_adjuvant_not_offered_after_cn_with_five_lung_metastases() -> None:
    case = {
        "patient": fit(),
        "pathology": {
            "histology": "clear_cell",
            "pt": "pT3a",
            "pn": "pN0",
            "pm": "M1",
            "ned": False,
            "margin": "negative",
            "date": "2025-05-01",
            "treatment": "radical_nephrectomy",
            "isup_grade": 3,
        },
        "metastases": [{"organ": "lung", "count": 5}],
    }
    r = recommend(case, today=TODAY)
    assert status(r, "adjuvant_immunotherapy") in (None, "not_recommended")
    assert status(r, "adjuvant_tki") in (None, "not_recommended")


# --- needless blocking ----------------------------------------------------------------------


def m1(**changes: Any) -> dict[str, Any]:
    case: dict[str, Any] = {
        "patient": fit(kps=60),
        "tumour": {
            "size_mm": 80,
            "cm": "M1",
            "extension": {},
            "histology": "clear_cell",
            "symptomatic": False,
        },
        "metastases": [{"organ": "lung", "count": 3, "synchronous": True, "resectable": False}],
        "systemic": {
            "needs_systemic_therapy": "yes",
            "dx_to_systemic_days": 10,
            "hb_below_lln": True,
            "calcium_corrected_above_uln": True,
        },
    }
    case.update(changes)
    return case


def test_imdc_poor_is_certain_without_neutrophils_and_ldh() -> None:
    # KPS < 80, < 1 year, low Hb, high calcium: 4 IMDC factors whatever the other two are.
    r = recommend(m1(), today=TODAY)
    assert status(r, "cytoreductive_nephrectomy") == "not_recommended"
    assert not {"systemic.neutrophils_above_uln", "systemic.platelets_above_uln"} & set(
        r.missing_inputs
    )


def test_mirels_at_least_9_without_pain() -> None:
    # Peritrochanteric (3) + lytic (3) + > 2/3 cortex (3) = 9 before pain (1–3) is known.
    case = {
        "patient": fit(kps=90),
        "metastases": [
            {
                "organ": "bone",
                "count": 1,
                "synchronous": False,
                "bone": {
                    "weight_bearing": True,
                    "site": "peritrochanteric",
                    "lesion": "lytic",
                    "cortical_fraction": "gt_2_3",
                },
            }
        ],
        "pathology": {"histology": "clear_cell", "pt": "pT2a", "date": "2020-01-01", "ned": True},
    }
    r = recommend(case, today=TODAY)
    assert status(r, "orthopaedic_stabilisation", "metastases[0]") == "recommended"
    assert (
        "metastases[0].bone.pain"
        not in r.option(  # type: ignore[union-attr]
            "orthopaedic_stabilisation"
        ).missing
    )


def test_listed_symptoms_answer_symptomatic() -> None:
    case = m1(tumour={"size_mm": 80, "cm": "M1", "extension": {}, "symptoms": ["gross_haematuria"]})
    r = recommend(case, today=TODAY)
    assert "tumour.symptomatic" not in r.missing_inputs


def test_two_organ_sites_need_no_metastasis_count() -> None:
    case = m1(
        metastases=[
            {"organ": "lung", "synchronous": True, "resectable": True},
            {"organ": "liver", "synchronous": True, "resectable": True},
        ]
    )
    r = recommend(case, today=TODAY)
    rec = r.option("metastasectomy", "metastases[0]")
    assert rec is None or not any(m.endswith(".count") for m in rec.missing)


def test_unfit_patient_rn_not_blocked_on_pn_feasibility() -> None:
    case = {"patient": fit(age=80, fit_for_surgery=False), "tumour": localised(50)}
    r = recommend(case, today=TODAY)
    assert status(r, "radical_nephrectomy") in (None, "not_recommended", "discuss")
    assert "surgeon.pn_feasible" not in r.missing_inputs


def test_blocked_options_are_listed_last_and_say_what_each_value_gives() -> None:
    kidney = {"solitary_kidney": "none", "bilateral_tumours": False, "egfr": 90}
    kidney["hereditary_syndrome"] = "none"  # confirmed VHL would change PN too (decisive)
    r = recommend({"patient": fit(), "kidney": kidney, "tumour": localised(90)}, today=TODAY)
    statuses = [o.status for o in r.options]
    assert statuses.index("blocked_missing_input") > statuses.index("recommended")
    pn = r.option("partial_nephrectomy")
    assert pn is not None and pn.status == "blocked_missing_input"
    assert pn.missing == ["surgeon.pn_feasible"]
    assert "yes → alternative" in pn.why and "no → not offered" in pn.why
    text = summary(r)
    assert text.index("RECOMMENDED") < text.index("CANNOT DECIDE YET")


# --- site capabilities -----------------------------------------------------------------------


def test_rfa_only_site_repeat_cryoablation_is_a_referral() -> None:
    case = {
        "patient": fit(),
        "kidney": {"solitary_kidney": "none"},
        "site": {"ablation_modalities": ["rfa"]},
        "metastases": [],
        "prior_treatment": {
            "type": "cryoablation",
            "date": "2024-01-01",
            "failure": "residual",
            "failure_site": "ablation_zone",
            "failure_date": "2024-04-01",
            "lesion_size_mm": 35,
            "reablation_feasible": True,
        },
    }
    r = recommend(case, today=TODAY)
    cryo = r.option("repeat_ablation")
    assert cryo is not None and cryo.modality == "cryo"
    assert cryo.status == "discuss" and "refer_for_modality" in cryo.flags


def test_cryo_only_site_names_cryoablation() -> None:
    case = {
        "patient": fit(age=80, fit_for_surgery=False),
        "site": {"ablation_modalities": ["cryo"]},
        "tumour": localised(25, histology="clear_cell"),
    }
    r = recommend(case, today=TODAY)
    positive = ("recommended", "alternative")
    ta = [o for o in r.options if o.option == "thermal_ablation" and o.status in positive]
    assert ta and all(o.modality == "cryo" for o in ta)
    # Another pack's modality the site lacks is at most a referral, never a local offer.
    for o in r.options:
        if o.option == "thermal_ablation" and o.modality not in ("cryo", "any"):
            assert o.status in ("discuss", "not_recommended"), o
            assert o.status == "not_recommended" or "refer_for_modality" in o.flags
    # Surveillance first, ablation the alternative (frail/unfit cT1a): groups that share
    # options must not demote the first choice twice.
    assert status(r, "active_surveillance") == "recommended"
    assert ta[0].status == "alternative"


# --- exclusive options -------------------------------------------------------------------------


def test_partial_nephrectomy_and_surveillance_not_both_recommended() -> None:
    # Fit 80-year-old, 18 mm: PN (EAU, fit cT1) and surveillance first (≤ 2 cm, ≥ 75).
    case = {"patient": fit(age=80), "tumour": localised(18, histology="clear_cell")}
    r = recommend(case, today=TODAY)
    both = [o.option for o in r.options if o.status == "recommended"]
    assert not {"partial_nephrectomy", "active_surveillance"} <= set(both)
    assert any(c["id"] == "choice:primary_local_treatment" for c in r.conflicts)


def test_cn_and_tumour_volume_reduction_are_one_option() -> None:
    r = recommend(m1(), today=TODAY)
    assert r.option("tumour_volume_reduction") is None
    cn = r.option("cytoreductive_nephrectomy")
    assert cn is not None and "ONX-03" in cn.rule_ids and cn.status == "not_recommended"


def test_one_femoral_lesion_gets_one_first_choice() -> None:
    case = {
        "patient": fit(kps=90),
        "metastases": [
            {
                "organ": "bone",
                "count": 1,
                "synchronous": False,
                "resectable": True,
                "symptoms": ["pain"],
                "bone": {
                    "weight_bearing": True,
                    "site": "peritrochanteric",
                    "lesion": "lytic",
                    "cortical_fraction": "gt_2_3",
                    "pain": "functional",
                },
            }
        ],
        "pathology": {"histology": "clear_cell", "pt": "pT2a", "date": "2020-01-01", "ned": True},
        "systemic": {"hb_below_lln": False, "calcium_corrected_above_uln": False},
    }
    r = recommend(case, today=TODAY)
    first = [
        o.option
        for o in r.options
        if o.status == "recommended"
        and o.option in ("orthopaedic_stabilisation", "metastasectomy", "stereotactic_radiotherapy")
    ]
    assert first == ["orthopaedic_stabilisation"]  # Mirels 12: fixation first


def test_preoperative_embolisation_never_above_the_fixation_it_prepares() -> None:
    case = {
        "patient": fit(kps=90),
        "metastases": [
            {
                "organ": "bone",
                "count": 1,
                "synchronous": False,
                "bone": {
                    "weight_bearing": True,
                    "site": "lower_limb",
                    "lesion": "lytic",
                    "cortical_fraction": "lt_1_3",
                    "pain": "moderate",
                },
            }
        ],
        "pathology": {"histology": "clear_cell", "pt": "pT2a", "date": "2020-01-01", "ned": True},
    }
    r = recommend(case, today=TODAY)  # Mirels 8: fixation only discussed
    assert status(r, "orthopaedic_stabilisation") == "discuss"
    assert status(r, "preoperative_embolisation") == "discuss"


# --- pack set ------------------------------------------------------------------------------------


def test_unknown_pack_is_refused_by_name() -> None:
    with pytest.raises(UnknownPackError, match="aua"):
        recommend({"patient": fit()}, ["aua"], today=TODAY)


def test_pack_file_not_in_the_pack_set_is_refused(tmp_path: Path) -> None:
    for path in PACK_DIR.glob("*.yaml"):
        (tmp_path / path.name).write_text(path.read_text())
    extra = yaml.safe_load((PACK_DIR / "salvage.yaml").read_text())
    extra["id"] = "stray"
    (tmp_path / "stray.yaml").write_text(yaml.safe_dump(extra))
    with pytest.raises(PackError, match="stray"):
        load_from(tmp_path)


def test_case_no_rule_covers_says_so() -> None:
    r = recommend({"patient": fit()}, ["salvage"], today=TODAY)
    assert r.options == []
    assert "No rule of the chosen packs (salvage) covers this case" in summary(r)


def test_explanation_says_which_input_changes_what() -> None:
    from renalpath.pathway.text import explanation

    kidney = {"solitary_kidney": "none", "bilateral_tumours": False, "egfr": 90}
    kidney["hereditary_syndrome"] = "none"
    r = recommend({"patient": fit(), "kidney": kidney, "tumour": localised(90)}, today=TODAY)
    text = explanation(r)
    assert "surgeon.pn_feasible: yes → alternative; no → not offered" in text
    assert "LOC-RN-01" in text


# --- a requirement on every modality -----------------------------------------------------------


def test_declined_biopsy_blocks_a_named_modality_too() -> None:
    # EAU (Strong): histology before ablation.  Oncolex names radiofrequency ablation for an
    # unfit patient with a small tumour; that named offer is bound by the same requirement.
    case = {
        "patient": fit(age=80, fit_for_surgery=False),
        "tumour": localised(25, histology="unknown", biopsy="declined"),
    }
    r = recommend(case, today=TODAY)
    ablations = [o for o in r.options if o.option == "thermal_ablation"]
    assert ablations
    for o in ablations:
        assert o.status in ("blocked_missing_input", "not_recommended"), o
    assert "tumour.histology" in r.missing_inputs
    # With the histology known the named modality is offered again (the block is the biopsy).
    known = {**case, "tumour": localised(25, histology="clear_cell")}
    after = recommend(known, today=TODAY)
    assert all(o.status != "blocked_missing_input" for o in after.options)
    assert after.option("thermal_ablation") is not None


def test_unfit_patient_solitary_kidney_no_last_resort_nephrectomy() -> None:
    # The last-resort nephrectomy of a solitary kidney is for a patient who could undergo it.
    case = {
        "patient": fit(age=80, fit_for_surgery=False),
        "kidney": {"solitary_kidney": "anatomic"},
        "surgeon": {"pn_feasible": "no"},
        "tumour": localised(50),
    }
    r = recommend(case, today=TODAY)
    assert status(r, "radical_nephrectomy") in (None, "not_recommended")


def test_answer_the_completions_already_give_is_not_withheld_for_the_budget() -> None:
    """Two metastasectomy options (one per metastasis) blocked on the same two counts: the
    completions tried for the first settle the second too.  The engine once refused to look
    at them for the second because the case's budget of runs was nearly spent, although
    they cost nothing more, and so asked the board for counts that change nothing.  With
    a performance status of 50 and two metastases (neither solitary), metastasectomy is not
    offered whatever the counts."""
    case: dict[str, Any] = {
        "as_of": "2025-06-01",
        "patient": {
            "age": 46,
            "sex": "male",
            "kps": 50,
            "frail": True,
            "declines_surgery": False,
            "prefers_active_treatment": True,
            "competing_mortality_outweighs_benefit": False,
            "family_history_rcc": True,
        },
        "kidney": {
            "solitary_kidney": "functional",
            "hereditary_syndrome": "none",
            "proteinuria": False,
        },
        "tumour": {
            "central": True,
            "cm": "M1",
            "biopsy": "done",
            "symptoms": ["gross_haematuria"],
            "extension": {"ivc_above_diaphragm": True},
        },
        "metastases": [
            {"organ": "bone", "resectable": True, "symptoms": ["pain"], "synchronous": True},
            {"organ": "brain", "resectable": False, "symptoms": [], "synchronous": True},
        ],
        "systemic": {
            "needs_systemic_therapy": "unknown",
            "dx_to_systemic_days": 10,
            "hb_below_lln": True,
            "platelets_above_uln": False,
            "calcium_corrected_above_10_mg_dl": False,
            "responding": False,
        },
        "site": {"ablation_modalities": []},
    }
    r = recommend(case, today=TODAY)
    for target in ("metastases[0]", "metastases[1]"):
        assert status(r, "metastasectomy", target) in (None, "not_recommended"), target
    assert not any(m.endswith("].count") for m in r.missing_inputs), r.missing_inputs
