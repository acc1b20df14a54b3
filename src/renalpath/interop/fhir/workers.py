"""What the export's worker processes run (`export.export_fhir` with workers).

Why a module of its own: a worker is started with the `spawn` method (a fork of a process
holding database connections and threads is unsafe), so it imports what it runs. This module
imports only the mapping; the database code (pandas, SQLAlchemy) is imported at the first
batch a worker reads (`read_batch_text`). Each worker reads its batches from the database
itself and writes each batch's NDJSON bytes to spool files; the parent appends them in order.
"""

from __future__ import annotations

import gc
import signal
from collections.abc import Mapping
from typing import Any

from renalpath.interop.fhir.mapping import group_by_patient
from renalpath.interop.fhir.ndjson import patient_lines


def init() -> None:
    """Worker start: Ctrl-C is the parent's to handle (it cancels the batches not started and
    shuts the workers down; a worker killed mid-batch would only add a second traceback), and
    the cyclic collector runs once per batch (`batch_text`) as in the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.disable()


def batch_text(files: Mapping[str, list[dict[str, str]]], spool: str) -> dict[str, int]:
    """A batch of patients' registry rows (`export.rows_of_patients`) written as the bytes each
    NDJSON file gets for them (UTF-8, one line per resource, patients in order) into the file
    `<spool>.<resourceType>`; returns the resources per type. Files, not the result pipe: the
    parent appends them to the export with an in-kernel copy instead of receiving, unpickling
    and writing 37 MB a batch."""
    lines: dict[str, list[str]] = {}
    for rows in group_by_patient(files):
        for kind, line in patient_lines(rows):
            found = lines.get(kind)
            if found is None:
                found = lines[kind] = []
            found.append(line)
    counts = {}
    for kind, found in lines.items():
        with open(f"{spool}.{kind}", "wb") as out:
            out.write(("\n".join(found) + "\n").encode("utf-8"))
        counts[kind] = len(found)
    del lines
    gc.collect(1)
    return counts


_ENGINES: dict[str, Any] = {}  # database URL → this worker's engine, made at its first batch


def read_batch_text(url: str, ids: list[str], spool: str) -> dict[str, int]:
    """`batch_text` of the patients `ids`, read here from the database at `url` (with the
    parent's `export.rows_of_patients`): the reading is a third of the work, and the parent,
    which writes every byte, would otherwise be the slowest of the processes."""
    from renalpath.interop.fhir.export import rows_of_patients  # pandas and SQL: worker side
    from renalpath.registry.db import make_engine

    engine = _ENGINES.get(url)
    if engine is None:
        engine = _ENGINES[url] = make_engine(url)
    with engine.connect() as conn:
        rows = rows_of_patients(conn, ids, spreadsheet_safe=True)
    return batch_text(rows, spool)
