"""The one table of clinical labels the web pages show instead of code names.

Field paths of the case (`surgeon.pn_feasible`), coded answers (`lt_1_3`), option codes,
flags and verification tags are the engine's vocabulary; clinicians read the words below.
Every page (form, live panel, options, missing inputs, board sheet, timeline) goes through
these functions, so a label is changed in one place.  Anything not listed falls back to a
readable form of its code (underscores to spaces, first letter capital), never to raw code.
"""

from __future__ import annotations

import re
from typing import Any

# Case fields: path (list indices removed) → label.  Written for a tumour board.
FIELDS: dict[str, str] = {
    "as_of": "Decision date",
    "tumour.size_mm": "Tumour size (mm)",
    "tumour.side": "Side",
    "tumour.histology": "Histology (biopsy)",
    "tumour.biopsy": "Renal mass biopsy",
    "tumour.central": "Central (hilar or sinus) location",
    "tumour.multifocal": "Multifocal",
    "tumour.cn": "Clinical N (cN)",
    "tumour.cm": "Clinical M (cM)",
    "tumour.symptomatic": "Symptoms from the tumour",
    "tumour.symptoms": "Which symptoms",
    "tumour.lesion_type": "Lesion type",
    "tumour.bosniak": "Bosniak class (cystic mass)",
    "tumour.significant_solid_component": "Significant solid component",
    "tumour.extension": "Local extension assessed on imaging",
    "tumour.extension.renal_vein": "Renal vein thrombus",
    "tumour.extension.pelvicalyceal": "Pelvicalyceal system invaded",
    "tumour.extension.perirenal_fat": "Perirenal fat invaded",
    "tumour.extension.sinus_fat": "Renal sinus fat invaded",
    "tumour.extension.ivc_below_diaphragm": "IVC thrombus below the diaphragm",
    "tumour.extension.ivc_above_diaphragm": "IVC thrombus above the diaphragm",
    "tumour.extension.ivc_wall": "IVC wall invaded",
    "tumour.extension.beyond_gerota": "Beyond Gerota's fascia",
    "tumour.extension.adrenal_contiguous": "Contiguous ipsilateral adrenal invasion",
    "tumour.renal": "R.E.N.A.L. score inputs",
    "tumour.renal.exophytic_pct": "R.E.N.A.L.: exophytic part (%)",
    "tumour.renal.nearness_mm": "R.E.N.A.L.: distance to collecting system (mm)",
    "tumour.renal.ap": "R.E.N.A.L.: anterior / posterior",
    "tumour.renal.polar": "R.E.N.A.L.: position to the polar lines",
    "tumour.renal.hilar": "R.E.N.A.L.: hilar (touches main renal vessels)",
    "tumour.padua": "PADUA score inputs",
    "tumour.padua.exophytic_pct": "PADUA: exophytic part (%)",
    "tumour.padua.polar": "PADUA: longitudinal position",
    "tumour.padua.rim": "PADUA: renal rim",
    "tumour.padua.sinus": "PADUA: renal sinus involved",
    "tumour.padua.ucs": "PADUA: collecting system involved",
    "tumour.padua.face": "PADUA: anterior / posterior face",
    "kidney.solitary_kidney": "Solitary kidney",
    "kidney.bilateral_tumours": "Bilateral tumours",
    "kidney.hereditary_syndrome": "Hereditary RCC syndrome",
    "kidney.creatinine": "Serum creatinine",
    "kidney.creatinine.value": "Serum creatinine",
    "kidney.creatinine.unit": "Creatinine unit",
    "kidney.egfr": "Reported eGFR (mL/min/1.73 m²)",
    "kidney.proteinuria": "Proteinuria (ACR ≥ 30 mg/g)",
    "kidney.contralateral_normal": "Other kidney normal",
    "kidney.anticipated_postop_egfr": "Expected eGFR after radical nephrectomy",
    "patient.age": "Age (years)",
    "patient.sex": "Sex",
    "patient.performance_status": "Performance status",
    "patient.ecog": "ECOG performance status",
    "patient.kps": "Karnofsky performance status (%)",
    "patient.frail": "Frail or comorbid",
    "patient.fit_for_surgery": "Fit for surgery",
    "patient.life_expectancy_years": "Life expectancy (years)",
    "patient.family_history_rcc": "Family history of RCC",
    "patient.declines_surgery": "Patient declines surgery",
    "patient.prefers_active_treatment": "Patient prefers active treatment",
    "patient.competing_mortality_outweighs_benefit": "Competing mortality outweighs benefit",
    "metastases": "Metastases",
    "metastases.organ": "Metastasis: organ",
    "metastases.count": "Metastasis: number of lesions",
    "metastases.size_mm": "Metastasis: largest lesion (mm)",
    "metastases.resectable": "Metastasis: completely resectable",
    "metastases.synchronous": "Metastasis: present at diagnosis",
    "metastases.symptoms": "Metastasis: symptoms",
    "metastases.date": "Metastasis: date detected",
    "metastases.resection": "Metastasis: resection already done",
    "metastases.bone": "Bone lesion",
    "metastases.bone.weight_bearing": "Bone: weight-bearing",
    "metastases.bone.site": "Bone: site",
    "metastases.bone.lesion": "Bone: lesion type",
    "metastases.bone.cortical_fraction": "Bone: cortex destroyed",
    "metastases.bone.pain": "Bone: pain",
    "prior_treatment.type": "Earlier treatment",
    "prior_treatment.date": "Earlier treatment: date",
    "prior_treatment.failure": "Earlier treatment: failure",
    "prior_treatment.failure_site": "Failure: site",
    "prior_treatment.failure_date": "Failure: date detected",
    "prior_treatment.lesion_size_mm": "Failure: lesion size (mm)",
    "prior_treatment.reablation_feasible": "Re-ablation feasible",
    "systemic.needs_systemic_therapy": "Systemic therapy needed",
    "systemic.on_therapy": "On systemic therapy",
    "systemic.responding": "Responding to systemic therapy",
    "systemic.io_contraindicated": "Immunotherapy contraindicated",
    "systemic.dx_to_systemic_days": "Diagnosis to systemic therapy (days)",
    "systemic.kps": "Karnofsky (%) for IMDC",
    "systemic.hb_below_lln": "Haemoglobin below lower limit",
    "systemic.calcium_corrected_above_uln": "Corrected calcium above upper limit",
    "systemic.calcium_corrected_above_10_mg_dl": "Corrected calcium above 10 mg/dL",
    "systemic.neutrophils_above_uln": "Neutrophils above upper limit",
    "systemic.platelets_above_uln": "Platelets above upper limit",
    "systemic.ldh_above_1_5_uln": "LDH above 1.5 × upper limit",
    "pathology.histology": "Pathology: histology",
    "pathology.pt": "Pathology: pT",
    "pathology.pn": "Pathology: pN",
    "pathology.pm": "Pathology: M at surgery",
    "pathology.ned": "No evidence of disease after surgery",
    "pathology.size_mm": "Pathology: size (mm)",
    "pathology.isup_grade": "Pathology: ISUP grade",
    "pathology.necrosis": "Pathology: necrosis",
    "pathology.sarcomatoid": "Pathology: sarcomatoid features",
    "pathology.margin": "Pathology: margin",
    "pathology.treatment": "Operation",
    "pathology.date": "Date of surgery",
    "surgeon": "Surgeon's assessment",
    "surgeon.pn_feasible": "Partial nephrectomy technically feasible (surgeon)",
    "surgeon.mis_compromises_outcome": "Minimally invasive approach would compromise outcome",
    "surgeon.complete_resection_feasible": "Complete resection feasible (surgeon)",
    "site.ablation_modalities": "Ablation available at this site",
}

