"""Patient-page forms: add a tumour, intervention (with its pathology), lab or event, and
correct or delete any record of the patient with a required reason.

Server-rendered HTML forms (no script needed; CSRF token in every form). The submitted cells
go through `registry.records` — the importer's validation, audit trail and derived values —
so a form accepts and refuses exactly what `renalpath import` and the REST API do; each
problem is shown next to its field and nothing is written unless everything is valid.

The patient page itself is served by `web.patients`; this module contributes what the forms
need through the `record_forms(request, record)` template global (the patient's tumours, the
field definitions), read here so the patient page query stays as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from starlette.datastructures import FormData
from starlette.responses import Response

from renalpath.registry.dictionary import FILES, ColumnSpec
from renalpath.registry.models import Intervention, Tumour
from renalpath.registry.records import (
    ROW_FILES,
    Locator,
    NewRecord,
    RecordConflict,
    RecordNotFound,
    RecordRefused,
    create_records,
    delete_record,
    log_read,
    read_record,
    update_record,
)
from renalpath.web.api.records import column_help, is_row_id, issue_errors
from renalpath.web.auth import Principal
from renalpath.web.deps import actor_of, clinical_user, engine_of, require_csrf
from renalpath.web.errors import messages_by_field
from renalpath.web.pages.patients import _patient_ctx
from renalpath.web.patient_queries import read_patient
from renalpath.web.templating import render, templates

router = APIRouter(include_in_schema=False)

ADDABLE = ("tumours", "interventions", "labs", "events")
EDITABLE = ("patients", "tumours", "interventions", "pathology", "labs", "events")
PATHOLOGY_PREFIX = "pathology."
MAX_FORM_VALUE = 4000  # longer than any column: refused by the import rules, not stored


@dataclass(frozen=True)
class FormField:
    name: str  # input name: the dictionary column (pathology.<column> in the intervention form)
    label: str
    kind: str  # text | number | date | select | tristate
    dom_id: str
    choices: tuple[str, ...] = ()
    required: bool = False
    help: str = ""
    readonly: bool = False


def _field(
    form: str,
    col: ColumnSpec,
    prefix: str = "",
    choices: tuple[str, ...] | None = None,
    readonly: bool = False,
) -> FormField:
    kind = {
        "enum": "select",
        "bool": "tristate",
        "date": "date",
        "int": "number",
        "float": "number",
    }.get(col.type, "text")
    opts = col.enum or ()
    if choices is not None:
        kind, opts = "select", choices
    label = col.name.replace("_", " ") + (f" ({col.unit})" if col.unit else "")
    return FormField(
        name=prefix + col.name,
        label=label,
        kind=kind,
        dom_id=f"{form}-{prefix.rstrip('.')}{'-' if prefix else ''}{col.name}",
        choices=tuple(opts),
        required=col.required,
        help=column_help(col),
        readonly=readonly,
    )


def _tumours(request: Request, patient_id: str) -> list[dict[str, Any]]:
    """The patient's tumours (for the page's list and the tumour selects)."""
    with engine_of(request).connect() as conn:
        return [
            {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
            for r in conn.execute(
                select(Tumour.__table__)
                .where(Tumour.patient_id == patient_id)
                .order_by(Tumour.diagnosis_date, Tumour.tumour_id)
            ).mappings()
        ]


def _intervention_ids(request: Request, patient_id: str) -> list[str]:
    """The patient's interventions in the patient page's order (date, then id)."""
    with engine_of(request).connect() as conn:
        return list(
            conn.execute(
                select(Intervention.intervention_id)
                .where(Intervention.patient_id == patient_id)
                .order_by(Intervention.date, Intervention.intervention_id)
            ).scalars()
        )


def form_fields(
    name: str,
    tumour_ids: tuple[str, ...],
    intervention_ids: tuple[str, ...],
    form: str | None = None,
    with_key: bool = True,
) -> list[FormField]:
    """Inputs of a form for one dictionary file (the patient id comes from the page)."""
    form = form or name
    out: list[FormField] = []
    spec = FILES[name]
    for col in spec.columns:
        if col.name == "patient_id" and name != "patients":
            continue
        if name == "pathology" and col.name == "intervention_id":
            continue
        readonly = not with_key and col.name in spec.key
        choices: tuple[str, ...] | None = None
        if col.name == "tumour_id" and name != "tumours":
            choices = tumour_ids
        elif col.name == "parent_intervention_id":
            choices = intervention_ids
        out.append(_field(form, col, choices=choices, readonly=readonly))
    if name == "interventions" and form == "interventions":
        out += [
            _field(form, col, prefix=PATHOLOGY_PREFIX)
            for col in FILES["pathology"].columns
            if col.name != "intervention_id"
        ]
    return out


def record_forms(request: Request, record: Any) -> dict[str, Any]:
    """Template global: what the patient page's add / correct forms need."""
    tumours = _tumours(request, record.patient["patient_id"])
    tids = tuple(t["tumour_id"] for t in tumours)
    ivs = tuple(iv["intervention_id"] for iv in record.interventions)  # already read, in order
    return {
        "tumours": tumours,
        "forms": {name: form_fields(name, tids, ivs) for name in ADDABLE},
        "labels": {name: FILES[name].form_label for name in ADDABLE},
    }


