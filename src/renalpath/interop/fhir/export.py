"""`renalpath export DIR --format fhir | fhir-bundle`: the registry as FHIR R4 / mCODE files.

* `fhir`: FHIR Bulk Data layout: one NDJSON file per resource type (`Patient.ndjson`,
  `Condition.ndjson`, ...), one resource per line, written as each patient is mapped (nothing
  is accumulated, so the output side needs constant memory), plus `manifest.json` (the
  Bulk Data completion manifest shape with relative file names and counts).
* `fhir-bundle`: one mCODE patient bundle (a `collection` Bundle, CancerPatient first) per
  patient, `Bundle-<patient>.json`.

Both map the rows the CSV export writes (`export_folder`: canonical text, key order,
formula-safe), so FHIR and CSV exports always agree. The plain export reads them from the
database a batch of patients at a time (`patients_from_db`) and writes each patient's
resources as soon as they are mapped, so its memory does not grow with the registry; with
`--deidentify` it maps the de-identified copy of the CSV folder (made by
`registry.deidentify`, with the same key handling as the CSV export), so `--deidentify` means
the same thing for both.

The plain NDJSON export of 5,000 patients or more runs in worker processes (`_write_parallel`:
each reads and maps a batch, this process appends the batches in order), and its lines come
from text templates where the shape is fixed (`ndjson`): the same bytes as the one-process
export of the dicts (bench/RESULTS.md has the times).
"""

from __future__ import annotations

import csv
import datetime as dt
import gc
import json
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, select

from renalpath.errors import InvalidInput, RenalpathError
from renalpath.interop.fhir import codes as c
from renalpath.interop.fhir import workers as w
from renalpath.interop.fhir.mapping import (
    PatientRows,
    Resource,
    group_by_patient,
    patient_resources,
)
from renalpath.interop.fhir.ndjson import dumps, patient_lines
from renalpath.registry.cells import FORMULA_STARTS, canonical_frame, formula_safe
from renalpath.registry.db import require_schema
from renalpath.registry.dictionary import FILES
from renalpath.registry.exporter import export_folder
from renalpath.registry.models import TABLES

Format = Literal["fhir", "fhir-bundle"]
BATCH = 2000  # patients read from the database at a time (memory is per batch, not per N)
# With worker processes: smaller batches, as up to `workers + 1` batches' text are in flight.
PARALLEL_BATCH = 1000
# Fewer patients are mapped in the one process: starting a worker (Python, pandas, SQLAlchemy)
# costs about a second of CPU, which a few thousand patients do not win back.
PARALLEL_MIN = 5000
FORMATS: tuple[str, ...] = ("fhir", "fhir-bundle")


def read_folder(folder: Path) -> dict[str, list[dict[str, str]]]:
    """A registry folder as rows of text ("" = blank), as `export_folder` wrote it."""
    rows: dict[str, list[dict[str, str]]] = {}
    for name, spec in FILES.items():
        path = folder / spec.filename
        if path.exists():
            with path.open(encoding="utf-8", newline="") as handle:
                rows[name] = list(csv.DictReader(handle))
    return rows


def resources_of_folder(folder: Path) -> Iterator[list[Resource]]:
    """Each patient's resources (Patient first), patient by patient."""
    for rows in group_by_patient(read_folder(folder)):
        yield patient_resources(rows)


_dumps = dumps  # the encoder of every exported resource (`interop.fhir.ndjson`)


class ExportFailed(RenalpathError):
    """The export could not finish (a worker process died): nothing is left of it, no NDJSON
    file and no manifest, so a half-written export is never taken for a whole one."""

    http_status = 500