# Coded answers: value → words, per field where the same code means different things.
_CHOICES_BY_FIELD: dict[str, dict[str, str]] = {
    # the case form's one performance-status choice: the scale is part of the answer
    "patient.performance_status": {
        **{f"kps:{k}": f"Karnofsky {k} %" for k in range(0, 101, 10)},
        **{f"ecog:{e}": f"ECOG {e} (Karnofsky not assessed)" for e in range(5)},
    },
    "tumour.renal.ap": {"a": "anterior", "p": "posterior", "x": "neither"},
    "tumour.padua.face": {"a": "anterior", "p": "posterior"},
    "metastases.bone.cortical_fraction": {
        "lt_1_3": "less than 1/3",
        "1_3_to_2_3": "1/3 to 2/3",
        "gt_2_3": "more than 2/3",
    },
    "metastases.resection": {"none": "none", "r0": "R0", "r1": "R1", "r2": "R2"},
    "site.ablation_modalities": {
        "cryo": "cryoablation",
        "rfa": "radiofrequency",
        "mwa": "microwave",
    },
    "tumour.biopsy": {"not_done": "not done", "non_diagnostic": "non-diagnostic"},
}
_CHOICES: dict[str, str] = {
    "clear_cell": "clear cell",
    "lymph_node": "lymph node",
    "soft_tissue": "soft tissue",
    "contralateral_kidney": "other kidney",
    "gross_haematuria": "visible haematuria",
    "flank_pain": "flank pain",
    "upper_limb": "upper limb",
    "lower_limb": "lower limb",
    "ablation_zone": "in the ablation zone",
    "resection_bed": "in the resection bed",
    "remote_same_kidney": "elsewhere in the same kidney",
    "renal_fossa": "renal fossa",
    "cryoablation": "cryoablation",
    "radiofrequency_ablation": "radiofrequency ablation",
    "microwave_ablation": "microwave ablation",
    "not_applicable": "not applicable",
    "unknown": "not known",
    "true": "yes",
    "false": "no",
    "male": "male",
    "female": "female",
}

