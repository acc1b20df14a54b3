"""Registry import from an uploaded zip of a registry folder (clinicians and admins): the
checks, the import job, and `POST /api/v1/import` (the import page, `pages/imports.py`, runs
the same job).

The zip is unpacked into a private temporary folder with every member checked first: no
absolute paths, no `..`, no links, only `.csv` and `.xlsx` files, bounded count.  Size and
rows are measured on the bytes actually unpacked, not on the sizes the zip declares (which an
attacker writes): past `MAX_UNPACKED_BYTES` or `MAX_ROWS` the upload is refused before the
import reads it.  Then the registry's own `import_folder` runs: all-or-nothing, so a folder
with one bad cell writes nothing and the page shows the grouped validation report (file,
lines, column, value, reason), capped with counts by file and reason, so a folder of a million
bad rows gives a short answer.

"Validate only" runs the whole import and rolls it back (the full report, nothing written).
Changes to records already in the registry are never applied silently: the page shows the
diff and applies it only when the upload is sent again with "apply changes to existing
records" ticked and a reason, which goes to the audit trail.

Imports run as jobs (`import_jobs`): the API waits for its job, the page shows a running job's
stage.  The upload is unpacked and checked in a worker thread, then imported in a separate
process at a lower CPU priority (`offload`, `import_child`), one import at a time per server
process: in a thread the import held the interpreter lock and every other request waited.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import stat
import tempfile
import threading
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.datastructures import UploadFile
from starlette.responses import Response

from renalpath.errors import Refusal
from renalpath.registry.audit import RevertConflict
from renalpath.registry.importer import ImportResult, import_folder
from renalpath.web import import_child, import_jobs, offload
from renalpath.web.auth import Principal
from renalpath.web.deps import actor_of, clinical_user, engine_of, require_csrf, settings_of
from renalpath.web.errors import ERRORS, NO_REGISTRY, FieldError, body, documented
from renalpath.web.import_child import ImportOutcome, ImportRequest
from renalpath.web.import_jobs import ImportJob
from renalpath.web.workers import in_import_pool

API_ERRORS = {**ERRORS, **documented({413: "Upload too large"}), **NO_REGISTRY}
log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["registry"], responses=API_ERRORS)

MULTIPART_SLACK = 1024 * 1024  # form fields and multipart framing around the zip
MAX_UNPACKED_BYTES = 1024 * 1024 * 1024
MAX_ROWS = 5_000_000  # lines over all files; a 100,000-patient registry has well under this
MAX_MEMBERS = 64
REPORT_MAX_ISSUES = 200


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.3g} MB" if n >= 1024 * 1024 else f"{n} bytes"


class UploadRefused(Refusal, ValueError):
    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def _safe_members(zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    members = [m for m in zf.infolist() if not m.is_dir()]
    if not members:
        raise UploadRefused("file: the zip is empty (expected the CSV files of a registry folder)")
    if len(members) > MAX_MEMBERS:
        raise UploadRefused(
            f"file: {len(members)} files in the zip (allowed: at most {MAX_MEMBERS})"
        )
    total = 0
    for m in members:
        name = m.filename
        path = PurePosixPath(name.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or ":" in path.parts[0]:
            raise UploadRefused(f"file: unsafe path {name!r} in the zip (zip-slip refused)")
        mode = m.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise UploadRefused(f"file: {name!r} is a symbolic link (refused)")
        if path.suffix.lower() not in (".csv", ".xlsx") and not path.name.startswith("."):
            raise UploadRefused(
                f"file: {name!r} is not a .csv or .xlsx file (allowed: registry CSV files or "
                "workbooks)"
            )
        total += m.file_size
    if total > MAX_UNPACKED_BYTES:
        raise UploadRefused(
            f"file: the zip unpacks to {total} bytes (allowed: at most {MAX_UNPACKED_BYTES})"
        )
    return [m for m in members if not PurePosixPath(m.filename).name.startswith(".")]


def unpack(data: bytes, dest: Path) -> Path:
    """Unpack checked members; return the folder holding the CSV files."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as err:
        raise UploadRefused(f"file: not a zip archive ({err})") from err
    try:
        with zf:
            return _unpack_members(zf, dest)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as err:
        # a corrupt or falsified member (bad CRC, bad local header, unknown compression)
        raise UploadRefused(f"file: the zip cannot be unpacked ({err})") from err


