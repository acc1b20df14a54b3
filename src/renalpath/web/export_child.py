"""The part of a registry download that runs in the export process (`offload`, kind "export").

Writing every CSV file of a large registry (and de-identifying it) is seconds of pure Python:
in a worker thread it held the interpreter lock and every other request waited.  Here it
runs in a child process at a lower priority, with its own engine from the database URL; the
zip lands in the folder the parent made, and the parent streams it.  Expected refusals come
back as values (their exceptions need not pickle), anything else as the text of its trace.
"""

from __future__ import annotations

import os
import shutil
import traceback
import zipfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from renalpath.registry.db import SchemaError, make_engine
from renalpath.registry.deidentify import DeidentifyError, export_deidentified, record_export
from renalpath.registry.dictionary import FILES
from renalpath.registry.exporter import export_folder


@dataclass
class ExportRequest:
    """What the child needs for one download (all of it pickles)."""

    db_url: str
    folder: str  # the parent's private temporary folder: the zip is written there
    actor: str
    key: bytes | None = None  # the pseudonymisation key: a de-identified export


@dataclass
class ExportOutcome:
    pid: int
    archive: str | None = None
    schema_error: str | None = None
    deidentify_error: str | None = None
    failure: str | None = None  # the trace of an unexpected error, for the server log


def zip_folder(folder: Path, archive: Path) -> None:
    """The CSV files at the zip's root, in import order (what `/import` expects)."""
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for spec in FILES.values():
            path = folder / spec.filename
            if path.exists():
                zf.write(path, arcname=spec.filename)


def build(engine: Engine, req: ExportRequest) -> ExportOutcome:
    """Export (de-identified when a key is given), zip, audit; refusals as values."""
    try:
        folder = Path(req.folder) / "registry"
        if req.key is not None:
            rows = dict(export_deidentified(engine, folder, req.key).rows)
        else:
            rows = export_folder(engine, folder)
        archive = Path(req.folder) / "registry.zip"
        zip_folder(folder, archive)
        shutil.rmtree(folder)
        record_export(engine, req.actor, deidentified=req.key is not None, rows=rows)
        return ExportOutcome(os.getpid(), archive=str(archive))
    except SchemaError as err:
        return ExportOutcome(os.getpid(), schema_error=str(err))
    except DeidentifyError as err:
        return ExportOutcome(os.getpid(), deidentify_error=str(err))
    except Exception:
        return ExportOutcome(os.getpid(), failure=traceback.format_exc())


def run_export(req: ExportRequest) -> ExportOutcome:
    """In the export process: the download from the database of the URL."""
    engine = make_engine(req.db_url)
    try:
        return build(engine, req)
    finally:
        engine.dispose()
