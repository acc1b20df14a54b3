"""The fast NDJSON export: text templates give the standard library encoder's bytes of the
resource dicts, and the export in worker processes writes the files of the serial export (or
fails whole, leaving nothing)."""

from __future__ import annotations

import errno
import json
import math
import multiprocessing
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from renalpath.errors import InvalidInput
from renalpath.interop.fhir import codes as c
from renalpath.interop.fhir import export as ex
from renalpath.interop.fhir import workers
from renalpath.interop.fhir.export import ExportFailed, export_fhir
from renalpath.interop.fhir.mapping import (
    lab_observation,
    patient_resources,
    registry_row,
    tnm_observation,
    with_source,
)
from renalpath.interop.fhir.ndjson import (
    lab_text,
    number,
    patient_lines,
    registry_row_text,
    tnm_text,
)
from renalpath.registry.db import make_engine
from renalpath.registry.dictionary import FILES
from renalpath.registry.importer import import_folder
from renalpath.synth.writer import write_registry
from tests.interop.fhir_fixtures import every_field_rows
from tests.registry.registry_fixtures import write_folder


def reference_text(resource: dict[str, Any]) -> str:
    """The standard library's encoding, independent of the export's encoder."""
    return json.dumps(resource, ensure_ascii=False, separators=(",", ":"))


@pytest.fixture(autouse=True)
def parallel_from_two_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """The small test registries in worker processes too (the export maps fewer than
    `PARALLEL_MIN` patients in its own process)."""
    monkeypatch.setattr(ex, "PARALLEL_MIN", 0)


