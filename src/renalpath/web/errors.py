"""Errors in the web app, in one place: the shape, what the API documents, every handler.

One error shape for the whole API: `{"errors": [{"field": "a.b", "message": …}]}`.
Pydantic's validation errors, every expected failure (`renalpath.errors`: calculator refusals,
records not found, conflicts, a missing schema) and HTTP errors all end up in this shape, so
a script or the UI can put each problem next to the field it names.
Values are echoed back, made JSON-safe first: a NaN sent by a client must produce a 422 that
names it, never a 500 from the JSON encoder.

`install_handlers(app)` maps every exception a route may raise to its answer, so that no route
can leak a 500 or an HTML error page to an API client: anything under /api/ answers in the
error shape, the UI answers with a page (or a redirect to the login page). Expected failures
answer by kind (`expected_error`); anything else is a bug: a 500, its trace in the server log
(path masked: no patient ids). The error responses each API route documents are built here
too (`ERRORS`, `NO_REGISTRY`, `documented`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, Response

from renalpath.clinical.common import ClinicalInputError, Problem
from renalpath.errors import RenalpathError
from renalpath.registry.db import RegistryBusy
from renalpath.web import access_log
from renalpath.web.auth import LoginRequired
from renalpath.web.templating import render

# Unhandled errors are logged under the app's name, where operators look for them.
log = logging.getLogger("renalpath.web.app")


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


def documented(descriptions: Mapping[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these statuses (status → when), each with the one error body."""
    return {code: {"model": ErrorBody, "description": text} for code, text in descriptions.items()}


# The error responses the API documents. Every /api/v1 route can answer these:
ERRORS = documented(
    {
        400: "Body could not be decoded (not UTF-8 JSON)",
        401: "Not logged in, or the API token is invalid",
        403: "Role not allowed, or CSRF token missing",
        422: "Input refused; every problem names its field",
    }
)
# Routes that read or write the registry, on a server started without a database:
NO_REGISTRY = documented({503: "No registry database configured"})
# Others (404, 409, 413) are documented by the routes that give them, with `documented`.


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
    assert isinstance(exc, RenalpathError)
    status, errors = exc.http_status, fields_of(exc)
    if request.url.path.startswith("/api/") or isinstance(exc, ClinicalInputError):
        return JSONResponse(body(errors), status_code=status)
    return render(request, "error.html", {"status": status, "errors": errors}, status_code=status)


# --------------------------------------------------------------- every exception, answered


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _api_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        body([FieldError(field=None, message=message)]), status_code=status, headers=headers
    )


def install_handlers(app: FastAPI) -> None:
    """Every exception a route may raise, to its answer: JSON under /api/, a page elsewhere."""

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = from_pydantic(exc.errors(), strip=("body",))
        if _is_api(request):
            return JSONResponse(body(errors), status_code=422)
        return render(request, "error.html", {"status": 422, "errors": errors}, status_code=422)

    app.add_exception_handler(RenalpathError, expected_error)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.headers.get("hx-request") == "true":
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        return RedirectResponse(f"/login?next={target}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = str(exc.detail)
        headers = dict(exc.headers) if exc.headers else None
        if _is_api(request) or request.url.path == "/openapi.json":
            return _api_error(exc.status_code, detail, headers)
        errors = [FieldError(field=None, message=detail)]
        return render(
            request,
            "error.html",
            {"status": exc.status_code, "errors": errors},
            status_code=exc.status_code,
        )

    @app.exception_handler(RegistryBusy)
    async def registry_busy(request: Request, exc: RegistryBusy) -> Response:
        # Another writer (an import) held the write lock for the whole wait: retry later.
        headers = {"Retry-After": "30"}
        if _is_api(request):
            return _api_error(503, str(exc), headers)
        errors = [FieldError(field=None, message=str(exc))]
        page = render(request, "error.html", {"status": 503, "errors": errors}, status_code=503)
        page.headers.update(headers)
        return page

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        settings = getattr(request.app.state, "settings", None)
        key = settings.secret_key.encode() if settings is not None else b""
        path = access_log.mask_path(request.url.path, key)  # no patient ids in the log
        log.exception("unhandled error on %s %s", request.method, path)
        if _is_api(request):
            return _api_error(500, "internal error; the server log has the details")
        return HTMLResponse("<h1>Internal error</h1><p>The server log has the details.</p>", 500)
