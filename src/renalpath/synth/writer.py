"""Stream synthetic patients into a registry folder, row by row.

Headers come from the data dictionary (`registry.dictionary`), so the synthetic files cannot
drift from the import contract.  Each file is written to a `.part` file and renamed only when
every patient has been written: an interrupted run never leaves a folder that looks complete.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from renalpath.errors import Refusal
from renalpath.registry.dictionary import FILES, header
from renalpath.synth.generator import iter_patients

PART_SUFFIX = ".part"


class SynthOutputError(Refusal, ValueError):
    """The output folder cannot be written as asked (names the path and the reason)."""


@dataclass
class WriteSummary:
    """What was written: the folder and the number of data rows per file."""

    out: Path
    patients: int
    seed: int
    rows: dict[str, int] = field(default_factory=dict)


class _Writer:
    """Rows as dicts → CSV lines in dictionary header order.

    Like `csv.DictWriter(extrasaction="raise")` but with the unknown-column check done as one
    C-level set comparison per row, which matters at a million patients.
    """

    __slots__ = ("_columns", "_known", "_name", "_writer")

    def __init__(self, name: str, writer: Any) -> None:
        self._name = name
        self._columns = header(name)
        self._known = frozenset(self._columns)
        self._writer = writer
        writer.writerow(self._columns)

    def write(self, rows: list[dict[str, str]]) -> None:
        columns, known = self._columns, self._known
        for row in rows:
            if not row.keys() <= known:  # a generated column missing from the dictionary
                unknown = sorted(set(row) - known)
                raise KeyError(f"{self._name}.csv has no column(s) {unknown}")
        self._writer.writerows([[row.get(c, "") for c in columns] for row in rows])


def existing_registry_files(out: Path) -> list[Path]:
    return [out / spec.filename for spec in FILES.values() if (out / spec.filename).exists()]


def write_registry(
    out: Path,
    patients: int,
    seed: int,
    *,
    overwrite: bool = False,
    on_patient: Callable[[int], None] | None = None,
) -> WriteSummary:
    """Generate `patients` synthetic patients from `seed` and write them as CSV files in `out`.

    Memory use does not grow with `patients`: one patient's rows exist at a time and go straight
    to the open files.  `on_patient(k)` is called after the k-th patient (for progress bars).
    """
    if out.exists() and not out.is_dir():
        raise SynthOutputError(f"--out: {str(out)!r} exists and is not a folder")
    existing = existing_registry_files(out) if out.exists() else []
    if existing and not overwrite:
        names = ", ".join(p.name for p in existing)
        raise SynthOutputError(
            f"--out: {str(out)!r} already holds registry files ({names}); "
            "choose an empty folder or pass --force to overwrite them"
        )
    out.mkdir(parents=True, exist_ok=True)
    summary = WriteSummary(out=out, patients=patients, seed=seed)
    parts = {name: out / (spec.filename + PART_SUFFIX) for name, spec in FILES.items()}
    try:
        with ExitStack() as stack:
            writers: dict[str, _Writer] = {}
            for name, part in parts.items():
                handle = stack.enter_context(open(part, "w", encoding="utf-8", newline=""))
                writers[name] = _Writer(name, csv.writer(handle, lineterminator="\n"))
                summary.rows[name] = 0
            for k, rows in enumerate(iter_patients(patients, seed), start=1):
                for name, file_rows in rows.items():
                    if file_rows:
                        writers[name].write(file_rows)
                        summary.rows[name] += len(file_rows)
                if on_patient is not None:
                    on_patient(k)
    except BaseException:
        for part in parts.values():
            part.unlink(missing_ok=True)
        raise
    for name, spec in FILES.items():
        os.replace(parts[name], out / spec.filename)
    return summary
