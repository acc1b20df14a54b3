"""The import page, `/import`: upload a zip of a registry folder, follow the job, read the report.

The page starts a job: when it ends within a couple of seconds (`import_wait_s`) the page shows
the result at once, else it sends the browser to the job's page, which reloads itself until
the job ends. Unpacking, checking and importing are in `api/imports.py`, shared with the API.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from renalpath.web import import_jobs
from renalpath.web.api.imports import UploadRefused, import_status, read_upload, start_import
from renalpath.web.auth import Principal
from renalpath.web.deps import clinical_user, require_csrf, settings_of
from renalpath.web.import_jobs import ImportJob
from renalpath.web.templating import render

router = APIRouter(include_in_schema=False)


def _job_page(request: Request, job: ImportJob) -> Response:
    if not job.done.is_set():
        ctx: dict[str, Any] = {"job": job, "result": None, "error": None}
        return render(request, "import.html", ctx, status_code=202)
    if job.refusal is not None:
        ctx = {"job": None, "result": None, "error": job.refusal}
        return render(request, "import.html", ctx, status_code=job.status)
    assert job.result is not None
    ctx = {
        "job": None,
        "result": job.result,
        "error": None,
        "report": job.report,
        "groups": job.groups,
    }
    return render(request, "import.html", ctx, status_code=import_status(job.result))


@router.get("/import")
def import_page(request: Request, _: Annotated[Principal, Depends(clinical_user)]) -> Response:
    return render(request, "import.html", {"result": None, "error": None, "job": None})


@router.post("/import", dependencies=[Depends(require_csrf)])
async def import_upload(
    request: Request, principal: Annotated[Principal, Depends(clinical_user)]
) -> Response:
    try:
        upload = await read_upload(request)
    except UploadRefused as err:
        ctx: dict[str, Any] = {"result": None, "error": str(err), "job": None}
        return render(request, "import.html", ctx, status_code=err.status)
    job = await start_import(request, principal, upload)
    wait_s = settings_of(request).import_wait_s
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(job.done.wait(), timeout=wait_s)
    if not job.done.is_set():
        return RedirectResponse(f"/import/jobs/{job.id}", status_code=303)
    return _job_page(request, job)


@router.get("/import/jobs/{job_id}")
def import_job_page(
    request: Request, job_id: str, principal: Annotated[Principal, Depends(clinical_user)]
) -> Response:
    """The job's stage while it runs (the page reloads itself), then its result."""
    return _job_page(request, import_jobs.owned(request.app, job_id, principal))
