"""REST API for single registry records: create, read, correct and delete.

patients / tumours / imaging / interventions / pathology / labs / events under /api/v1,
clinicians and admins only (researchers see aggregate results only: 403). Every write goes
through `registry.records`, i.e. the importer's own validation, audit trail and derived
values, in one transaction. Request bodies are pydantic models generated from the data
dictionary, so /docs lists every column with its description, allowed values, unit and
plausible range; the models only check JSON types and unknown fields — the values themselves
are checked by the import rules, so the API, the patient-page forms and `renalpath import`
accept and refuse exactly the same cells, with the same messages.

Errors: 422 `{"errors": [{"field": <dictionary column>, "message": ...}]}`; 404 unknown id;
409 duplicate key, a delete that other records still point to (never a cascade), or an
`If-Match` version that is no longer the record's (changed since it was read: no lost update).
Corrections (PATCH) and deletes need a `reason`, which goes to the audit trail.

No `from __future__ import annotations` here: FastAPI must see the generated body models as
objects in the endpoint signatures built by the factories below.
"""

import math
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Request
from fastapi.responses import JSONResponse
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
)
from pydantic import create_model as _create_model
from pydantic_core import PydanticCustomError
from sqlalchemy import Engine

from renalpath.registry.dictionary import FILES, ColumnSpec, FileSpec
from renalpath.registry.ids import (
    RECORD_ID_MAX,
    RECORD_ID_PATTERN,
    RECORD_ID_RULE,
    is_valid_record_id,
)
from renalpath.registry.records import (
    ROW_FILES,
    Locator,
    RecordConflict,
    RecordNotFound,
    RecordRefused,
    RecordResult,
    create_record,
    delete_record,
    read_record,
    require_record,
    update_record,
)
from renalpath.registry.validate import Issue
from renalpath.web.auth import Principal
from renalpath.web.deps import actor_of, clinical_user, engine_of, require_csrf
from renalpath.web.errors import (
    ERRORS,
    NO_REGISTRY,
    FieldError,
    body,
    documented,
    json_safe,
)

RESPONSES = {
    **ERRORS,
    **documented(
        {
            404: "No such record (or no such parent record)",
            409: "Duplicate key, or other records still refer to it",
        }
    ),
    **NO_REGISTRY,
}
router = APIRouter(prefix="/api/v1", tags=["records"], responses=RESPONSES)

MAX_ID = 64  # registry ids are String(64) (registry.models)
MAX_ROW_ID = 2_147_483_647  # surrogate ids are INTEGER (32-bit on PostgreSQL)
REASON_MAX = 2000
NO_NUL = r"^[^\x00]+$"  # PostgreSQL text cannot hold NUL: refuse it as input, not as a 500

IdPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=MAX_ID,
        pattern=RECORD_ID_PATTERN,
        description=f"Record id: {RECORD_ID_RULE}.",
    ),
]


def is_row_id(raw: str) -> bool:
    """Whether a URL segment is a row id: ASCII digits only.  `int()` and pydantic would also
    read `5%0A`, `+5` or an Arabic-Indic five as 5, so a stray character would reach (and
    change or delete) row 5 instead of being refused."""
    return raw.isascii() and raw.isdigit()


def _digits_only(raw: object) -> object:
    if isinstance(raw, str) and not is_row_id(raw):
        raise ValueError("a row id is a whole number written with digits only")
    return raw


RowIdPath = Annotated[int, Path(ge=1, le=MAX_ROW_ID), BeforeValidator(_digits_only)]
IfMatch = Annotated[
    str | None,
    Header(
        max_length=200,
        description="The record's `version` the change is based on: "
        "refused with 409 if the record changed since.",
    ),
]


class DeleteBody(BaseModel):
    """Why a record is deleted.  In the body, not the query string: URLs end up in access
    logs, proxies and browser history, and a reason may name the patient."""

    model_config = ConfigDict(extra="forbid")
    reason: StrictStr = Field(
        min_length=1,
        max_length=REASON_MAX,
        pattern=NO_NUL,
        description="Why the record is deleted (audit trail).",
    )


# ------------------------------------------------------------------ generated models


