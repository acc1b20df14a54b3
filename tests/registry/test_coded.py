"""The coded registry: code tables (sources, check digits), WHO 2022 histology with ICD-O-3,
the coded files' rules, derived lab codes, old folders, the migration and record edits."""

from __future__ import annotations

import csv
import datetime as dt
import re
from importlib import resources
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

from renalpath.registry import vocab
from renalpath.registry.db import make_engine, upgrade
from renalpath.registry.dictionary import (
    AGENTS,
    CODED_FILES,
    CORE_FILES,
    FILES,
    HISTOLOGIES,
    M_CATEGORIES,
    N_CATEGORIES,
    T_CATEGORIES,
)
from renalpath.registry.exporter import export_folder
from renalpath.registry.importer import import_folder
from renalpath.registry.models import TABLES
from renalpath.registry.records import RecordConflict, create_record, delete_record, update_record
from tests.registry.registry_fixtures import Rows, base_rows, write_folder

# --------------------------------------------------------------------- independent checks

# Verhoeff check digit, which every SNOMED CT identifier carries (SNOMED CT Technical
# Implementation Guide, "Check-digit"); tables from Verhoeff 1969 as usually published.
_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
_P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]


def verhoeff_ok(code: str) -> bool:
    check = 0
    for i, ch in enumerate(reversed(code)):
        check = _D[check][_P[i % 8][int(ch)]]
    return check == 0