def _unpack_members(zf: zipfile.ZipFile, dest: Path) -> Path:
    """Unpack the checked members, measuring bytes and rows as they are written."""
    members = _safe_members(zf)
    folders = {PurePosixPath(m.filename).parent for m in members}
    if len(folders) != 1:
        raise UploadRefused(
            "file: the CSV files must all be in one folder of the zip "
            f"(found {', '.join(sorted(str(f) for f in folders))})"
        )
    total = rows = 0
    for m in members:
        target = dest / PurePosixPath(m.filename).name
        with zf.open(m) as src, target.open("wb") as out:
            written = 0
            while chunk := src.read(1 << 20):
                written += len(chunk)
                total += len(chunk)
                rows += chunk.count(b"\n")
                if written > m.file_size:  # a lying header: stop, do not trust it
                    raise UploadRefused(f"file: {m.filename!r} is larger than declared")
                if total > MAX_UNPACKED_BYTES:
                    raise UploadRefused(
                        f"file: the zip unpacks to more than {MAX_UNPACKED_BYTES} bytes "
                        f"(allowed: at most {MAX_UNPACKED_BYTES})"
                    )
                if rows > MAX_ROWS:
                    raise UploadRefused(
                        f"file: the CSV files hold more than {MAX_ROWS} rows "
                        f"(allowed: at most {MAX_ROWS})"
                    )
                out.write(chunk)
    return dest


@dataclass(frozen=True)
class Upload:
    data: bytes
    reason: str
    dry_run: bool
    update: bool


def _flag(value: object) -> bool:
    return str(value or "").strip().lower() in ("1", "true", "on", "yes")


async def read_upload(request: Request) -> Upload:
    """The zip, the reason and the two choices; the zip at most `max_upload_bytes`.

    The whole request is already bounded (the body-limit middleware, with room for the form
    around the file); this bounds the file itself.
    """
    limit: int = settings_of(request).max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + MULTIPART_SLACK:
        raise UploadRefused(
            f"file: upload of {declared} bytes is too large (allowed: at most {_mb(limit)})",
            413,
        )
    form = await request.form()
    upload = form.get("file")
    reason = str(form.get("reason") or "").strip()
    dry_run = form.get("action") == "validate" or _flag(form.get("dry_run"))
    update = _flag(form.get("update"))
    if update and not reason and not dry_run:
        raise UploadRefused("reason: say why existing records change (goes to the audit trail)")
    if not isinstance(upload, UploadFile):
        raise UploadRefused("file: a zip file is required")
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise UploadRefused(f"file: too large (allowed: at most {_mb(limit)})", 413)
    reason = reason or f"web import of {upload.filename or 'upload.zip'}"
    return Upload(data, reason, dry_run, update)


def import_status(result: ImportResult) -> int:
    if not result.report.ok:
        return 422
    if result.updates_refused and not result.dry_run:
        return 409
    return 200


def _finish(job: ImportJob, outcome: ImportOutcome) -> None:
    job.pid = outcome.pid
    if outcome.failure is not None:  # a bug in the child: logged with its trace
        log.error("import job %s failed in process %s:\n%s", job.id, outcome.pid, outcome.failure)
        job.refusal, job.status = "internal error; the server log has the details", 500
    elif outcome.refusal is not None:
        job.refusal, job.status = outcome.refusal, outcome.status
    else:
        job.report, job.groups, job.result = outcome.report, outcome.groups, outcome.result


