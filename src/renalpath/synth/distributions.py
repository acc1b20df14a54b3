"""Parameters of the synthetic department: who comes, what they have, what is done to them.

Everything here is **synthetic demo data**.  Unless a line cites a source, a number is a
plausible round figure chosen by us ([P]) so that the cohort *looks* like a real
department's registry; none of it is a clinical fact and none may be used in clinical logic.
The few figures taken from sources are marked with their source and verification tag.
"""

from __future__ import annotations

import math
from datetime import date

from renalpath.clinical import durations

# --- calendar -------------------------------------------------------------------------------
# Diagnoses spread over 2008–mid 2024, data frozen mid 2025, so follow-up runs 1–17 years [P].
DX_FIRST = date(2008, 1, 1).toordinal()
DX_LAST = date(2024, 6, 30).toordinal()
DATA_FREEZE = date(2025, 6, 30).toordinal()
DAYS_PER_YEAR = durations.DAYS_PER_YEAR  # 365.25, defined once

# --- demographics ---------------------------------------------------------------------------
# the founding salvage-surgery study [V]: salvage cohort mean age 64, 85 % male.  The whole
# department is less
# male-dominated than that small salvage series; 64 % male is our round figure [P].
P_MALE = 0.64
AGE_MEAN, AGE_SD, AGE_MIN, AGE_MAX = 64.0, 11.0, 22.0, 93.0
# black_race is only for legacy equations and is usually not recorded [P].
BLACK_RACE = (("", 0.70), ("false", 0.28), ("true", 0.02))
SOLITARY_KIDNEY = (("none", 0.965), ("anatomic", 0.015), ("functional", 0.02))
HEREDITARY_YOUNG = (("none", 0.86), ("suspected", 0.09), ("confirmed", 0.05))  # age < 46
HEREDITARY_OLDER = (("none", 0.985), ("suspected", 0.012), ("confirmed", 0.003))


def p_frail(age: float) -> float:
    """Share judged frail / unfit for surgery, rising with age [P]."""
    if age < 60:
        return 0.04
    if age < 75:
        return 0.12
    if age < 82:
        return 0.35
    return 0.60


# --- renal function -------------------------------------------------------------------------
# Baseline serum creatinine (mg/dL): log-normal around a sex-specific median that creeps up
# with age, plus a CKD tail [P].
CREAT_MEDIAN_MALE, CREAT_MEDIAN_FEMALE, CREAT_SIGMA = 0.95, 0.76, 0.16
CREAT_AGE_SLOPE = 0.006  # relative rise per year of age above 60 [P]
P_CKD_TAIL, CKD_FACTOR = 0.09, (1.5, 2.6)
P_LAB_IN_UMOL = 0.18  # share of patients whose laboratory reports µmol/L [P]
# Long-run creatinine multiplier after each kind of kidney intervention [P]; the salvage
# series reports mean creatinine 1.35 → 1.43 mg/dL (+6 %) after salvage surgery
# (the founding salvage-surgery study [V]), which the PN figure is close to.
RENAL_EFFECT = {
    "partial_nephrectomy": (1.08, 0.05),
    "radical_nephrectomy": (1.35, 0.08),
    "ablation": (1.04, 0.03),
}
ACUTE_RISE = {"partial_nephrectomy": 0.22, "radical_nephrectomy": 0.45, "ablation": 0.08}
CREAT_DRIFT_PER_YEAR = 0.012  # slow decline of function with age [P]

# --- tumour ---------------------------------------------------------------------------------
# Greatest diameter (mm), log-normal: about half cT1a, a fifth cT1b, the rest larger [P].
SIZE_MEDIAN_MM, SIZE_SIGMA, SIZE_MIN_MM, SIZE_MAX_MM = 40.0, 0.62, 8.0, 220.0
P_SYNCHRONOUS_BILATERAL = 0.025
P_METACHRONOUS_CONTRALATERAL = 0.02  # a new tumour in the other kidney, years later