def column_help(col: ColumnSpec) -> str:
    """The dictionary's description with allowed values, unit and plausible range."""
    parts = [col.description]
    if col.enum:
        parts.append("One of: " + " | ".join(col.enum) + ".")
    if col.type == "date":
        parts.append("ISO date YYYY-MM-DD.")
    if col.unit:
        parts.append(f"Unit: {col.unit}.")
    if col.min is not None or col.max is not None:
        parts.append(f"Plausible range {col.min:g}–{col.max:g}.")
    if col.references:
        parts.append(f"Must exist in {col.references}.")
    return " ".join(parts)


def _json_type(col: ColumnSpec) -> Any:
    if col.type == "int":
        return StrictInt
    if col.type == "float":
        return StrictFloat  # JSON integers are accepted as numbers too
    if col.type == "bool":
        return StrictBool
    return StrictStr


def _schema_extra(col: ColumnSpec) -> dict[str, Any]:
    """Documented bounds (checked by the import rules, which word the message)."""
    extra: dict[str, Any] = {}
    if col.min is not None:
        extra["minimum"] = col.min
    if col.max is not None:
        extra["maximum"] = col.max
    return extra


def _model(name: str, fields: Mapping[str, Any], doc: str) -> type[BaseModel]:
    model: type[BaseModel] = _create_model(
        name, __config__=ConfigDict(extra="forbid"), __doc__=doc, **fields
    )
    return model


def _title(spec: FileSpec) -> str:
    return spec.form_label.replace(" ", "")


def _record_id(value: str) -> str:
    """The shared id rule, worded like the import's refusals."""
    if len(value) > RECORD_ID_MAX:
        raise PydanticCustomError("record_id", f"longer than {RECORD_ID_MAX} characters")
    if not is_valid_record_id(value):
        raise PydanticCustomError("record_id", f"not a record id (allowed: {RECORD_ID_RULE})")
    return value


RecordId = Annotated[StrictStr, AfterValidator(_record_id)]


def _is_id_column(col: ColumnSpec) -> bool:
    """Record ids (the row's own and its parents'): the documented id character set."""
    return col.name.endswith("_id") and _json_type(col) is StrictStr


def create_model_for(spec: FileSpec, parent: str | None) -> type[BaseModel]:
    """Body of a create: every column except the parent id taken from the URL."""
    fields: dict[str, Any] = {}
    for col in spec.columns:
        if col.name == parent:
            continue
        help_ = column_help(col)
        if _is_id_column(col):
            help_ += f" Record id: {RECORD_ID_RULE}."
            schema: dict[str, Any] = {"pattern": RECORD_ID_PATTERN, "maxLength": RECORD_ID_MAX}
            if col.required:
                fields[col.name] = (RecordId, Field(description=help_, json_schema_extra=schema))
            else:
                fields[col.name] = (
                    RecordId | None,
                    Field(None, description=help_, json_schema_extra=schema),
                )
        elif col.required:
            fields[col.name] = (
                _json_type(col),
                Field(description=help_, json_schema_extra=_schema_extra(col)),
            )
        else:
            fields[col.name] = (
                _json_type(col) | None,
                Field(None, description=help_, json_schema_extra=_schema_extra(col)),
            )
    return _model(f"{_title(spec)}New", fields, f"A new {spec.filename} row ({spec.description})")


def update_model_for(spec: FileSpec) -> type[BaseModel]:
    """Body of a correction: any non-key column (null = blank it) and the reason."""
    fields: dict[str, Any] = {
        col.name: (
            _json_type(col) | None,
            Field(None, description=column_help(col), json_schema_extra=_schema_extra(col)),
        )
        for col in spec.columns
        if col.name not in spec.key
    }
    fields["reason"] = (
        StrictStr,
        Field(min_length=1, max_length=REASON_MAX, description="Why (audit trail)."),
    )
    return _model(
        f"{_title(spec)}Correction",
        fields,
        f"Fields of a {spec.filename} row to correct; omitted fields stay as they are.",
    )


