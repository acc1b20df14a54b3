"""Import and export on SQLite and PostgreSQL: all-or-nothing, idempotent, lossless."""

from __future__ import annotations

import copy
import filecmp
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from renalpath.registry import audit
from renalpath.registry.exporter import export_folder
from renalpath.registry.importer import import_folder
from tests.registry.registry_fixtures import base_rows, write_folder

TABLES = (
    "patients",
    "tumours",
    "imaging",
    "interventions",
    "pathology",
    "complications",
    "labs",
    "events",
    "audit_log",
)


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() or 0) for t in TABLES
        }


def test_import_loads_every_row(engine: Engine, folder: Path) -> None:
    result = import_folder(engine, folder)
    assert result.written and result.report.ok
    rows = base_rows()
    expected = {name: len(records) for name, records in rows.items()}
    n = counts(engine)
    assert {k: n[k] for k in expected} == expected
    # One insert audit row per record.
    assert n["audit_log"] == sum(expected.values())


def test_any_error_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    import_folder(engine, write_folder(tmp_path / "first", base_rows()))
    before = counts(engine)
    rows = copy.deepcopy(base_rows())
    rows["patients"].append({"patient_id": "P5", "sex": "female", "birth_date": "1970-01-01"})
    rows["labs"].append(
        {
            "patient_id": "P5",
            "date": "2020-01-01",
            "test": "creatinine",
            "value": "95",
            "unit": "mg/dL",
        }
    )
    result = import_folder(engine, write_folder(tmp_path / "bad", rows))
    assert not result.written
    assert [(e.file, e.line, e.column) for e in result.report.errors] == [("labs.csv", 5, "value")]
    assert counts(engine) == before


def test_reimport_changes_nothing(engine: Engine, folder: Path, tmp_path: Path) -> None:
    import_folder(engine, folder)
    before = counts(engine)
    snapshot = export_folder(engine, tmp_path / "a")
    again = import_folder(engine, folder)
    assert again.audit_rows == 0
    assert all(c["inserted"] == 0 and c["updated"] == 0 for c in again.counts.values())
    assert counts(engine) == before
    assert export_folder(engine, tmp_path / "b") == snapshot
    assert not filecmp.dircmp(tmp_path / "a", tmp_path / "b").diff_files


def test_update_is_audited_and_recomputes_egfr(engine: Engine, tmp_path: Path) -> None:
    import_folder(engine, write_folder(tmp_path / "v1", base_rows()))
    with engine.connect() as conn:
        egfr_male = conn.execute(text("SELECT egfr FROM labs WHERE date = '2018-01-20'")).scalar()
    rows = copy.deepcopy(base_rows())
    rows["patients"][0]["sex"] = "female"
    result = import_folder(
        engine, write_folder(tmp_path / "v2", rows), reason="sex corrected", update=True
    )
    assert result.counts["patients"] == {"inserted": 0, "updated": 1, "unchanged": 1}
    entry = next(audit.log_rows(engine, entity="patients", entity_id="P1"))
    assert (entry["action"], entry["field"], entry["old"], entry["new"], entry["reason"]) == (
        "update",
        "sex",
        "male",
        "female",
        "sex corrected",
    )
    with engine.connect() as conn:
        egfr_female = conn.execute(text("SELECT egfr FROM labs WHERE date = '2018-01-20'")).scalar()
    # CKD-EPI 2021 (Inker et al., NEJM 2021;385:1737-49), creatinine 1.1 mg/dL, age 68:
    # male 142·(1.1/0.9)^-1.200·0.9938^68; female 142·(1.1/0.7)^-1.200·0.9938^68·1.012.
    assert egfr_male == pytest.approx(142 * (1.1 / 0.9) ** -1.2 * 0.9938**68, rel=1e-9)
    assert egfr_female == pytest.approx(142 * (1.1 / 0.7) ** -1.2 * 0.9938**68 * 1.012, rel=1e-9)
    assert audit.verify(engine).ok