OPTIONS: dict[str, str] = {
    "active_surveillance": "Active surveillance",
    "renal_mass_biopsy": "Renal mass biopsy",
    "partial_nephrectomy": "Partial nephrectomy",
    "radical_nephrectomy": "Radical nephrectomy",
    "radical_nephrectomy_with_thrombectomy": "Radical nephrectomy with thrombectomy",
    "thermal_ablation": "Thermal ablation",
    "arterial_embolisation": "Arterial embolisation",
    "cytoreductive_nephrectomy": "Cytoreductive nephrectomy",
    "deferred_cytoreductive_nephrectomy": "Deferred cytoreductive nephrectomy",
    "tumour_volume_reduction": "Tumour volume reduction",
    "systemic_therapy": "Systemic therapy",
    "palliative_radiotherapy": "Palliative radiotherapy",
    "stereotactic_radiotherapy": "Stereotactic radiotherapy",
    "palliative_surgery": "Palliative surgery",
    "orthopaedic_stabilisation": "Orthopaedic stabilisation",
    "preoperative_embolisation": "Pre-operative embolisation",
    "metastasectomy": "Metastasectomy",
    "repeat_imaging": "Repeat imaging",
    "repeat_ablation": "Repeat ablation",
    "salvage_partial_nephrectomy": "Salvage partial nephrectomy",
    "salvage_radical_nephrectomy": "Salvage radical nephrectomy",
    "completion_radical_nephrectomy": "Completion radical nephrectomy",
    "adrenalectomy": "Adrenalectomy",
    "lymph_node_dissection": "Lymph node dissection",
    "adjuvant_immunotherapy": "Adjuvant immunotherapy",
    "adjuvant_tki": "Adjuvant tyrosine-kinase inhibitor",
    "genetic_referral": "Genetic referral",
    "brain_imaging": "Brain imaging",
    "best_supportive_care": "Best supportive care",
    # registry intervention and event types that are not pathway options
    "cryoablation": "Cryoablation",
    "radiofrequency_ablation": "Radiofrequency ablation",
    "microwave_ablation": "Microwave ablation",
    "radiotherapy": "Radiotherapy",
    "embolisation": "Embolisation",
    "residual_disease": "Residual disease",
    "local_recurrence": "Local recurrence",
    "distant_metastasis": "Distant metastasis",
    "dialysis_start": "Dialysis started",
    "dialysis_end": "Dialysis ended",
    "death": "Death",
    "last_followup": "Last follow-up",
}
MODALITIES = {"cryo": "cryoablation", "rfa": "radiofrequency", "mwa": "microwave", "any": "any"}

FLAGS: dict[str, str] = {
    "mdt_required": "Multidisciplinary board required",
    "needs_verification": "Source wording to be verified",
    "consider_high_volume_centre": "Consider a high-volume centre",
    "ivc_thrombus": "IVC thrombus",
    "manage_as_rcc": "Manage as RCC",
    "out_of_scope_refer": "Outside this pathway: refer",
    "biopsy_before_ablation": "Biopsy before ablation",
    "rn_conversion_risk": "Risk of conversion to radical nephrectomy",
}

# Verification tags of rules and sources, as shown in the legend on every page that has them.
VERIFICATION: dict[str, str] = {
    "V": "checked against the text of the cited source",
    "S": "checked against a secondary source reporting the cited one; "
    "a clinician should spot-check the original",
    "R": "recalled from the cited source, whose text could not be retrieved; "
    "to be verified by a clinician before use",
    "B": "a descriptive statement of a founding document (not a graded recommendation)",
    "P": "a local project default, not from a guideline (configurable)",
}

DERIVED: dict[str, str] = {
    "ct": "cT",
    "cn": "cN",
    "cm": "cM",
    "stage_group": "Stage group",
    "egfr": "eGFR (mL/min/1.73 m²)",
    "egfr_equation": "eGFR equation",
    "ckd_stage": "CKD stage",
    "renal": "R.E.N.A.L.",
    "padua": "PADUA",
    "imdc": "IMDC risk",
    "mskcc": "MSKCC risk",
    "mirels": "Mirels score",
    "leibovich": "Leibovich risk",
}

