"""Read-only FHIR R4 / mCODE endpoints under /api/v1/fhir (see docs/fhir.md).

* `GET /api/v1/fhir/metadata`: the CapabilityStatement (what is supported);
* `GET /api/v1/fhir/Patient/{id}/$everything`: every resource of one patient, a searchset Bundle;
* `GET /api/v1/fhir/{type}?patient={id}`: that patient's resources of one type;
* `GET /api/v1/fhir/$export` (and `/Patient/$export`): the asynchronous FHIR Bulk Data export
  of the whole registry (admins only): kick-off 202 with the status URL in
  `Content-Location`; `GET /$export-status/{job}` answers 202 (`X-Progress`) while it runs,
  then the completion manifest; `DELETE` on it cancels and removes the job;
  `GET /$export-file/{job}/{Type}.ndjson` streams a file. Jobs live on disk
  (`web/bulk_export.py`); any admin may poll, download or delete any job (the files are
  what any admin may start an export of).

`{id}` is the FHIR Patient id the export writes (`p-` + the registry id; a registry id that is
not a valid FHIR id is exported hashed and cannot be looked up here). Same roles as the patient
record (clinical users) and the same audit: every read of a patient is an audited "read".
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from renalpath.interop.fhir import codes as c
from renalpath.interop.fhir.export import patient_rows
from renalpath.interop.fhir.mapping import patient_resources, resource_id
from renalpath.registry import audit
from renalpath.web import bulk_export, offload
from renalpath.web.auth import Principal
from renalpath.web.deps import (
    actor_of,
    admin_user,
    any_user,
    clinical_user,
    engine_of,
    require_csrf,
    settings_of,
)
from renalpath.web.errors import documented

FHIR_JSON = "application/fhir+json"
NDJSON = "application/fhir+ndjson"
OUTPUT_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")
RETRY_AFTER_S = "2"
TYPES = tuple(c.EXPORTED_PROFILES)  # searchable: every type the export writes
router = APIRouter(prefix="/api/v1/fhir", tags=["fhir"])


def _fhir(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON)


def _outcome(status: int, text: str) -> HTTPException:
    return HTTPException(status, text)


def _registry_id(fhir_id: str) -> str:
    if not fhir_id.startswith("p-") or resource_id("p", fhir_id[2:]) != fhir_id:
        raise _outcome(404, f"no patient with FHIR id {fhir_id!r}")
    return fhir_id[2:]


def _resources(request: Request, fhir_id: str, principal: Principal) -> list[dict[str, Any]]:
    pid = _registry_id(fhir_id)
    engine = engine_of(request)
    rows = patient_rows(engine, pid)
    if rows is None:
        raise _outcome(404, f"no patient with FHIR id {fhir_id!r}")
    with engine.begin() as conn:
        audit.append(
            conn,
            [audit.Change("read", "patients", pid, None, None, None)],
            actor_of(principal.name),
            "patient record read as FHIR",
        )
    return patient_resources(rows)


def _searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "total": len(resources),
        "entry": [
            {
                "fullUrl": f"{c.NS}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }


@router.get("/metadata")
def metadata(_: Annotated[Principal, Depends(any_user)]) -> JSONResponse:
    """CapabilityStatement: read-only, the resource types and mCODE profiles exported."""
    everything_op = {
        "name": "everything",
        "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
    }
    export_op = {
        "name": "export",
        "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
    }
    patient_export_op = {
        "name": "export",
        "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export",
    }
    resources: list[dict[str, Any]] = []
    for kind in TYPES:
        entry: dict[str, Any] = {
            "type": kind,
            "supportedProfile": list(c.EXPORTED_PROFILES[kind]),
            "interaction": [{"code": "search-type"}],
            "searchParam": [{"name": "patient", "type": "reference"}],
        }
        if kind == "Patient":
            entry["operation"] = [everything_op, patient_export_op]
        resources.append(entry)
    return _fhir(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": dt.date.today().isoformat(),
            "kind": "instance",
            "software": {"name": "renalpath"},
            "fhirVersion": "4.0.1",
            "format": ["json"],
            "instantiates": [
                "http://hl7.org/fhir/us/mcode/CapabilityStatement/mcode-sender-patient-bundle"
            ],
            "rest": [{"mode": "server", "resource": resources, "operation": [export_op]}],
        }
    )


@router.get("/Patient/{fhir_id}/$everything")
def everything(
    request: Request, fhir_id: str, principal: Annotated[Principal, Depends(clinical_user)]
) -> JSONResponse:
    """Every resource of one patient (audited read)."""
    return _fhir(_searchset(_resources(request, fhir_id, principal)))


# ------------------------------------------------------------------ Bulk Data $export

KICKOFF = documented(
    {400: "No `Prefer: respond-async`, or a parameter refused (format, type, `_since`)"}
)
KICKOFF[202] = {
    "description": "Export started; `Content-Location` is the URL to poll",
    "headers": {"Content-Location": {"schema": {"type": "string", "format": "uri"}}},
}
STATUS = documented(
    {404: "No such job (never started, deleted, or expired)", 500: "The export failed"}
)
STATUS[200] = {
    "description": "Done: the completion manifest (`output`: type, url, count per file)",
    "content": {"application/json": {"schema": {"type": "object"}}},
}
STATUS[202] = {
    "description": "Still running; `X-Progress` says how far, `Retry-After` when to ask again",
    "headers": {
        "X-Progress": {"schema": {"type": "string"}},
        "Retry-After": {"schema": {"type": "integer"}},
    },
}
FILE = documented({404: "No such job or file (or the job is not done)"})
FILE[200] = {
    "description": "The NDJSON file: one resource per line",
    "content": {NDJSON: {"schema": {"type": "string"}}},
}


def _root(request: Request) -> Path:
    return bulk_export.root_of(settings_of(request).bulk_export_dir)


def _kickoff(
    request: Request,
    principal: Principal,
    prefer: str | None,
    output_format: str | None,
    types: str | None,
    since: str | None,
    type_filter: str | None,
) -> Response:
    """Check the kick-off request, create the job, start it; 202 with the status URL."""
    preferences = [p.split(";")[0].strip().lower() for p in (prefer or "").split(",")]
    if "respond-async" not in preferences:
        raise _outcome(400, "the bulk export is asynchronous only: send Prefer: respond-async")
    if output_format is not None and output_format not in OUTPUT_FORMATS:
        raise _outcome(
            400, f"_outputFormat {output_format!r} not supported (use application/fhir+ndjson)"
        )
    if since is not None:
        raise _outcome(400, "_since is not supported: every export is of the whole registry")
    if type_filter is not None:
        raise _outcome(400, "_typeFilter is not supported")
    wanted: tuple[str, ...] = ()
    if types is not None:
        wanted = tuple(dict.fromkeys(t.strip() for t in types.split(",") if t.strip()))
        unknown = [t for t in wanted if t not in bulk_export.TYPES]
        if unknown or not wanted:
            raise _outcome(
                400,
                f"_type: {', '.join(unknown) or 'empty'} not exported "
                f"(exported: {', '.join(bulk_export.TYPES)})",
            )
    engine = engine_of(request)
    url = settings_of(request).database_url or ""
    root = _root(request)
    job_id = bulk_export.create(root, actor_of(principal.name), str(request.url), wanted)
    req = bulk_export.BulkRequest(url, str(root / job_id), actor_of(principal.name), wanted)
    in_child = bool(url) and not offload.in_memory(url) and offload.available()
    bulk_export.start(engine, req, in_child)
    status_url = str(request.url_for("fhir_bulk_status", job_id=job_id))
    return Response(status_code=202, headers={"Content-Location": status_url})


PreferHeader = Annotated[
    str | None, Header(alias="Prefer", description="must include respond-async")
]
OutputFormat = Annotated[
    str | None,
    Query(alias="_outputFormat", description="application/fhir+ndjson (the default)"),
]
TypeParam = Annotated[
    str | None, Query(alias="_type", description="comma-separated resource types (default all)")
]
SinceParam = Annotated[str | None, Query(alias="_since", description="not supported (400)")]
TypeFilterParam = Annotated[
    str | None, Query(alias="_typeFilter", description="not supported (400)")
]


@router.get("/$export", status_code=202, response_class=Response, responses=KICKOFF)
def bulk_export_system(
    request: Request,
    principal: Annotated[Principal, Depends(admin_user)],
    prefer: PreferHeader = None,
    output_format: OutputFormat = None,
    types: TypeParam = None,
    since: SinceParam = None,
    type_filter: TypeFilterParam = None,
) -> Response:
    """FHIR Bulk Data system-level export kick-off (admins): every patient's resources as
    NDJSON, one file per type, built in the background; poll `Content-Location`. Audited as
    a full registry export."""
    return _kickoff(request, principal, prefer, output_format, types, since, type_filter)


@router.get("/Patient/$export", status_code=202, response_class=Response, responses=KICKOFF)
def bulk_export_patients(
    request: Request,
    principal: Annotated[Principal, Depends(admin_user)],
    prefer: PreferHeader = None,
    output_format: OutputFormat = None,
    types: TypeParam = None,
    since: SinceParam = None,
    type_filter: TypeFilterParam = None,
) -> Response:
    """Patient-level kick-off: the same export (every resource belongs to a patient)."""
    return _kickoff(request, principal, prefer, output_format, types, since, type_filter)


def _job(request: Request, job_id: str) -> tuple[Path, dict[str, Any]]:
    folder = bulk_export.job_folder(_root(request), job_id)
    state = bulk_export.read_state(folder) if folder is not None else None
    if folder is None or state is None:
        raise _outcome(404, "no such export job (deleted, expired, or never started)")
    return folder, bulk_export.check_running(folder, state)


@router.get(
    "/$export-status/{job_id}",
    name="fhir_bulk_status",
    response_class=Response,
    responses=STATUS,
)
def bulk_status(
    request: Request, job_id: str, _: Annotated[Principal, Depends(admin_user)]
) -> Response:
    """The job's state: 202 while it runs, the completion manifest once done, 500 if failed."""
    state = _job(request, job_id)[1]
    if state["status"] == "running":
        headers = {"X-Progress": str(state["progress"]), "Retry-After": RETRY_AFTER_S}
        return Response(status_code=202, headers=headers)
    if state["status"] != "done":
        raise _outcome(500, str(state.get("error") or "the export failed"))
    output = [
        {
            "type": kind,
            "url": str(request.url_for("fhir_bulk_file", job_id=job_id, name=f"{kind}.ndjson")),
            "count": count,
        }
        for kind, count in sorted(state["output"].items())
    ]
    manifest = {
        "transactionTime": state["transactionTime"],
        "request": state["request"],
        "requiresAccessToken": True,
        "output": output,
        "error": [],
    }
    return JSONResponse(manifest, headers={"Cache-Control": "no-store"})