def extension_weights(size_mm: int) -> tuple[tuple[str, float], ...]:
    """Local extension beyond the kidney, more likely for larger tumours [P]."""
    if size_mm <= 40:
        return (("none", 0.975), ("T3a", 0.025))
    if size_mm <= 70:
        return (("none", 0.86), ("T3a", 0.12), ("T3b", 0.015), ("T4", 0.005))
    if size_mm <= 100:
        return (("none", 0.63), ("T3a", 0.27), ("T3b", 0.06), ("T3c", 0.015), ("T4", 0.025))
    return (("none", 0.45), ("T3a", 0.33), ("T3b", 0.12), ("T3c", 0.04), ("T4", 0.06))


def p_node_positive(size_mm: int, extension: str) -> float:
    base = 0.01 if size_mm <= 40 else 0.03 if size_mm <= 70 else 0.08 if size_mm <= 100 else 0.14
    return base + (0.08 if extension != "none" else 0.0)


def p_metastatic_at_diagnosis(size_mm: int, extension: str) -> float:
    base = 0.02 if size_mm <= 40 else 0.09 if size_mm <= 70 else 0.2 if size_mm <= 100 else 0.32
    return base + (0.12 if extension != "none" else 0.0)


P_NX = 0.04  # nodes not assessed / not recorded [P]


def histology_weights(size_mm: int) -> tuple[tuple[str, float], ...]:
    """True histology; benign tumours are commoner among small masses [P]."""
    if size_mm <= 20:
        benign = 0.24
    elif size_mm <= 40:
        benign = 0.15
    else:
        benign = 0.05
    malignant = 1.0 - benign
    return (
        ("clear_cell", malignant * 0.74),
        ("papillary", malignant * 0.15),
        ("chromophobe", malignant * 0.06),
        ("other", malignant * 0.05),
        ("oncocytoma", benign * 0.7),
        ("angiomyolipoma", benign * 0.3),
    )


BENIGN = frozenset({"oncocytoma", "angiomyolipoma"})
P_CENTRAL = 0.22  # central / hilar tumours (drive RN and flag ablation difficulty) [P]
P_RENAL_SCORED = 0.6  # nephrometry components recorded on the diagnostic imaging [P]
IMAGING_MODALITY = (("ct", 0.8), ("mri", 0.15), ("us", 0.05))

# --- first treatment ------------------------------------------------------------------------
# Weights follow the pathway (the guideline rules: LOC-PN-01 PN for cT1, LOC-RN-01 RN for cT2,
# SRM-AS/TA for small masses in the frail or elderly, LOC-VT-01 RN for venous extension,
# CN/SYS for M1) with some realistic deviations [P].
ABLATION_MODALITY = (
    ("cryoablation", 0.55),
    ("radiofrequency_ablation", 0.3),
    ("microwave_ablation", 0.15),
)  # cryo predominant, as in the founding salvage-surgery study
PN_APPROACH = (("robotic", 0.55), ("laparoscopic", 0.15), ("open", 0.30))
RN_APPROACH_SMALL = (("laparoscopic", 0.6), ("robotic", 0.15), ("open", 0.25))
RN_APPROACH_LARGE = (("laparoscopic", 0.35), ("robotic", 0.05), ("open", 0.60))
ABLATION_APPROACH = (("percutaneous", 0.9), ("laparoscopic", 0.1))
P_BIOPSY_BEFORE_AS = 0.3
P_BIOPSY_NONDIAGNOSTIC = 0.1
P_INTENT_BLANK_PRIMARY = 0.3  # registries often leave intent blank; it is then derived
P_SIDE_BLANK = 0.2  # intervention side left blank (taken from the tumour)
P_SALVAGE_INTENT_EXPLICIT = 0.5
P_PARENT_EXPLICIT = 0.5  # when intent is written, the parent id is written this often

