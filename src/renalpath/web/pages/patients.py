"""Patient list, patient page (timeline, eGFR trend) and lab corrections — clinicians/admins.

Researchers get 403 on every route here: they see aggregate results only.  Each
read of a patient record is audited (`patient_queries.read_patient`), each correction carries
its reason into the audit trail (`lab_edit.correct_lab`). The JSON routes of the same data,
and the filter checks and audited read the pages share with them, are `api/patients.py`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from pydantic import Field
from starlette.responses import Response

from renalpath.clinical.durations import completed_years
from renalpath.web.api.patients import patient_filter, record_or_404
from renalpath.web.api.records import RowIdPath  # INTEGER row ids (SQLite/PostgreSQL)
from renalpath.web.auth import Principal
from renalpath.web.deps import actor_of, clinical_user, engine_of, require_csrf
from renalpath.web.errors import FieldError, messages_by_field
from renalpath.web.lab_edit import LabConflict, LabEditRefused, LabNotFound, correct_lab
from renalpath.web.patient_plot import egfr_trend
from renalpath.web.patient_queries import (
    PAGE_SIZE,
    SEXES,
    list_patients,
)
from renalpath.web.templating import render

router = APIRouter(include_in_schema=False)
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
    flt = patient_filter(q, sex, salvage, errors)
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


# ------------------------------------------------------------------------------- page


def _age(birth: str, death: str | None) -> int | None:
    """Age in whole years today (or at death)."""
    try:
        born = dt.date.fromisoformat(birth)
        until = dt.date.fromisoformat(death) if death else dt.date.today()
    except (TypeError, ValueError):
        return None
    return completed_years(born, until)


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
    record = record_or_404(request, patient_id, principal)
    saved = request.query_params.get("saved")
    return render(request, "patients/page.html", _patient_ctx(record, saved=saved))


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
            engine,
            lab_id,
            form.get("value"),
            str(form.get("reason") or ""),
            actor_of(principal.name),
            patient_id=patient_id,
            seen=form.get("seen"),
        )
    except LabNotFound as err:
        raise HTTPException(404, str(err)) from err
    except LabConflict as err:
        raise HTTPException(409, str(err)) from err
    except LabEditRefused as err:
        record = record_or_404(request, patient_id, principal)
        ctx = _patient_ctx(
            record,
            lab_errors=messages_by_field(err.errors),
            edit_lab={"id": lab_id, "value": form.get("value"), "reason": form.get("reason")},
        )
        return render(request, "patients/page.html", ctx, status_code=422)
    return RedirectResponse(f"/patients/{patient_id}?saved={lab_id}", status_code=303)