class RecordOut(BaseModel):
    entity: str = Field(description="Dictionary file (patients, tumours, …).")
    id: str | int = Field(description="The record's id in this API (row id for labs/events).")
    entity_id: str = Field(description="Audit id: the record's id or natural key joined by |.")
    record: dict[str, str | None] = Field(description="Canonical CSV cells (null = blank).")
    derived: dict[str, Any] = Field(default_factory=dict, description="eGFR / salvage lineage.")
    changed: list[str] = Field(default_factory=list, description="Columns a correction changed.")
    warnings: list[FieldError] = Field(default_factory=list, description="Import warnings.")
    version: str = Field(
        description="Version of the record's cells; send it back as If-Match on PATCH/DELETE "
        "to be refused (409) if the record changed since."
    )


# ------------------------------------------------------------------ conversions


def cell_text(value: object) -> str | None:
    """A JSON value as the CSV cell the importer would read."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)  # refused by the import rule ("not a number")
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def issue_errors(issues: list[Issue], prefix: str = "") -> list[FieldError]:
    """Import issues as API errors: the dictionary column is the field path."""
    out: list[FieldError] = []
    for i in issues:
        path = (prefix + i.column) if i.column else None
        out.append(
            FieldError(
                field=path,
                message=f"{path}: {i.reason}" if path else i.reason,
                value=json_safe(i.value),
                hint=i.severity if i.severity == "warning" else None,
            )
        )
    return out


def result_out(res: RecordResult) -> RecordOut:
    return RecordOut(
        entity=res.entity,
        id=res.locator,
        entity_id=res.entity_id,
        record={k: (v or None) for k, v in res.cells.items()},
        derived={k: json_safe(v) for k, v in res.derived.items()},
        changed=res.changed,
        warnings=issue_errors(res.warnings),
        version=res.version,
    )


def refused(err: RecordRefused) -> JSONResponse:
    return JSONResponse(body(issue_errors(err.errors)), status_code=422)


def conflict(err: RecordConflict) -> JSONResponse:
    return JSONResponse(body([FieldError(field=err.field, message=err.message)]), status_code=409)


def _run(action: Callable[[], RecordResult], status: int = 200) -> Any:
    try:
        res = action()
    except RecordNotFound as err:
        raise HTTPException(404, str(err)) from err
    except RecordRefused as err:
        return refused(err)
    except RecordConflict as err:
        return conflict(err)
    if status != 200:
        return JSONResponse(result_out(res).model_dump(mode="json"), status_code=status)
    return result_out(res)


def _require_parent(engine: Engine, parent_file: str, parent_id: str) -> None:
    try:
        require_record(engine, parent_file, parent_id)
    except RecordNotFound as err:
        raise HTTPException(404, str(err)) from err


# ------------------------------------------------------------------ route factories

Clinical = Annotated[Principal, Depends(clinical_user)]
Csrf = Annotated[None, Depends(require_csrf)]


def _add_create(name: str, path: str, parent: tuple[str, str] | None) -> None:
    """POST `path`: create a `name` record (its parent id, if any, from the URL)."""
    spec = FILES[name]
    model = create_model_for(spec, parent[1] if parent else None)
    summary = f"Add a {spec.form_label.lower()} record"
    doc = f"{summary}; validated like a {spec.filename} row of `renalpath import`, audited."

    if parent is None:

        def create_root(request: Request, principal: Clinical, _csrf: Csrf, data: model) -> Any:  # type: ignore[valid-type]
            cells = {k: cell_text(v) for k, v in data.model_dump().items()}  # type: ignore[attr-defined]
            return _run(
                lambda: create_record(
                    engine_of(request), name, cells, actor_of(principal.name), "added via the API"
                ),
                status=201,
            )

        endpoint: Callable[..., Any] = create_root
    else:
        parent_file, parent_col = parent

        def create_child(
            request: Request,
            parent_id: IdPath,
            principal: Clinical,
            _csrf: Csrf,
            data: model,  # type: ignore[valid-type]
        ) -> Any:
            engine = engine_of(request)
            _require_parent(engine, parent_file, parent_id)
            cells = {k: cell_text(v) for k, v in data.model_dump().items()}  # type: ignore[attr-defined]
            cells[parent_col] = parent_id
            return _run(
                lambda: create_record(
                    engine, name, cells, actor_of(principal.name), "added via the API"
                ),
                status=201,
            )

        endpoint = create_child
    router.add_api_route(
        path,
        endpoint,
        methods=["POST"],
        status_code=201,
        response_model=RecordOut,
        summary=summary,
        description=doc,
        name=f"create_{name}",
    )


def _add_item_routes(name: str, path: str, methods: tuple[str, ...]) -> None:
    """GET / PATCH / DELETE of one record at `path` (ids, or row ids for labs/events)."""
    spec = FILES[name]
    label = spec.form_label.lower()
    row_ids = name in ROW_FILES
    model = update_model_for(spec)

    def locator(raw: Locator) -> Locator:
        return int(raw) if row_ids else str(raw)

    # Labs, imaging and events are addressed by an integer row id, the rest by their text id;
    # FastAPI reads the evaluated annotation (no postponed annotations in this module).
    record_path = RowIdPath if row_ids else IdPath

    def get_one(request: Request, record_id: record_path, principal: Clinical) -> Any:  # type: ignore[valid-type]
        return _run(
            lambda: read_record(
                engine_of(request), name, locator(record_id), actor=actor_of(principal.name)
            )
        )

    def patch_one(
        request: Request,
        record_id: record_path,  # type: ignore[valid-type]
        principal: Clinical,
        _csrf: Csrf,
        data: model,  # type: ignore[valid-type]
        if_match: IfMatch = None,
    ) -> Any:
        given = data.model_dump(exclude_unset=True)  # type: ignore[attr-defined]
        reason = given.pop("reason")
        changes = {k: cell_text(v) for k, v in given.items()}
        return _run(
            lambda: update_record(
                engine_of(request),
                name,
                locator(record_id),
                changes,
                reason,
                actor_of(principal.name),
                if_match,
            )
        )

    def delete_one(
        request: Request,
        record_id: record_path,  # type: ignore[valid-type]
        principal: Clinical,
        _csrf: Csrf,
        body: DeleteBody,
        if_match: IfMatch = None,
    ) -> Any:
        return _run(
            lambda: delete_record(
                engine_of(request),
                name,
                locator(record_id),
                body.reason,
                actor_of(principal.name),
                if_match,
            )
        )

    endpoints: dict[str, Callable[..., Any]] = {
        "GET": get_one,
        "PATCH": patch_one,
        "DELETE": delete_one,
    }
    docs = {
        "GET": (
            f"Read one {label} record",
            "Canonical cells and derived values; the read is audited.",
        ),
        "PATCH": (
            f"Correct a {label} record",
            "Omitted fields stay; null blanks a field. Key "
            "columns cannot change. Validated like an import; audited old → new with "
            "the reason.",
        ),
        "DELETE": (
            f"Delete a {label} record",
            "Refused (409) while other records refer to "
            "it; the audit row keeps the deleted cells and the reason.",
        ),
    }
    for method in methods:
        summary, desc = docs[method]
        router.add_api_route(
            path,
            endpoints[method],
            methods=[method],
            response_model=RecordOut,
            summary=summary,
            description=desc,
            name=f"{method.lower()}_{name}",
        )


ALL = ("GET", "PATCH", "DELETE")

# Patients: GET /api/v1/patients/{id} (the whole record) lives in web.api.patients.
_add_create("patients", "/patients", None)
_add_item_routes("patients", "/patients/{record_id}", ("PATCH", "DELETE"))
_add_create("tumours", "/patients/{parent_id}/tumours", ("patients", "patient_id"))
_add_item_routes("tumours", "/tumours/{record_id}", ALL)
_add_create("imaging", "/tumours/{parent_id}/imaging", ("tumours", "tumour_id"))
_add_item_routes("imaging", "/imaging/{record_id}", ALL)
_add_create("interventions", "/patients/{parent_id}/interventions", ("patients", "patient_id"))
_add_item_routes("interventions", "/interventions/{record_id}", ALL)
_add_create(
    "pathology", "/interventions/{parent_id}/pathology", ("interventions", "intervention_id")
)
_add_item_routes("pathology", "/interventions/{record_id}/pathology", ALL)
_add_create("labs", "/patients/{parent_id}/labs", ("patients", "patient_id"))
# PATCH /api/v1/labs/{id} (value correction) lives in web.api.patients.
_add_item_routes("labs", "/labs/{record_id}", ("GET", "DELETE"))
_add_create("events", "/patients/{parent_id}/events", ("patients", "patient_id"))
_add_item_routes("events", "/events/{record_id}", ALL)
