"""One focused test per rule: it fires when its condition holds and stays silent when not.

Each row changes one base case (localised, synchronous metastatic, metachronous metastatic,
post-operative or salvage) in the way the rule's stated condition describes; the
silent variant removes exactly the triggering fact.  Where the rule emits a verdict, the
expected option and status (from the guideline rules) are checked too.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from renalpath.pathway import recommend
from renalpath.pathway.loader import load_packs

AS_OF = "2025-06-01"
NORMAL_LABS = {
    "hb_below_lln": False,
    "calcium_corrected_above_uln": False,
    "neutrophils_above_uln": False,
    "platelets_above_uln": False,
    "ldh_above_1_5_uln": False,
    "calcium_corrected_above_10_mg_dl": False,
}
TWO_KIDNEYS = {"solitary_kidney": "none", "bilateral_tumours": False, "hereditary_syndrome": "none"}
BASES: dict[str, dict[str, Any]] = {
    "loc": {
        "as_of": AS_OF,
        "patient": {"age": 60, "sex": "male", "ecog": 0, "frail": False, "fit_for_surgery": True},
        "kidney": {**TWO_KIDNEYS, "egfr": 90},
        "tumour": {
            "size_mm": 30,
            "cn": "N0",
            "cm": "M0",
            "extension": {},
            "central": False,
            "lesion_type": "solid",
            "histology": "clear_cell",
            "biopsy": "done",
        },
        "surgeon": {"pn_feasible": "yes"},
    },
    "m1": {
        "as_of": AS_OF,
        "patient": {"age": 60, "sex": "male", "kps": 90, "fit_for_surgery": True},
        "kidney": {**TWO_KIDNEYS},
        "tumour": {
            "size_mm": 60,
            "cm": "M1",
            "extension": {},
            "histology": "clear_cell",
            "symptomatic": False,
        },
        "metastases": [
            {
                "organ": "lung",
                "count": 3,
                "size_mm": 10,
                "resectable": False,
                "synchronous": True,
                "symptoms": [],
            }
        ],
        "systemic": {"needs_systemic_therapy": "yes", "dx_to_systemic_days": 30, **NORMAL_LABS},
    },
    "meta": {
        "as_of": AS_OF,
        "patient": {"age": 60, "sex": "female", "kps": 90, "fit_for_surgery": True},
        "pathology": {
            "histology": "clear_cell",
            "pt": "pT2a",
            "pn": "pN0",
            "pm": "M0",
            "size_mm": 80,
            "isup_grade": 2,
            "necrosis": False,
            "margin": "negative",
            "treatment": "radical_nephrectomy",
            "date": "2020-03-01",
        },
        "metastases": [
            {
                "organ": "lung",
                "count": 1,
                "size_mm": 14,
                "resectable": True,
                "synchronous": False,
                "symptoms": [],
                "date": "2025-05-01",
            }
        ],
        "systemic": {"needs_systemic_therapy": "no", **NORMAL_LABS},
    },
    "postop": {
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
            "date": "2025-05-01",
        },
        "metastases": [],
    },
    "sal": {
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
            "lesion_size_mm": 20,
            "reablation_feasible": True,
        },
        "surgeon": {"pn_feasible": "yes"},
    },
}

BONE_FIX = {
    "organ": "bone",
    "count": 1,
    "size_mm": 40,
    "resectable": False,
    "synchronous": True,
    "symptoms": ["pain"],
    "bone": {
        "weight_bearing": True,
        "site": "peritrochanteric",
        "lesion": "lytic",
        "cortical_fraction": "gt_2_3",
        "pain": "functional",
    },
}
HIGH_RENAL = {"exophytic_pct": 0, "nearness_mm": 3, "ap": "p", "polar": "central", "hilar": False}


def met(**kw: Any) -> list[dict[str, Any]]:
    base = copy.deepcopy(BASES["m1"]["metastases"][0])
    base.update(kw)
    return [base]


# (rule, base, fire changes, silent changes, expected (option, status) from that rule or None)
Row = tuple[str, str, dict[str, Any], dict[str, Any], tuple[str, str] | None]
ROWS: list[Row] = [
    ("TRI-01", "loc", {"tumour.bosniak": "IV"}, {}, None),
    ("TRI-02", "loc", {"tumour.bosniak": "III"}, {}, ("active_surveillance", "alternative")),
    (
        "TRI-03",
        "loc",
        {"tumour.lesion_type": "cystic", "tumour.significant_solid_component": False},
        {},
        ("renal_mass_biopsy", "not_recommended"),
    ),
    ("TRI-05", "loc", {"patient.age": 40}, {}, ("genetic_referral", "recommended")),
    (
        "TRI-06",
        "m1",
        {},
        {"systemic.needs_systemic_therapy": "no", "tumour.cm": "M0", "metastases": []},
        ("brain_imaging", "recommended"),
    ),
    ("TRI-07", "m1", {}, {"tumour.cm": "M0", "metastases": []}, None),
    (
        "TRI-08",
        "loc",
        {"tumour.histology": "oncocytoma"},
        {},
        ("active_surveillance", "alternative"),
    ),
    ("STG-01", "loc", {"tumour.extension": {"ivc_below_diaphragm": True}}, {}, None),
    ("STG-02", "loc", {}, {"tumour.cn": None}, None),
    ("LOC-00", "loc", {}, {"patient.fit_for_surgery": False}, None),
    ("LOC-PN-01", "loc", {}, {"tumour.size_mm": 90}, ("partial_nephrectomy", "recommended")),
    (
        "LOC-PN-02",
        "loc",
        {},
        {"surgeon.pn_feasible": "no"},
        ("radical_nephrectomy", "not_recommended"),
    ),
    ("LOC-PN-03", "loc", {"surgeon.pn_feasible": "no"}, {}, ("radical_nephrectomy", "recommended")),
    ("LOC-PN-04", "loc", {"tumour.central": True}, {}, None),
    ("LOC-RN-01", "loc", {"tumour.size_mm": 90}, {}, ("radical_nephrectomy", "recommended")),
    (
        "LOC-RN-02",
        "loc",
        {"tumour.size_mm": 90, "kidney.solitary_kidney": "anatomic"},
        {"tumour.size_mm": 90},
        ("partial_nephrectomy", "recommended"),
    ),
    (
        "LOC-RN-03",
        "loc",
        {
            "tumour.size_mm": 50,
            "tumour.renal": HIGH_RENAL,
            "kidney.proteinuria": False,
            "kidney.contralateral_normal": True,
            "kidney.anticipated_postop_egfr": 60,
        },
        {"tumour.size_mm": 50, "tumour.renal": HIGH_RENAL},
        ("radical_nephrectomy", "alternative"),
    ),
    (
        "LOC-ADR-01",
        "loc",
        {},
        {"tumour.extension": {"adrenal_contiguous": True}},
        ("adrenalectomy", "not_recommended"),
    ),
    ("LOC-LND-01", "loc", {}, {"tumour.cn": "N1"}, ("lymph_node_dissection", "not_recommended")),
    ("LOC-LND-02", "loc", {"tumour.cn": "N1"}, {}, ("lymph_node_dissection", "recommended")),
    (
        "LOC-VT-01",
        "loc",
        {"tumour.extension": {"renal_vein": True}},
        {},
        ("radical_nephrectomy_with_thrombectomy", "recommended"),
    ),
    (
        "LOC-T4-01",
        "loc",
        {"tumour.extension": {"beyond_gerota": True}},
        {},
        ("radical_nephrectomy", "discuss"),
    ),
    (
        "LOC-EMB-01",
        "loc",
        {"patient.fit_for_surgery": False, "tumour.symptoms": ["gross_haematuria"]},
        {"patient.fit_for_surgery": False},
        ("arterial_embolisation", "recommended"),
    ),
    ("LOC-MIS-01", "loc", {"surgeon.mis_compromises_outcome": True}, {}, None),
    (
        "LOC-MRG-01",
        "postop",
        {"pathology.margin": "positive"},
        {},
        ("repeat_imaging", "recommended"),
    ),
    ("SRM-AS-01", "loc", {"patient.frail": True}, {}, ("active_surveillance", "recommended")),
    (
        "SRM-AS-03",
        "loc",
        {"tumour.size_mm": 18, "patient.age": 80},
        {"tumour.size_mm": 18},
        ("active_surveillance", "recommended"),
    ),
    ("SRM-AS-02", "loc", {"tumour.size_mm": 18}, {}, ("active_surveillance", "alternative")),
    (
        "SRM-AS-04",
        "loc",
        {"patient.competing_mortality_outweighs_benefit": True},
        {},
        ("active_surveillance", "recommended"),
    ),
    ("SRM-AS-05", "loc", {}, {"tumour.size_mm": 50}, None),
    ("SRM-AS-P", "loc", {}, {"tumour.size_mm": 50}, None),
    ("SRM-TA-01", "loc", {"tumour.size_mm": 35}, {"tumour.size_mm": 25}, None),
    (
        "SRM-TA-02",
        "loc",
        {"tumour.size_mm": 25, "patient.fit_for_surgery": False},
        {"tumour.size_mm": 25},
        ("thermal_ablation", "recommended"),
    ),
    ("SRM-TA-03", "loc", {"tumour.histology": "unknown"}, {}, None),
    ("SRM-TA-04", "loc", {"tumour.renal": {"nearness_mm": 3}}, {}, None),
    ("SRM-TA-05", "loc", {}, {"tumour.size_mm": 50}, None),
    (
        "TRI-04",
        "loc",
        {"tumour.size_mm": 25, "patient.fit_for_surgery": False, "tumour.histology": "unknown"},
        {"tumour.size_mm": 25, "patient.fit_for_surgery": False},
        ("renal_mass_biopsy", "recommended"),
    ),
    (
        "CN-01",
        "m1",
        {"patient.kps": 50, "systemic.hb_below_lln": True, "systemic.neutrophils_above_uln": True},
        {},
        ("cytoreductive_nephrectomy", "not_recommended"),
    ),
    (
        "CN-02",
        "m1",
        {},
        {"systemic.needs_systemic_therapy": "no"},
        ("cytoreductive_nephrectomy", "not_recommended"),
    ),
    ("CN-02a", "m1", {}, {"systemic.hb_below_lln": True}, None),
    ("CN-02b", "m1", {"systemic.hb_below_lln": True}, {}, None),
    (
        "CN-03",
        "m1",
        {"systemic.on_therapy": True, "systemic.responding": True},
        {},
        ("deferred_cytoreductive_nephrectomy", "discuss"),
    ),
    (
        "CN-04",
        "m1",
        {"systemic.needs_systemic_therapy": "no"},
        {},
        ("cytoreductive_nephrectomy", "recommended"),
    ),
    (
        "CN-05",
        "m1",
        {"metastases": met(resectable=True)},
        {},
        ("metastasectomy", "recommended"),
    ),
    (
        "CN-06",
        "m1",
        {"tumour.symptomatic": True, "patient.fit_for_surgery": False},
        {"tumour.symptomatic": True},
        ("arterial_embolisation", "recommended"),
    ),
    ("CN-07", "m1", {"patient.kps": 60}, {}, ("tumour_volume_reduction", "discuss")),
    (
        "CN-08",
        "m1",
        {},
        {"systemic.needs_systemic_therapy": "no"},
        ("cytoreductive_nephrectomy", "discuss"),
    ),
    (
        "SYS-01",
        "m1",
        {},
        {"systemic.needs_systemic_therapy": "no"},
        ("systemic_therapy", "recommended"),
    ),
    ("SYS-02", "m1", {"systemic.io_contraindicated": True}, {}, None),
    ("SYS-03", "m1", {"tumour.histology": "papillary"}, {}, None),
    (
        "MDL-01f",
        "meta",
        {},
        {"metastases": [{**BASES["meta"]["metastases"][0], "date": "2020-06-01"}]},
        None,
    ),
    (
        "MDL-01",
        "meta",
        {},
        {"metastases": [{**BASES["meta"]["metastases"][0], "resectable": False}]},
        ("metastasectomy", "recommended"),
    ),
    (
        "MDL-02",
        "meta",
        {},
        {"metastases": [{**BASES["meta"]["metastases"][0], "organ": "liver"}]},
        ("stereotactic_radiotherapy", "alternative"),
    ),
    (
        "MDL-03",
        "m1",
        {"metastases": met(organ="bone")},
        {},
        ("stereotactic_radiotherapy", "recommended"),
    ),
    (
        "MDL-04",
        "meta",
        {},
        {"metastases": [{**BASES["meta"]["metastases"][0], "resectable": False}]},
        ("adjuvant_tki", "not_recommended"),
    ),
    (
        "MDL-05",
        "meta",
        {},
        {"metastases": [{**BASES["meta"]["metastases"][0], "resectable": False}]},
        ("adjuvant_immunotherapy", "not_recommended"),
    ),
    (
        "MDL-06",
        "m1",
        {"metastases": met(symptoms=["pain"])},
        {},
        ("palliative_radiotherapy", "recommended"),
    ),
    (
        "MDL-07",
        "m1",
        {"metastases": met(resection="r1"), "patient.life_expectancy_years": 2},
        {"metastases": met(resection="r0"), "patient.life_expectancy_years": 2},
        ("palliative_radiotherapy", "discuss"),
    ),
    (
        "MDL-08",
        "m1",
        {"metastases": met(symptoms=["bleeding"], resectable=True)},
        {},
        ("palliative_surgery", "recommended"),
    ),
    (
        "MDL-09",
        "m1",
        {"metastases": [BONE_FIX]},
        {"metastases": met(organ="bone")},
        ("orthopaedic_stabilisation", "recommended"),
    ),
    (
        "MDL-10",
        "m1",
        {"metastases": [BONE_FIX]},
        {"metastases": met(organ="bone")},
        ("preoperative_embolisation", "recommended"),
    ),
    ("MDL-11", "m1", {"metastases": met(symptoms=["neurological"])}, {}, None),
    ("ADJ-01", "postop", {"pathology.pt": "pT3a"}, {}, ("adjuvant_immunotherapy", "discuss")),
    ("ADJ-02", "postop", {}, {"pathology": None}, ("adjuvant_tki", "not_recommended")),
    ("ADJ-03", "postop", {}, {"pathology": None}, ("adjuvant_tki", "not_recommended")),
    ("FU-01", "postop", {}, {"pathology": None}, None),
    ("FU-02", "postop", {"pathology.margin": "positive"}, {}, None),
    ("FU-03", "postop", {}, {"pathology": None}, None),
    ("FU-04", "postop", {}, {"pathology": None}, None),
    ("FU-05", "postop", {}, {"pathology": None}, None),
    (
        "SAL-00",
        "sal",
        {},
        {
            "prior_treatment.failure": "none",
            "prior_treatment.failure_site": None,
            "prior_treatment.failure_date": None,
        },
        ("renal_mass_biopsy", "recommended"),
    ),
    (
        "SAL-01",
        "sal",
        {"prior_treatment.failure": "residual"},
        {},
        ("repeat_imaging", "alternative"),
    ),
    (
        "SAL-02",
        "sal",
        {},
        {"prior_treatment.reablation_feasible": False},
        ("repeat_ablation", "recommended"),
    ),
    (
        "SAL-03",
        "sal",
        {"prior_treatment.reablation_feasible": False},
        {"prior_treatment.reablation_feasible": False, "kidney.solitary_kidney": "anatomic"},
        ("salvage_partial_nephrectomy", "recommended"),
    ),
    (
        "SAL-04",
        "sal",
        {"prior_treatment.reablation_feasible": False, "surgeon.pn_feasible": "no"},
        {"prior_treatment.reablation_feasible": False},
        ("salvage_radical_nephrectomy", "recommended"),
    ),
    ("SAL-05", "sal", {"kidney.solitary_kidney": "anatomic"}, {}, None),
    ("SAL-06", "sal", {"patient.frail": True}, {}, ("active_surveillance", "alternative")),
    (
        "SAL-07",
        "sal",
        {
            "prior_treatment.type": "partial_nephrectomy",
            "prior_treatment.failure_site": "resection_bed",
        },
        {},
        ("salvage_partial_nephrectomy", "recommended"),
    ),
    (
        "SAL-08",
        "sal",
        {"prior_treatment.type": "partial_nephrectomy", "kidney.solitary_kidney": "anatomic"},
        {
            "prior_treatment.type": "partial_nephrectomy",
            "kidney.solitary_kidney": "anatomic",
            "prior_treatment.lesion_size_mm": 50,
        },
        ("completion_radical_nephrectomy", "not_recommended"),
    ),
    (
        "SAL-09",
        "sal",
        {
            "prior_treatment.type": "radical_nephrectomy",
            "prior_treatment.failure_site": "renal_fossa",
            "surgeon.complete_resection_feasible": True,
        },
        {},
        ("metastasectomy", "recommended"),
    ),
    ("SAL-10", "sal", {"metastases": met(synchronous=False)}, {}, None),
    ("ONX-01", "loc", {}, {"tumour.cm": "M1", "metastases": met()}, None),
    ("ONX-02", "m1", {}, {"patient.kps": 60}, ("cytoreductive_nephrectomy", "discuss")),
    ("ONX-03", "m1", {"patient.kps": 60}, {}, ("tumour_volume_reduction", "discuss")),
    ("ONX-04", "loc", {}, {"tumour.central": True}, ("partial_nephrectomy", "recommended")),
    ("ONX-05", "loc", {"tumour.size_mm": 80}, {}, ("radical_nephrectomy", "recommended")),
    (
        "ONX-06",
        "m1",
        {},
        {"systemic.needs_systemic_therapy": "no"},
        ("cytoreductive_nephrectomy", "discuss"),
    ),
    ("ONX-07", "postop", {}, {"pathology": None}, None),
    ("ONX-08", "postop", {"pathology.size_mm": 60, "pathology.pt": "pT1b"}, {}, None),
    (
        "ONX-09",
        "loc",
        {"tumour.size_mm": 15, "patient.age": 80},
        {"tumour.size_mm": 15},
        ("active_surveillance", "recommended"),
    ),
    ("ONX-10", "loc", {"patient.fit_for_surgery": False}, {}, ("thermal_ablation", "alternative")),
    (
        "ONX-11",
        "m1",
        {"metastases": met(organ="bone", symptoms=["pain"])},
        {"metastases": met(organ="bone")},
        ("palliative_radiotherapy", "recommended"),
    ),
    (
        "ONX-12",
        "m1",
        {"metastases": met(symptoms=["ulcerating"], resectable=True)},
        {},
        ("palliative_surgery", "recommended"),
    ),
    (
        "ONX-13",
        "m1",
        {"metastases": [BONE_FIX]},
        {"metastases": met(organ="bone")},
        ("orthopaedic_stabilisation", "discuss"),
    ),
    (
        "ONX-14",
        "meta",
        {},
        {"metastases": [{**BASES["meta"]["metastases"][0], "count": 3}]},
        ("metastasectomy", "discuss"),
    ),
    (
        "ONX-15",
        "m1",
        {},
        {"systemic.needs_systemic_therapy": "no"},
        ("systemic_therapy", "recommended"),
    ),
]


def build(base: str, changes: dict[str, Any]) -> dict[str, Any]:
    case = copy.deepcopy(BASES[base])
    for dotted, value in changes.items():
        node = case
        *parents, last = dotted.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = copy.deepcopy(value)
    return case


@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_rule_fires_and_stays_silent(row: Row) -> None:
    rule_id, base, fire, silent, expected = row
    fired = recommend(build(base, fire))
    assert rule_id in fired.rules_fired, f"{rule_id} should fire"
    if expected is not None:
        option, status = expected
        verdicts = [
            c.status
            for o in fired.options
            if o.option == option
            for c in o.contributions
            if c.rule_id == rule_id
        ]
        assert status in verdicts, f"{rule_id}: expected {option} {status}, got {verdicts}"
    quiet = recommend(build(base, silent))
    assert rule_id not in quiet.rules_fired, f"{rule_id} should stay silent"


def test_every_rule_has_a_focused_test() -> None:
    tested = {r[0] for r in ROWS}
    all_rules = {r.spec.id for p in load_packs().packs.values() for r in p.rules}
    assert all_rules - tested == set()
