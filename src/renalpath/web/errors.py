"""One error shape for the whole API: `{"errors": [{"field": "a.b", "message": …}]}`.

Pydantic's validation errors, every expected failure (`renalpath.errors`: calculator refusals,
records not found, conflicts, a missing schema) and HTTP errors all end up in this shape, so
a script or the UI can put each problem next to the field it names.
Values are echoed back, made JSON-safe first: a NaN sent by a client must produce a 422 that
names it, never a 500 from the JSON encoder.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.responses import Response

from renalpath.clinical.common import ClinicalInputError, Problem
from renalpath.errors import RenalpathError


class FieldError(BaseModel):
    """One problem, named by the dotted path of its field (null for the request as a whole)."""

    field: str | None
    message: str
    value: Any = None
    allowed: str | None = None
    hint: str | None = None


class ErrorBody(BaseModel):
    errors: list[FieldError]


def json_safe(value: object, depth: int = 0) -> Any:
    """A JSON-encodable copy of a submitted value (non-finite floats become strings)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if depth < 4 and isinstance(value, Mapping):
        return {str(k): json_safe(v, depth + 1) for k, v in list(value.items())[:50]}
    if depth < 4 and isinstance(value, list | tuple):
        return [json_safe(v, depth + 1) for v in value[:50]]
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "…"


def loc_path(loc: Sequence[int | str]) -> str:
    """("tumour", "renal", "ap") → "tumour.renal.ap"; list indices as "metastases[0].organ"."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def from_problems(problems: Iterable[Problem], prefix: str = "") -> list[FieldError]:
    return [
        FieldError(
            field=(prefix + p.field) if p.field else None,
            message=p.message(),
            value=json_safe(p.value),
            allowed=p.allowed,
            hint=p.hint,
        )
        for p in problems
    ]


def from_pydantic(
    errors: Iterable[Mapping[str, Any]], strip: tuple[str, ...] = ()
) -> list[FieldError]:
    """Map pydantic error dicts to FieldErrors; `strip` drops leading loc parts like "body"."""
    out: list[FieldError] = []
    for err in errors:
        loc = list(err.get("loc", ()))
        while loc and loc[0] in strip:
            loc.pop(0)
        path = loc_path(loc) or None
        kind = err.get("type", "")
        message = str(err.get("msg", "invalid"))
        if kind == "extra_forbidden":
            message = "unknown field"
        elif kind == "json_invalid":
            path = None
            message = "request body is not valid JSON: " + str(err.get("ctx", {}).get("error", ""))
        out.append(
            FieldError(
                field=path,
                message=f"{path}: {message}" if path else message,
                value=None if kind in ("missing", "json_invalid") else json_safe(err.get("input")),
            )
        )
    return out


def body(errors: list[FieldError]) -> dict[str, Any]:
    return ErrorBody(errors=errors).model_dump(mode="json")


def messages_by_field(errors: Iterable[FieldError]) -> dict[str, list[str]]:
    """For templates: field path → messages ("" collects errors that name no field)."""
    out: dict[str, list[str]] = {}
    for err in errors:
        out.setdefault(err.field or "", []).append(err.message)
    return out


# ------------------------------------------------------- what the API documents, and refusals

# Error responses every /api/v1 route documents in the OpenAPI description.
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Body could not be decoded (not UTF-8 JSON)"},
    401: {"model": ErrorBody, "description": "Not logged in, or the API token is invalid"},
    403: {"model": ErrorBody, "description": "Role not allowed, or CSRF token missing"},
    422: {"model": ErrorBody, "description": "Input refused; every problem names its field"},
}


def refusal(err: ClinicalInputError, prefix: str = "") -> JSONResponse:
    """A calculator's or the pathway's refusal as the API's 422 answer, by field."""
    return JSONResponse(body(from_problems(err.problems, prefix)), status_code=422)


# ------------------------------------------------------------- expected failures, by kind


def fields_of(exc: RenalpathError) -> list[FieldError]:
    """The problems an expected failure carries, as FieldErrors (by field where it names one)."""
    if isinstance(exc, ClinicalInputError):
        return from_problems(exc.problems)
    return [FieldError(field=None, message=m) for m in exc.messages()]


async def expected_error(request: Request, exc: Exception) -> Response:
    """The web app's one handler for `RenalpathError`: its kind gives the HTTP status.

    Refusals 422, not found 404, conflict 409, schema missing 503 (see `renalpath.errors`).
    API paths (and a calculator refusal anywhere, as before) get the JSON error body; pages get
    the error page. Anything that is not a `RenalpathError` never reaches here: it is a bug and
    ends as a 500 with its trace in the server log.
    """
    from renalpath.web.templating import render

    assert isinstance(exc, RenalpathError)
    status, errors = exc.http_status, fields_of(exc)
    if request.url.path.startswith("/api/") or isinstance(exc, ClinicalInputError):
        return JSONResponse(body(errors), status_code=status)
    return render(request, "error.html", {"status": status, "errors": errors}, status_code=status)
