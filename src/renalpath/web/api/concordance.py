"""The concordance audit in the API: `GET /api/v1/concordance` answers the `--json` document
of `renalpath audit concordance` for the same query; the audit page (`pages/concordance.py`)
runs it with the same checks and role rules, which live here.

Roles: the rates are aggregate, so researchers may see them. The JSON's
`treatments` list, however, names patients, tumours and interventions one row each, so it is
given to clinicians and admins only; a researcher gets the same document without that key.

`assume` entries are checked against the case model before the audit runs: the CLI would let
a misspelt field through and every rebuilt case would then be refused, here the request is
refused with the field named.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.responses import Response

from renalpath.clinical.common import ClinicalInputError
from renalpath.errors import InvalidInput, Refusal
from renalpath.outcomes.concordance import concordance_audit, parse_assumption
from renalpath.outcomes.source import load_frames
from renalpath.pathway.case import Case
from renalpath.registry.db import SchemaError
from renalpath.registry.frames import FramesError
from renalpath.web.api.studies import Window, parse_window
from renalpath.web.auth import Principal
from renalpath.web.deps import any_user, engine_of
from renalpath.web.errors import ERRORS, NO_REGISTRY, FieldError, body

API_ERRORS = {**ERRORS, **NO_REGISTRY}
router = APIRouter(prefix="/api/v1", tags=["studies"], responses=API_ERRORS)

MAX_ASSUMPTIONS = 50  # [P] bound on query size; the case model has fewer settable leaves


def _nested(path: str, value: Any) -> dict[str, Any]:
    node: Any = value
    for part in reversed(path.split(".")):
        node = {part: node}
    out: dict[str, Any] = node
    return out


def check_assumptions(entries: Iterable[str], errors: list[FieldError]) -> dict[str, Any]:
    """Parse and validate `assume` entries; problems go to `errors` with field `assume`."""
    assumed: dict[str, Any] = {}
    items = list(entries)
    if len(items) > MAX_ASSUMPTIONS:
        errors.append(
            FieldError(
                field="assume",
                message=f"assume: {len(items)} entries (allowed: at most {MAX_ASSUMPTIONS})",
            )
        )
        return {}
    for text in items:
        try:
            path, value = parse_assumption(text)
        except InvalidInput as err:
            errors.append(FieldError(field="assume", message=f"assume: {err}", value=text))
            continue
        try:
            Case.model_validate(_nested(path, value))
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            errors.append(
                FieldError(
                    field="assume",
                    message=f"assume: {text!r}: {where}: {first['msg']}",
                    value=text,
                )
            )
            continue
        assumed[path] = value
    return assumed


class AuditRefused(Refusal):
    """The registry holds values the audit cannot use (the CLI's exit-1 refusal)."""


def run_audit(request: Request, w: Window, assumed: dict[str, Any]) -> dict[str, Any]:
    try:
        frames = load_frames(engine_of(request), w.start, w.end)
        audit = concordance_audit(frames, window_from=w.start, window_to=w.end, assume=assumed)
        return audit.to_json_dict()
    except SchemaError as err:
        raise HTTPException(503, str(err)) from err
    except (ClinicalInputError, FramesError) as err:
        raise AuditRefused(f"registry data cannot be analysed: {err}") from err


def for_role(doc: dict[str, Any], principal: Principal) -> dict[str, Any]:
    """The CLI document; without the per-treatment rows (they name patients) for researchers."""
    if principal.role in ("admin", "clinician"):
        return doc
    return {k: v for k, v in doc.items() if k != "treatments"}


@router.get("/concordance")
def concordance_api(
    request: Request,
    principal: Annotated[Principal, Depends(any_user)],
    assume: Annotated[
        list[str] | None,
        Query(
            description="FIELD=VALUE stated for every case (repeatable), as the CLI's --assume, "
            "e.g. patient.fit_for_surgery=true"
        ),
    ] = None,
) -> Response:
    """`renalpath audit concordance --json`; query `from`, `to` (YYYY-MM-DD), `assume`.

    Researchers get the document without `treatments` (per-patient rows)."""
    errors: list[FieldError] = []
    w = parse_window(request.query_params.get("from"), request.query_params.get("to"), errors)
    assumed = check_assumptions(assume or [], errors)
    if errors:
        return JSONResponse(body(errors), status_code=422)
    try:
        doc = run_audit(request, w, assumed)
    except AuditRefused as err:
        return JSONResponse(body([FieldError(field=None, message=str(err))]), status_code=422)
    return JSONResponse(for_role(doc, principal))
