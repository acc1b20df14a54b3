"""The streamed import (large files read in chunks) gives exactly what a whole-file read gives:
the same rows, audit trail and report — rewrites merged across chunks, duplicates found across
chunk borders, errors with the same lines."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from renalpath.registry import import_stream, importer, reader
from renalpath.registry.db import make_engine, upgrade
from renalpath.registry.models import TABLES, AuditLog
from renalpath.synth.messy import CELL_VARIANTS, render_folder
from renalpath.synth.writer import write_registry


def _run(
    folder: Path, db: Path
) -> tuple[importer.ImportResult, dict[str, list[tuple[object, ...]]]]:
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    result = importer.import_folder(engine, folder, actor="test", reason="stream test")
    with engine.connect() as conn:
        tables = {
            name: sorted(map(tuple, conn.execute(select(t)).all()), key=repr)
            for name, t in TABLES.items()
        }
        tables["audit"] = [
            tuple(r)
            for r in conn.execute(
                select(AuditLog.entity, AuditLog.entity_id, AuditLog.new).order_by(AuditLog.seq)
            ).all()
        ]
    engine.dispose()
    return result, tables


def _both(
    folder: Path, tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[
    tuple[importer.ImportResult, dict[str, list[tuple[object, ...]]]],
    tuple[importer.ImportResult, dict[str, list[tuple[object, ...]]]],
]:
    whole = _run(folder, tmp / "whole.db")
    monkeypatch.setattr(reader, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(importer, "READ_ROWS", 37)
    chunked = _run(folder, tmp / "chunked.db")
    return whole, chunked


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("stream") / "clean"
    write_registry(folder, 60, seed=3)
    return folder


def test_clean_folder_same_rows_and_audit(
    clean: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (w, wt), (c, ct) = _both(clean, tmp_path, monkeypatch)
    assert w.written and c.written
    assert c.counts == w.counts and c.rows_total == w.rows_total
    assert c.audit_rows == w.audit_rows
    for name in wt:
        if name != "audit":
            assert [r[1:] for r in ct[name]] == [r[1:] for r in wt[name]] or ct[name] == wt[name], (
                name
            )
    assert ct["audit"] == wt["audit"]


def test_messy_folder_same_report_and_rows(
    clean: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    messy = render_folder(
        clean,
        tmp_path / "messy",
        list(CELL_VARIANTS),
        ["semicolon_decimal_comma", "upper_headers", "trailing_empty_row"],
        seed=2,
        chunk_rows=23,
    )
    (w, wt), (c, ct) = _both(messy, tmp_path, monkeypatch)
    assert w.written and c.written
    assert c.report.render() == w.report.render()
    assert c.report.to_dict() == w.report.to_dict()
    assert ct["audit"] == wt["audit"]


def test_errors_and_cross_chunk_duplicates(
    clean: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    for path in clean.iterdir():
        rows = list(csv.reader(path.open(newline="", encoding="utf-8")))
        if path.name == "labs.csv":
            rows.append(rows[1])  # duplicate of line 2, far beyond the first chunk
            rows.append(rows[5])
            rows[10][1] = "2019-02-30"  # not a date
            rows[80][0] = "NOPE"  # unknown patient
        if path.name == "imaging.csv":
            rows.append(rows[3])
        with (folder / path.name).open("w", newline="", encoding="utf-8") as out:
            csv.writer(out).writerows(rows)
    (w, _), (c, ct) = _both(folder, tmp_path, monkeypatch)
    assert not w.written and not c.written
    assert "duplicate of line" in w.report.render()
    assert c.report.render() == w.report.render()
    assert c.report.to_dict() == w.report.to_dict()
    assert c.counts == w.counts == {}
    assert all(not rows for rows in ct.values())


def test_hash_collision_is_run_again(
    clean: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A repeated key hash that is no duplicate holds the writes back; the import is rolled
    back and run again with another hash key, and then writes everything."""
    calls: list[str] = []
    real = import_stream.DuplicateKeys.add

    def add(self: import_stream.DuplicateKeys, typed: pd.DataFrame) -> bool:
        calls.append(self.hash_key)
        if self.hash_key == importer._HASH_KEYS[0] and self.spec.name == "labs":
            real(self, typed)
            self.repeated = True  # as if two different keys had hashed alike
            return True
        return real(self, typed)

    monkeypatch.setattr(import_stream.DuplicateKeys, "add", add)
    monkeypatch.setattr(reader, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(importer, "READ_ROWS", 37)
    result, tables = _run(clean, tmp_path / "collide.db")
    assert result.written and result.report.ok
    assert importer._HASH_KEYS[1] in calls
    assert len(tables["labs"]) == result.counts["labs"]["inserted"] > 0


def test_update_of_stored_rows_same_diff(
    clean: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second import that changes stored rows: same diff, refusal and update either way."""
    changed = tmp_path / "changed"
    changed.mkdir()
    for path in clean.iterdir():
        rows = list(csv.reader(path.open(newline="", encoding="utf-8")))
        if path.name == "labs.csv":
            col = rows[0].index("value")
            rows[50][col] = str(float(rows[50][col]) + 1)
        with (changed / path.name).open("w", newline="", encoding="utf-8") as out:
            csv.writer(out).writerows(rows)

    def twice(db: Path) -> tuple[list[dict[str, str | None]], bool, dict[str, object]]:
        engine = make_engine(f"sqlite:///{db}")
        upgrade(engine)
        assert importer.import_folder(engine, clean, actor="t").written
        refused = importer.import_folder(engine, changed, actor="t")
        done = importer.import_folder(engine, changed, actor="t", update=True, reason="fix")
        engine.dispose()
        return refused.diff(), refused.updates_refused and done.written, done.counts

    whole = twice(tmp_path / "w.db")
    monkeypatch.setattr(reader, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(importer, "READ_ROWS", 37)
    assert twice(tmp_path / "c.db") == whole
    assert whole[0] and whole[1]
