"""One test per validation rule: each names the file, line and column of the problem."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest

from renalpath.registry.validate import Issue, validate_folder
from tests.registry.registry_fixtures import Rows, base_rows, write_folder

Mutate = Callable[[Rows], None]


def _set(file: str, index: int, **cells: str) -> Mutate:
    def mutate(rows: Rows) -> None:
        rows[file][index].update(cells)

    return mutate


def _append(file: str, **cells: str) -> Mutate:
    def mutate(rows: Rows) -> None:
        rows[file].append(cells)

    return mutate


# (rule, mutation, file, line, column, words in the reason). Lines: header = 1, first row = 2.
ERRORS: list[tuple[str, Mutate, str, int, str, str]] = [
    ("required value", _set("patients", 1, sex=""), "patients.csv", 3, "sex", "required"),
    (
        "bad date",
        _set("patients", 0, birth_date="1950-02-30"),
        "patients.csv",
        2,
        "birth_date",
        "not a valid date",
    ),
    (
        "date format",
        _set("tumours", 0, diagnosis_date="10/01/2018"),
        "tumours.csv",
        2,
        "diagnosis_date",
        "YYYY-MM-DD",
    ),
    (
        "bad enumeration",
        _set("interventions", 0, type="cryo"),
        "interventions.csv",
        2,
        "type",
        "not one of",
    ),
    (
        "bad side",
        _set("tumours", 0, side="both"),
        "tumours.csv",
        2,
        "side",
        "not one of left | right",
    ),
    (
        "bad boolean",
        _set("pathology", 0, necrosis="maybe"),
        "pathology.csv",
        2,
        "necrosis",
        "not one of true | false",
    ),
    (
        "not a number",
        _set("imaging", 0, size_mm="2.8cm"),
        "imaging.csv",
        2,
        "size_mm",
        "not a number",
    ),
    (
        "not an integer",
        _set("pathology", 0, isup_grade="2.5"),
        "pathology.csv",
        2,
        "isup_grade",
        "not an integer",
    ),
    (
        "out of range",
        _set("pathology", 0, isup_grade="5"),
        "pathology.csv",
        2,
        "isup_grade",
        "outside the plausible range 1–4",
    ),
    (
        "unknown patient",
        _set("tumours", 1, patient_id="P9"),
        "tumours.csv",
        3,
        "patient_id",
        "unknown patient",
    ),
    (
        "unknown tumour",
        _set("imaging", 0, tumour_id="T9"),
        "imaging.csv",
        2,
        "tumour_id",
        "unknown tumour",
    ),
    (
        "unknown intervention",
        _set("complications", 1, intervention_id="I9"),
        "complications.csv",
        3,
        "intervention_id",
        "unknown intervention",
    ),
    (
        "tumour of another patient",
        _set("interventions", 2, tumour_id="T1"),
        "interventions.csv",
        4,
        "tumour_id",
        "belongs to patient P1",
    ),
    (
        "unknown parent",
        _set("interventions", 1, parent_intervention_id="I9"),
        "interventions.csv",
        3,
        "parent_intervention_id",
        "unknown intervention",
    ),
    (
        "parent after child",
        _set("interventions", 0, parent_intervention_id="I2"),
        "interventions.csv",
        2,
        "parent_intervention_id",
        "dated after",
    ),
    (
        "duplicate id",
        _append("patients", patient_id="P1", sex="male", birth_date="1950-01-01"),
        "patients.csv",
        4,
        "patient_id",
        "duplicate of line 2",
    ),
    (
        "duplicate lab",
        _append(
            "labs", patient_id="P1", date="2018-01-20", test="creatinine", value="1.0", unit="mg/dL"
        ),
        "labs.csv",
        5,
        "patient_id",
        "duplicate of line 2",
    ),
    (
        "creatinine unit",
        _set("labs", 0, value="110"),
        "labs.csv",
        2,
        "value",
        "did you mean µmol/L",
    ),
    (
        "creatinine unit reversed",
        _set("labs", 1, value="1.2"),
        "labs.csv",
        3,
        "value",
        "did you mean mg/dL",
    ),
    (
        "clavien grade",
        _set("complications", 0, clavien_dindo="III"),
        "complications.csv",
        2,
        "clavien_dindo",
        "IIIa",
    ),
    (
        "clavien arabic without subgrade",
        _set("complications", 0, clavien_dindo="3"),
        "complications.csv",
        2,
        "clavien_dindo",
        "IIIa",
    ),
    (
        "surgery before birth",
        _set("interventions", 0, date="1949-12-31"),
        "interventions.csv",
        2,
        "date",
        "intervention before birth",
    ),
    (
        "lab before birth",
        _set("labs", 0, date="1949-06-01"),
        "labs.csv",
        2,
        "date",
        "lab before birth",
    ),
    (
        "death before diagnosis",
        _set("patients", 1, death_date="2019-01-15"),
        "tumours.csv",
        3,
        "diagnosis_date",
        "death before diagnosis",
    ),
    (
        "death before birth",
        _set("patients", 1, death_date="1960-01-01"),
        "patients.csv",
        3,
        "death_date",
        "death before birth",
    ),
    (
        "intervention after death",
        _set("interventions", 2, date="2022-02-01"),
        "interventions.csv",
        4,
        "date",
        "intervention after death",
    ),
    (
        "complication before its operation",
        _set("complications", 0, date="2019-05-01"),
        "complications.csv",
        2,
        "date",
        "complication before its intervention",
    ),
    ("future date", _set("events", 0, date="2100-01-01"), "events.csv", 2, "date", "in the future"),
]

WARNINGS: list[tuple[str, Mutate, str, int, str, str]] = [
    (
        "pT vs size",
        _set("pathology", 0, pt="T1b"),
        "pathology.csv",
        2,
        "pt",
        "pT1b recorded but pathological size 25 mm implies pT1a",
    ),
    (
        "WIT on radical",
        _set("interventions", 2, warm_ischemia_min="20"),
        "interventions.csv",
        4,
        "warm_ischemia_min",
        "warm ischaemia recorded on a radical_nephrectomy",
    ),
    (
        "side mismatch",
        _set("interventions", 0, side="right"),
        "interventions.csv",
        2,
        "side",
        "tumour is on the left side",
    ),
    (
        "pathology for surveillance",
        _set("interventions", 1, type="active_surveillance", warm_ischemia_min=""),
        "pathology.csv",
        2,
        "intervention_id",
        "no specimen expected",
    ),
    (
        "death event vs death date",
        _set("events", 1, date="2021-12-30"),
        "events.csv",
        3,
        "date",
        "differs from patients.death_date",
    ),
]


def _check(tmp_path: Path, mutate: Mutate) -> list[Issue]:
    rows = copy.deepcopy(base_rows())
    mutate(rows)
    report, _typed, _ref = validate_folder(write_folder(tmp_path / "reg", rows))
    return report.issues


def test_base_folder_is_clean(tmp_path: Path) -> None:
    assert _check(tmp_path, lambda rows: None) == []


@pytest.mark.parametrize(
    ("rule", "mutate", "file", "line", "column", "words"), ERRORS, ids=[e[0] for e in ERRORS]
)
def test_error_rule(
    tmp_path: Path, rule: str, mutate: Mutate, file: str, line: int, column: str, words: str
) -> None:
    issues = _check(tmp_path, mutate)
    hits = [
        i
        for i in issues
        if i.severity == "error"
        and i.file == file
        and i.line == line
        and i.column == column
        and words in i.reason
    ]
    assert hits, f"{rule}: no error at {file}:{line} {column} ~ {words!r}; got {issues}"
    assert f"{file}:{line} column {column}" in hits[0].text()


@pytest.mark.parametrize(
    ("rule", "mutate", "file", "line", "column", "words"), WARNINGS, ids=[w[0] for w in WARNINGS]
)
def test_warning_rule(
    tmp_path: Path, rule: str, mutate: Mutate, file: str, line: int, column: str, words: str
) -> None:
    issues = _check(tmp_path, mutate)
    hits = [
        i
        for i in issues
        if i.file == file and i.line == line and i.column == column and words in i.reason
    ]
    assert hits, f"{rule}: no warning at {file}:{line} {column} ~ {words!r}; got {issues}"
    assert all(i.severity == "warning" for i in hits)
    assert not [i for i in issues if i.severity == "error"]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    def many(rows: Rows) -> None:
        rows["patients"][0]["sex"] = "x"
        rows["labs"][0]["value"] = "110"
        rows["events"][0]["type"] = "relapse"

    errors = [i for i in _check(tmp_path, many) if i.severity == "error"]
    assert {(i.file, i.column) for i in errors} == {
        ("patients.csv", "sex"),
        ("labs.csv", "value"),
        ("events.csv", "type"),
    }


def test_unknown_and_missing_columns(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "reg", base_rows())
    (folder / "labs.csv").write_text("patient_id,date,test,value,colour\n", encoding="utf-8")
    report, _, _ = validate_folder(folder)
    found = {(i.file, i.line, i.column, i.reason.split(" (")[0]) for i in report.errors}
    assert ("labs.csv", 1, "colour", "column `colour` is not in the data dictionary") in found
    assert ("labs.csv", 1, "unit", "required column missing") in found


def test_unknown_file_is_an_error(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "reg", base_rows())
    (folder / "notes.csv").write_text("a\n1\n", encoding="utf-8")
    report, _, _ = validate_folder(folder)
    assert [(i.file, i.reason.split(" (")[0]) for i in report.errors] == [
        ("notes.csv", "unknown file, not read")
    ]