async def start_import(request: Request, principal: Principal, upload: Upload) -> ImportJob:
    """Start the import job: unpack (worker thread), then import in the import process.

    The job ends with its result or its refusal; the import process reports its stages.
    A registry in this process's memory only (tests), or a server process that may not start
    children (a daemonic one), imports in the worker thread.
    """
    url = settings_of(request).database_url
    engine = engine_of(request)  # 503 here when no registry is configured
    job = import_jobs.create(request.app, principal.user_id)
    actor = actor_of(principal.name)

    stage_lock = threading.Lock()  # a late stage from the child must not follow "done"

    def on_stage(stage: str, pid: int) -> None:  # in the thread reading the child's stages
        with stage_lock:
            if job.stage != "done":
                job.stage, job.pid = stage, pid

    async def run() -> None:
        tmp = tempfile.TemporaryDirectory(prefix="renalpath-upload-")
        try:
            job.stage = "unpacking"
            folder = await in_import_pool(lambda: unpack(upload.data, Path(tmp.name)))
            job.stage = "waiting for the import process"
            req = ImportRequest(
                db_url=url or "",
                folder=str(folder),
                actor=actor,
                reason=upload.reason,
                dry_run=upload.dry_run,
                update=upload.update,
                max_issues=REPORT_MAX_ISSUES,
                token=job.id,
            )
            if url is None or offload.in_memory(url) or not offload.available():
                outcome = await in_import_pool(lambda: _import_here(engine, req))
            else:
                outcome = await offload.run(
                    "import", import_child.run_import, req, token=job.id, listener=on_stage
                )
            _finish(job, outcome)
        except UploadRefused as err:
            job.refusal, job.status = str(err), err.status
        except offload.OffloadError as err:  # the import process died (its commit is all or none)
            job.refusal, job.status = f"{err}; the server log has the details", err.http_status
        except Exception:  # a bug: logged with its trace, the job says so
            log.exception("import job %s failed", job.id)
            job.refusal, job.status = "internal error; the server log has the details", 500
        finally:
            await asyncio.to_thread(tmp.cleanup)
            with stage_lock:
                job.stage = "done"
            job.done.set()

    job.task = asyncio.create_task(run())
    return job


def _import_here(engine: Engine, req: ImportRequest) -> ImportOutcome:
    """The import in this process (a worker thread), for a registry only it can see."""
    try:
        result = import_folder(
            engine,
            Path(req.folder),
            actor=req.actor,
            reason=req.reason,
            dry_run=req.dry_run,
            update=req.update,
        )
    except RevertConflict as err:
        return ImportOutcome(os.getpid(), refusal=str(err), status=409)
    return import_child.outcome_of(result, req.max_issues)


@router.get(
    "/import/jobs/{job_id}",
    responses=documented({404: "No such import job"}),
)
def import_job_api(
    request: Request, job_id: str, principal: Annotated[Principal, Depends(clinical_user)]
) -> JSONResponse:
    """State of an import job: its stage and elapsed time, then the (capped) report."""
    job = import_jobs.owned(request.app, job_id, principal)
    doc: dict[str, Any] = {"id": job.id, "stage": job.stage, "elapsed_s": job.elapsed_s()}
    if job.done.is_set():
        if job.refusal is not None:
            doc["errors"] = [{"field": "file", "message": job.refusal}]
        elif job.result is not None:
            doc["result"] = job.report
    return JSONResponse(doc)


@router.post(
    "/import",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "reason": {"type": "string"},
                            "dry_run": {"type": "boolean"},
                            "update": {"type": "boolean"},
                        },
                    }
                }
            },
        }
    },
)
async def import_api(
    request: Request,
    principal: Annotated[Principal, Depends(clinical_user)],
    _csrf: Annotated[None, Depends(require_csrf)],
) -> Response:
    """Import a zip of a registry folder (all-or-nothing); the report, counts and diff.

    `dry_run`: validate only, nothing written. Changes to existing records answer 409 with
    the diff unless `update` is true (with a `reason`)."""
    try:
        upload = await read_upload(request)
    except UploadRefused as err:
        field_name = "reason" if str(err).startswith("reason:") else "file"
        return JSONResponse(body([FieldError(field=field_name, message=str(err))]), err.status)
    job = await start_import(request, principal, upload)
    await job.done.wait()
    if job.refusal is not None:
        return JSONResponse(body([FieldError(field="file", message=job.refusal)]), job.status)
    assert job.result is not None
    return JSONResponse(job.report, status_code=import_status(job.result))
