"""Read-only FHIR R4 / mCODE endpoints under /api/v1/fhir (see docs/fhir.md).

* `GET /api/v1/fhir/metadata`: the CapabilityStatement (what is supported);
* `GET /api/v1/fhir/Patient/{id}/$everything`: every resource of one patient, a searchset Bundle;
* `GET /api/v1/fhir/{type}?patient={id}`: that patient's resources of one type.

`{id}` is the FHIR Patient id the export writes (`p-` + the registry id; a registry id that is
not a valid FHIR id is exported hashed and cannot be looked up here). Same roles as the patient
record (clinical users) and the same audit: every read of a patient is an audited "read".
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from renalpath.interop.fhir import codes as c
from renalpath.interop.fhir.export import patient_rows
from renalpath.interop.fhir.mapping import patient_resources, resource_id
from renalpath.registry import audit
from renalpath.web.auth import Principal
from renalpath.web.deps import actor_of, any_user, clinical_user, engine_of

FHIR_JSON = "application/fhir+json"
TYPES = ("Patient", "Condition", "BodyStructure", "Observation", "Procedure")
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
    profiles = {
        "Patient": [c.PROFILE["patient"]],
        "Condition": [c.PROFILE["primary"]],
        "BodyStructure": [c.PROFILE["tumor"]],
        "Observation": [
            c.PROFILE[k] for k in ("t", "n", "m", "stage", "tumor_size", "disease_status")
        ],
        "Procedure": [c.PROFILE["surgery"]],
    }
    everything_op = {
        "name": "everything",
        "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
    }
    resources: list[dict[str, Any]] = []
    for kind in TYPES:
        entry: dict[str, Any] = {
            "type": kind,
            "supportedProfile": profiles[kind],
            "interaction": [{"code": "search-type"}],
            "searchParam": [{"name": "patient", "type": "reference"}],
        }
        if kind == "Patient":
            entry["operation"] = [everything_op]
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
            "rest": [{"mode": "server", "resource": resources}],
        }
    )


@router.get("/Patient/{fhir_id}/$everything")
def everything(
    request: Request, fhir_id: str, principal: Annotated[Principal, Depends(clinical_user)]
) -> JSONResponse:
    """Every resource of one patient (audited read)."""
    return _fhir(_searchset(_resources(request, fhir_id, principal)))


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
