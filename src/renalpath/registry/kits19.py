"""Map the KiTS19 clinical flat file into a registry folder (CSV), as a hospital export would.

    python -m renalpath.registry.kits19 kits19_registry_flat.csv OUT_FOLDER

The KiTS19 challenge cohort (Heller et al., 2019, arXiv:1904.00445; licence CC BY-NC-SA 4.0)
is not shipped with renalpath: give the path of your own copy. The mapping keeps the cohort's
own spellings where the importer's normalising reader accepts them — stages written as in a
pathology report (`pT1a`, `pNX`, `pM0`), ISUP grades `2.0`, booleans `True`/`False`, Clavien
`3a`, censored eGFR `>=90` — so an import of the folder also exercises that reader.

What KiTS19 does not have is made up, and only that: there are no calendar dates and no
laterality, so each case gets a surgery date (one week apart from 2010-01-01), a birth date
from the age at surgery, a diagnosis 30 days before surgery, and every tumour is put on the
left. Recorded intervals (days to each eGFR, to last follow-up or death) are kept. Clavien
"4" (no a/b sub-grade) cannot be written as a Clavien–Dindo grade and is left out; eGFR
entries that are not values (`age<16`) are left out.
"""

from __future__ import annotations

import csv
import datetime as dt
import sys
from decimal import Decimal
from pathlib import Path

from renalpath.clinical.durations import DAYS_PER_YEAR
from renalpath.registry.dictionary import FILES, header

Rows = dict[str, list[dict[str, str]]]

HISTOLOGY = {
    "clear_cell_rcc": "clear_cell",
    "papillary": "papillary",
    "chromophobe": "chromophobe",
    "oncocytoma": "oncocytoma",
    "angiomyolipoma": "angiomyolipoma",
}
CLAVIEN = {"1": "1", "2": "2", "3a": "3a", "3b": "3b", "5": "5"}  # "0" = none, "4" = no sub-grade
EGFR_UNIT = "mL/min/1.73m2"


def _mm(cm: str) -> str:
    return "" if cm == "" else str(Decimal(cm) * 10)


def _is_value(text: str) -> bool:
    """A number, or a censored number (">=90")."""
    try:
        float(text.lstrip("<>="))
    except ValueError:
        return False
    return True


def _int(text: str) -> str:
    try:
        return str(int(float(text)))
    except ValueError:  # "", "not_applicable", "died_before_discharge"
        return ""


def kits19_rows(flat_csv: Path) -> Rows:
    """Registry rows of every KiTS19 case (see the module docstring for what is invented)."""
    rows: Rows = {name: [] for name in FILES}
    with flat_csv.open(encoding="utf-8") as fh:
        for i, r in enumerate(csv.DictReader(fh)):
            _case(rows, i, r)
    # first and last post-op eGFR are the same measurement in some cases
    unique: dict[tuple[str, str], dict[str, str]] = {}
    for lab in rows["labs"]:
        unique.setdefault((lab["patient_id"], lab["date"]), lab)
    rows["labs"] = list(unique.values())
    return rows


def _case(rows: Rows, i: int, r: dict[str, str]) -> None:
    cid = r["case_id"]
    surgery = dt.date(2010, 1, 1) + dt.timedelta(days=7 * i)
    birth = surgery - dt.timedelta(days=int(r["age_at_nephrectomy"]) * DAYS_PER_YEAR + 100)
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
            "isup_grade": r["isup_grade"],  # "2.0"
            "pt": "pT" + r["pT"],
            "pn": "pN" + r["pN"],
            "pm": "pM" + r["pM"],
            "size_mm": _mm(r["pathologic_size_cm"]),
            "margin": "positive" if r["positive_margins"] == "True" else "negative",
            "necrosis": r["tumor_necrosis"],  # "True" / "False"
        }
    )
    if r["clavien"] in CLAVIEN:
        rows["complications"].append(
            {"intervention_id": iid, "clavien_dindo": CLAVIEN[r["clavien"]]}
        )
    for value, days, sign in (
        (r["preop_egfr"], r["preop_egfr_days_before"], -1),
        (r["first_postop_egfr"], r["first_postop_egfr_days"], 1),
        (r["last_postop_egfr"], r["last_postop_egfr_days"], 1),
    ):
        if _is_value(value) and days:
            when = surgery + dt.timedelta(days=sign * int(float(days)))
            rows["labs"].append(
                {
                    "patient_id": cid,
                    "date": when.isoformat(),
                    "test": "egfr",
                    "value": value,
                    "unit": EGFR_UNIT,
                }
            )
    rows["events"].append(
        {"patient_id": cid, "date": end.isoformat(), "type": "death" if dead else "last_followup"}
    )


def write_folder(rows: Rows, folder: Path) -> Path:
    """The rows as registry CSV files (dictionary headers, missing cells blank)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, records in rows.items():
        cols = header(name)
        with (folder / FILES[name].filename).open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=cols, lineterminator="\n")
            writer.writeheader()
            for rec in records:
                writer.writerow({c: rec.get(c, "") for c in cols})
    return folder


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        sys.stderr.write("usage: python -m renalpath.registry.kits19 FLAT_CSV OUT_FOLDER\n")
        return 2
    flat, out = Path(args[0]), Path(args[1])
    if out.exists() and any(out.iterdir()):
        sys.stderr.write(f"refused: {out} is not empty\n")
        return 1
    write_folder(kits19_rows(flat), out)
    sys.stdout.write(f"wrote {out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