def loinc_ok(code: str) -> bool:
    """LOINC's mod-10 check digit (the digit after the hyphen; LOINC Users' Guide)."""
    number, check = code.split("-")
    total = 0
    for i, ch in enumerate(reversed(number)):
        digit = int(ch) * (2 if i % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return (10 - total % 10) % 10 == int(check)


def test_the_check_digit_functions_catch_typos() -> None:
    assert verhoeff_ok("1228938002") and not verhoeff_ok("1228938003")  # cT3 (mCODE example)
    assert loinc_ok("2160-0") and not loinc_ok("2160-1")


def _csv(package: str, *path: str) -> list[dict[str, str]]:
    text = resources.files(package).joinpath(*path).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


CODE_FILES = [
    ("renalpath.registry", "codes", name)
    for name in (
        "histology.csv",
        "tnm_snomed.csv",
        "loinc.csv",
        "ucum.csv",
        "agents.csv",
        "body_sites.csv",
    )
] + [("renalpath.interop.fhir", "data", n) for n in ("snomed.csv", "icd10_kidney.csv")]


@pytest.mark.parametrize("where", CODE_FILES, ids=lambda w: w[-1])
def test_every_code_has_a_source_and_a_valid_form(where: tuple[str, str, str]) -> None:
    rows = _csv(*where)
    assert rows
    for row in rows:
        assert row["source"].strip(), row
        for col, value in row.items():
            if not value:
                continue
            if col in ("code", "snomed"):
                assert value.isdigit() and verhoeff_ok(value), (where[-1], row)
            elif col == "loinc":
                assert re.fullmatch(r"\d+-\d", value) and loinc_ok(value), row
            elif col == "icdo3":
                assert re.fullmatch(r"8\d{3}/[0-3]", value), row
            elif col == "atc":
                assert re.fullmatch(r"L0[1-4][A-Z]{2}\d{2}", value), row
            elif col == "rxnorm":
                assert value.isdigit(), row


def test_tnm_codes_cover_every_kidney_category_and_stage_group() -> None:
    held = vocab.tnm_snomed()
    for prefix in ("c", "p"):
        for cat in (*T_CATEGORIES, *N_CATEGORIES, *M_CATEGORIES):
            if cat == "MX" or (prefix, cat) == ("p", "M0"):
                continue  # AJCC 8 has no MX and no pM0 (pathological stage uses cM0)
            assert f"{prefix}{cat}" in held, f"{prefix}{cat}"
    assert {f"stage {g}" for g in ("I", "II", "III", "IV")} <= set(held)
    codes = [code for code, _ in held.values()]
    assert len(set(codes)) == len(codes)
    # the mCODE 4.0.0 examples code cT3, cN0, cM0, pT3, pN0 so: the table agrees
    assert held["cT3"][0] == "1228938002" and held["cN0"][0] == "1229967007"
    assert held["cM0"][0] == "1229901006" and held["pT3"][0] == "1229859000"
    assert held["pN0"][0] == "1229947003"


def test_histology_keeps_the_old_names_and_adds_who_2022_subtypes() -> None:
    old = (
        "clear_cell",
        "papillary",
        "chromophobe",
        "oncocytoma",
        "angiomyolipoma",
        "other",
        "unknown",
    )
    assert set(old) <= set(HISTOLOGIES)
    h = vocab.histologies()
    assert (h["clear_cell"].icdo3, h["papillary"].icdo3, h["chromophobe"].icdo3) == (
        "8310/3",
        "8260/3",
        "8317/3",
    )
    assert h["clear_cell_papillary"].behaviour == "uncertain"  # WHO 2022: a tumour, /1
    for name in ("collecting_duct", "fh_deficient", "unclassified"):
        assert h[name].behaviour == "malignant" and h[name].pathway_group == "other"
    assert vocab.histology_by_icdo3()["8311/3"] == (
        "fh_deficient",
        "sdh_deficient",
        "tfe3_rearranged",
    )


# ------------------------------------------------------------------------------ imports


def _rows() -> Rows:
    rows = base_rows()
    for name in CODED_FILES:
        rows[name] = []
    return rows


def test_a_folder_of_an_earlier_release_imports_and_exports_with_empty_coded_files(
    tmp_path: Path, engine: Engine
) -> None:
    folder = write_folder(tmp_path / "old", base_rows(), every_file=False)
    assert sorted(p.stem for p in folder.iterdir()) == sorted(CORE_FILES)
    assert import_folder(engine, folder).written
    export_folder(engine, tmp_path / "out")
    for name in CODED_FILES:
        lines = (tmp_path / "out" / FILES[name].filename).read_text("utf-8").splitlines()
        assert lines == [",".join(FILES[name].column_names)]
    again = import_folder(engine, tmp_path / "out")
    assert again.written and again.audit_rows == 0


def test_icd_o_3_codes_and_who_names_are_read_as_histology(tmp_path: Path, engine: Engine) -> None:
    rows = _rows()
    rows["tumours"][0]["histology"] = "M-8323/1"
    rows["tumours"][1]["histology"] = "Collecting duct carcinoma"
    rows["pathology"][0]["histology"] = "8310/3"
    result = import_folder(engine, write_folder(tmp_path / "f", rows))
    assert result.written, result.report.render()
    rewrites = {(i.value, i.reason) for i in result.report.warnings if i.column == "histology"}
    assert ("M-8323/1", "stored as 'clear_cell_papillary'") in rewrites
    assert ("Collecting duct carcinoma", "stored as 'collecting_duct'") in rewrites
    assert ("8310/3", "stored as 'clear_cell'") in rewrites


def test_an_icd_o_3_code_of_several_subtypes_is_refused(tmp_path: Path, engine: Engine) -> None:
    rows = _rows()
    rows["tumours"][0]["histology"] = "8311/3"
    result = import_folder(engine, write_folder(tmp_path / "f", rows))
    [err] = result.report.errors
    assert err.column == "histology" and "fh_deficient" in err.reason and not result.written


def _coded(rows: Rows) -> Rows:
    rows["staging"] = [
        {
            "tumour_id": "T1",
            "date": "2018-01-10",
            "classification": "c",
            "t_category": "T1a",
            "n_category": "N0",
            "m_category": "M0",
            "stage_group": "I",
            "ajcc_edition": "8",
        },
    ]
    rows["performance"] = [{"patient_id": "P1", "date": "2018-01-10", "ecog": "1"}]
    rows["systemic_therapy"] = [
        {
            "patient_id": "P2",
            "agent": "nivolumab",
            "regimen": "nivolumab+ipilimumab",
            "line": "1",
            "start_date": "2020-01-01",
            "end_date": "2020-06-01",
            "stop_reason": "toxicity",
        },
        {
            "patient_id": "P2",
            "agent": "ipilimumab",
            "regimen": "nivolumab+ipilimumab",
            "line": "1",
            "start_date": "2020-01-01",
            "end_date": "2020-03-01",
        },
    ]
    rows["metastases"] = [
        {
            "patient_id": "P2",
            "tumour_id": "T3",
            "date": "2020-01-01",
            "site": "lung",
            "detection": "imaging",
        }
    ]
    rows["radiotherapy"] = [
        {
            "patient_id": "P2",
            "start_date": "2021-01-04",
            "site": "spine",
            "modality": "photons",
            "dose_gy": "20",
            "fractions": "5",
            "end_date": "2021-01-08",
        }
    ]
    rows["disease_status"] = [
        {
            "patient_id": "P1",
            "tumour_id": "T1",
            "date": "2019-01-15",
            "status": "worsened",
            "evidence": "imaging",
        }
    ]
    return rows


def test_coded_records_import_cleanly(tmp_path: Path, engine: Engine) -> None:
    result = import_folder(engine, write_folder(tmp_path / "f", _coded(_rows())))
    assert result.written and result.report.issues == [], result.report.render()
    assert result.counts["systemic_therapy"]["inserted"] == 2


def _errors(result: object) -> set[tuple[str | None, str]]:
    return {(i.column, i.reason) for i in result.report.errors}  # type: ignore[attr-defined]


def test_the_coded_rules_refuse_what_cannot_be(tmp_path: Path, engine: Engine) -> None:
    rows = _coded(_rows())
    rows["systemic_therapy"][0]["end_date"] = "2019-12-01"  # before its start
    rows["systemic_therapy"][1]["regimen"] = "nivolumab+ipilimumabb"
    rows["performance"] += [
        {"patient_id": "P1", "date": "2018-02-01", "karnofsky": "55"},
        {"patient_id": "P1", "date": "2018-03-01"},
    ]
    rows["disease_status"][0]["tumour_id"] = "T3"  # P2's tumour
    rows["metastases"][0]["date"] = "2022-06-01"  # P2 died 2022-01-01
    rows["staging"][0]["t_category"] = "pT1a"  # the prefix belongs in classification
    result = import_folder(engine, write_folder(tmp_path / "f", rows))
    found = _errors(result)
    assert not result.written
    assert ("end_date", "course ends before it starts (2020-01-01)") in found
    assert any(c == "regimen" and "unknown agent(s) 'ipilimumabb'" in r for c, r in found)
    assert ("karnofsky", "Karnofsky grades are multiples of 10 (0, 10, … 100)") in found
    assert ("ecog", "neither ECOG nor Karnofsky is given") in found
    assert ("tumour_id", "tumour belongs to patient P2") in found
    assert ("date", "metastasis after death (2022-01-01)") in found
    assert any(c == "t_category" and "without its prefix" in r for c, r in found)


def test_a_regimen_must_name_its_own_agent(tmp_path: Path, engine: Engine) -> None:
    rows = _coded(_rows())
    rows["systemic_therapy"][1]["regimen"] = "nivolumab+sunitinib"
    found = _errors(import_folder(engine, write_folder(tmp_path / "f", rows)))
    assert ("regimen", "the regimen does not include this row's agent (ipilimumab)") in found


def test_a_recorded_stage_group_its_tnm_contradicts_is_a_warning(
    tmp_path: Path, engine: Engine
) -> None:
    rows = _coded(_rows())
    rows["staging"][0]["stage_group"] = "II"  # T1a N0 M0 is stage I (AJCC 8)
    result = import_folder(engine, write_folder(tmp_path / "f", rows))
    assert result.written
    [warning] = [i for i in result.report.warnings if i.column == "stage_group"]
    assert warning.reason == "stage II recorded but T1a N0 M0 is stage I (AJCC 8)"


def test_agents_may_be_written_as_atc_codes(tmp_path: Path, engine: Engine) -> None:
    rows = _coded(_rows())
    rows["systemic_therapy"][0]["agent"] = "L01FF01"
    result = import_folder(engine, write_folder(tmp_path / "f", rows))
    assert result.written, result.report.render()
    assert any(i.value == "L01FF01" and "nivolumab" in i.reason for i in result.report.warnings)
    assert AGENTS.index("nivolumab") >= 0


# -------------------------------------------------------------------------- derived codes


def _lab_codes(engine: Engine) -> dict[tuple[str, str], tuple[str | None, str | None]]:
    t = TABLES["labs"]
    with engine.connect() as conn:
        rows = conn.execute(select(t.c.date, t.c.test, t.c.loinc, t.c.ucum)).all()
    return {(str(d), test): (loinc, ucum) for d, test, loinc, ucum in rows}


def test_labs_get_their_loinc_and_ucum_codes(tmp_path: Path, engine: Engine) -> None:
    rows = _rows()
    egfr = {
        "patient_id": "P1",
        "date": "2019-08-01",
        "test": "egfr",
        "value": "61",
        "unit": "mL/min/1.73m2",
        "equation": "ckd-epi-2021",
    }
    rows["labs"].append(egfr)
    assert import_folder(engine, write_folder(tmp_path / "f", rows)).written
    codes = _lab_codes(engine)
    assert codes[("2018-01-20", "creatinine")] == ("2160-0", "mg/dL")  # mass
    assert codes[("2019-07-01", "creatinine")] == ("14682-9", "umol/L")  # molar
    assert codes[("2019-08-01", "egfr")] == ("98979-8", "mL/min/{1.73_m2}")  # CKD-EPI 2021
    t = TABLES["labs"]
    with engine.connect() as conn:
        row_id = conn.execute(select(t.c.id).where(t.c.date == dt.date(2019, 7, 1))).scalar_one()
    # a single-record correction of the unit re-derives both (µmol/L → mg/dL: 110 is refused
    # as implausible in mg/dL, so correct value and unit together)
    update_record(engine, "labs", row_id, {"unit": "mg/dL", "value": "1.25"}, "unit typo", "t")
    assert _lab_codes(engine)[("2019-07-01", "creatinine")] == ("2160-0", "mg/dL")


def test_the_migration_derives_the_codes_of_stored_labs(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine, "accounts_0003")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO patients (patient_id, sex, birth_date) "
                "VALUES ('P1', 'male', '1950-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO labs (patient_id, date, test, value, unit, equation) VALUES "
                "('P1', '2020-01-01', 'creatinine', 100, 'µmol/L', NULL), "
                "('P1', '2020-01-02', 'egfr', 70, 'mL/min/1.73m2', 'mdrd'), "
                "('P1', '2020-01-03', 'egfr', 70, 'mL/min/1.73m2', 'as reported')"
            )
        )
    upgrade(engine)
    codes = _lab_codes(engine)
    assert codes[("2020-01-01", "creatinine")] == ("14682-9", "umol/L")
    assert codes[("2020-01-02", "egfr")] == ("33914-3", "mL/min/{1.73_m2}")
    assert codes[("2020-01-03", "egfr")] == (None, "mL/min/{1.73_m2}")  # no equation term
    engine.dispose()