EQUATIONS: dict[str, str] = {
    "ckd-epi-2021": "CKD-EPI 2021",
    "ckd-epi-2009": "CKD-EPI 2009",
    "mdrd": "MDRD",
    "cockcroft-gault": "Cockcroft–Gault",
}

STUDY_SECTIONS: dict[str, str] = {
    "cohort": "Cohort",
    "primary_modality": "Primary treatment",
    "salvage_procedure": "Salvage operation",
    "approach": "Surgical approach",
    "renal_function": "Kidney function",
    "warm_ischemia": "Warm ischaemia (min)",
    "blood_loss": "Blood loss (mL)",
    "pt_stage": "Pathological T stage",
    "margins": "Surgical margins",
    "complications": "Complications (Clavien–Dindo)",
    "followup_months": "Follow-up (months)",
    "rfs": "Recurrence-free survival",
}
STUDY_MEASURES: dict[str, str] = {
    "salvage_rate_pct": "Salvage operations among all operations (%)",
    "male_n": "Men (n)",
    "male_pct": "Men (%)",
    "age_mean": "Age, mean (years)",
    "age_sd": "Age, SD (years)",
    "age_min": "Age, youngest (years)",
    "age_max": "Age, oldest (years)",
    "primary_open_surgery_n": "Primary open surgery (n)",
    "dialysis_expected_preop_n": "Dialysis expected after surgery (n)",
    "n": "Patients (n)",
    "equation": "eGFR equation",
    "creatinine_pre_mean": "Creatinine before, mean (mg/dL)",
    "creatinine_post_mean": "Creatinine after, mean (mg/dL)",
    "egfr_pre_mean": "eGFR before, mean (mL/min/1.73 m²)",
    "egfr_post_mean": "eGFR after, mean (mL/min/1.73 m²)",
    "egfr_change_mean": "eGFR change, mean (mL/min/1.73 m²)",
    "paired_t_p": "Paired t-test, p",
    "wilcoxon_p": "Wilcoxon signed-rank test, p",
    "ckd_upstaged_n": "CKD stage worse after (n)",
    "mcnemar_p": "McNemar test (CKD stage 3+), p",
    "ckd3_pre_n": "CKD stage 3 or worse before (n)",
    "ckd3_post_n": "CKD stage 3 or worse after (n)",
    "excluded_dialysis_n": "Excluded: on dialysis (n)",
    "missing_pre_n": "No value before (n)",
    "missing_post_n": "No value after (n)",
    "missing_n": "Not recorded (n)",
    "negative_n": "Negative (n)",
    "positive_n": "Positive (n)",
    "not_reported_n": "Not reported (n)",
    "major_n": "Major, grade III or worse (n)",
    "recurrence_after_salvage_n": "Recurrence after salvage (n)",
    "deaths_n": "Deaths (n)",
    "mean": "Mean",
    "sd": "SD",
    "median": "Median",
    "min": "Minimum",
    "max": "Maximum",
    "none": "None",
}

_INDEX = re.compile(r"\[\d+\]")


def readable(code: Any) -> str:
    """The fallback: `some_code` → "Some code" (never the raw code)."""
    text = str(code).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def field(path: str) -> str:
    """Label of a case field path, e.g. `metastases[1].bone.site` → "Metastasis 2 · Bone: site"."""
    bare = _INDEX.sub("", path)
    label = FIELDS.get(bare)
    if label is None:
        label = readable(bare.rsplit(".", 1)[-1])
    match = re.match(r"metastases\[(\d+)\]", path)
    if match:
        label = f"Metastasis {int(match.group(1)) + 1} · " + label.removeprefix("Metastasis: ")
    return label