# --- perioperative --------------------------------------------------------------------------
# Warm ischaemia: the salvage series reports a mean of 17.4 min (the founding salvage-surgery study
# [V]).
WIT_MEAN, WIT_SD, WIT_MIN, WIT_MAX = 18.0, 6.5, 4.0, 50.0
SALVAGE_WIT_MEAN = 17.4
P_OFF_CLAMP = 0.08  # zero-ischaemia partial nephrectomy: warm ischaemia left blank [P]
P_COLD_ISCHAEMIA_OPEN_PN = 0.05
# Blood loss (mL) medians; salvage surgery bleeds more (mean 647 mL, the founding salvage-surgery
# study [V];
# a log-normal with median 480 and sigma 0.75 has a mean of about 640).
EBL_MEDIAN = {"open": 400.0, "laparoscopic": 150.0, "robotic": 150.0, "percutaneous": 10.0}
EBL_SIGMA = 0.8
SALVAGE_EBL_MEDIAN, SALVAGE_EBL_SIGMA = 480.0, 0.75
P_TRANSFUSION = {"partial_nephrectomy": 0.05, "radical_nephrectomy": 0.07, "ablation": 0.01}
P_CONVERSION_OPEN_MIS = 0.03
P_CONVERSION_RADICAL_PN = 0.015
P_SALVAGE_CONVERSION_RADICAL = 0.12  # fibrosis after ablation [P rate]
P_COMPLICATION = {
    "partial_nephrectomy": 0.2,
    "radical_nephrectomy": 0.14,
    "ablation": 0.08,
    "salvage": 0.35,
    "other": 0.1,
}
CLAVIEN_GRADES = (
    ("I", 0.38),
    ("II", 0.36),
    ("IIIa", 0.11),
    ("IIIb", 0.08),
    ("IVa", 0.05),
    ("IVb", 0.01),
    ("V", 0.01),
)
# Descriptions follow the worked examples of Dindo 2004 [V].
CLAVIEN_DESCRIPTION = {
    "I": (
        "ileus managed with antiemetics",
        "wound infection opened at the bedside",
        "urinary retention",
    ),
    "II": ("pneumonia treated with antibiotics", "urinary tract infection"),  # + transfusion
    "IIIa": (
        "urinoma drained percutaneously under local anaesthesia",
        "pseudoaneurysm embolised under local anaesthesia",
    ),
    "IIIb": (
        "ureteric stent under general anaesthesia",
        "re-operation for bleeding under general anaesthesia",
    ),
    "IVa": ("acute kidney injury needing dialysis in intensive care",),
    "IVb": ("multi-organ failure",),
    "V": ("death from haemorrhage",),
}

# --- failures and salvage -------------------------------------------------------------------
# Residual disease = enhancement at the 3-month imaging after ablation (Delphi definition,
# salvage guideline rules [V]); rates are ours [P].
P_RESIDUAL_AFTER_ABLATION = 0.06
P_RECURRENCE_AFTER_ABLATION = 0.08  # a later recurrence in or at the ablation zone [P]
# Re-ablation: 71.9 % no evidence of disease, 26.9 % recurred again (Askarpour & Aminsharifi
# 2025, salvage guideline rules [V]).
P_RECURRENCE_AFTER_REABLATION = 0.269
# Isolated local recurrence after surgery for cT1–2: 1.6 % of 1,895;
# a positive margin triples it here [P].
P_LOCAL_RECURRENCE_AFTER_PN = 0.016
P_LOCAL_RECURRENCE_AFTER_RN = 0.008
MARGIN_RECURRENCE_FACTOR = 3.0
P_POSITIVE_MARGIN = {"partial_nephrectomy": 0.07, "radical_nephrectomy": 0.02, "salvage": 0.03}


# --- progression and death ------------------------------------------------------------------
def p_distant_metastasis(t_category: str) -> float:
    """Chance of metachronous metastasis for a treated M0 carcinoma [P]."""
    return {
        "T1a": 0.03,
        "T1b": 0.08,
        "T2a": 0.18,
        "T2b": 0.25,
        "T3a": 0.3,
        "T3b": 0.4,
        "T3c": 0.45,
        "T4": 0.6,
    }.get(t_category, 0.1)


METASTASIS_MEDIAN_YEARS, METASTASIS_SIGMA = 2.0, 0.8
# Median survival (months) after metastasis.  CARMENA arms had medians of 13.9–18.4 months in
# intermediate/poor risk; a mixed-risk department does better [P].
RCC_SURVIVAL_MEDIAN_MONTHS_M1 = 22.0
RCC_SURVIVAL_MEDIAN_MONTHS_METACHRONOUS = 30.0


def other_cause_hazard(age: float) -> float:
    """Yearly other-cause mortality, Gompertz-like in age [P]."""
    return min(0.5, 0.009 * math.exp(0.085 * (age - 60.0)))


DROPOUT_MEAN_YEARS = 14.0  # loss to follow-up [P]
P_LAST_FOLLOWUP_EVENT = 0.6
P_DEATH_EVENT = 0.8
