"""A synthetic registry that uses every column and every enumeration value, and the helpers
that run the profile-aware FHIR validator (Medplum + mCODE, installed by
`tools/fhir-validator/setup.sh`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from renalpath.registry.dictionary import AGENTS, BODY_SITES, FILES, HISTOLOGIES, RT_MODALITIES
from tests.registry.registry_fixtures import Rows, base_rows

REPO = Path(__file__).resolve().parents[2]
# The installed validator (`make fhir-validator`); another checkout's can be named, so a second
# working copy of the repository need not install its own node_modules.
VALIDATOR = Path(
    os.environ.get("RENALPATH_FHIR_VALIDATOR_DIR") or REPO / "tools" / "fhir-validator"
)
MCODE_EXAMPLES = VALIDATOR / "mcode" / "package" / "example"


def every_field_rows() -> Rows:
    """`base_rows` plus rows that together use every column and every enumeration value."""
    rows = base_rows()
    for name in FILES:
        rows.setdefault(name, [])
    rows["patients"] += [
        {
            "patient_id": "P3",
            "sex": "male",
            "birth_date": "1948-03-03",
            "black_race": "true",
            "solitary_kidney": "anatomic",
            "hereditary_syndrome": "confirmed",
            "death_date": "2021-06-30",
            "death_cause": "other",
            "last_contact_date": "2021-06-30",
        },
        {
            "patient_id": "P4",
            "sex": "female",
            "birth_date": "1955-04-04",
            "solitary_kidney": "functional",
            "hereditary_syndrome": "suspected",
            "death_date": "2023-03-01",
            "death_cause": "unknown",
        },
        {
            "patient_id": "P5_with/odd id",
            "sex": "male",
            "birth_date": "1970-07-07",
            "hereditary_syndrome": "none",
        },
    ]
    hist = ["papillary", "chromophobe", "oncocytoma", "angiomyolipoma", "other", "unknown"]
    t_cats = ["TX", "T0", "T1", "T1b", "T2", "T2a", "T2b", "T3", "T3a", "T3b", "T3c", "T4"]
    for n, t in enumerate(t_cats):
        rows["tumours"].append(
            {
                "tumour_id": f"T{10 + n}",
                "patient_id": "P3" if n % 2 else "P4",
                "side": "right" if n % 2 else "left",
                "diagnosis_date": f"2015-0{1 + n % 9}-15",
                "histology": hist[n % len(hist)],
                "ct": t,
                "cn": ["NX", "N0", "N1"][n % 3],
                "cm": ["M0", "M1", "MX"][n % 3],
                # every meaningful TNM prefix (y, r, a, yr) on some clinical rows
                "tnm_prefix": {3: "y", 5: "r", 7: "a", 9: "yr"}.get(n, ""),
            }
        )
    rows["tumours"].append(
        {
            "tumour_id": "T30",
            "patient_id": "P5_with/odd id",
            "side": "right",
            "diagnosis_date": "2020-01-01",
            "histology": "clear_cell",
            "ct": "T1a",
            "cn": "N0",
            "cm": "M0",
        }
    )
    rows["imaging"] += [
        {
            "tumour_id": "T10",
            "date": "2015-01-20",
            "modality": "mri",
            "size_mm": "45.5",
            "renal_exophytic_pct": "30",
            "renal_nearness_mm": "5",
            "renal_ap": "p",
            "renal_polar": "crosses",
            "renal_hilar": "true",
            "padua_polar": "superior",
            "padua_exophytic_pct": "30",
            "padua_rim": "medial",
            "padua_sinus": "true",
            "padua_ucs": "false",
            "padua_face": "a",
        },
        {
            "tumour_id": "T11",
            "date": "2015-02-20",
            "modality": "us",
            "size_mm": "60",
            "renal_polar": "central",
            "padua_polar": "inferior",
            "padua_rim": "lateral",
            "padua_face": "p",
            "renal_ap": "x",
        },
        {
            "tumour_id": "T12",
            "date": "2015-03-20",
            "size_mm": "20",
            "padua_polar": "middle",
            "renal_polar": "outside",
        },
    ]
    types = [
        ("radiofrequency_ablation", "percutaneous"),
        ("microwave_ablation", "laparoscopic"),
        ("active_surveillance", "none"),
        ("systemic_therapy", None),
        ("radiotherapy", None),
        ("metastasectomy", "open"),
        ("embolisation", "percutaneous"),
        ("other", None),
    ]
    for n, (kind, approach) in enumerate(types):
        rows["interventions"].append(
            {
                "intervention_id": f"I{10 + n}",
                "patient_id": "P4",
                "tumour_id": "T10",
                "date": f"2016-0{1 + n}-10",
                "type": kind,
                "approach": approach or "",
                "intent": ["cytoreductive", "palliative", "primary", "palliative"][n % 4],
            }
        )
    rows["interventions"] += [
        {
            "intervention_id": "I20",
            "patient_id": "P3",
            "tumour_id": "T11",
            "date": "2015-04-01",
            "type": "radical_nephrectomy",
            "side": "right",
            "approach": "laparoscopic",
            "intent": "primary",
            "cold_ischemia_min": "30",
            "operative_time_min": "180",
            "length_of_stay_days": "4",
            "conversion": "open",
            "dialysis_expected_preop": "true",
        },
        {
            "intervention_id": "I21",
            "patient_id": "P3",
            "tumour_id": "T13",
            "date": "2016-04-01",
            "type": "partial_nephrectomy",
            "approach": "open",
            "intent": "salvage",
            "parent_intervention_id": "I20",
            "conversion": "radical",
            "dialysis_expected_preop": "false",
        },
        {
            "intervention_id": "I22",
            "patient_id": "P3",
            "date": "2017-04-01",
            "type": "cryoablation",
            "side": "left",
            "conversion": "none",
        },
    ]
    rows["pathology"] += [
        {
            "intervention_id": "I20",
            "histology": "papillary",
            "isup_grade": "4",
            "pt": "T3a",
            "pn": "N1",
            "pm": "M1",
            "size_mm": "62",
            "margin": "positive",
            "necrosis": "true",
            "sarcomatoid": "true",
        },
        {
            "intervention_id": "I21",
            "histology": "chromophobe",
            "isup_grade": "1",
            "pt": "T2b",
            "pn": "N0",
            "pm": "M0",
            "tnm_prefix": "y",
            "margin": "not_applicable",
        },
        {"intervention_id": "I3", "histology": "oncocytoma"},
        {"intervention_id": "I1", "histology": "angiomyolipoma"},
        {"intervention_id": "I15", "histology": "other"},
        {"intervention_id": "I22", "histology": "unknown"},
    ]
    rows["complications"].append(
        {
            "intervention_id": "I20",
            "date": "2015-04-09",
            "clavien_dindo": "IVb-d",
            "description": "free text that de-identification blanks",
        }
    )
    for n, grade in enumerate(["I", "IIIb", "IVa", "V"]):
        rows["complications"].append(
            {"intervention_id": "I21", "clavien_dindo": grade, "date": f"2016-04-0{2 + n}"}
        )
    labs = [
        ("egfr", "55", "mL/min/1.73m2", "ckd-epi-2021"),
        ("egfr", "48.2", "mL/min/1.73m2", "mdrd"),
        ("egfr", "61", "mL/min/1.73m2", "ckd-epi-2009"),
        ("egfr", "70", "mL/min/1.73 m2", "as reported"),
        ("calcium", "10.1", "mg/dL", ""),
        ("albumin", "3.9", "g/dL", ""),
        ("ldh", "250", "U/L", ""),
        ("neutrophils", "4.2", "10^9/L", ""),
        ("platelets", "250", "10^9/L", ""),
        ("hemoglobin", "8.1", "mmol/L", ""),
    ]
    for n, (test, value, unit, eq) in enumerate(labs):
        rows["labs"].append(
            {
                "patient_id": "P3",
                "date": f"2015-0{1 + n % 9}-0{1 + n // 9}",
                "test": test,
                "value": value,
                "unit": unit,
                "equation": eq,
                "lln": "1" if n == 4 else "",
                "uln": "300" if n == 6 else "",
                # censored values as reports write them (">90" and the like)
                "comparator": {0: ">", 1: ">=", 2: "<", 3: "<="}.get(n, ""),
            }
        )
    for n, kind in enumerate(
        [
            "residual_disease",
            "distant_metastasis",
            "dialysis_start",
            "dialysis_end",
            "last_followup",
        ]
    ):
        rows["events"].append(
            {
                "patient_id": "P3",
                "tumour_id": "T11" if n < 2 else "",
                "date": f"2017-0{1 + n}-01",
                "type": kind,
                "detail": "lung, 3 nodules" if n == 1 else "",
            }
        )
    rows["events"].append({"patient_id": "P3", "date": "2021-06-30", "type": "death"})
    _coded_rows(rows)
    return rows


def _coded_rows(rows: Rows) -> None:
    """Rows of the coded files using every column and enumeration value, and tumours with the
    WHO 2022 histologies the rows above leave out."""
    used = {r.get("histology") for name in ("tumours", "pathology") for r in rows[name]}
    for n, hist in enumerate(h for h in HISTOLOGIES if h not in used):
        rows["tumours"].append(
            {
                "tumour_id": f"T{40 + n}",
                "patient_id": "P5_with/odd id",
                "side": "left",
                "diagnosis_date": f"2021-0{1 + n % 9}-1{n // 9}",
                "histology": hist,
            }
        )
    staging = [  # tumour, date, classification, T, N, M, stage, edition, basis
        ("T1", "2018-01-10", "c", "T1a", "N0", "M0", "I", "8", "imaging"),
        ("T1", "2019-06-01", "p", "T1a", "NX", "", "", "8", "pathology"),
        ("T11", "2015-02-20", "c", "T1b", "N1", "M0", "III", "8", "imaging"),
        ("T11", "2015-04-01", "p", "T3a", "N1", "M1", "IV", "7", "pathology"),
        ("T10", "2016-01-05", "yc", "T2a", "N0", "M0", "II", "8", "clinical"),
        ("T10", "2016-08-10", "yp", "T2b", "NX", "MX", "", "8", "pathology"),
        ("T13", "2017-05-05", "rc", "T3", "N0", "M1", "IV", "8", "imaging"),
        ("T13", "2017-06-05", "rp", "T4", "N1", "M1", "IV", "7", "pathology"),
        ("T12", "2015-03-20", "c", "TX", "NX", "M0", "", "8", "imaging"),
        ("T14", "2015-05-15", "c", "T0", "N0", "M1", "IV", "8", ""),
        ("T15", "2015-06-15", "p", "T1", "N0", "M0", "I", "8", "pathology"),
        ("T16", "2015-07-15", "c", "T2", "N0", "M0", "II", "8", "imaging"),
        ("T17", "2015-08-15", "c", "T3b", "N0", "M0", "III", "8", "imaging"),
        ("T18", "2015-09-15", "p", "T3c", "N1", "M0", "III", "8", "pathology"),
        ("T19", "2015-01-16", "c", "", "", "", "", "8", ""),
    ]
    for t, d, cls, tc, nc, mc, sg, ed, basis in staging:
        rows["staging"].append(
            {
                "tumour_id": t,
                "date": d,
                "classification": cls,
                "t_category": tc,
                "n_category": nc,
                "m_category": mc,
                "stage_group": sg,
                "ajcc_edition": ed,
                "basis": basis,
            }
        )
    for n, (ecog, kps) in enumerate(
        [("0", "100"), ("1", ""), ("2", "60"), ("3", "40"), ("4", "20"), ("5", "0"), ("", "90")]
    ):
        rows["performance"].append(
            {
                "patient_id": "P4" if n < 6 else "P3",
                "date": f"2018-0{1 + n}-02",
                "ecog": ecog,
                "karnofsky": kps,
            }
        )
    evidence = [
        "imaging",
        "histology",
        "cytology",
        "pathology",
        "laboratory",
        "physical_exam",
        "tumour_marker",
    ]
    statuses = ["improved", "stable", "worsened", "undetermined"]
    for n, ev in enumerate(evidence):
        rows["disease_status"].append(
            {
                "patient_id": "P4",
                "tumour_id": "T10" if n % 2 else "",
                "date": f"2019-0{1 + n}-03",
                "status": statuses[n % 4],
                "evidence": ev,
            }
        )
    rows["disease_status"].append(
        {"patient_id": "P3", "tumour_id": "T11", "date": "2017-02-01", "status": "worsened"}
    )
    detection = ["imaging", "biopsy", "surgery", "clinical"]
    for n, site in enumerate(BODY_SITES):
        rows["metastases"].append(
            {
                "patient_id": "P3" if n % 2 else "P4",
                "tumour_id": "T11" if n % 2 else "",
                "date": f"2017-{1 + n % 12:02d}-0{1 + n // 12}",
                "site": site,
                "detection": detection[n % 4] if n != 3 else "",
            }
        )
    reasons = ["completed", "progression", "toxicity", "patient_choice", "death", "other", ""]
    for n, agent in enumerate(AGENTS):
        pair = n in (10, 13)  # nivolumab+ipilimumab, same start, one regimen
        start = "2019-01-07" if pair else f"20{17 + n % 3}-{1 + n % 12:02d}-1{n % 10}"
        rows["systemic_therapy"].append(
            {
                "patient_id": "P4",
                "tumour_id": "T10" if n % 3 == 0 else "",
                "agent": agent,
                "regimen": "nivolumab+ipilimumab" if pair else (agent if n % 4 == 0 else ""),
                "line": str(1 + n % 3) if n != 5 else "",
                "start_date": start,
                "end_date": "" if n % 5 == 4 else "2020-06-30",
                "stop_reason": reasons[n % len(reasons)] if n % 5 != 4 else "",
            }
        )
    for n, modality in enumerate(RT_MODALITIES):
        rows["radiotherapy"].append(
            {
                "patient_id": "P3" if n % 2 else "P4",
                "tumour_id": "T11" if n == 1 else "",
                "start_date": f"2018-0{1 + n}-05",
                "end_date": f"2018-0{1 + n}-20" if n else "",
                "modality": modality,
                "site": BODY_SITES[n % len(BODY_SITES)],
                "dose_gy": ["30", "8", "20", "45.5", "", "60", "35"][n],
                "fractions": ["10", "1", "5", "", "", "8", "5"][n],
            }
        )


def validator_ready() -> bool:
    """Node and the installed validator; skips (or fails when CI requires it) otherwise."""
    ok = shutil.which("node") is not None and (VALIDATOR / "node_modules" / "@medplum").is_dir()
    ok = ok and (VALIDATOR / "mcode" / "package").is_dir()
    if not ok:
        if os.environ.get("RENALPATH_REQUIRE_FHIR_VALIDATOR") == "1":
            pytest.fail(
                "RENALPATH_REQUIRE_FHIR_VALIDATOR=1 but the FHIR validator is not "
                "installed (run tools/fhir-validator/setup.sh)"
            )
        pytest.skip("FHIR validator not installed (tools/fhir-validator/setup.sh)")
    return ok


def validate(*files: Path) -> dict[str, Any]:
    """Run the Medplum/mCODE validator on FHIR files; its JSON report."""
    validator_ready()
    done = subprocess.run(
        ["node", str(VALIDATOR / "validate.js"), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report: dict[str, Any] = json.loads(done.stdout)
    return report