@router.delete(
    "/$export-status/{job_id}",
    status_code=202,
    response_class=Response,
    responses=documented({404: "No such job"}),
    dependencies=[Depends(require_csrf)],
)
def bulk_delete(
    request: Request, job_id: str, _: Annotated[Principal, Depends(admin_user)]
) -> Response:
    """Cancel a running job or remove a finished one's files (202)."""
    if not bulk_export.delete(_root(request), job_id):
        raise _outcome(404, "no such export job (deleted, expired, or never started)")
    return Response(status_code=202)


@router.get(
    "/$export-file/{job_id}/{name}",
    name="fhir_bulk_file",
    response_class=Response,
    responses=FILE,
)
def bulk_file(
    request: Request, job_id: str, name: str, _: Annotated[Principal, Depends(admin_user)]
) -> Response:
    """One file of a finished job (`Patient.ndjson`, ...), streamed."""
    folder, state = _job(request, job_id)
    kind = bulk_export.file_type(name)
    if state["status"] != "done" or kind is None or kind not in (state["output"] or {}):
        raise _outcome(404, f"no file {name!r} in this export")
    return FileResponse(folder / name, media_type=NDJSON, headers={"Cache-Control": "no-store"})


@router.get("/{kind}")
def search(
    request: Request,
    kind: str,
    principal: Annotated[Principal, Depends(clinical_user)],
    patient: Annotated[str, Query(description="Patient/<id> or <id> (FHIR Patient id)")],
) -> JSONResponse:
    """One patient's resources of one type (audited read)."""
    if kind not in TYPES:
        raise _outcome(404, f"resource type {kind!r} not supported (supported: {', '.join(TYPES)})")
    fhir_id = patient.removeprefix("Patient/")
    found = [r for r in _resources(request, fhir_id, principal) if r["resourceType"] == kind]
    return _fhir(_searchset(found))
