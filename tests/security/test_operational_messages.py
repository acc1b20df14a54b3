"""Operational failures are messages, not tracebacks: an interrupted schema creation, and a
second writer while an SQLite import holds the registry."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from renalpath.registry.db import make_engine, upgrade
from tests.conftest import run_cli
from tests.registry.registry_fixtures import base_rows, write_folder


def test_verify_on_an_interrupted_schema_creation(tmp_path: Path) -> None:
    path = tmp_path / "half.db"
    with sqlite3.connect(path) as raw:  # what a kill during the first migration leaves
        raw.execute("CREATE TABLE patients (patient_id VARCHAR(64) PRIMARY KEY)")
    done = run_cli("audit", "verify", "--db", f"sqlite:///{path}")
    assert done.returncode == 1, done
    assert "Traceback" not in done.stderr
    assert "creation was interrupted" in done.stderr


def test_verify_on_an_empty_database(tmp_path: Path) -> None:
    done = run_cli("audit", "verify", "--db", f"sqlite:///{tmp_path / 'none.db'}")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done
    assert "renalpath db init" in done.stderr


def test_second_sqlite_import_says_the_registry_is_busy(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'reg.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    holder = sqlite3.connect(tmp_path / "reg.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # a first import is writing
    try:
        done = run_cli(
            "import",
            str(write_folder(tmp_path / "f", base_rows())),
            "--db",
            url,
            env={"RENALPATH_SQLITE_BUSY_TIMEOUT_MS": "300"},
        )
    finally:
        holder.rollback()
        holder.close()
    assert done.returncode == 1, done
    assert "Traceback" not in done.stderr and "database is locked" not in done.stderr
    assert "registry is busy" in done.stderr
