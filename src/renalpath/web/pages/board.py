"""Tumour-board cases as records: built from a registry patient, saved, presented, decided.

"Evaluate this patient" builds the case from the registry (with where each fact came from and
its date), the clinician completes it and saves a draft; the draft is listed for its board
date, presented, and closed with the board's decision and its date.  Every write is audited
(`registry.board_cases`).  Clinicians and admins only: these pages hold patient data.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from renalpath.registry.board_cases import (
    STATUS_LABELS,
    BoardCaseNotFound,
    BoardCaseRefused,
    SavedCase,
    board_dates,
    create_case,
    get_case,
    list_cases,
    update_case,
)
from renalpath.registry.case_builder import build_case
from renalpath.web import board_sheet, case_form, labels
from renalpath.web.api.records import RowIdPath
from renalpath.web.auth import Principal
from renalpath.web.deps import actor_of, clinical_user, engine_of, require_csrf
from renalpath.web.errors import FieldError, messages_by_field
from renalpath.web.forms import compact, set_path
from renalpath.web.pages.case import case_context, evaluate_data, evaluate_form
from renalpath.web.templating import render

router = APIRouter(include_in_schema=False)
Clinician = Annotated[Principal, Depends(clinical_user)]
MAX_PROVENANCE = 100_000  # characters of the hidden provenance field
_FIELD_NAMES = frozenset(f.name for f in case_form.ALL_FIELDS)


def _date(raw: Any, name: str, errors: list[FieldError]) -> dt.date | None:
    text = str(raw or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        errors.append(FieldError(field=name, message=f"{text!r} is not a date (YYYY-MM-DD)"))
        return None


def _provenance_rows(provenance: dict[str, Any], values: dict[str, Any]) -> list[dict[str, str]]:
    """One row per registry fact; a fact the clinician has since changed says so."""
    provenance = {
        path: info
        for path, info in provenance.items()
        if path in _FIELD_NAMES and isinstance(info, dict)  # only the form's own fields
    }
    taken: dict[str, Any] = {}
    for path, info in provenance.items():
        if isinstance(info, dict) and info.get("value") is not None:
            set_path(taken, path, info["value"])
    registry_values = case_form.values_from_case(taken)
    rows = []
    for path, info in provenance.items():
        if path == "as_of" or not isinstance(info, dict):
            continue
        now = str(values.get(path, ""))
        was = str(registry_values.get(path, ""))
        source = str(info.get("source") or "")
        if info.get("value") is not None and now != was:
            shown = labels.choice(path, was) if was else "—"
            source = f"changed here (the registry's {source} says {shown})"
        rows.append(
            {
                "path": path,
                "label": labels.field(path),
                "value": now,
                "source": source,
                "date": str(info.get("date") or ""),
                "age": board_sheet.age_in_words(info.get("date")),
            }
        )
    return rows


def _case_page(
    request: Request,
    ctx: dict[str, Any],
    *,
    patient_id: str,
    saved: SavedCase | None = None,
    provenance: dict[str, Any] | None = None,
    notes: list[str] | None = None,
    meta_errors: list[FieldError] | None = None,
    typed: Any = None,
    status_code: int = 200,
) -> Response:
    """The case page; `typed` is a refused form, whose question and board date are kept."""
    prov = provenance if provenance is not None else (saved.provenance if saved else {})
    fields = prov.get("fields", prov)
    fields = fields if isinstance(fields, dict) else {}
    raw_notes = prov.get("notes")
    prov_notes = [n for n in raw_notes if isinstance(n, str)] if isinstance(raw_notes, list) else []
    agreement = None
    if saved is not None and saved.decision_option and ctx.get("result"):
        statuses = [
            o["status"] for o in ctx["result"]["options"] if o["option"] == saved.decision_option
        ]
        agreement = (
            " / ".join(case_form.STATUS_LABEL[s] for s in dict.fromkeys(statuses))
            if statuses
            else "not among the pathway's options"
        )
    ctx["case_actions"] = {
        "patient_id": patient_id,
        "saved": saved,
        "save_url": f"/cases/{saved.id}" if saved else f"/patients/{patient_id}/cases",
        "evaluate_url": (
            f"/cases/{saved.id}/evaluate" if saved else f"/patients/{patient_id}/evaluate"
        ),
        "provenance": _provenance_rows(fields, ctx["values"]),
        "provenance_raw": fields,
        "notes": notes if notes is not None else prov_notes,
        "meta_errors": messages_by_field(meta_errors or []),
        "statuses": STATUS_LABELS,
        "today": dt.date.today().isoformat(),
        "question": str(typed.get("question") or "")
        if typed
        else (saved.question if saved else ""),
        "agreement": agreement,
        "board_date": (
            str(typed.get("board_date") or "")
            if typed
            else (saved.board_date.isoformat() if saved and saved.board_date else "")
        ),
    }
    return render(request, "case/page.html", ctx, status_code=status_code)


# ------------------------------------------------------------------ build from the registry


@router.get("/patients/{patient_id}/evaluate")
def evaluate_patient(request: Request, patient_id: str, principal: Clinician) -> Response:
    built = build_case(engine_of(request), patient_id)
    if built is None:
        raise HTTPException(404, f"no patient with id {patient_id!r}")
    ctx = case_context(case_form.values_from_case(built.case))
    evaluate_data(ctx, built.case)
    provenance = {"fields": built.provenance, "notes": built.notes}
    return _case_page(request, ctx, patient_id=patient_id, provenance=provenance)


async def _submitted(request: Request) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    form = await request.form()
    ctx, data = evaluate_form(form)
    return form, ctx, data


def _provenance_from_form(form: Any) -> dict[str, Any]:
    """The registry provenance travels with the unsaved form as a hidden JSON field."""
    raw = str(form.get("provenance") or "{}")
    if len(raw) > MAX_PROVENANCE:  # a page never sends this much: not ours, not kept
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@router.post("/patients/{patient_id}/evaluate", dependencies=[Depends(require_csrf)])
async def reevaluate_patient(request: Request, patient_id: str, principal: Clinician) -> Response:
    form, ctx, _data = await _submitted(request)
    return _case_page(
        request,
        ctx,
        patient_id=patient_id,
        provenance=_provenance_from_form(form),
        typed=form,
        status_code=422 if ctx["errors"] else 200,
    )


def _meta(form: Any, errors: list[FieldError]) -> dict[str, Any]:
    return {
        "question": str(form.get("question") or ""),
        "board_date": _date(form.get("board_date"), "board_date", errors),
    }


@router.post("/patients/{patient_id}/cases", dependencies=[Depends(require_csrf)])
async def save_new_case(request: Request, patient_id: str, principal: Clinician) -> Response:
    form = await request.form()
    data, problems = case_form.form_data(form)
    data = compact(data)
    errors: list[FieldError] = []
    meta = _meta(form, errors)
    provenance = _provenance_from_form(form)
    if problems or errors:
        ctx, _ = evaluate_form(form)
        return _case_page(
            request,
            ctx,
            patient_id=patient_id,
            provenance=provenance,
            meta_errors=errors,
            typed=form,
            status_code=422,
        )
    engine = engine_of(request)
    if build_case(engine, patient_id) is None:
        raise HTTPException(404, f"no patient with id {patient_id!r}")
    try:
        case_id = create_case(
            engine,
            patient_id,
            data,
            provenance,
            actor_of(principal.name),
            question=meta["question"],
            board_date=meta["board_date"],
        )
    except BoardCaseRefused as err:
        ctx, _ = evaluate_form(form)
        refusal = FieldError(
            field=err.field, message=f"{labels.readable(err.field or '')}: {err.message}"
        )
        return _case_page(
            request,
            ctx,
            patient_id=patient_id,
            provenance=provenance,
            meta_errors=[refusal],
            typed=form,
            status_code=422,
        )
    return RedirectResponse(f"/cases/{case_id}?saved=created", status_code=303)


# ------------------------------------------------------------------------- a saved case


def _saved_or_404(request: Request, case_id: int) -> SavedCase:
    try:
        return get_case(engine_of(request), case_id)
    except BoardCaseNotFound as err:
        raise HTTPException(404, str(err)) from err


@router.get("/cases/{case_id}")
def saved_case_page(request: Request, case_id: RowIdPath, principal: Clinician) -> Response:
    saved = _saved_or_404(request, case_id)
    ctx = case_context(case_form.values_from_case(saved.case))
    evaluate_data(ctx, saved.case)
    ctx["saved_notice"] = request.query_params.get("saved")
    return _case_page(request, ctx, patient_id=saved.patient_id, saved=saved)


@router.post("/cases/{case_id}/evaluate", dependencies=[Depends(require_csrf)])
async def saved_case_evaluate(
    request: Request, case_id: RowIdPath, principal: Clinician
) -> Response:
    saved = _saved_or_404(request, case_id)
    form, ctx, _data = await _submitted(request)
    return _case_page(
        request,
        ctx,
        patient_id=saved.patient_id,
        saved=saved,
        typed=form,
        status_code=422 if ctx["errors"] else 200,
    )


@router.post("/cases/{case_id}", dependencies=[Depends(require_csrf)])
async def saved_case_update(request: Request, case_id: RowIdPath, principal: Clinician) -> Response:
    saved = _saved_or_404(request, case_id)
    form = await request.form()
    data, problems = case_form.form_data(form)
    errors: list[FieldError] = []
    meta = _meta(form, errors)
    if problems or errors:
        ctx, _ = evaluate_form(form)
        return _case_page(
            request,
            ctx,
            patient_id=saved.patient_id,
            saved=saved,
            meta_errors=errors,
            typed=form,
            status_code=422,
        )
    try:
        update_case(
            engine_of(request),
            case_id,
            {"case": compact(data), **meta},
            actor_of(principal.name),
            "case edited before the board",
        )
    except BoardCaseRefused as err:
        return _refused(request, saved, err)
    return RedirectResponse(f"/cases/{case_id}?saved=updated", status_code=303)


def _refused(request: Request, saved: SavedCase, err: BoardCaseRefused) -> Response:
    ctx = case_context(case_form.values_from_case(saved.case))
    evaluate_data(ctx, saved.case)
    errors = [FieldError(field=err.field or "status", message=err.message)]
    return _case_page(
        request,
        ctx,
        patient_id=saved.patient_id,
        saved=saved,
        meta_errors=errors,
        status_code=422,
    )


@router.post("/cases/{case_id}/status", dependencies=[Depends(require_csrf)])
async def saved_case_status(request: Request, case_id: RowIdPath, principal: Clinician) -> Response:
    saved = _saved_or_404(request, case_id)
    form = await request.form()
    action = str(form.get("action") or "")
    errors: list[FieldError] = []
    if action == "present":
        changes: dict[str, Any] = {"status": "presented"}
        reason = "case presented at the board"
    elif action == "decide":
        changes = {
            "status": "decided",
            "decision": str(form.get("decision") or ""),
            "decision_option": str(form.get("decision_option") or "") or None,
            "decision_date": _date(form.get("decision_date"), "decision_date", errors),
        }
        reason = "board decision recorded"
    else:
        raise HTTPException(422, "action must be present or decide")
    if errors:
        return _refused(request, saved, BoardCaseRefused(errors[0].message, "decision_date"))
    try:
        update_case(engine_of(request), case_id, changes, actor_of(principal.name), reason)
    except BoardCaseRefused as err:
        return _refused(request, saved, err)
    return RedirectResponse(f"/cases/{case_id}?saved={action}", status_code=303)


@router.get("/cases/{case_id}/sheet")
def saved_case_sheet(request: Request, case_id: RowIdPath, principal: Clinician) -> Response:
    saved = _saved_or_404(request, case_id)
    ctx = case_context(case_form.values_from_case(saved.case))
    evaluate_data(ctx, saved.case)
    if ctx["result"] is None:
        return _case_page(request, ctx, patient_id=saved.patient_id, saved=saved, status_code=422)
    ctx.update(
        prepared_by=principal.name,
        saved=saved,
        back_url=f"/cases/{case_id}",
        patient_id=saved.patient_id,
    )
    return render(request, "case/sheet.html", ctx)


# ------------------------------------------------------------------------ the board lists


@router.get("/board")
def board_list(
    request: Request,
    principal: Clinician,
    date: str | None = None,
    patient_id: str | None = None,
) -> Response:
    engine = engine_of(request)
    errors: list[FieldError] = []
    chosen = _date(date, "date", errors)
    today = dt.date.today()
    upcoming = board_dates(engine, today)
    if patient_id:
        cases = list_cases(engine, patient_id=patient_id)
        heading = f"Board cases of patient {patient_id}"
    else:
        chosen = chosen or (upcoming[0] if upcoming else None)
        cases = list_cases(engine, board_date=chosen) if chosen else []
        heading = f"Board of {chosen.isoformat()}" if chosen else "Next board"
    undated = (
        []
        if patient_id
        else [c for c in list_cases(engine, open_only=True) if c.board_date is None]
    )
    ctx = {
        "cases": cases,
        "undated": undated,
        "heading": heading,
        "chosen": chosen.isoformat() if chosen else "",
        "upcoming": upcoming,
        "patient_id": patient_id or "",
        "errors": messages_by_field(errors),
    }
    return render(request, "board/list.html", ctx, status_code=422 if errors else 200)
