"""The real, de-identified KiTS19 cohort (as described in its README), converted on the fly into a
registry folder in a tmp dir (CC BY-NC-SA: never copied into the repository).

KiTS19 has no calendar dates and no laterality, so the conversion invents a surgery date per
case and puts every tumour on the left; intervals (age at surgery, days to eGFR and to last
follow-up) are the recorded ones. Clavien "4" (no a/b sub-grade) cannot be expressed in
Clavien–Dindo and is left out.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine

from renalpath.registry.importer import import_folder
from renalpath.registry.validate import validate_folder
from tests.registry.registry_fixtures import Rows, write_folder

HISTOLOGY = {"clear_cell_rcc": "clear_cell", "papillary": "papillary",
             "chromophobe": "chromophobe", "oncocytoma": "oncocytoma",
             "angiomyolipoma": "angiomyolipoma"}  # fmt: skip
CLAVIEN = {"1": "I", "2": "II", "3a": "IIIa", "3b": "IIIb", "5": "V"}


def _mm(cm: str) -> str:
    return "" if cm == "" else str(Decimal(cm) * 10)


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _int(text: str) -> str:
    try:
        return str(int(float(text)))
    except ValueError:  # "", "not_applicable", "died_before_discharge"
        return ""


def kits19_rows(flat_csv: Path) -> Rows:
    rows: Rows = {k: [] for k in ("patients", "tumours", "imaging", "interventions",
                                  "pathology", "complications", "labs", "events")}  # fmt: skip
    with flat_csv.open(encoding="utf-8") as fh:
        for i, r in enumerate(csv.DictReader(fh)):
            cid = r["case_id"]
            surgery = dt.date(2010, 1, 1) + dt.timedelta(days=7 * i)
            birth = surgery - dt.timedelta(days=int(r["age_at_nephrectomy"]) * 365.25 + 100)
            end = surgery + dt.timedelta(days=int(r["vital_days_after_surgery"]))
            dead = r["vital_status"] == "dead"
            rows["patients"].append(
                {
                    "patient_id": cid,
                    "sex": r["gender"],
                    "birth_date": birth.isoformat(),
                    "death_date": end.isoformat() if dead else "",
                    "death_cause": "unknown" if dead else "",
                    "last_contact_date": end.isoformat(),
                }
            )
            tid, iid = f"{cid}-T1", f"{cid}-S1"
            diagnosis = surgery - dt.timedelta(days=30)
            rows["tumours"].append(
                {
                    "tumour_id": tid,
                    "patient_id": cid,
                    "side": "left",
                    "diagnosis_date": diagnosis.isoformat(),
                }
            )
            rows["imaging"].append(
                {
                    "tumour_id": tid,
                    "date": diagnosis.isoformat(),
                    "modality": "ct",
                    "size_mm": _mm(r["radiographic_size_cm"]),
                }
            )
            rows["interventions"].append(
                {
                    "intervention_id": iid,
                    "patient_id": cid,
                    "tumour_id": tid,
                    "date": surgery.isoformat(),
                    "type": r["surgical_procedure"],
                    "approach": r["surgery_type"],
                    "intent": "cytoreductive" if r["cytoreductive"] == "True" else "",
                    "warm_ischemia_min": _int(r["ischemia_time_min"]),
                    "blood_loss_ml": r["ebl_ml"],
                    "operative_time_min": r["operative_time_min"],
                    "length_of_stay_days": _int(r["hospitalization_days"]),
                }
            )
            rows["pathology"].append(
                {
                    "intervention_id": iid,
                    "histology": HISTOLOGY.get(r["histologic_subtype"], "other"),
                    "isup_grade": _int(r["isup_grade"]),
                    "pt": "T" + r["pT"],
                    "pn": "N" + r["pN"],
                    "pm": "M" + r["pM"],
                    "size_mm": _mm(r["pathologic_size_cm"]),
                    "margin": "positive" if r["positive_margins"] == "True" else "negative",
                    "necrosis": r["tumor_necrosis"].lower(),
                }
            )
            if r["clavien"] in CLAVIEN:
                rows["complications"].append(
                    {"intervention_id": iid, "clavien_dindo": CLAVIEN[r["clavien"]]}
                )
            for value, days, sign in (
                (r["preop_egfr"], r["preop_egfr_days_before"], -1),
                (r["first_postop_egfr"], r["first_postop_egfr_days"], 1),
                (r["last_postop_egfr"], r["last_postop_egfr_days"], 1),  # README quirk: after
            ):
                if _number(value) and days:  # ">=90", "age<16" are not values
                    when = surgery + dt.timedelta(days=sign * int(float(days)))
                    rows["labs"].append(
                        {
                            "patient_id": cid,
                            "date": when.isoformat(),
                            "test": "egfr",
                            "value": value,
                            "unit": "mL/min/1.73m2",
                        }
                    )
            rows["events"].append(
                {
                    "patient_id": cid,
                    "date": end.isoformat(),
                    "type": "death" if dead else "last_followup",
                }
            )
    # first and last post-op eGFR are the same measurement in some cases
    seen: set[tuple[str, str]] = set()
    rows["labs"] = [
        lab
        for lab in rows["labs"]
        if (k := (lab["patient_id"], lab["date"])) not in seen and not seen.add(k)
    ]
    return rows  # fmt: skip


def test_kits19_validator_flags_exactly_the_three_pt_size_errors(
    kits19_dir: Path, tmp_path: Path
) -> None:
    folder = write_folder(tmp_path / "kits19", kits19_rows(kits19_dir / "kits19_registry_flat.csv"))
    report, _typed, _ref = validate_folder(folder)
    assert report.errors == [], report.render()
    pt_warnings = [w for w in report.warnings if w.column == "pt"]
    flagged = sorted(_case_of(folder, w.line) for w in pt_warnings if w.line is not None)
    # From its README: case_00016 3.9 cm pT1b; case_00145 7.0 cm pT2a; case_00208 3.2 cm pT1b.
    assert flagged == ["case_00016", "case_00145", "case_00208"]
    reasons = {w.reason for w in pt_warnings}
    assert "pT2a recorded but pathological size 70 mm implies pT1b (AJCC 8)" in reasons


def _case_of(folder: Path, line: int) -> str:
    with (folder / "pathology.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))[line - 2]["intervention_id"].removesuffix("-S1")


def test_kits19_imports(kits19_dir: Path, tmp_path: Path, engine: Engine) -> None:
    folder = write_folder(tmp_path / "kits19", kits19_rows(kits19_dir / "kits19_registry_flat.csv"))
    result = import_folder(engine, folder)
    assert result.written
    assert result.counts["patients"]["inserted"] == 210
    assert result.counts["interventions"]["inserted"] == 210


def test_conversion_is_not_in_repo() -> None:
    repo = Path(__file__).resolve().parents[2]
    assert not list(repo.rglob("kits19_registry_flat.csv"))