def test_round_trip_is_lossless(engine: Engine, tmp_path: Path) -> None:
    rows = copy.deepcopy(base_rows())
    # Non-canonical spellings that normalise: "+1", "18.0", surrounding blanks.
    rows["interventions"][1]["transfusion_units"] = "+1"
    rows["interventions"][1]["warm_ischemia_min"] = "18.0"
    rows["labs"][2]["value"] = " 12.5 "
    src = write_folder(tmp_path / "src", rows)
    import_folder(engine, src)
    export_folder(engine, tmp_path / "out1")
    # The export equals the source after normalisation (cells.py): "+1" → "1", "18.0" → "18".
    canonical = copy.deepcopy(base_rows())
    write_folder(tmp_path / "canonical", canonical)
    cmp = filecmp.dircmp(tmp_path / "canonical", tmp_path / "out1")
    assert not cmp.diff_files and not cmp.left_only and not cmp.right_only
    # And a second database fed with the export exports the very same bytes.
    with engine.begin() as conn:
        for t in reversed(TABLES[:-1]):
            conn.execute(text(f"DELETE FROM {t}"))
    import_folder(engine, tmp_path / "out1")
    export_folder(engine, tmp_path / "out2")
    cmp2 = filecmp.dircmp(tmp_path / "out1", tmp_path / "out2")
    assert not cmp2.diff_files


_KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from renalpath.registry.db import make_engine
    from renalpath.registry.importer import import_folder

    def progress(n):
        print("WRITING", flush=True)
        time.sleep(60)  # the parent SIGKILLs us here, mid-transaction

    import_folder(make_engine(sys.argv[1]), Path(sys.argv[2]), progress=progress)
    """
)


def test_killed_import_leaves_database_unchanged(db: tuple[Engine, str], tmp_path: Path) -> None:
    engine, url = db
    import_folder(engine, write_folder(tmp_path / "first", base_rows()))
    before = counts(engine)
    rows = copy.deepcopy(base_rows())
    rows["patients"].append({"patient_id": "P7", "sex": "male", "birth_date": "1980-01-01"})
    folder = write_folder(tmp_path / "second", rows)
    script = tmp_path / "kill_me.py"
    script.write_text(_KILL_SCRIPT, encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, str(script), url, str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "WRITING"  # rows are being written now
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    time.sleep(0.2)  # PostgreSQL notices the dropped connection and rolls back
    engine.dispose()
    assert counts(engine) == before
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT count(*) FROM patients WHERE patient_id = 'P7'")).scalar()
            == 0
        )
    assert audit.verify(engine).ok


def test_changes_to_stored_rows_need_update(engine: Engine, tmp_path: Path) -> None:
    import_folder(engine, write_folder(tmp_path / "v1", base_rows()))
    before = counts(engine)
    rows = copy.deepcopy(base_rows())
    rows["patients"][0]["birth_date"] = "1951-01-01"
    rows["patients"].append({"patient_id": "P3", "sex": "male", "birth_date": "1970-01-01"})
    folder = write_folder(tmp_path / "v2", rows)
    refused = import_folder(engine, folder)
    assert not refused.written and refused.updates_refused and refused.report.ok
    assert refused.diff() == [
        {
            "file": "patients",
            "id": "P1",
            "column": "birth_date",
            "old": "1950-01-01",
            "new": "1951-01-01",
        }
    ]
    assert counts(engine) == before  # not even the new patient P3
    dry = import_folder(engine, folder, update=True, dry_run=True)
    assert not dry.written and dry.counts["patients"] == {
        "inserted": 1,
        "updated": 1,
        "unchanged": 1,
    }
    assert counts(engine) == before
    done = import_folder(engine, folder, update=True, reason="birth date corrected")
    assert done.written and counts(engine)["patients"] == 3


def test_update_is_checked_against_the_stored_rows(engine: Engine, tmp_path: Path) -> None:
    """A new death date before stored labs: the merged registry would break the rules."""
    import_folder(engine, write_folder(tmp_path / "v1", base_rows()))
    before = counts(engine)
    rows = {"patients": [dict(base_rows()["patients"][0], death_date="2018-06-01")]}
    result = import_folder(engine, write_folder(tmp_path / "v2", rows), update=True, reason="x")
    assert not result.written
    reasons = [(e.file, e.reason) for e in result.report.errors]
    assert (
        "labs (stored)",
        "row P1|2019-07-01|creatinine after this import: lab after death (2018-06-01)",
    ) in reasons
    assert counts(engine) == before
