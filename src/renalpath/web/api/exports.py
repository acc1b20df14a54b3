"""Registry downloads: the full CSV folder (clinicians, admins) and the de-identified one
(researchers too), each as a zip that `/import` and `renalpath import` accept again (the
export page, `pages/exports.py`, links to them).

Researchers see only aggregate results and de-identified exports, so the full export is
`clinical_user` only. The de-identified export is `registry.deidentify` keyed by the server:
the key of RENALPATH_DEID_KEY_FILE, else one derived from the instance secret
(`WebSettings.secret_key`, RENALPATH_SECRET_KEY), so pseudonyms and date offsets stay the same
from one download to the next (comparing downloads narrows nothing); a configured key file
keeps them when the secret is rotated. Every download is written to the audit trail (who,
when, full or de-identified, rows per file), as REDCap logs its exports.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from starlette.background import BackgroundTask
from starlette.responses import FileResponse, Response

from renalpath.registry.deidentify import DeidentifyError, configured_key, derive_key
from renalpath.web import export_child, offload
from renalpath.web.auth import Principal
from renalpath.web.deps import actor_of, any_user, clinical_user, engine_of, settings_of
from renalpath.web.errors import ERRORS, NO_REGISTRY
from renalpath.web.export_child import ExportRequest

ZIP_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Zip of the registry CSV folder, re-importable",
        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
    },
}
API_ERRORS = {**ERRORS, **NO_REGISTRY}
router = APIRouter(prefix="/api/v1", tags=["registry"], responses=API_ERRORS)
log = logging.getLogger(__name__)


def build_export(request: Request, principal: Principal, deidentified: bool) -> Path:
    """Export (optionally de-identified) into a private temporary folder, zip it, audit it.

    The zip is written to disk, not memory, and streamed from there: a registry of a million
    patients makes a zip of hundreds of megabytes, which a worker should not hold. The caller
    owns the returned file's folder and removes it once the download is sent.  The work runs
    in the export process (`export_child`); this worker thread only waits for it.
    """
    engine = engine_of(request)
    url = settings_of(request).database_url
    tmp = Path(tempfile.mkdtemp(prefix="renalpath-download-"))
    try:
        key = None
        if deidentified:
            key = configured_key() or derive_key(settings_of(request).secret_key)
        req = ExportRequest(url or "", str(tmp), actor_of(principal.name), key)
        if url is None or offload.in_memory(url) or not offload.available():  # as imports
            outcome = export_child.build(engine, req)
        else:
            outcome = offload.call("export", export_child.run_export, req)
        if outcome.schema_error is not None:
            raise HTTPException(503, outcome.schema_error)
        if outcome.deidentify_error is not None:
            refused = outcome.deidentify_error
            raise HTTPException(503, f"de-identified export unavailable: {refused}")
        if outcome.failure is not None or outcome.archive is None:
            log.error("export failed in process %s:\n%s", outcome.pid, outcome.failure)
            raise RuntimeError("the export failed; the server log has the details")
        return Path(outcome.archive)
    except BaseException as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(err, DeidentifyError):  # a weak configured key
            raise HTTPException(503, f"de-identified export unavailable: {err}") from err
        raise


def _download(archive: Path, deidentified: bool) -> Response:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d")
    name = f"renalpath-registry{'-deidentified' if deidentified else ''}-{stamp}.zip"
    return FileResponse(
        archive,
        media_type="application/zip",
        filename=name,
        headers={"Cache-Control": "no-store"},  # patient data: keep it out of shared caches
        background=BackgroundTask(shutil.rmtree, archive.parent, ignore_errors=True),
    )


@router.get("/export", response_class=Response, responses=ZIP_CONTENT)
def export_full(
    request: Request, principal: Annotated[Principal, Depends(clinical_user)]
) -> Response:
    """The whole registry as a zip of CSV files (`renalpath export`); clinicians and admins."""
    return _download(build_export(request, principal, deidentified=False), False)


@router.get("/export/deidentified", response_class=Response, responses=ZIP_CONTENT)
def export_deid(request: Request, principal: Annotated[Principal, Depends(any_user)]) -> Response:
    """De-identified zip (`renalpath export --deidentify`): keyed pseudonyms for ids, each
    patient's dates shifted 1-364 days back (intervals kept), free text blanked; any role."""
    return _download(build_export(request, principal, deidentified=True), True)