@pytest.fixture(scope="module")
def registries(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """SQLite registries: the every-field fixture, and 60 synthetic patients (seed 1)."""
    base = tmp_path_factory.mktemp("ndjson")
    out: dict[str, Path] = {}
    every = write_folder(base / "every", every_field_rows())
    write_registry(base / "synth", 60, seed=1)
    for name, folder in (("every", every), ("synth", base / "synth")):
        engine = make_engine(f"sqlite:///{base / name}.db")
        assert import_folder(engine, folder).written
        engine.dispose()
        out[name] = base / f"{name}.db"
    return out


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.ndjson"))}


@pytest.mark.parametrize("name", ["every", "synth"])
def test_patient_lines_are_the_encoded_resources(registries: dict[str, Path], name: str) -> None:
    engine = make_engine(f"sqlite:///{registries[name]}")
    patients = list(ex.patients_from_db(engine))
    engine.dispose()
    templated = 0
    for rows in patients:
        expected = [(r["resourceType"], reference_text(r)) for r in patient_resources(rows)]
        assert patient_lines(rows) == expected
        templated += len(rows.labs)
    assert templated > 0


@pytest.mark.parametrize("name", ["every", "synth"])
def test_workers_write_the_files_of_the_serial_export(
    registries: dict[str, Path], name: str, tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{registries[name]}")
    before = set(multiprocessing.active_children())  # other tests' pools may live on
    serial = export_fhir(engine, tmp_path / "serial", "fhir", workers=0)
    # batches of 2 patients: several batches in flight, each in a worker process
    parallel = export_fhir(engine, tmp_path / "parallel", "fhir", workers=2, batch=2)
    engine.dispose()
    assert parallel == serial
    assert _files(tmp_path / "parallel") == _files(tmp_path / "serial")
    assert len(_files(tmp_path / "serial")) >= 5
    # and the lines are those of the dict export, encoded by the standard library
    lines = (tmp_path / "serial" / "Patient.ndjson").read_text("utf-8").splitlines()
    assert [json.loads(line)["resourceType"] for line in lines] == ["Patient"] * len(lines)
    manifest = json.loads((tmp_path / "parallel" / "manifest.json").read_text("utf-8"))
    assert {o["type"]: o["count"] for o in manifest["output"]} == serial
    assert set(multiprocessing.active_children()) <= before  # the export's workers are gone


def test_workers_on_each_database(engine: Engine, tmp_path: Path) -> None:
    """SQLite and PostgreSQL: the workers open the database by its URL (a PostgreSQL test
    schema is in its search_path option) and write the serial export's files."""
    assert import_folder(engine, write_folder(tmp_path / "reg", every_field_rows())).written
    serial = export_fhir(engine, tmp_path / "serial", "fhir", workers=0)
    assert export_fhir(engine, tmp_path / "parallel", "fhir", workers=2, batch=2) == serial
    assert _files(tmp_path / "parallel") == _files(tmp_path / "serial")
    assert serial["Patient"] == len(every_field_rows()["patients"])


def test_workers_without_copy_file_range(
    registries: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the kernel cannot copy between the files (after copying part of one), the spool
    files are copied through Python, and the files are still the serial export's."""
    engine = make_engine(f"sqlite:///{registries['synth']}")
    export_fhir(engine, tmp_path / "serial", "fhir", workers=0)
    real = os.copy_file_range
    calls: list[int] = []

    def partial_then_fail(src: int, dst: int, count: int) -> int:
        calls.append(real(src, dst, 10))
        raise OSError(errno.EXDEV, "cross-device")

    monkeypatch.setattr(os, "copy_file_range", partial_then_fail)
    export_fhir(engine, tmp_path / "parallel", "fhir", workers=2, batch=9)
    engine.dispose()
    assert calls and all(n == 10 for n in calls)
    assert _files(tmp_path / "parallel") == _files(tmp_path / "serial")


def test_export_files_match_the_dict_export(registries: dict[str, Path], tmp_path: Path) -> None:
    """Every NDJSON file: the dict resources through the standard library encoder."""
    engine = make_engine(f"sqlite:///{registries['synth']}")
    export_fhir(engine, tmp_path / "nd", "fhir", workers=2, batch=7)
    expected: dict[str, list[str]] = {}
    for rows in ex.patients_from_db(engine):
        for r in patient_resources(rows):
            expected.setdefault(f"{r['resourceType']}.ndjson", []).append(reference_text(r))
    engine.dispose()
    got = _files(tmp_path / "nd")
    assert got == {k: ("\n".join(v) + "\n").encode("utf-8") for k, v in expected.items()}


# Run in the worker processes (sent by name, so module-level).
def crash(url: str, ids: list[str], spool: str) -> dict[str, int]:
    if ids[0] != min_id(url):
        os._exit(3)  # a worker that dies (the kernel's OOM killer, a segfault)
    return workers.read_batch_text(url, ids, spool)


def fail(url: str, ids: list[str], spool: str) -> dict[str, int]:
    if ids[0] != min_id(url):
        raise ValueError(f"mapping failed at {ids[0]}")
    return workers.read_batch_text(url, ids, spool)


def interrupt(url: str, ids: list[str], spool: str) -> dict[str, int]:
    if ids[0] != min_id(url):
        raise KeyboardInterrupt
    return workers.read_batch_text(url, ids, spool)


def min_id(url: str) -> str:
    engine = make_engine(url)
    with engine.connect() as conn:
        first = ex._sorted_ids(conn)[0]
    engine.dispose()
    return first


@pytest.mark.parametrize(
    ("task", "error"), [(crash, ExportFailed), (fail, ValueError), (interrupt, KeyboardInterrupt)]
)
def test_a_failing_worker_fails_the_export_and_leaves_no_files(
    registries: dict[str, Path], tmp_path: Path, task: ex.BatchTask, error: type[BaseException]
) -> None:
    engine = make_engine(f"sqlite:///{registries['synth']}")
    before = set(multiprocessing.active_children())  # other tests' pools may live on
    out = tmp_path / "nd"
    out.mkdir()
    (out / "keep.txt").write_text("not the export's")
    with pytest.raises(error) as raised:
        ex._write_parallel(engine, out, 5, 2, task=task)
    engine.dispose()
    if error is ExportFailed:
        assert "worker process stopped" in str(raised.value)
    # the first batch was written before the failure: it is removed, and no manifest
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    assert set(multiprocessing.active_children()) <= before  # the export's workers are gone


def test_one_batch_or_an_in_memory_database_is_mapped_in_process(
    registries: dict[str, Path], tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{registries['every']}")
    # `crash` would kill any worker given a batch after the first: none is started
    ex._write_parallel(engine, tmp_path / "one", 10_000, 2, task=crash)
    engine.dispose()
    assert (tmp_path / "one" / "manifest.json").exists()
    memory = make_engine("sqlite://")
    assert ex._reopenable(memory) is None
    assert ex._reopenable(make_engine(f"sqlite:///{registries['every']}")) is not None


def test_workers_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RENALPATH_EXPORT_WORKERS", "0")
    assert ex.default_workers() == 0
    monkeypatch.setenv("RENALPATH_EXPORT_WORKERS", "3")
    assert ex.default_workers() == 3
    monkeypatch.setenv("RENALPATH_EXPORT_WORKERS", "two")
    with pytest.raises(InvalidInput):
        ex.default_workers()
    monkeypatch.delenv("RENALPATH_EXPORT_WORKERS")
    assert ex.default_workers() == (2 if (os.cpu_count() or 1) >= 2 else 0)


# ------------------------------------------------------------------ templates, property-based

texts = st.text(max_size=12)  # any code points: quotes, backslashes, controls, non-ASCII
floats = st.floats(allow_nan=True, allow_infinity=True)
known_labs = [(code.test, code.equation) for code in c.lab_codes()]
units = st.sampled_from(sorted(c.ucum_units())) | texts
LAB_COLUMNS = FILES["labs"].column_names


@settings(max_examples=300, deadline=None)
@given(
    test=st.sampled_from(known_labs) | st.tuples(texts, texts),
    unit=units,
    comparator=st.sampled_from(["", "<", ">", "<=", ">="]) | texts,
    value=floats,
    low=st.none() | floats,
    high=st.none() | floats,
    date=texts,
    extra=st.dictionaries(st.sampled_from(LAB_COLUMNS), texts),
    shuffled=st.booleans(),
)
def test_lab_text_is_the_encoded_observation(
    test: tuple[str, str],
    unit: str,
    comparator: str,
    value: float,
    low: float | None,
    high: float | None,
    date: str,
    extra: dict[str, str],
    shuffled: bool,
) -> None:
    row = dict.fromkeys(LAB_COLUMNS, "") | extra
    row |= {"test": test[0], "equation": test[1], "unit": unit, "comparator": comparator}
    row |= {"date": date, "value": repr(value)}
    row |= {"lln": "" if low is None else repr(low), "uln": "" if high is None else repr(high)}
    if shuffled:  # not in column order: the extension still lists columns in file order
        row = dict(reversed(row.items())) | {"not_a_column": "x"}
    pref = {"reference": 'Patient/p-\u00e9"1'}
    expected = reference_text(with_source(lab_observation(row, pref, "lab-1")))
    built = lab_text(row, pref, "lab-1")
    assert (built.kind, built.id, built.text) == ("Observation", "lab-1", expected)
    assert registry_row_text("labs", row) == reference_text(registry_row("labs", row))


@settings(max_examples=200, deadline=None)
@given(
    axis=st.sampled_from(["t", "n", "m"]),
    basis=st.sampled_from(["clinical", "pathological"]),
    value=st.sampled_from(["1a", "2", "3b", "4", "0", "1", "X"]) | texts,
    prefix=st.sampled_from([None, "c", "p", "yc", "yp", "r", "a"]),
    method=st.sampled_from(["ajcc8", "ajcc7"]),
    oid=texts,
    date=texts,
    refs=st.tuples(texts, texts),
)
def test_tnm_text_is_the_encoded_observation(
    axis: str,
    basis: str,
    value: str,
    prefix: str | None,
    method: str,
    oid: str,
    date: str,
    refs: tuple[str, str],
) -> None:
    kw: dict[str, Any] = {
        "oid": oid,
        "date": date,
        "patient_ref": {"reference": refs[0]},
        "condition_ref": {"reference": refs[1]},
        "prefix": prefix,
        "method": method,
    }
    expected = reference_text(with_source(tnm_observation(axis, basis, value, **kw)))
    assert tnm_text(axis, basis, value, **kw).text == expected


@given(value=floats)
def test_numbers_are_written_as_the_encoder_writes_them(value: float) -> None:
    assert number(value) == json.dumps(value)
    assert math.isnan(value) or float(number(value)) == value
