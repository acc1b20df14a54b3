"""FHIR Bulk Data `$export` jobs (HL7 FHIR Bulk Data Access IG v2.0.0), for the routes of
`api/fhir.py`.

A job is a folder on disk, `<root>/<job id>/`, so every worker process of the server sees it
(a status poll may reach another worker than the kick-off did):

* `job.json`: the job's state (`status` running | done | failed, `progress`, `error`, who
  started it, the kick-off URL, the transaction time, the resource types asked for and, once
  done, the resources per type), always replaced atomically (written aside, then renamed);
* `<Type>.ndjson`: the files, written by `write_ndjson` exactly as
  `renalpath export --format fhir` writes them.

The export runs in the export process pool (`offload`, kind "export": a niced child with its
own engine from the database URL, as `export_child`), started from a daemon thread of the
server so the kick-off answers at once; a database only this process can see (SQLite in
memory) or a process that may not start children runs it in that thread.  The child writes
the progress every second and stops at its next progress write once the job was deleted.
Deleting renames the folder away first (one atomic step) and then removes it; the child's
writes to the old path then fail, which is how it learns that it was cancelled.  A running job
whose process is gone (a server restart) is marked failed when polled.  Jobs older than
`KEEP_S` are removed at the next kick-off.  Ids are `secrets.token_urlsafe(24)`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from renalpath.interop.fhir.codes import EXPORTED_PROFILES
from renalpath.interop.fhir.export import patients_from_db, write_ndjson
from renalpath.interop.fhir.mapping import Resource, patient_resources
from renalpath.registry.db import SchemaError, make_engine, require_schema
from renalpath.registry.deidentify import record_export
from renalpath.registry.models import TABLES

log = logging.getLogger(__name__)

# The resource types the export writes, the values `_type` accepts.
TYPES = tuple(EXPORTED_PROFILES)
JOB_FILE = "job.json"
KEEP_S = 24 * 3600  # a finished (or abandoned) job's files are removed after a day
PROGRESS_S = 1.0  # how often the child writes its progress (and notices a deletion)
ROOT_NAME = "renalpath-fhir-bulk"
_ID = re.compile(r"[A-Za-z0-9_-]{20,64}")
_FILE = re.compile(r"([A-Za-z]{1,40})\.ndjson")


class Cancelled(Exception):
    """The job was deleted while it ran."""


@dataclass
class BulkRequest:
    """What the child needs for one job (all of it pickles)."""

    db_url: str
    folder: str  # the job's folder: its state and files
    actor: str
    types: tuple[str, ...]  # empty: every type


# ------------------------------------------------------------------------ the job's state


def root_of(configured: str | None) -> Path:
    """The folder of every job (private to the server's user)."""
    root = Path(configured) if configured else Path(tempfile.gettempdir()) / ROOT_NAME
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return root


def job_folder(root: Path, job_id: str) -> Path | None:
    """The folder of job `job_id`, or None (no such job, or not a job id at all)."""
    if not _ID.fullmatch(job_id):
        return None
    folder = root / job_id
    return folder if (folder / JOB_FILE).is_file() else None


def file_type(name: str) -> str | None:
    """`Patient.ndjson` → "Patient"; None for any other name (no paths, no other files)."""
    match = _FILE.fullmatch(name)
    return match.group(1) if match and match.group(1) in TYPES else None


def read_state(folder: Path) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads((folder / JOB_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return state


def write_state(folder: Path, state: dict[str, Any]) -> None:
    """Replace `job.json` atomically (a reader sees the old state or the new, never half)."""
    tmp = folder / f".{JOB_FILE}.{os.getpid()}.{threading.get_ident()}.tmp"
    tmp.write_text(json.dumps(state, sort_keys=True), "utf-8")
    os.replace(tmp, folder / JOB_FILE)


def update(folder: Path, **changes: Any) -> None:
    """Merge `changes` into the state; `Cancelled` when the job is gone (deleted)."""
    state = read_state(folder)
    if state is None:
        raise Cancelled
    state.update(changes)
    try:
        write_state(folder, state)
    except FileNotFoundError as err:  # the folder was renamed away meanwhile
        raise Cancelled from err


def create(root: Path, actor: str, request_url: str, types: tuple[str, ...]) -> str:
    """A new job folder with its first state; returns the job id."""
    sweep(root)
    job_id = secrets.token_urlsafe(24)
    folder = root / job_id
    folder.mkdir(mode=0o700)
    write_state(
        folder,
        {
            "status": "running",
            "progress": "queued",
            "error": None,
            "actor": actor,
            "request": request_url,
            "transactionTime": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "types": list(types),
            "created": time.time(),
            "server_pid": os.getpid(),  # the process whose thread starts the export
            "output": None,
        },
    )
    return job_id


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but another user's (a reused pid): not ours to judge
        return True
    return True


def check_running(folder: Path, state: dict[str, Any]) -> dict[str, Any]:
    """A running job whose process is gone (the server stopped or restarted, the child was
    killed) is marked failed, so a client stops polling.  The process is the exporting one
    once it started (`pid`), the server process that started it before (`server_pid`); the
    job folder is of one host, as its processes are."""
    pid = state.get("pid") or state.get("server_pid")
    if state.get("status") != "running" or not isinstance(pid, int) or _alive(pid):
        return state
    message = "the export stopped before it finished (its process ended); start it again"
    with contextlib.suppress(Cancelled):
        update(folder, status="failed", progress="failed", error=message)
    return {**state, "status": "failed", "progress": "failed", "error": message}


def delete(root: Path, job_id: str) -> bool:
    """Remove a job (its child, if running, stops at its next progress write)."""
    folder = job_folder(root, job_id)
    if folder is None:
        return False
    trash = root / f".deleted-{job_id}-{secrets.token_hex(4)}"
    try:
        os.replace(folder, trash)
    except FileNotFoundError:  # deleted by another request at the same moment
        return False
    shutil.rmtree(trash, ignore_errors=True)
    return True


def sweep(root: Path, now: float | None = None) -> None:
    """Remove jobs older than `KEEP_S` (and leftovers of deletions)."""
    now = time.time() if now is None else now
    for folder in root.iterdir():
        if not folder.is_dir():
            continue
        if folder.name.startswith(".deleted-"):
            shutil.rmtree(folder, ignore_errors=True)
            continue
        state = read_state(folder)
        created = state.get("created", 0) if state else folder.stat().st_mtime
        if now - float(created) > KEEP_S:
            shutil.rmtree(folder, ignore_errors=True)


# ------------------------------------------------------------------- the export (child side)


def _patients(engine: Engine, folder: Path, types: tuple[str, ...]) -> Iterator[list[Resource]]:
    """Every patient's resources (of `types`), as the CLI export maps them; progress aside."""
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(TABLES["patients"])).scalar_one()
    wanted = set(types)
    update(folder, progress=f"0 of {total} patients")
    last = time.monotonic()
    for done, rows in enumerate(patients_from_db(engine), start=1):
        resources = patient_resources(rows)
        yield [r for r in resources if r["resourceType"] in wanted] if wanted else resources
        if time.monotonic() - last >= PROGRESS_S:
            update(folder, progress=f"{done} of {total} patients")
            last = time.monotonic()


def build(engine: Engine, req: BulkRequest) -> str | None:
    """Run the job into its folder and audit it; None, or the trace of an unexpected error
    (for the server log).  The state says how it ended (done, failed; nothing if deleted)."""
    folder = Path(req.folder)
    trace = None
    try:
        update(folder, progress="starting", pid=os.getpid())  # the process that exports
        require_schema(engine)
        counts = write_ndjson(_patients(engine, folder, req.types), folder)
        (folder / "manifest.json").unlink(missing_ok=True)  # the status route makes the manifest
        if read_state(folder) is None:
            raise Cancelled
        record_export(
            engine, req.actor, deidentified=False, rows=counts, reason="FHIR Bulk Data $export"
        )
        update(folder, status="done", progress="done", output=counts)
    except Cancelled:
        pass
    except SchemaError as err:
        _fail(folder, str(err))
    except Exception:
        trace = traceback.format_exc()
        _fail(folder, "the export failed; the server log has the details")
    if read_state(folder) is None:  # deleted meanwhile: leave nothing behind
        shutil.rmtree(folder, ignore_errors=True)
    return trace


def _fail(folder: Path, message: str) -> None:
    with contextlib.suppress(Cancelled):
        update(folder, status="failed", progress="failed", error=message)


def run_bulk(req: BulkRequest) -> str | None:
    """In the export process: the job, from the database of the URL."""
    engine = make_engine(req.db_url)
    try:
        return build(engine, req)
    finally:
        engine.dispose()


# -------------------------------------------------------------------- starting (server side)


def start(engine: Engine, req: BulkRequest, in_child: bool) -> threading.Thread:
    """Run the job from a daemon thread: in the export process, or in that thread."""
    from renalpath.web import offload

    def target() -> None:
        try:
            trace = offload.call("export", run_bulk, req) if in_child else build(engine, req)
        except Exception:  # the child died (OffloadError) or could not start
            trace = traceback.format_exc()
            _fail(Path(req.folder), "the export failed; the server log has the details")
        if trace is not None:
            log.error("FHIR bulk export failed:\n%s", trace)

    thread = threading.Thread(target=target, name="fhir-bulk-export", daemon=True)
    thread.start()
    return thread
