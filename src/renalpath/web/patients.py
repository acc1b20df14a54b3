"""Patient list, patient page (timeline, eGFR trend) and lab corrections — clinicians/admins.

Researchers get 403 on every route here: they see aggregate results only.  Each
read of a patient record is audited (`patient_queries.read_patient`), each correction carries
its reason into the audit trail (`lab_edit.correct_lab`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from renalpath.web.api import ERRORS
from renalpath.web.auth import Principal, clinical_user
from renalpath.web.errors import ErrorBody, FieldError, body, messages_by_field
from renalpath.web.lab_edit import LabConflict, LabEditRefused, LabNotFound, correct_lab
from renalpath.web.patient_plot import egfr_trend
from renalpath.web.patient_queries import (
    PAGE_SIZE,
    SEXES,
    PatientFilter,
    list_patients,
    read_patient,
)
from renalpath.web.records import RowIdPath  # INTEGER row ids (SQLite/PostgreSQL)
from renalpath.web.registry_access import actor_of, engine_of
from renalpath.web.security import require_csrf
from renalpath.web.templating import render

API_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    404: {"model": ErrorBody, "description": "No such record"},
    503: {"model": ErrorBody, "description": "No registry database configured"},
}
router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1", tags=["patients"], responses=API_ERRORS)
MAX_PAGE_SIZE = 200
SALVAGE_CHOICES = {"": None, "yes": True, "no": False}


def _filter(
    q: str | None, sex: str | None, salvage: str | None, errors: list[FieldError]
) -> PatientFilter:
    if sex and sex not in SEXES:
        errors.append(FieldError(field="sex", message=f"sex: {sex!r} is not allowed",
                                 value=sex, allowed=", ".join(SEXES)))  # fmt: skip
        sex = None
    if (salvage or "") not in SALVAGE_CHOICES:
        errors.append(FieldError(field="salvage", message=f"salvage: {salvage!r} is not allowed",
                                 value=salvage, allowed="yes, no"))  # fmt: skip
        salvage = None
    q = (q or "").strip()[:100] or None
    return PatientFilter(q, sex or None, SALVAGE_CHOICES.get(salvage or ""))


# ------------------------------------------------------------------------------- list


@router.get("/patients")
def patients_page(
    request: Request,
    _: Annotated[Principal, Depends(clinical_user)],
    q: str | None = None,
    sex: str | None = None,
    salvage: str | None = None,
    page: Annotated[int, Field(ge=1, le=100_000)] = 1,
) -> Response:
    errors: list[FieldError] = []
    flt = _filter(q, sex, salvage, errors)
    result = list_patients(engine_of(request), flt, page, PAGE_SIZE)
    query = {k: v for k, v in {"q": q, "sex": sex, "salvage": salvage}.items() if v}
    ctx: dict[str, Any] = {
        "result": result,
        "form": {"q": q or "", "sex": sex or "", "salvage": salvage or ""},
        "sexes": SEXES,
        "errors": messages_by_field(errors),
        "prev_url": f"/patients?{urlencode({**query, 'page': page - 1})}" if page > 1 else None,
        "next_url": (
            f"/patients?{urlencode({**query, 'page': page + 1})}" if page < result.pages else None
        ),
    }
    return render(request, "patients/list.html", ctx, status_code=422 if errors else 200)


class PatientList(BaseModel):
    items: list[dict[str, Any]]
    total: int
    page: int
    page_size: int


@api_router.get("/patients", response_model=PatientList)
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
    flt = _filter(q, sex, salvage, errors)
    if errors:
        return JSONResponse(body(errors), status_code=422)
    res = list_patients(engine_of(request), flt, page, page_size)
    return PatientList(items=res.items, total=res.total, page=res.page, page_size=res.page_size)


# ------------------------------------------------------------------------------- page


def _record_or_404(request: Request, patient_id: str, principal: Principal) -> Any:
    record = read_patient(engine_of(request), patient_id, actor_of(principal.name))
    if record is None:
        raise HTTPException(404, f"no patient with id {patient_id!r}")
    return record


def _age(birth: str, death: str | None) -> int | None:
    """Age in whole years today (or at death)."""
    try:
        born = dt.date.fromisoformat(birth)
        until = dt.date.fromisoformat(death) if death else dt.date.today()
    except (TypeError, ValueError):
        return None
    return until.year - born.year - ((until.month, until.day) < (born.month, born.day))


def _patient_ctx(record: Any, **extra: Any) -> dict[str, Any]:
    plot, plot_data = egfr_trend(record.labs, record.interventions)
    p = record.patient
    return {
        "record": record,
        "patient_age": _age(p.get("birth_date"), p.get("death_date")),
        "timeline": record.timeline(),
        "plot": plot,
        "plot_data": plot_data,
        "lab_errors": {},
        "edit_lab": None,
        "saved": None,
        **extra,
    }


@router.get("/patients/{patient_id}")
def patient_page(
    request: Request, patient_id: str, principal: Annotated[Principal, Depends(clinical_user)]
) -> Response:
    record = _record_or_404(request, patient_id, principal)
    saved = request.query_params.get("saved")
    return render(request, "patients/page.html", _patient_ctx(record, saved=saved))


@api_router.get("/patients/{patient_id}")
def patient_api(
    request: Request, patient_id: str, principal: Annotated[Principal, Depends(clinical_user)]
) -> dict[str, Any]:
    """One patient with interventions (and pathology), events and labs; the read is audited."""
    return dict(_record_or_404(request, patient_id, principal).to_dict())


# ----------------------------------------------------------------------- lab correction


@router.post("/patients/{patient_id}/labs/{lab_id}", dependencies=[Depends(require_csrf)])
async def lab_correct_form(
    request: Request,
    patient_id: str,
    lab_id: RowIdPath,
    principal: Annotated[Principal, Depends(clinical_user)],
) -> Response:
    form = await request.form()
    engine = engine_of(request)
    try:
        correct_lab(
            engine, lab_id, form.get("value"), str(form.get("reason") or ""),
            actor_of(principal.name), patient_id=patient_id, seen=form.get("seen"),
        )  # fmt: skip
    except LabNotFound as err:
        raise HTTPException(404, str(err)) from err
    except LabConflict as err:
        raise HTTPException(409, str(err)) from err
    except LabEditRefused as err:
        record = _record_or_404(request, patient_id, principal)
        ctx = _patient_ctx(
            record,
            lab_errors=messages_by_field(err.errors),
            edit_lab={"id": lab_id, "value": form.get("value"), "reason": form.get("reason")},
        )
        return render(request, "patients/page.html", ctx, status_code=422)
    return RedirectResponse(f"/patients/{patient_id}?saved={lab_id}", status_code=303)


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


@api_router.patch(
    "/labs/{lab_id}",
    response_model=LabCorrected,
    responses={409: {"model": ErrorBody, "description": "The value changed since `seen`"}},
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
            engine_of(request), lab_id, correction.value, correction.reason,
            actor_of(principal.name), seen=correction.seen,
        )  # fmt: skip
    except LabNotFound as err:
        raise HTTPException(404, str(err)) from err
    except LabConflict as err:
        raise HTTPException(409, str(err)) from err
    except LabEditRefused as err:
        return JSONResponse(body(err.errors), status_code=422)
    return LabCorrected(
        id=edit.lab_id, patient_id=edit.patient_id, old=edit.old, new=edit.new,
        egfr=edit.egfr, egfr_equation=edit.egfr_equation,
    )  # fmt: skip
