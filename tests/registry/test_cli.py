"""The registry commands through the installed console script (exit 0 ok, 1 refused, 2 usage)."""

from __future__ import annotations

import copy
import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

from renalpath.registry.dictionary import FILES
from renalpath.registry.docs import REDCAP_COLUMNS
from tests.registry.registry_fixtures import base_rows, write_folder

Run = Callable[..., CompletedProcess[str]]


def test_db_import_export_audit_cycle(cli: Run, tmp_path: Path) -> None:
    env = {"RENALPATH_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    assert cli("db", "init", env=env).returncode == 0
    src = write_folder(tmp_path / "reg", base_rows())
    done = cli("import", str(src), "--json", env=env)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["written"] and payload["counts"]["patients"]["inserted"] == 2
    assert cli("export", str(tmp_path / "out"), env=env).returncode == 0
    assert (tmp_path / "out" / "labs.csv").read_bytes() == (src / "labs.csv").read_bytes()
    verified = cli("audit", "verify", "--json", env=env)
    assert verified.returncode == 0 and json.loads(verified.stdout)["rows"] == 16
    log = cli("audit", "log", "--entity", "patients", "--json", env=env)
    assert {r["entity_id"] for r in json.loads(log.stdout)} == {"P1", "P2"}


def test_import_refusal_exit_1_with_report_on_stderr(cli: Run, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    cli("db", "init", "--db", db)
    rows = copy.deepcopy(base_rows())
    rows["interventions"][0]["date"] = "1940-01-01"
    done = cli("import", str(write_folder(tmp_path / "bad", rows)), "--db", db)
    assert done.returncode == 1
    assert "interventions.csv:2 column date value '1940-01-01': intervention before birth" in (
        done.stderr
    )
    assert done.stdout == ""
    as_json = cli("import", str(tmp_path / "bad"), "--db", db, "--json")
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["written"] is False
    assert report["errors"][0]["file"] == "interventions.csv"


def test_uninitialised_database_is_refused(cli: Run, tmp_path: Path) -> None:
    done = cli("export", str(tmp_path / "o"), "--db", f"sqlite:///{tmp_path / 'none.db'}")
    assert done.returncode == 1 and "renalpath db" in done.stderr


def test_dictionary_formats(cli: Run) -> None:
    redcap = cli("dictionary", "--format", "redcap")
    table = list(csv.reader(io.StringIO(redcap.stdout)))
    assert tuple(table[0]) == REDCAP_COLUMNS and len(table[0]) == 18
    assert table[1][0] == "patient_id"  # REDCap: the record id comes first
    names = [r[0] for r in table[1:]]
    assert len(names) == len(set(names))  # REDCap needs unique variable names
    flat = list(csv.DictReader(io.StringIO(cli("dictionary", "--format", "csv").stdout)))
    assert len(flat) == sum(len(s.columns) for s in FILES.values())
    md = cli("dictionary", "--format", "md").stdout
    assert all(f"## {s.filename}" in md for s in FILES.values())
    assert cli("dictionary", "--format", "xml").returncode == 2


def test_newcomer_flow_synth_import_export_without_db_init(cli: Run, tmp_path: Path) -> None:
    """A newcomer's first run: synth → import → export in a fresh folder gives the same rows back.

    No `db init` first: a brand-new empty database gets its schema on the first import.
    """
    synth = cli("synth", "--patients", "60", "--seed", "1", "--out", "demo", cwd=tmp_path)
    assert synth.returncode == 0, synth.stderr
    imported = cli("import", "demo", cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert (tmp_path / "renalpath.db").exists()  # the documented default location
    exported = cli("export", "out", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    for name in FILES:
        original = sorted(csv.reader(io.StringIO((tmp_path / "demo" / f"{name}.csv").read_text())))
        back = sorted(csv.reader(io.StringIO((tmp_path / "out" / f"{name}.csv").read_text())))
        assert back == original, name


def test_operational_errors_are_messages(cli: Run, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    assert (
        cli("import", str(write_folder(tmp_path / "reg", base_rows())), "--db", db).returncode == 0
    )
    typo = f"sqlite:///{tmp_path / 'typo.db'}"
    cases = {
        # a mistyped SQLite path for a read command: refused, and no empty database created
        ("export", str(tmp_path / "o1"), "--db", typo): "no database",
        ("audit", "verify", "--db", typo): "no database",
        ("export", str(tmp_path / "o2"), "--db", "not-a-url"): "not a database URL",
        (
            "export",
            str(tmp_path / "o3"),
            "--db",
            "postgresql+psycopg://nobody@127.0.0.1:1/none",
        ): "database postgresql",
        ("export", str(tmp_path / "reg"), "--db", db): "already exists and is not empty",
        (
            "import",
            str(tmp_path / "reg"),
            "--db",
            f"sqlite:///{tmp_path / 'reg' / 'labs.csv' / 'x.db'}",
        ): "unable to open",
    }
    for args, words in cases.items():
        done = cli(*args)
        assert done.returncode == 1, (args, done.stderr)
        assert words in done.stderr and "Traceback" not in done.stderr, (args, done.stderr)
    assert not (tmp_path / "typo.db").exists()
    assert cli("export", str(tmp_path / "reg"), "--db", db, "--force").returncode == 0


def test_dry_run_and_update(cli: Run, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    cli("import", str(write_folder(tmp_path / "v1", base_rows())), "--db", db)
    rows = copy.deepcopy(base_rows())
    rows["patients"][0]["sex"] = "F"  # normalised to female: a change to a stored row
    v2 = str(write_folder(tmp_path / "v2", rows))
    dry = cli("import", v2, "--db", db, "--dry-run", "--json")
    payload = json.loads(dry.stdout)
    assert dry.returncode == 0 and payload["written"] is False
    assert payload["changes"] == [
        {"file": "patients", "id": "P1", "column": "sex", "old": "male", "new": "female"}
    ]
    assert payload["warnings"][0]["reason"] == "stored as 'female'"
    refused = cli("import", v2, "--db", db)
    assert refused.returncode == 1 and "--update" in refused.stderr
    assert "change patients P1 sex: 'male' → 'female'" in refused.stdout
    assert cli("import", v2, "--db", db, "--update").returncode == 2  # needs --reason
    done = cli("import", v2, "--db", db, "--update", "--reason", "sex corrected")
    assert done.returncode == 0, done.stderr
    log = json.loads(cli("audit", "log", "--db", db, "--id", "P1", "--json").stdout)
    assert log[0]["reason"] == "sex corrected" and log[0]["new"] == "female"


def test_grouped_json_report(cli: Run, tmp_path: Path) -> None:
    rows = copy.deepcopy(base_rows())
    for lab in rows["labs"]:
        lab["unit"] = "bananas"
    done = cli(
        "import",
        str(write_folder(tmp_path / "bad", rows)),
        "--db",
        f"sqlite:///{tmp_path / 'cli.db'}",
        "--json",
    )
    assert done.returncode == 1
    errors = json.loads(done.stdout)["errors"]
    assert [(e["column"], e["rows"], e["lines"]) for e in errors] == [
        ("unit", 2, [2, 3]),
        ("unit", 1, [4]),
    ]  # one entry per cause: creatinine and haemoglobin have different allowed units
