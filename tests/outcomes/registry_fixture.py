"""A small registry built by hand for the salvage study tests (numbers worked out in the tests).

Window 2010-01-01 … 2012-12-31. Patients:
  P1  M  cryo 2009 → residual → PN 2010-03-01 (derived salvage), 2nd salvage RN 2012-06-01
  P2  F  RFA 2008 → local recurrence 2009 → RN 2011-01-10 (explicit salvage, explicit parent)
  P3  M  open PN 2008 → local recurrence → PN 2012-02-01 (derived salvage), dialysis expected
  P4  M  PN 2010-06-01 explicit primary
  P5  F  RN 2011-07-01 derived primary
  P6  M  cryo right tumour, local recurrence right, new LEFT tumour PN 2011-05-01: the registry
         derived "primary" (contralateral new tumour is not salvage)
  P7  M  cryo → residual → PN 2011-09-01: derived salvage but explicit intent primary (wins)
  P8  F  salvage PN 2013-05-01 (after the window: in neither denominator nor cohort)
  P10 F  MWA 2009 → residual → PN 2010-08-01 (derived salvage)
  P11 M  cryo 2008 → residual → repeat cryo 2009 (salvage) → recurrence → PN 2011-03-01
         (derived salvage, parent = repeat cryo); dialysis started 19 days after surgery
  P12 M  RN 2012-12-31 primary (window end is inclusive)
  P13 F  PN 2009-12-31 primary (one day before the window: excluded)
"""

from __future__ import annotations

import pandas as pd

from renalpath.registry.frames import RegistryFrames

WINDOW = ("2010-01-01", "2012-12-31")


