"""Registry folders written by hand (registry CSVs) whose study numbers the tests work out.

SALVAGE registry (window: whole registry):
  P1 M born 1950-06-15: cryoablation of L tumour 2015-02-01 (primary) → local recurrence
     2016-03-01 → PN 2016-06-01, intent blank → derived salvage; open, WIT 20 min, EBL 300 mL.
     Creatinine 1.2 mg/dL 2016-05-20 (pre, 12 d before); post candidates 2016-07-15 (44 d,
     |44−90| = 46) and 2016-09-01 (92 d, |92−90| = 2) → post = 1.5 mg/dL on 2016-09-01.
  P2 F born 1960-01-01: RFA of R tumour 2016-02-01 → residual 2016-05-01 → RN 2017-01-15
     with explicit intent salvage; creatinine 1.0 mg/dL 2017-01-10 (pre), 1.4 on 2017-04-20
     (95 d, post).
  P3 M born 1955-03-01: PN 2016-04-01 primary (denominator only).
  P4 F born 1970-02-02: PN of L tumour 2014-05-01, local recurrence on it 2016-01-01, then a
     NEW right tumour removed by RN 2017-02-01 (intent blank): contralateral new tumour, not
     salvage (registry CSV contract lineage needs the same tumour).
"""

from __future__ import annotations

from pathlib import Path

HEADERS: dict[str, str] = {
    "patients.csv": ",".join(
        [
            "patient_id",
            "sex",
            "birth_date",
            "black_race",
            "solitary_kidney",
            "hereditary_syndrome",
            "death_date",
            "death_cause",
            "last_contact_date",
        ]
    ),
    "interventions.csv": ",".join(
        [
            "intervention_id",
            "patient_id",
            "tumour_id",
            "date",
            "type",
            "side",
            "approach",
            "intent",
            "warm_ischemia_min",
            "cold_ischemia_min",
            "blood_loss_ml",
            "operative_time_min",
            "transfusion_units",
            "length_of_stay_days",
            "conversion",
            "dialysis_expected_preop",
            "parent_intervention_id",
        ]
    ),
    "pathology.csv": ",".join(
        [
            "intervention_id",
            "histology",
            "isup_grade",
            "pt",
            "pn",
            "pm",
            "size_mm",
            "margin",
            "necrosis",
            "sarcomatoid",
        ]
    ),
    "imaging.csv": ",".join(
        [
            "tumour_id",
            "date",
            "modality",
            "size_mm",
            "renal_exophytic_pct",
            "renal_nearness_mm",
            "renal_ap",
            "renal_polar",
            "renal_hilar",
            "padua_polar",
            "padua_exophytic_pct",
            "padua_rim",
            "padua_sinus",
            "padua_ucs",
            "padua_face",
        ]
    ),
}

SALVAGE: dict[str, str] = {
    "patients.csv": """
P1,male,1950-06-15,false,none,none,,,2020-06-01
P2,female,1960-01-01,false,none,none,,,2020-06-01
P3,male,1955-03-01,false,none,none,,,2020-06-01
P4,female,1970-02-02,false,none,none,,,2020-06-01
""",
    "tumours.csv": """tumour_id,patient_id,side,diagnosis_date,histology,ct,cn,cm
T1,P1,left,2015-01-10,clear_cell,T1a,N0,M0
T2,P2,right,2016-01-01,clear_cell,T1a,N0,M0
T3,P3,right,2016-03-01,papillary,T1a,N0,M0
T4a,P4,left,2014-04-01,clear_cell,T1a,N0,M0
T4b,P4,right,2017-01-01,clear_cell,T1b,N0,M0
""",
    "interventions.csv": """
I1,P1,T1,2015-02-01,cryoablation,left,percutaneous,primary,,,,,,,,,
I2,P1,T1,2016-06-01,partial_nephrectomy,left,open,,20,,300,,,,none,false,
I3,P2,T2,2016-02-01,radiofrequency_ablation,right,percutaneous,primary,,,,,,,,,
I4,P2,T2,2017-01-15,radical_nephrectomy,right,laparoscopic,salvage,,,500,,,,none,false,
I5,P3,T3,2016-04-01,partial_nephrectomy,right,robotic,primary,15,,100,,,,none,false,
I6,P4,T4a,2014-05-01,partial_nephrectomy,left,robotic,primary,18,,150,,,,none,false,
I7,P4,T4b,2017-02-01,radical_nephrectomy,right,laparoscopic,,,,200,,,,none,false,
""",
    "pathology.csv": """
I2,clear_cell,2,T1a,NX,,25,negative,false,false
I4,clear_cell,3,T1b,NX,,45,negative,false,false
""",
    "labs.csv": """patient_id,date,test,value,unit,lln,uln,equation
P1,2016-05-20,creatinine,1.2,mg/dL,,,
P1,2016-07-15,creatinine,1.3,mg/dL,,,
P1,2016-09-01,creatinine,1.5,mg/dL,,,
P2,2017-01-10,creatinine,1.0,mg/dL,,,
P2,2017-04-20,creatinine,1.4,mg/dL,,,
""",
    "events.csv": """patient_id,tumour_id,date,type,detail
P1,T1,2016-03-01,local_recurrence,
P2,T2,2016-05-01,residual_disease,
P4,T4a,2016-01-01,local_recurrence,
""",
}

