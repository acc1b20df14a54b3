"""Registry import from an uploaded zip of a registry folder (clinicians and admins).

The zip is unpacked into a private temporary folder with every member checked first: no
absolute paths, no `..`, no links, only `.csv` and `.xlsx` files, bounded count and unpacked
size (a zip bomb is refused before anything is written).  Then the registry's own
`import_folder` runs: all-or-nothing, so a folder with one bad cell writes nothing and the page
shows the grouped validation report (file, lines, column, value, reason).

"Validate only" runs the whole import and rolls it back (the full report, nothing written).
Changes to records already in the registry are never applied silently: the page shows the
diff and applies it only when the upload is sent again with "apply changes to existing
records" ticked and a reason, which goes to the audit trail.
"""

from __future__ import annotations

import io
import stat
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile
from starlette.responses import Response

from renalpath.registry.importer import ImportResult, import_folder
from renalpath.web.api import ERRORS
from renalpath.web.auth import Principal, clinical_user
from renalpath.web.errors import ErrorBody, FieldError, body
from renalpath.web.registry_access import actor_of, engine_of
from renalpath.web.security import require_csrf
from renalpath.web.templating import render

API_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    413: {"model": ErrorBody, "description": "Upload too large"},
    503: {"model": ErrorBody, "description": "No registry database configured"},
}
router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1", tags=["registry"], responses=API_ERRORS)

MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # [P] project limit: a 100,000-patient folder zips smaller
MAX_UNPACKED_BYTES = 1024 * 1024 * 1024
MAX_MEMBERS = 64


class UploadRefused(ValueError):
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
    with zf:
        members = _safe_members(zf)
        folders = {PurePosixPath(m.filename).parent for m in members}
        if len(folders) != 1:
            raise UploadRefused(
                "file: the CSV files must all be in one folder of the zip "
                f"(found {', '.join(sorted(str(f) for f in folders))})"
            )
        for m in members:
            target = dest / PurePosixPath(m.filename).name
            with zf.open(m) as src, target.open("wb") as out:
                written = 0
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    if written > m.file_size:  # a lying header: stop, do not trust it
                        raise UploadRefused(f"file: {m.filename!r} is larger than declared")
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


async def _read_upload(request: Request) -> Upload:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES + 1024 * 1024:
        raise UploadRefused(
            f"file: upload of {declared} bytes is too large (allowed: at most "
            f"{MAX_UPLOAD_BYTES // (1024 * 1024)} MB)",
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
    data = await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadRefused(
            f"file: too large (allowed: at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB)", 413
        )
    reason = reason or f"web import of {upload.filename or 'upload.zip'}"
    return Upload(data, reason, dry_run, update)


def run_import(request: Request, upload: Upload, actor: str) -> ImportResult:
    with tempfile.TemporaryDirectory(prefix="renalpath-upload-") as tmp:
        folder = unpack(upload.data, Path(tmp))
        return import_folder(
            engine_of(request), folder, actor=actor, reason=upload.reason,
            dry_run=upload.dry_run, update=upload.update,
        )  # fmt: skip


def _status(result: ImportResult) -> int:
    if not result.report.ok:
        return 422
    if result.updates_refused and not result.dry_run:
        return 409
    return 200


@router.get("/import")
def import_page(request: Request, _: Annotated[Principal, Depends(clinical_user)]) -> Response:
    return render(request, "import.html", {"result": None, "error": None})


@router.post("/import", dependencies=[Depends(require_csrf)])
async def import_upload(
    request: Request, principal: Annotated[Principal, Depends(clinical_user)]
) -> Response:
    try:
        upload = await _read_upload(request)
        result = run_import(request, upload, actor_of(principal.name))
    except UploadRefused as err:
        ctx: dict[str, Any] = {"result": None, "error": str(err)}
        return render(request, "import.html", ctx, status_code=err.status)
    ctx = {"result": result, "error": None, "groups": result.report.groups()}
    return render(request, "import.html", ctx, status_code=_status(result))


@api_router.post(
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
        upload = await _read_upload(request)
        result = run_import(request, upload, actor_of(principal.name))
    except UploadRefused as err:
        field_name = "reason" if str(err).startswith("reason:") else "file"
        return JSONResponse(body([FieldError(field=field_name, message=str(err))]), err.status)
    return JSONResponse(result.to_dict(), status_code=_status(result))
