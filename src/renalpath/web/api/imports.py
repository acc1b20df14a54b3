"""Registry import from an uploaded zip of a registry folder (clinicians and admins): the
checks, the import job, and `POST /api/v1/import` (the import page, `pages/imports.py`, runs
the same job).

The upload streams to a private temporary file (`upload_spool`: counted against
`max_upload_bytes` as it arrives, parsed and written in a worker thread, never held whole in
memory).  The zip is unpacked next to it with every member checked first (`upload_zip`): no
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
stage.  Only the path of the spooled zip goes to the import process, which unpacks, checks
and imports it at a lower CPU priority (`offload`, `import_child`), one import at a time per
server process: in a thread the import held the interpreter lock and every other request
waited.  The spooled folder is removed when the job ends.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.responses import Response

from renalpath.registry.audit import RevertConflict
from renalpath.registry.importer import ImportResult, import_folder
from renalpath.web import import_child, import_jobs, offload, upload_spool
from renalpath.web.auth import Principal
from renalpath.web.deps import actor_of, clinical_user, engine_of, require_csrf, settings_of
from renalpath.web.errors import ERRORS, NO_REGISTRY, FieldError, body, documented
from renalpath.web.import_child import ImportOutcome, ImportRequest
from renalpath.web.import_jobs import ImportJob
from renalpath.web.upload_spool import SpooledForm
from renalpath.web.upload_zip import UploadRefused as UploadRefused  # re-exported
from renalpath.web.upload_zip import ZipLimits
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


@dataclass(frozen=True)
class Upload:
    zip_path: Path  # the zip as spooled to disk, in a folder of its own
    form: SpooledForm  # owns that folder
    reason: str
    dry_run: bool
    update: bool


def zip_limits() -> ZipLimits:
    """The limits of the moment (read at each upload: tests lower them)."""
    return ZipLimits(MAX_UNPACKED_BYTES, MAX_ROWS, MAX_MEMBERS)


def _flag(value: object) -> bool:
    return str(value or "").strip().lower() in ("1", "true", "on", "yes")


async def read_upload(request: Request) -> Upload:
    """The zip, the reason and the two choices; the zip at most `max_upload_bytes`.

    The whole request is already bounded (the body-limit middleware, with room for the form
    around the file); this bounds the file itself, counted as it streams to disk
    (`upload_spool`): the event loop never holds or parses the zip.
    """
    limit: int = settings_of(request).max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + MULTIPART_SLACK:
        raise UploadRefused(
            f"file: upload of {declared} bytes is too large (allowed: at most {_mb(limit)})",
            413,
        )
    if not upload_spool.is_multipart(request):  # no file can be in it: small fields at most
        fields = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        _choices(fields)
        raise UploadRefused("file: a zip file is required")
    try:
        form = await upload_spool.form_of(request, limit)
    except upload_spool.FileTooLarge as err:
        raise UploadRefused(f"file: too large (allowed: at most {_mb(limit)})", 413) from err
    except upload_spool.FormRefused as err:
        raise UploadRefused(f"file: {err}", err.status) from err
    reason, dry_run, update = _choices(form.fields)
    spooled = form.files.get("file")
    if spooled is None:
        raise UploadRefused("file: a zip file is required")
    reason = reason or f"web import of {spooled.filename or 'upload.zip'}"
    return Upload(spooled.path, form, reason, dry_run, update)


def _choices(fields: dict[str, str]) -> tuple[str, bool, bool]:
    """(reason, dry run, update) from the form; a change to existing records needs a reason."""
    reason = str(fields.get("reason") or "").strip()
    dry_run = fields.get("action") == "validate" or _flag(fields.get("dry_run"))
    update = _flag(fields.get("update"))
    if update and not reason and not dry_run:
        raise UploadRefused("reason: say why existing records change (goes to the audit trail)")
    return reason, dry_run, update


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
    """Start the import job: unpack, check and import in the import process.

    The job takes the spooled upload over and removes it when it ends, with its result or
    its refusal; the import process reports its stages.  A registry in this process's memory
    only (tests), or a server process that may not start children (a daemonic one), imports
    in a worker thread.
    """
    url = settings_of(request).database_url
    engine = engine_of(request)  # 503 here when no registry is configured
    form = upload.form.take()
    job = import_jobs.create(request.app, principal.user_id)
    actor = actor_of(principal.name)

    stage_lock = threading.Lock()  # a late stage from the child must not follow "done"

    def on_stage(stage: str, pid: int) -> None:  # in the thread reading the child's stages
        with stage_lock:
            if job.stage != "done":
                job.stage, job.pid = stage, pid

    async def run() -> None:
        try:
            job.stage = "waiting for the import process"
            req = ImportRequest(
                db_url=url or "",
                folder="",
                actor=actor,
                reason=upload.reason,
                dry_run=upload.dry_run,
                update=upload.update,
                max_issues=REPORT_MAX_ISSUES,
                token=job.id,
                zip_path=str(upload.zip_path),
                limits=zip_limits(),
            )
            if url is None or offload.in_memory(url) or not offload.available():
                here = partial(_import_here, engine)
                outcome = await in_import_pool(partial(import_child.unpack_then, here, req))
            else:
                outcome = await offload.run(
                    "import",
                    import_child.unpack_then,
                    import_child.run_import,  # looked up now: tests put stand-ins there
                    req,
                    token=job.id,
                    listener=on_stage,
                )
            _finish(job, outcome)
        except offload.OffloadError as err:  # the import process died (its commit is all or none)
            job.refusal, job.status = f"{err}; the server log has the details", err.http_status
        except Exception:  # a bug: logged with its trace, the job says so
            log.exception("import job %s failed", job.id)
            job.refusal, job.status = "internal error; the server log has the details", 500
        finally:
            await asyncio.to_thread(form.cleanup)
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