def registry() -> RegistryFrames:
    patients = pd.DataFrame(
        [
            # id, sex, birth, black, death, cause, last_contact
            ("P1", "male", "1946-06-15", "false", None, None, "2012-09-01"),
            ("P2", "female", "1950-01-01", "false", "2012-06-01", "rcc", None),
            ("P3", "male", "1940-02-01", "false", None, None, "2013-02-01"),
            ("P4", "male", "1955-05-05", "false", None, None, "2014-01-01"),
            ("P5", "female", "1960-07-07", "false", None, None, "2013-01-01"),
            ("P6", "male", "1948-08-08", "false", None, None, "2013-06-01"),
            ("P7", "male", "1952-02-02", "false", None, None, "2013-03-01"),
            ("P8", "female", "1951-01-01", "false", None, None, "2014-01-01"),
            ("P10", "female", "1945-03-10", None, None, None, None),
            ("P11", "male", "1944-01-01", "false", None, None, "2011-12-01"),
            ("P12", "male", "1958-09-09", "false", None, None, "2013-12-31"),
            ("P13", "female", "1962-12-12", "false", None, None, "2012-12-12"),
        ],
        columns=["patient_id", "sex", "birth_date", "black_race", "death_date", "death_cause",
                 "last_contact_date"],
    )  # fmt: skip
    tumours = pd.DataFrame(
        [
            ("T1", "P1", "left", "2009-01-10", "clear_cell", "T1a"),
            ("T2", "P2", "left", "2008-04-01", "clear_cell", "T1a"),
            ("T3", "P3", "right", "2007-12-01", "papillary", "T1b"),
            ("T4", "P4", "left", "2010-05-01", "clear_cell", "T1a"),
            ("T5", "P5", "right", "2011-06-01", "chromophobe", "T2a"),
            ("T6a", "P6", "right", "2007-12-01", "clear_cell", "T1a"),
            ("T6b", "P6", "left", "2011-04-01", "clear_cell", "T1a"),
            ("T7", "P7", "left", "2009-01-01", "clear_cell", "T1a"),
            ("T8", "P8", "left", "2011-01-01", "clear_cell", "T1a"),
            ("T10", "P10", "right", "2009-09-01", "clear_cell", "T1a"),
            ("T11", "P11", "left", "2008-05-01", "clear_cell", "T1a"),
            ("T12", "P12", "right", "2012-12-01", "clear_cell", "T3a"),
            ("T13", "P13", "left", "2009-12-01", "clear_cell", "T1a"),
        ],
        columns=["tumour_id", "patient_id", "side", "diagnosis_date", "histology", "ct"],
    )
    iv_cols = [
        "intervention_id", "patient_id", "tumour_id", "date", "type", "approach", "intent",
        "warm_ischemia_min", "blood_loss_ml", "dialysis_expected_preop",
        "parent_intervention_id", "intent_derived", "parent_intervention_id_derived",
    ]  # fmt: skip
    interventions = pd.DataFrame(
        [
            ("I1a", "P1", "T1", "2009-03-01", "cryoablation", "percutaneous", "primary",
             None, None, None, None, "primary", None),
            ("I1b", "P1", "T1", "2010-03-01", "partial_nephrectomy", "open", None,
             20, 500, "false", None, "salvage", "I1a"),
            ("I1c", "P1", "T1", "2012-06-01", "radical_nephrectomy", "open", "salvage",
             None, 900, "false", "I1b", "salvage", "I1b"),
            ("I2a", "P2", "T2", "2008-05-01", "radiofrequency_ablation", "percutaneous", None,
             None, None, None, None, "primary", None),
            ("I2b", "P2", "T2", "2011-01-10", "radical_nephrectomy", "laparoscopic", "salvage",
             None, 800, "false", "I2a", None, None),
            ("I3a", "P3", "T3", "2008-01-01", "partial_nephrectomy", "open", "primary",
             18, 250, "false", None, "primary", None),
            ("I3b", "P3", "T3", "2012-02-01", "partial_nephrectomy", "open", None,
             25, 300, "true", None, "salvage", "I3a"),
            ("I4", "P4", "T4", "2010-06-01", "partial_nephrectomy", "robotic", "primary",
             18, 150, "false", None, None, None),
            ("I5", "P5", "T5", "2011-07-01", "radical_nephrectomy", "laparoscopic", None,
             None, 250, "false", None, "primary", None),
            ("I6a", "P6", "T6a", "2008-01-01", "cryoablation", "percutaneous", None,
             None, None, None, None, "primary", None),
            ("I6b", "P6", "T6b", "2011-05-01", "partial_nephrectomy", "robotic", None,
             16, 100, "false", None, "primary", None),
            ("I7a", "P7", "T7", "2009-02-01", "cryoablation", "percutaneous", None,
             None, None, None, None, "primary", None),
            ("I7b", "P7", "T7", "2011-09-01", "partial_nephrectomy", "robotic", "primary",
             14, 120, "false", None, "salvage", "I7a"),
            ("I8a", "P8", "T8", "2011-02-01", "cryoablation", "percutaneous", None,
             None, None, None, None, "primary", None),
            ("I8b", "P8", "T8", "2013-05-01", "partial_nephrectomy", "open", None,
             22, 400, "false", None, "salvage", "I8a"),
            ("I10a", "P10", "T10", "2009-10-01", "microwave_ablation", "percutaneous", None,
             None, None, None, None, "primary", None),
            ("I10b", "P10", "T10", "2010-08-01", "partial_nephrectomy", "robotic", None,
             15, 200, "false", None, "salvage", "I10a"),
            ("I11a", "P11", "T11", "2008-06-01", "cryoablation", "percutaneous", None,
             None, None, None, None, "primary", None),
            ("I11b", "P11", "T11", "2009-04-01", "cryoablation", "percutaneous", None,
             None, None, None, None, "salvage", "I11a"),
            ("I11c", "P11", "T11", "2011-03-01", "partial_nephrectomy", "open", None,
             30, 1200, "false", None, "salvage", "I11b"),
            ("I12", "P12", "T12", "2012-12-31", "radical_nephrectomy", "open", "primary",
             None, 700, "false", None, None, None),
            ("I13", "P13", "T13", "2009-12-31", "partial_nephrectomy", "open", "primary",
             20, 300, "false", None, None, None),
        ],
        columns=iv_cols,
    )  # fmt: skip
    pathology = pd.DataFrame(
        [
            ("I1b", "clear_cell", "pT1a", "negative"),
            ("I1c", "clear_cell", "pT3a", "positive"),
            ("I2b", "clear_cell", "pT3a", "negative"),
            ("I3b", "papillary", "pT1b", "positive"),
            ("I10b", "clear_cell", "T1a", "negative"),
            ("I11c", "clear_cell", "1a", "negative"),
            ("I4", "clear_cell", "pT1a", "negative"),
        ],
        columns=["intervention_id", "histology", "pt", "margin"],
    )
    complications = pd.DataFrame(
        [
            ("I1b", "2010-03-05", "II"),
            ("I1c", "2012-06-05", "IIIb"),  # second salvage: not the cohort operation
            ("I2b", "2011-01-12", "I"),
            ("I2b", "2011-01-15", "IIIa"),
            ("I10b", "2010-08-03", "I"),
            ("I11c", "2011-03-20", "IVa-d"),
            ("I4", "2010-06-03", "IVb"),  # primary surgery: not in the cohort
        ],
        columns=["intervention_id", "date", "clavien_dindo"],
    )
    labs = pd.DataFrame(
        [
            ("P1", "2009-11-01", 1.0, "mg/dL"),  # 120 days before: outside the 90-day window
            ("P1", "2010-01-15", 1.2, "mg/dL"),  # pre (45 days before)
            ("P1", "2010-05-20", 1.4, "mg/dL"),  # 80 days after: distance 10 (earlier, chosen)
            ("P1", "2010-06-09", 1.5, "mg/dL"),  # 100 days after: distance 10
            ("P2", "2011-01-05", 100.0, "µmol/L"),  # pre; 100 / 88.4 mg/dL
            ("P2", "2011-04-10", 1.6, "mg/dL"),  # post (90 days after)
            ("P3", "2012-01-20", 2.0, "mg/dL"),
            ("P3", "2012-05-01", 3.0, "mg/dL"),
            ("P10", "2010-07-25", 0.8, "mg/dL"),  # pre
            ("P10", "2010-11-15", 0.85, "mg/dL"),  # 106 days after: chosen
            ("P10", "2011-07-01", 0.7, "mg/dL"),  # 334 days after: farther from day 90
            ("P11", "2011-02-20", 1.3, "mg/dL"),
            ("P11", "2011-06-01", 2.5, "mg/dL"),
        ],
        columns=["patient_id", "date", "value", "unit"],
    ).assign(test="creatinine")
    events = pd.DataFrame(
        [
            ("P1", "T1", "2009-09-01", "residual_disease"),
            ("P1", "T1", "2011-03-01", "local_recurrence"),
            ("P2", "T2", "2009-05-01", "local_recurrence"),
            ("P2", None, "2011-10-01", "distant_metastasis"),
            ("P3", "T3", "2009-06-01", "local_recurrence"),
            ("P3", None, "2012-02-02", "dialysis_start"),
            ("P6", "T6a", "2010-01-01", "local_recurrence"),
            ("P7", "T7", "2009-08-01", "residual_disease"),
            ("P10", "T10", "2010-02-01", "residual_disease"),
            ("P11", "T11", "2008-12-01", "residual_disease"),
            ("P11", "T11", "2010-01-01", "local_recurrence"),
            ("P11", None, "2011-03-20", "dialysis_start"),
            ("P11", None, "2012-01-15", "last_followup"),
        ],
        columns=["patient_id", "tumour_id", "date", "type"],
    )
    return RegistryFrames.build(
        patients=patients,
        tumours=tumours,
        interventions=interventions,
        pathology=pathology,
        complications=complications,
        labs=labs,
        events=events,
    )