templates.env.globals["record_forms"] = record_forms


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value[:MAX_FORM_VALUE] if isinstance(value, str) else ""


def _page_with_errors(
    request: Request,
    patient_id: str,
    principal: Principal,
    form_name: str,
    values: Mapping[str, str],
    errors: dict[str, list[str]],
    status: int,
) -> Response:
    record = read_patient(engine_of(request), patient_id, actor_of(principal.name))
    if record is None:
        raise HTTPException(404, f"no patient with id {patient_id!r}")
    ctx = _patient_ctx(record, add_form=form_name, add_values=dict(values), add_errors=errors)
    return render(request, "patients/page.html", ctx, status_code=status)


@router.post("/patients/{patient_id}/add/{name}", dependencies=[Depends(require_csrf)])
async def add_record(
    request: Request,
    patient_id: str,
    name: str,
    principal: Annotated[Principal, Depends(clinical_user)],
) -> Response:
    if name not in ADDABLE:
        raise HTTPException(404, f"records of {name!r} cannot be added here")
    form = await request.form()
    fields = form_fields(name, (), ())
    values = {f.name: _text(form, f.name).strip() for f in fields}
    cells = {k: v for k, v in values.items() if not k.startswith(PATHOLOGY_PREFIX)}
    cells["patient_id"] = patient_id
    batch = [NewRecord(name, cells)]
    path_cells = {
        k.removeprefix(PATHOLOGY_PREFIX): v
        for k, v in values.items()
        if k.startswith(PATHOLOGY_PREFIX)
    }
    if any(path_cells.values()):
        path_cells["intervention_id"] = cells["intervention_id"]
        batch.append(NewRecord("pathology", path_cells))
    try:
        done = create_records(
            engine_of(request), batch, actor_of(principal.name), "added on the patient page"
        )
    except RecordRefused as err:
        errors = []
        for issue in err.errors:
            prefix = PATHOLOGY_PREFIX if issue.file == "pathology.csv" else ""
            if issue.column == "patient_id" and not prefix:
                issue_errs = issue_errors([issue])  # the patient itself: a page-level problem
                errors += [e.model_copy(update={"field": None}) for e in issue_errs]
            else:
                errors += issue_errors([issue], prefix)
        return _page_with_errors(
            request, patient_id, principal, name, values, messages_by_field(errors), 422
        )
    except RecordConflict as err:
        col = err.field or ""
        return _page_with_errors(
            request, patient_id, principal, name, values, {col: [err.message]}, 409
        )
    notice = {"added": FILES[name].form_label, "record": done[0].entity_id}
    return RedirectResponse(f"/patients/{quote(patient_id)}?{urlencode(notice)}", 303)


# ------------------------------------------------------------------ correct / delete


def _locator(name: str, raw: str) -> Locator:
    if name in ROW_FILES:
        if not is_row_id(raw) or len(raw) > 10:
            raise HTTPException(404, f"no {name} record {raw!r}")
        return int(raw)
    return raw


def _owned(request: Request, patient_id: str, name: str, raw: str) -> tuple[Locator, Any]:
    """The record, if it belongs to this patient (else 404: ids are not browsable across
    patients from another patient's page)."""
    if name not in EDITABLE:
        raise HTTPException(404, f"records of {name!r} cannot be edited here")
    locator = _locator(name, raw)
    engine = engine_of(request)
    try:
        res = read_record(engine, name, locator)
        owner = res.cells.get("patient_id")
        if name == "pathology":
            owner = read_record(engine, "interventions", res.cells["intervention_id"]).cells[
                "patient_id"
            ]
    except RecordNotFound as err:
        raise HTTPException(404, str(err)) from err
    if owner != patient_id:
        raise HTTPException(404, f"{name} {raw!r} is not a record of patient {patient_id!r}")
    return locator, res


