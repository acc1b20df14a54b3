"""The synthetic folder obeys the registry CSV contract as coded in the data dictionary:
exact headers, allowed enumerations, required cells, ISO dates, numbers within the
dictionary's plausibility bounds, booleans spelled true/false."""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path

import pytest

from renalpath.registry.dictionary import FILES, ColumnSpec
from renalpath.synth.writer import write_registry

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth_contract")
    write_registry(out, 1500, seed=2024)
    return out


def _read(folder: Path, filename: str) -> tuple[list[str], list[dict[str, str]]]:
    with open(folder / filename, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def _problem(col: ColumnSpec, value: str) -> str | None:
    """Why `value` is not allowed in `col`, or None."""
    if value == "":
        return "required cell is blank" if col.required else None
    if col.type == "date":
        if not _ISO.match(value):
            return "not ISO YYYY-MM-DD"
        date.fromisoformat(value)
    elif col.type == "bool":
        if value not in ("true", "false"):
            return "boolean not true/false"
    elif col.type == "enum":
        assert col.enum is not None
        bare = value.removesuffix("-d") if col.name == "clavien_dindo" else value
        if bare not in col.enum:
            return f"not one of {col.enum}"
    elif col.type in ("int", "float"):
        number = int(value) if col.type == "int" else float(value)
        if col.min is not None and number < col.min:
            return f"below {col.min}"
        if col.max is not None and number > col.max:
            return f"above {col.max}"
    return None


@pytest.mark.parametrize("name", list(FILES))
def test_header_is_exactly_the_dictionary_header(folder: Path, name: str) -> None:
    spec = FILES[name]
    header, _ = _read(folder, spec.filename)
    assert header == list(spec.column_names)


@pytest.mark.parametrize("name", list(FILES))
def test_every_cell_is_allowed_by_the_dictionary(folder: Path, name: str) -> None:
    spec = FILES[name]
    _, rows = _read(folder, spec.filename)
    assert rows, f"{spec.filename} has no rows for 1500 patients"
    problems = []
    for line, row in enumerate(rows, start=2):
        for col in spec.columns:
            reason = _problem(col, row[col.name])
            if reason:
                problems.append(f"{spec.filename}:{line} {col.name}={row[col.name]!r}: {reason}")
    assert problems == []


def test_enumerations_are_exercised(folder: Path) -> None:
    """The cohort uses the breadth of the vocabulary, not one default value."""
    _, interventions = _read(folder, "interventions.csv")
    types = {r["type"] for r in interventions}
    for expected in (
        "partial_nephrectomy",
        "radical_nephrectomy",
        "cryoablation",
        "active_surveillance",
        "systemic_therapy",
    ):
        assert expected in types
    intents = {r["intent"] for r in interventions}
    assert {"primary", "cytoreductive", "palliative", ""} <= intents
    _, labs = _read(folder, "labs.csv")
    units = {r["unit"] for r in labs if r["test"] == "creatinine"}
    assert units == {"mg/dL", "µmol/L"}
    _, patients = _read(folder, "patients.csv")
    assert {r["death_cause"] for r in patients} >= {"", "rcc", "other"}


def test_ids_are_unique_and_references_resolve(folder: Path) -> None:
    _, patients = _read(folder, "patients.csv")
    _, tumours = _read(folder, "tumours.csv")
    _, interventions = _read(folder, "interventions.csv")
    pids = [r["patient_id"] for r in patients]
    tids = [r["tumour_id"] for r in tumours]
    iids = [r["intervention_id"] for r in interventions]
    assert len(set(pids)) == len(pids) == 1500
    assert len(set(tids)) == len(tids)
    assert len(set(iids)) == len(iids)
    tumour_owner = {r["tumour_id"]: r["patient_id"] for r in tumours}
    for r in interventions:
        if r["tumour_id"]:
            assert tumour_owner[r["tumour_id"]] == r["patient_id"]
        if r["parent_intervention_id"]:
            assert r["parent_intervention_id"] in set(iids)
    for name, key in (
        ("pathology.csv", "intervention_id"),
        ("complications.csv", "intervention_id"),
    ):
        _, rows = _read(folder, name)
        assert {r[key] for r in rows} <= set(iids)


@pytest.mark.parametrize("name", [n for n, s in FILES.items() if "seq" not in s.key])
def test_upsert_keys_are_unique(folder: Path, name: str) -> None:
    """Each file's key (dictionary `FileSpec.key`) identifies one row, as the importer needs."""
    spec = FILES[name]
    _, rows = _read(folder, spec.filename)
    keys = [tuple(r[k] for k in spec.key) for r in rows]
    assert len(set(keys)) == len(keys)