def choice(path: str, value: Any) -> str:
    """Words for a coded answer of field `path` (booleans as yes / no)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(choice(path, v) for v in value) or "none"
    bare = _INDEX.sub("", path)
    text = str(value)
    per_field = _CHOICES_BY_FIELD.get(bare, {})
    if text in per_field:
        return per_field[text]
    if text in _CHOICES:
        return _CHOICES[text]
    return text.replace("_", " ")


def option(code: str, modality: str | None = None) -> str:
    label = OPTIONS.get(code) or readable(code)
    if modality and modality != "any":
        label += f" ({MODALITIES.get(modality, modality)})"
    return label


def flag(code: str) -> str:
    return FLAGS.get(code) or readable(code)


def equation(code: str) -> str:
    return EQUATIONS.get(code) or code.upper().replace("-", " ")


def derived(key: str) -> str:
    return DERIVED.get(key) or readable(key)


# Missing-input paths that name an object: the input that answers them.
_ANCHORS = {
    "tumour.extension": "tumour.extension.__present",
    "kidney.creatinine": "kidney.creatinine.value",
    "metastases": "metastases[0].organ",
    "tumour.renal": "tumour.renal.exophytic_pct",
    "tumour.padua": "tumour.padua.exophytic_pct",
    # performance status is one input of the form, whichever scale the case uses
    "patient.kps": "patient.performance_status",
    "patient.ecog": "patient.performance_status",
    "systemic.kps": "patient.performance_status",
}


def field_id(path: str) -> str:
    """The id of the form input that answers `path` (same rule as FormField.dom_id)."""
    target = _ANCHORS.get(path, path)
    if target.startswith("metastases."):
        target = "metastases[0]." + target.removeprefix("metastases.")
    return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", target)


BOARD_CATEGORY_LABELS: dict[str, str] = {
    "recommended": "Recommended",
    "alternative": "Alternative",
    "discuss": "Discuss",
    "not_recommended": "Not recommended",
    "blocked_missing_input": "Needs more information",
    "not_listed": "Not among the pathway's options",
    "no_option": "No listed option chosen",
    "case_refused": "Saved case no longer accepted",
}


def form_inputs(paths: list[str]) -> list[tuple[str, str]]:
    """(path, label) of the form inputs that answer `paths`, each input once: the engine may
    ask for ECOG and for Karnofsky, which the form asks as one performance status."""
    out: dict[str, tuple[str, str]] = {}
    for path in paths:
        target = _ANCHORS.get(path, path)
        if target == "patient.performance_status":
            out.setdefault(target, (path, field(target)))
        else:
            out.setdefault(field_id(path), (path, field(path)))
    return list(out.values())


def study_section(key: str) -> str:
    return STUDY_SECTIONS.get(key) or readable(key)


def study_measure(key: str) -> str:
    """`survival_at_12_months` → "At 12 months"; counts keep their category's own words."""
    if key in STUDY_MEASURES:
        return STUDY_MEASURES[key]
    match = re.fullmatch(r"survival_at_(\d+)_months", key)
    if match:
        return f"At {match.group(1)} months"
    if key in OPTIONS:
        return OPTIONS[key]
    return _CHOICES.get(key) or readable(key)


SURVIVAL_BY: dict[str, str] = {
    "type": "Operation",
    "procedure": "Operation",
    "approach": "Surgical approach",
    "intent": "Intent (primary or salvage)",
    "sex": "Sex",
    "side": "Side",
    "ct": "Clinical T",
    "histology": "Histology",
    "pt": "Pathological T",
    "pt_group": "Pathological T, grouped",
    "margin": "Surgical margin",
    "isup_grade": "ISUP grade",
    "solitary_kidney": "Solitary kidney",
}


def survival_by(key: str) -> str:
    return SURVIVAL_BY.get(key) or readable(key)


LABS: dict[str, str] = {
    "creatinine": "Creatinine",
    "egfr": "eGFR",
    "hemoglobin": "Haemoglobin",
    "calcium": "Calcium",
    "albumin": "Albumin",
    "ldh": "LDH",
    "neutrophils": "Neutrophils",
    "platelets": "Platelets",
}


def lab(test: str) -> str:
    return LABS.get(test) or readable(test)


def register(env: Any) -> None:
    """Make the label functions Jinja filters (`{{ path|field_label }}` …)."""
    env.filters["field_label"] = field
    env.filters["choice_label"] = choice
    env.filters["option_label"] = option
    env.filters["flag_label"] = flag
    env.filters["derived_label"] = derived
    env.filters["field_id"] = field_id
    env.filters["form_inputs"] = form_inputs
    env.filters["equation_label"] = equation
    env.filters["study_section"] = study_section
    env.filters["study_measure"] = study_measure
    env.filters["survival_by"] = survival_by
    env.filters["lab_label"] = lab
    env.globals["VERIFICATION"] = VERIFICATION
    from renalpath.web.field_html import field_html  # the form inputs (it uses these labels)

    env.globals["field_html"] = field_html
    env.globals["BOARD_CATEGORY_LABELS"] = BOARD_CATEGORY_LABELS
    from renalpath.web import board_sheet  # the sheet's content builders, for its template

    env.globals["sheet_facts"] = board_sheet.facts
    env.globals["sheet_options"] = board_sheet.options
