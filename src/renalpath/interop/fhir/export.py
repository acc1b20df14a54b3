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
"""

from __future__ import annotations

import csv
import datetime as dt
import gc
import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any, Literal

import pandas as pd
from sqlalchemy import Connection, Engine, select

from renalpath.errors import InvalidInput
from renalpath.interop.fhir import codes as c
from renalpath.interop.fhir.mapping import (
    PatientRows,
    Resource,
    group_by_patient,
    patient_resources,
)
from renalpath.registry.cells import canonical_frame
from renalpath.registry.db import require_schema
from renalpath.registry.dictionary import FILES
from renalpath.registry.exporter import export_folder, formula_safe_frame
from renalpath.registry.models import TABLES

Format = Literal["fhir", "fhir-bundle"]
BATCH = 2000  # patients read from the database at a time (memory is per batch, not per N)
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


_ENCODER = json.JSONEncoder(ensure_ascii=False, check_circular=False, separators=(",", ":"))
# The C encoder `_ENCODER.encode` builds on every call, built once: without circular-reference
# markers it keeps no state between calls, and its output is the same text.
_C_ENCODE = getattr(json.encoder, "c_make_encoder", None)
_ENCODE_ONCE: Callable[[Any, int], Any] | None = (
    _C_ENCODE(
        None,
        _ENCODER.default,
        json.encoder.encode_basestring,
        None,
        _ENCODER.key_separator,
        _ENCODER.item_separator,
        False,
        False,
        True,
    )
    if _C_ENCODE is not None
    else None
)


def _dumps(resource: Resource) -> str:
    if _ENCODE_ONCE is None:
        return _ENCODER.encode(resource)
    return "".join(_ENCODE_ONCE(resource, 0))


def write_ndjson(patients: Iterator[list[Resource]], folder: Path) -> dict[str, int]:
    """Bulk Data NDJSON files, one per resource type; returns resources per type."""
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with ExitStack() as stack:
        files: dict[str, IO[str]] = {}
        for resources in patients:
            for res in resources:
                kind = res["resourceType"]
                out = files.get(kind)
                if out is None:
                    out = stack.enter_context(
                        (folder / f"{kind}.ndjson").open("w", encoding="utf-8", newline="\n")
                    )
                    files[kind] = out
                    counts[kind] = 0
                out.write(_dumps(res) + "\n")
                counts[kind] += 1
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
    return _writer(fmt)(resources_of_folder(folder_in), folder_out)


def export_fhir(
    engine: Engine,
    folder: Path,
    fmt: str,
    *,
    deidentify_key: bytes | None = None,
    batch: int = BATCH,
) -> dict[str, int]:
    """Export the registry as FHIR; with a key, from the de-identified registry folder.

    Without a key the registry is read straight from the database, `batch` patients at a time
    (`patients_from_db`), so memory stays flat however many patients there are. The
    de-identified export goes through the CSV folders (the pseudonyms are made there, with the
    same code as the CSV export), in a private temporary directory removed on return."""
    if fmt not in FORMATS:
        raise InvalidInput(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
    if deidentify_key is None:
        require_schema(engine)
        return _writer(fmt)(
            (patient_resources(rows) for rows in patients_from_db(engine, batch)), folder
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
        if spreadsheet_safe:
            canon = formula_safe_frame(spec, canon)
        frames[name] = [dict(zip(cols, r, strict=True)) for r in canon.itertuples(index=False)]
    return frames


def patients_from_db(engine: Engine, batch: int = BATCH) -> Iterator[PatientRows]:
    """Every patient's rows, patients in export order, read `batch` patients at a time.

    The same rows, in the same order, as `export_folder` followed by `read_folder` and
    `group_by_patient` (so the FHIR files are byte-identical), but only one batch is held:
    the patient ids are sorted here (the CSV export sorts by their text too), each batch's
    rows come from one query per file, and a row of a batch keeps its place because every
    file's order is a key order that a subset of rows keeps."""
    with engine.connect() as conn, _collect_per_batch():
        ids = sorted(conn.execute(select(TABLES["patients"].c.patient_id)).scalars())
        for start in range(0, len(ids), batch):
            yield from group_by_patient(
                rows_of_patients(conn, ids[start : start + batch], spreadsheet_safe=True)
            )
            gc.collect(1)


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
