"""Patients in the API: the list, one patient (audited read), and lab corrections.

Clinicians and admins only: researchers get 403 (they see aggregate results only). Each read of
a patient record is audited (`patient_queries.read_patient`), each correction carries its
reason into the audit trail (`lab_edit.correct_lab`). The patient pages (`pages/patients.py`)
take the filter checks and the audited read from here.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from renalpath.web.api.records import RowIdPath  # INTEGER row ids (SQLite/PostgreSQL)
from renalpath.web.auth import Principal
from renalpath.web.deps import actor_of, clinical_user, engine_of, require_csrf
from renalpath.web.errors import ERRORS, NO_REGISTRY, FieldError, body, documented
from renalpath.web.lab_edit import LabConflict, LabEditRefused, LabNotFound, correct_lab
from renalpath.web.patient_queries import (
    PAGE_SIZE,
    SEXES,
    PatientFilter,
    list_patients,
    read_patient,
)

API_ERRORS = {**ERRORS, **documented({404: "No such record"}), **NO_REGISTRY}
router = APIRouter(prefix="/api/v1", tags=["patients"], responses=API_ERRORS)


MAX_PAGE_SIZE = 200


SALVAGE_CHOICES = {"": None, "yes": True, "no": False}


def patient_filter(
    q: str | None, sex: str | None, salvage: str | None, errors: list[FieldError]
) -> PatientFilter:
    if sex and sex not in SEXES:
        errors.append(
            FieldError(
                field="sex",
                message=f"sex: {sex!r} is not allowed",
                value=sex,
                allowed=", ".join(SEXES),
            )
        )
        sex = None
    if (salvage or "") not in SALVAGE_CHOICES:
        errors.append(
            FieldError(
                field="salvage",
                message=f"salvage: {salvage!r} is not allowed",
                value=salvage,
                allowed="yes, no",
            )
        )
        salvage = None
    q = (q or "").strip()[:100] or None
    return PatientFilter(q, sex or None, SALVAGE_CHOICES.get(salvage or ""))


class PatientList(BaseModel):
    items: list[dict[str, Any]]
    total: int
    page: int
    page_size: int


@router.get("/patients", response_model=PatientList)
def patients_api(
    request: Request,
    _: Annotated[Principal, Depends(clinical_user)],
    q: str | None = None,
    sex: str | None = None,
    salvage: str | None = None,
    page: Annotated[int, Field(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
) -> Any:
    """Patients by id prefix `q`, `sex`, `salvage` (yes|no); paged in SQL."""
    errors: list[FieldError] = []
    flt = patient_filter(q, sex, salvage, errors)
    if errors:
        return JSONResponse(body(errors), status_code=422)
    res = list_patients(engine_of(request), flt, page, page_size)
    return PatientList(items=res.items, total=res.total, page=res.page, page_size=res.page_size)


def record_or_404(request: Request, patient_id: str, principal: Principal) -> Any:
    record = read_patient(engine_of(request), patient_id, actor_of(principal.name))
    if record is None:
        raise HTTPException(404, f"no patient with id {patient_id!r}")
    return record


@router.get("/patients/{patient_id}")
def patient_api(
    request: Request, patient_id: str, principal: Annotated[Principal, Depends(clinical_user)]
) -> dict[str, Any]:
    """One patient with interventions (and pathology), events and labs; the read is audited."""
    return dict(record_or_404(request, patient_id, principal).to_dict())


class LabCorrection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: float = Field(description="Corrected value, in the unit already stored.")
    reason: str = Field(min_length=1, max_length=2000, description="Why (audit trail).")
    seen: float | None = Field(
        default=None,
        description="The value the correction is based on; if the stored value differs "
        "(changed since it was read), nothing is written and the answer is 409.",
    )


class LabCorrected(BaseModel):
    id: int
    patient_id: str
    old: float
    new: float
    egfr: float | None
    egfr_equation: str | None


@router.patch(
    "/labs/{lab_id}",
    response_model=LabCorrected,
    responses=documented({409: "The value changed since `seen`"}),
)
def lab_correct_api(
    request: Request,
    lab_id: RowIdPath,
    principal: Annotated[Principal, Depends(clinical_user)],
    _csrf: Annotated[None, Depends(require_csrf)],
    correction: LabCorrection,
) -> Any:
    """Correct a lab value (creatinine plausibility as in import); eGFR recomputed; audited."""
    try:
        edit = correct_lab(
            engine_of(request),
            lab_id,
            correction.value,
            correction.reason,
            actor_of(principal.name),
            seen=correction.seen,
        )
    except LabNotFound as err:
        raise HTTPException(404, str(err)) from err
    except LabConflict as err:
        raise HTTPException(409, str(err)) from err
    except LabEditRefused as err:
        return JSONResponse(body(err.errors), status_code=422)
    return LabCorrected(
        id=edit.lab_id,
        patient_id=edit.patient_id,
        old=edit.old,
        new=edit.new,
        egfr=edit.egfr,
        egfr_equation=edit.egfr_equation,
    )