# --------------------------------------------------------------------- single records


def test_coded_records_are_edited_one_by_one_and_block_deletes(
    tmp_path: Path, engine: Engine
) -> None:
    assert import_folder(engine, write_folder(tmp_path / "f", _rows())).written
    perf = create_record(
        engine, "performance", {"patient_id": "P1", "date": "2020-02-02", "ecog": "2"}, actor="t"
    )
    assert perf.cells["ecog"] == "2"
    changed = update_record(engine, "performance", perf.locator, {"karnofsky": "70"}, "added", "t")
    assert changed.changed == ["karnofsky"]
    with pytest.raises(RecordConflict, match="performance"):
        delete_record(engine, "patients", "P1", "test", "t")


def test_the_case_builder_reads_new_subtypes_as_the_pathway_group(
    tmp_path: Path, engine: Engine
) -> None:
    from renalpath.pathway.case import Case
    from renalpath.registry.case_builder import build_case

    rows = _rows()
    rows["tumours"][0]["histology"] = "collecting_duct"
    assert import_folder(engine, write_folder(tmp_path / "f", rows)).written
    built = build_case(engine, "P1", today=dt.date(2023, 1, 1))
    assert built is not None
    assert built.case["tumour"]["histology"] == "other"
    assert any("collecting duct" in note and "other" in note for note in built.notes)
    Case.model_validate(built.case)  # the pathway accepts the case