class _NdjsonFiles:
    """The NDJSON files of one export, opened as their type first comes; on an error every
    file this export opened is removed (no manifest is written either), so a failed export
    leaves no files that look like a smaller export."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: dict[str, IO[bytes]] = {}
        self.counts: dict[str, int] = {}

    def __enter__(self) -> _NdjsonFiles:
        self.folder.mkdir(parents=True, exist_ok=True)
        return self

    def write(self, kind: str, data: bytes, count: int) -> None:
        out = self.files.get(kind)
        if out is None:
            out = self.files[kind] = (self.folder / f"{kind}.ndjson").open("wb")
            self.counts[kind] = 0
        out.write(data)
        self.counts[kind] += count

    def append(self, kind: str, part: Path, count: int) -> None:
        """Append the file `part` (a worker's bytes of `kind`) and remove it: copied by the
        kernel where it can (`copy_file_range`), else through a buffer."""
        if kind not in self.files:
            self.write(kind, b"", 0)
        out = self.files[kind]
        out.flush()
        fd = out.fileno()
        start = os.lseek(fd, 0, os.SEEK_CUR)
        with part.open("rb") as src:
            try:
                while os.copy_file_range(src.fileno(), fd, 1 << 30):
                    pass
            except (AttributeError, OSError):  # not here, or not between these files
                os.ftruncate(fd, start)  # whatever it copied before failing
                os.lseek(fd, start, os.SEEK_SET)
                src.seek(0)
                shutil.copyfileobj(src, out, 1 << 20)
                out.flush()
        part.unlink()
        self.counts[kind] += count

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        for out in self.files.values():
            out.close()
        if error is not None:
            for name in self.files:
                (self.folder / f"{name}.ndjson").unlink(missing_ok=True)


def _write_manifest(folder: Path, counts: dict[str, int]) -> dict[str, int]:
    manifest: dict[str, Any] = {
        "transactionTime": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "request": "renalpath export --format fhir",
        "requiresAccessToken": False,
        "output": [
            {"type": k, "url": f"{k}.ndjson", "count": n} for k, n in sorted(counts.items())
        ],
        "error": [],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    return dict(sorted(counts.items()))


def write_ndjson(patients: Iterator[list[Resource]], folder: Path) -> dict[str, int]:
    """Bulk Data NDJSON files, one per resource type; returns resources per type."""
    with _NdjsonFiles(folder) as out:
        for resources in patients:
            for res in resources:
                out.write(res["resourceType"], (_dumps(res) + "\n").encode("utf-8"), 1)
    return _write_manifest(folder, out.counts)


def write_lines(patients: Iterator[list[tuple[str, str]]], folder: Path) -> dict[str, int]:
    """`write_ndjson` of patients already written as lines (`ndjson.patient_lines`)."""
    with _NdjsonFiles(folder) as out:
        for lines in patients:
            for kind, line in lines:
                out.write(kind, (line + "\n").encode("utf-8"), 1)
    return _write_manifest(folder, out.counts)


def patient_bundle(resources: list[Resource]) -> Resource:
    """One mCODE patient bundle (collection; the CancerPatient first)."""
    patient = resources[0]
    return {
        "resourceType": "Bundle",
        "id": f"bundle-{patient['id']}"[:64],
        "meta": {"profile": [c.PROFILE["bundle"]]},
        "identifier": {"system": c.id_system("bundle"), "value": patient["id"]},
        "type": "collection",
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "entry": [
            {"fullUrl": f"{c.NS}/{r['resourceType']}/{r['id']}", "resource": r} for r in resources
        ],
    }


def write_bundles(patients: Iterator[list[Resource]], folder: Path) -> dict[str, int]:
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {"Bundle": 0}
    for resources in patients:
        bundle = patient_bundle(resources)
        (folder / f"Bundle-{resources[0]['id']}.json").write_text(_dumps(bundle) + "\n", "utf-8")
        counts["Bundle"] += 1
        for r in resources:
            counts[r["resourceType"]] = counts.get(r["resourceType"], 0) + 1
    return counts


def _writer(fmt: str) -> Callable[[Iterator[list[Resource]], Path], dict[str, int]]:
    if fmt == "fhir":
        return write_ndjson
    if fmt == "fhir-bundle":
        return write_bundles
    raise InvalidInput(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")


def write_fhir(folder_in: Path, folder_out: Path, fmt: str) -> dict[str, int]:
    """Map a registry folder to FHIR files in `folder_out`."""
    if fmt == "fhir":
        lines = (patient_lines(rows) for rows in group_by_patient(read_folder(folder_in)))
        return write_lines(lines, folder_out)
    return _writer(fmt)(resources_of_folder(folder_in), folder_out)


def default_workers() -> int:
    """Worker processes for the NDJSON export: 2 where there are 2 cores or more (the parent
    reads the database and writes while they map; a third brought nothing on 2 cores), none
    on 1 core. RENALPATH_EXPORT_WORKERS sets another number (0: map in the parent); read here
    directly, like the engine's compiled/source switch, its meaning documented in `Settings`."""
    configured = os.environ.get("RENALPATH_EXPORT_WORKERS", "").strip()
    if configured:
        try:
            return max(0, int(configured))
        except ValueError as err:
            raise InvalidInput(
                f"RENALPATH_EXPORT_WORKERS={configured!r}: a whole number of processes"
            ) from err
    return 2 if (os.cpu_count() or 1) >= 2 else 0


def export_fhir(
    engine: Engine,
    folder: Path,
    fmt: str,
    *,
    deidentify_key: bytes | None = None,
    batch: int | None = None,
    workers: int | None = None,
) -> dict[str, int]:
    """Export the registry as FHIR; with a key, from the de-identified registry folder.

    Without a key the registry is read straight from the database, `batch` patients at a time
    (`patients_from_db`), so memory stays flat however many patients there are. The NDJSON
    export maps the batches in `workers` processes (default `default_workers()`) when there is
    more than one batch (`_write_parallel`); the files are the same bytes either way. The
    de-identified export goes through the CSV folders (the pseudonyms are made there, with the
    same code as the CSV export), in a private temporary directory removed on return, and is
    mapped in this process."""
    if fmt not in FORMATS:
        raise InvalidInput(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
    if deidentify_key is None:
        require_schema(engine)
        workers = default_workers() if workers is None else workers
        if fmt == "fhir" and workers > 0:
            return _write_parallel(
                engine, folder, batch or PARALLEL_BATCH, workers, smallest=PARALLEL_MIN
            )
        if fmt == "fhir":
            lines = (patient_lines(rows) for rows in patients_from_db(engine, batch or BATCH))
            return write_lines(lines, folder)
        return _writer(fmt)(
            (patient_resources(rows) for rows in patients_from_db(engine, batch or BATCH)),
            folder,
        )
    with tempfile.TemporaryDirectory(prefix="renalpath-fhir-") as tmp:
        plain = Path(tmp) / "registry"
        export_folder(engine, plain)
        from renalpath.registry.deidentify import deidentify_folder

        source = Path(tmp) / "deidentified"
        deidentify_folder(plain, source, deidentify_key)
        return write_fhir(source, folder, fmt)


__all__ = [
    "FORMATS",
    "ExportFailed",
    "PatientRows",
    "export_fhir",
    "patient_bundle",
    "patients_from_db",
    "write_fhir",
]


def _batch_where(ids: list[str]) -> dict[str, Any]:
    """Per registry file, the condition selecting the rows of the patients `ids`."""
    t = TABLES
    tumours = select(t["tumours"].c.tumour_id).where(t["tumours"].c.patient_id.in_(ids))
    ivs = select(t["interventions"].c.intervention_id).where(
        t["interventions"].c.patient_id.in_(ids)
    )
    where: dict[str, Any] = {
        "imaging": t["imaging"].c.tumour_id.in_(tumours),
        "pathology": t["pathology"].c.intervention_id.in_(ivs),
        "complications": t["complications"].c.intervention_id.in_(ivs),
        "staging": t["staging"].c.tumour_id.in_(tumours),
    }
    for name in FILES:  # every other file names its patient
        if name not in where:
            where[name] = t[name].c.patient_id.in_(ids)
    return where


def rows_of_patients(
    conn: Connection, ids: list[str], *, spreadsheet_safe: bool
) -> dict[str, list[dict[str, str]]]:
    """The registry rows of the patients `ids`, file by file, in canonical cell text and in
    the export's key order: exactly the rows `export_folder` writes for them (with
    `spreadsheet_safe`, its formula-safe text too), read with one query per file."""
    where = _batch_where(ids)
    frames: dict[str, list[dict[str, str]]] = {}
    for name, spec in FILES.items():
        table = TABLES[name]
        cols = list(spec.column_names)
        extra = ["seq"] if name == "complications" else []
        rows = conn.execute(select(*[table.c[x] for x in [*cols, *extra]]).where(where[name]))
        frame = pd.DataFrame(rows.all(), columns=[*cols, *extra])
        canon = canonical_frame(spec, frame)
        keys = [k for k in spec.key if k != "seq"]
        if extra:
            canon["_seq"] = frame["seq"].astype(int)
            keys.append("_seq")
        canon = canon.sort_values(keys, kind="stable")[cols] if len(canon) else canon
        values = [canon[col].to_numpy(object) for col in cols]
        if spreadsheet_safe:
            values = [
                _formula_safe(v) if col.type == "str" else v
                for col, v in zip(spec.columns, values, strict=True)
            ]
        frames[name] = [dict(zip(cols, r, strict=True)) for r in zip(*values, strict=True)]
    return frames


def _formula_safe(values: np.ndarray) -> np.ndarray:
    """`exporter.formula_safe_frame` of one column, applied once per distinct value: a column
    has far fewer distinct values than rows, and almost never one a spreadsheet would run."""
    codes, distinct = pd.factorize(values)
    texts = distinct.tolist()
    if not any(isinstance(t, str) and t.startswith(FORMULA_STARTS) for t in texts):
        return values
    safe = np.array([formula_safe(t) if isinstance(t, str) else t for t in texts], dtype=object)
    out = values.copy()
    present = codes >= 0
    out[present] = safe[codes[present]]
    return out


def _sorted_ids(conn: Connection) -> list[str]:
    return sorted(conn.execute(select(TABLES["patients"].c.patient_id)).scalars())


def _reopenable(engine: Engine) -> str | None:
    """The URL a worker process can open the same database with, or None (an in-memory
    SQLite database exists only in this process)."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and (
        not url.database or url.database == ":memory:" or url.query.get("mode") == "memory"
    ):
        return None
    return url.render_as_string(hide_password=False)


BatchTask = Callable[[str, list[str], str], dict[str, int]]


def _write_parallel(
    engine: Engine,
    folder: Path,
    batch: int,
    workers: int,
    *,
    task: BatchTask = w.read_batch_text,
    smallest: int = 0,
) -> dict[str, int]:
    """The NDJSON export in `workers` processes: each reads a batch of patients from the
    database and maps it (`workers.read_batch_text`); this process hands out the batches
    (patient ids in export order) and appends the files each batch was written to (in a
    spool directory in `folder`, removed at the end) in batch order, so the files are those
    of the serial export. At most `workers + 1` batches are in flight (memory stays
    per batch). A registry of one batch or of fewer than `smallest` patients, or a database
    only this process can open, is mapped here (`write_lines`).

    On any error, Ctrl-C included, the batches not started are cancelled, the pool is shut
    down, the files written so far are removed and no manifest is written; a worker that dies
    raises `ExportFailed`, an error raised in a worker is raised here. (`task` is what a
    worker runs with a URL, a batch of ids and its spool path: a module-level function, as it
    is sent by name.)"""
    with engine.connect() as conn, _collect_per_batch():
        ids = _sorted_ids(conn)
        url = _reopenable(engine)
        if len(ids) <= max(batch, smallest - 1) or url is None:
            lines = (patient_lines(p) for p in _batches(conn, ids, batch))
            return write_lines(lines, folder)
    with _NdjsonFiles(folder) as out:
        spool = Path(tempfile.mkdtemp(prefix=".renalpath-spool-", dir=folder))
        pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=w.init)
        pending: deque[tuple[str, Future[dict[str, int]]]] = deque()

        def write_oldest() -> None:
            part, future = pending.popleft()
            try:
                counts = future.result()
            except BrokenProcessPool as err:
                raise ExportFailed(
                    "FHIR export failed: a worker process stopped unexpectedly (out of "
                    "memory, or killed); nothing was exported, run it again "
                    "(RENALPATH_EXPORT_WORKERS=0 maps in one process)"
                ) from err
            for kind, count in counts.items():
                out.append(kind, Path(f"{part}.{kind}"), count)

        try:
            for n, start in enumerate(range(0, len(ids), batch)):
                part = str(spool / f"{n:07d}")
                pending.append((part, pool.submit(task, url, ids[start : start + batch], part)))
                while len(pending) > workers:
                    write_oldest()
            while pending:
                write_oldest()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # before the spool goes
            shutil.rmtree(spool, ignore_errors=True)
    return _write_manifest(folder, out.counts)


def _batches(conn: Connection, ids: list[str], batch: int) -> Iterator[PatientRows]:
    for start in range(0, len(ids), batch):
        yield from group_by_patient(
            rows_of_patients(conn, ids[start : start + batch], spreadsheet_safe=True)
        )
        gc.collect(1)


def patients_from_db(engine: Engine, batch: int = BATCH) -> Iterator[PatientRows]:
    """Every patient's rows, patients in export order, read `batch` patients at a time.

    The same rows, in the same order, as `export_folder` followed by `read_folder` and
    `group_by_patient` (so the FHIR files are byte-identical), but only one batch is held:
    the patient ids are sorted here (the CSV export sorts by their text too), each batch's
    rows come from one query per file, and a row of a batch keeps its place because every
    file's order is a key order that a subset of rows keeps."""
    with engine.connect() as conn, _collect_per_batch():
        yield from _batches(conn, _sorted_ids(conn), batch)


@contextmanager
def _collect_per_batch() -> Iterator[None]:
    """Cyclic garbage collected once per batch instead of every few hundred allocations.

    Mapping a batch allocates millions of small dicts that are freed by reference counting
    (they hold no cycles); the automatic collector would walk them again and again (about a
    sixth of the export's time). The batch's few cycles (from pandas) are collected when the
    batch is done, so memory stays per batch."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def patient_rows(engine: Engine, patient_id: str) -> PatientRows | None:
    """One patient's registry rows read from the database, in canonical cell text (the same
    text the CSV export writes), or None when there is no such patient."""
    with engine.connect() as conn:
        frames = rows_of_patients(conn, [patient_id], spreadsheet_safe=False)
    if not frames["patients"]:
        return None
    return next(iter(group_by_patient(frames)))