def _edit_page(
    request: Request,
    patient_id: str,
    name: str,
    raw: str,
    res: Any,
    values: Mapping[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
    reason: str = "",
    delete_errors: list[str] | None = None,
    status: int = 200,
) -> Response:
    tids = tuple(t["tumour_id"] for t in _tumours(request, patient_id))
    ivs = tuple(_intervention_ids(request, patient_id))
    fields = form_fields(name, tids, ivs, form="edit", with_key=False)
    ctx = {
        "patient_id": patient_id,
        "name": name,
        "label": FILES[name].form_label,
        "raw": raw,
        "entity_id": res.entity_id,
        "fields": fields,
        "values": dict(values) if values is not None else dict(res.cells),
        "errors": errors or {},
        "reason": reason,
        "delete_errors": delete_errors or [],
        "derived": res.derived,
        "version": res.version,  # sent back: a correction of a record changed since is refused
    }
    return render(request, "patients/edit_record.html", ctx, status_code=status)


@router.get("/patients/{patient_id}/records/{name}/{raw}")
def edit_record_page(
    request: Request,
    patient_id: str,
    name: str,
    raw: str,
    principal: Annotated[Principal, Depends(clinical_user)],
) -> Response:
    _, res = _owned(request, patient_id, name, raw)
    log_read(engine_of(request), name, res.entity_id, actor_of(principal.name))
    return _edit_page(request, patient_id, name, raw, res)


@router.post("/patients/{patient_id}/records/{name}/{raw}", dependencies=[Depends(require_csrf)])
async def correct_record(
    request: Request,
    patient_id: str,
    name: str,
    raw: str,
    principal: Annotated[Principal, Depends(clinical_user)],
) -> Response:
    locator, res = _owned(request, patient_id, name, raw)
    form = await request.form()
    spec = FILES[name]
    values = {
        c: _text(form, c).strip()
        for c in spec.column_names
        if c not in spec.key and not (c == "patient_id" and name != "patients")
    }
    reason = _text(form, "reason")
    try:
        done = update_record(
            engine_of(request),
            name,
            locator,
            values,
            reason,
            actor_of(principal.name),
            _text(form, "version") or None,
        )
    except RecordRefused as err:
        errors = messages_by_field(issue_errors(err.errors))
        return _edit_page(
            request, patient_id, name, raw, res, {**res.cells, **values}, errors, reason, status=422
        )
    except RecordConflict as err:  # changed since the form was shown: show the new values
        return _edit_page(
            request,
            patient_id,
            name,
            raw,
            res,
            errors={"": [err.message]},
            reason=reason,
            status=409,
        )
    notice = {
        "corrected": spec.form_label,
        "record": done.entity_id,
        "fields": ", ".join(done.changed) or "nothing",
    }
    return RedirectResponse(f"/patients/{quote(patient_id)}?{urlencode(notice)}", 303)


@router.post(
    "/patients/{patient_id}/records/{name}/{raw}/delete", dependencies=[Depends(require_csrf)]
)
async def delete_record_form(
    request: Request,
    patient_id: str,
    name: str,
    raw: str,
    principal: Annotated[Principal, Depends(clinical_user)],
) -> Response:
    locator, res = _owned(request, patient_id, name, raw)
    form = await request.form()
    reason = _text(form, "reason")
    try:
        done = delete_record(
            engine_of(request),
            name,
            locator,
            reason,
            actor_of(principal.name),
            _text(form, "version") or None,
        )
    except RecordRefused as err:
        msgs = [e.message for e in issue_errors(err.errors)]
        return _edit_page(
            request, patient_id, name, raw, res, reason=reason, delete_errors=msgs, status=422
        )
    except RecordConflict as err:
        return _edit_page(
            request,
            patient_id,
            name,
            raw,
            res,
            reason=reason,
            delete_errors=[err.message],
            status=409,
        )
    if name == "patients":
        return RedirectResponse(f"/patients?{urlencode({'deleted': done.entity_id})}", 303)
    notice = {"deleted": FILES[name].form_label, "record": done.entity_id}
    return RedirectResponse(f"/patients/{quote(patient_id)}?{urlencode(notice)}", 303)
