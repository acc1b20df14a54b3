"""The concordance audit in the browser and the API (`renalpath audit concordance`).

The page shows what the CLI prints — rates overall, by year and by registry cT, the
partial-nephrectomy rate in cT1a, the most frequent missing inputs and the notes — with the
CLI's `--from`, `--to` and `--assume` as form fields. `GET /api/v1/concordance` answers the
CLI's `--json` document for the same query.

Roles: the rates are aggregate, so researchers may see them. The JSON's
`treatments` list, however, names patients, tumours and interventions one row each, so it is
given to clinicians and admins only; a researcher gets the same document without that key.

`assume` entries are checked against the case model before the audit runs: the CLI would let
a misspelt field through and every rebuilt case would then be refused, here the request is
refused with the field named.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.responses import Response

from renalpath.clinical.common import ClinicalInputError
from renalpath.errors import InvalidInput, Refusal
from renalpath.outcomes import board_concordance as board
from renalpath.outcomes.concordance import CATEGORIES, concordance_audit, parse_assumption
from renalpath.outcomes.frames import FramesError
from renalpath.outcomes.source import load_frames
from renalpath.pathway.case import Case
from renalpath.registry.board_cases import decided_cases
from renalpath.registry.db import SchemaError
from renalpath.web.api import ERRORS
from renalpath.web.auth import Principal, any_user
from renalpath.web.errors import ErrorBody, FieldError, body, messages_by_field
from renalpath.web.registry_access import engine_of
from renalpath.web.studies import Window, _window
from renalpath.web.templating import render

API_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    503: {"model": ErrorBody, "description": "No registry database configured"},
}
router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1", tags=["studies"], responses=API_ERRORS)

# Case fields the registry does not hold and the audit most often reports missing (the
# module notes of outcomes.concordance): offered on the page as form fields.
ASSUME_FIELDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("patient.fit_for_surgery", "Fit for surgery", ("true", "false")),
    ("patient.frail", "Frail or comorbid", ("true", "false")),
    ("patient.ecog", "ECOG performance status", ("0", "1", "2", "3", "4")),
    ("surgeon.pn_feasible", "Partial nephrectomy feasible", ("yes", "no", "unknown")),
    ("tumour.central", "Centrally located tumour", ("true", "false")),
)
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


def _assume_entries(request: Request) -> tuple[list[str], dict[str, str], str]:
    """`assume` entries from the page: the named fields, then one FIELD=VALUE per line."""
    params = request.query_params
    entries: list[str] = []
    chosen: dict[str, str] = {}
    for name, _, _choices in ASSUME_FIELDS:
        raw = params.get(name, "")
        if raw:
            chosen[name] = raw
            entries.append(f"{name}={raw}")
    more = params.get("more", "")
    entries += [line.strip() for line in more.splitlines() if line.strip()]
    entries += params.getlist("assume")
    return entries, chosen, more


@router.get("/studies/concordance")
def concordance_page(
    request: Request, principal: Annotated[Principal, Depends(any_user)]
) -> Response:
    errors: list[FieldError] = []
    raw_from, raw_to = request.query_params.get("from"), request.query_params.get("to")
    w = _window(raw_from, raw_to, errors)
    entries, chosen, more = _assume_entries(request)
    for name, _, choices in ASSUME_FIELDS:
        if name in chosen and chosen[name] not in choices:
            errors.append(
                FieldError(
                    field=name,
                    message=f"{name}: {chosen[name]!r} is not allowed",
                    value=chosen[name],
                    allowed=", ".join(choices),
                )
            )
            entries.remove(f"{name}={chosen[name]}")
    assumed = check_assumptions(entries, errors)
    form = {"from": raw_from or "", "to": raw_to or "", "more": more, **chosen}
    ctx: dict[str, Any] = {
        "form": form,
        "assume_fields": ASSUME_FIELDS,
        "categories": CATEGORIES,
        "doc": None,
    }
    if errors:
        ctx["errors"] = messages_by_field(errors)
        return render(request, "studies/concordance.html", ctx, status_code=422)
    try:
        doc = run_audit(request, w, assumed)
    except AuditRefused as err:
        ctx["errors"] = {"": [str(err)]}
        return render(request, "studies/concordance.html", ctx, status_code=422)
    query: list[tuple[str, str]] = [(k, v) for k, v in (("from", w.start), ("to", w.end)) if v]
    query += [("assume", f"{k}={request_value}") for k, request_value in _as_text(assumed)]
    ctx["doc"] = for_role(doc, principal)
    ctx["json_link"] = "/api/v1/concordance" + (f"?{urlencode(query)}" if query else "")
    ctx["top_missing"] = list(doc["missing_inputs"].items())[:10]
    ctx["board"] = board_decisions(request, w)
    ctx["board_categories"] = board.CATEGORIES
    ctx["board_rows"] = principal.role in ("admin", "clinician")  # rows name patients
    return render(request, "studies/concordance.html", ctx)


def board_decisions(request: Request, w: Window) -> board.BoardConcordance:
    """The tumour board's recorded decisions in the window, each against the pathway."""
    start = dt.date.fromisoformat(w.start) if w.start else None
    end = dt.date.fromisoformat(w.end) if w.end else None
    return board.board_concordance(decided_cases(engine_of(request), start=start, end=end))


def _as_text(assumed: dict[str, Any]) -> list[tuple[str, str]]:
    return [(k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in assumed.items()]


@api_router.get("/concordance")
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
    w = _window(request.query_params.get("from"), request.query_params.get("to"), errors)
    assumed = check_assumptions(assume or [], errors)
    if errors:
        return JSONResponse(body(errors), status_code=422)
    try:
        doc = run_audit(request, w, assumed)
    except AuditRefused as err:
        return JSONResponse(body([FieldError(field=None, message=str(err))]), status_code=422)
    return JSONResponse(for_role(doc, principal))