# CONCORDANCE registry: every first treatment is decided on 2020-03-01 or later.
#  Q1 M 60 y, cT1a N0 M0, 30 mm on CT 2020-02-01, creatinine 1.0 on 2020-02-15 → PN 2020-03-01
#  Q2 same profile → RN 2020-03-01
#  Q3 same profile but no creatinine at all → cryoablation 2020-03-01
#  Q4 same profile → PN 2021-05-01 (second year)
#  Q5 M cT1b N0 M0, 55 mm → RN 2021-06-01 (not in the cT1a PN rate)
CONCORDANCE: dict[str, str] = {
    "patients.csv": """
Q1,male,1960-01-01,,none,none,,,2023-01-01
Q2,male,1960-01-01,,none,none,,,2023-01-01
Q3,male,1960-01-01,,none,none,,,2023-01-01
Q4,male,1961-01-01,,none,none,,,2023-01-01
Q5,male,1961-01-01,,none,none,,,2023-01-01
""",
    "tumours.csv": """tumour_id,patient_id,side,diagnosis_date,histology,ct,cn,cm
U1,Q1,left,2020-02-01,,T1a,N0,M0
U2,Q2,left,2020-02-01,,T1a,N0,M0
U3,Q3,left,2020-02-01,,T1a,N0,M0
U4,Q4,left,2021-04-01,,T1a,N0,M0
U5,Q5,left,2021-05-01,,T1b,N0,M0
""",
    "imaging.csv": """
U1,2020-02-01,ct,30,,,,,,,,,,,
U2,2020-02-01,ct,30,,,,,,,,,,,
U3,2020-02-01,ct,30,,,,,,,,,,,
U4,2021-04-01,ct,30,,,,,,,,,,,
U5,2021-05-01,ct,55,,,,,,,,,,,
""",
    "interventions.csv": """
J1,Q1,U1,2020-03-01,partial_nephrectomy,left,robotic,primary,,,,,,,,,
J2,Q2,U2,2020-03-01,radical_nephrectomy,left,laparoscopic,primary,,,,,,,,,
J3,Q3,U3,2020-03-01,cryoablation,left,percutaneous,primary,,,,,,,,,
J4,Q4,U4,2021-05-01,partial_nephrectomy,left,robotic,,,,,,,,,,
J5,Q5,U5,2021-06-01,radical_nephrectomy,left,laparoscopic,primary,,,,,,,,,
""",
    "labs.csv": """patient_id,date,test,value,unit,lln,uln,equation
Q1,2020-02-15,creatinine,1.0,mg/dL,,,
Q2,2020-02-15,creatinine,1.0,mg/dL,,,
Q4,2021-04-15,creatinine,1.0,mg/dL,,,
Q5,2021-05-15,creatinine,1.0,mg/dL,,,
""",
}


def write(folder: Path, files: dict[str, str]) -> Path:
    """Write the CSVs; an empty first line means "use the contract header" (line length)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        if text.startswith("\n"):
            text = HEADERS[name] + text
        (folder / name).write_text(text, encoding="utf-8")
    return folder
