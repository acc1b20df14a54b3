"""Clinician UI: login, calculators and case evaluation (server-rendered, htmx-enhanced).

Every form works without JavaScript (a normal POST re-renders the whole page); with htmx the
same route returns only the fragment that changed (`HX-Request` header).  Errors are shown
next to the input whose `name` equals the error's field path.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from renalpath.clinical.common import ClinicalInputError
from renalpath.pathway import CaseValidationError, recommend
from renalpath.registry.accounts import AccountError
from renalpath.web import case_form
from renalpath.web.auth import (
    Principal,
    any_user,
    current_principal,
    start_session,
)
from renalpath.web.calculators import CALCULATORS
from renalpath.web.case_errors import clinical_errors
from renalpath.web.errors import FieldError, from_problems, from_pydantic, messages_by_field
from renalpath.web.forms import compact, fields_of, form_to_data
from renalpath.web.registry_access import actor_of
from renalpath.web.security import require_csrf
from renalpath.web.templating import is_htmx, render
from renalpath.web.workers import in_hash_pool

router = APIRouter(include_in_schema=False)
LIVE_FIELD = "_live"  # sent by htmx when a calculator recomputes on change (not on submit)


def _safe_next(target: str | None) -> str:
    """Only local paths: an open redirect after login would be a phishing aid."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


# ----------------------------------------------------------------------------------- login


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", {"next": _safe_next(next), "error": None, "name": ""})


@router.post("/login", dependencies=[Depends(require_csrf)])
async def login(request: Request) -> Response:
    form = await request.form()
    name = str(form.get("username") or "").strip()
    password = str(form.get("password") or "")
    target = _safe_next(str(form.get("next") or "/"))
    address = request.client.host if request.client else "unknown"
    throttle = request.app.state.throttle
    accounts = request.app.state.accounts

    def check() -> tuple[int, Principal | None]:
        # In a worker thread: Argon2 is slow on purpose, and the throttle counts in the DB.
        wait = throttle.begin(name, address)
        if wait:
            return wait, None
        found = accounts.authenticate(name, password) if name else None
        if found is not None:
            throttle.succeeded(name, address)
        return 0, found

    wait, principal = await in_hash_pool(check)
    if wait:
        when = f"{wait} s" if wait < 120 else f"about {round(wait / 60)} min"
        msg = f"Too many failed attempts: try again in {when}."
        resp = render(
            request, "login.html", {"next": target, "error": msg, "name": name}, status_code=429
        )
        resp.headers["Retry-After"] = str(wait)
        return resp
    if principal is None:
        return render(
            request,
            "login.html",
            {"next": target, "error": "Unknown user name or wrong password.", "name": name},
            status_code=401,
        )
    start_session(request, principal)  # fresh session (and CSRF token) for the new identity
    return RedirectResponse(target, status_code=303)


@router.post("/logout", dependencies=[Depends(require_csrf)])
async def logout(request: Request) -> Response:
    """End this session and every other session of the user (cookies copied elsewhere too)."""
    principal = current_principal(request)
    if principal is not None and principal.via == "session":
        store = request.app.state.accounts
        await run_in_threadpool(store.end_sessions, principal.user_id)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/account/password")
def password_page(request: Request, _: Annotated[Principal, Depends(any_user)]) -> Response:
    return render(request, "account_password.html", {"error": None, "done": False})


@router.post("/account/password", dependencies=[Depends(require_csrf)])
async def password_change(
    request: Request, principal: Annotated[Principal, Depends(any_user)]
) -> Response:
    """Change one's own password: every other session and every API token of the user end."""
    form = await request.form()
    current, new = str(form.get("current") or ""), str(form.get("new") or "")
    error: str | None = None
    if new != str(form.get("confirm") or ""):
        error = "confirm: the two new passwords differ"
    elif principal.via != "session":
        error = "log in with the browser to change the password"
    else:
        store = request.app.state.accounts
        try:
            version = await in_hash_pool(
                lambda: store.change_password(
                    principal.name, current, new, actor_of(principal.name), "password changed"
                )
            )
        except AccountError as err:
            error = str(err)
    if error is not None:
        ctx = {"error": error, "done": False, "error_field": _password_field(error)}
        return render(request, "account_password.html", ctx, status_code=422)
    start_session(request, replace(principal, session_version=version))  # this browser stays
    return render(request, "account_password.html", {"error": None, "done": True})


def _password_field(error: str) -> str | None:
    """The input a password-change refusal is about (marked on the form)."""
    if error.startswith("confirm:"):
        return "confirm"
    if error.startswith("current password"):
        return "current"
    if error.startswith("password:"):
        return "new"
    return None


@router.get("/")
def home(request: Request) -> Response:
    if current_principal(request) is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "home.html", {"calculators": CALCULATORS.values()})


# ----------------------------------------------------------------------------- calculators


@router.get("/calculators")
def calculators_index(request: Request, _: Annotated[Principal, Depends(any_user)]) -> Response:
    return render(request, "calculators/index.html", {"calculators": CALCULATORS.values()})


def _calculator(name: str) -> Any:
    calc = CALCULATORS.get(name)
    if calc is None:
        raise HTTPException(404, f"no calculator named {name!r}")
    return calc


@router.get("/calculators/{name}")
def calculator_page(
    request: Request, name: str, _: Annotated[Principal, Depends(any_user)]
) -> Response:
    calc = _calculator(name)
    fields = fields_of(calc.request)
    values = {f.name: f.default for f in fields}
    return render(
        request,
        "calculators/page.html",
        {
            "calc": calc,
            "fields": fields,
            "values": values,
            "errors": {},
            "pending": [],
            "result": None,
            "spec": calc.spec,
        },
    )


@router.post("/calculators/{name}", dependencies=[Depends(require_csrf)])
async def calculator_submit(
    request: Request, name: str, _: Annotated[Principal, Depends(any_user)]
) -> Response:
    calc = _calculator(name)
    fields = fields_of(calc.request)
    form = await request.form()
    data, problems = form_to_data(form, fields)
    errors: list[FieldError] = from_problems(problems)
    result: dict[str, Any] | None = None
    spec = calc.spec
    # Validate the rest even when some inputs did not parse, so every problem shows at once;
    # a field that failed to parse is not reported a second time as "missing".
    later: list[FieldError] = []
    try:
        req = calc.request.model_validate(data)
        spec = calc.spec_for(req)
        result = calc.run(req)
    except ValidationError as err:
        later = from_pydantic(err.errors())
    except ClinicalInputError as err:
        later = from_problems(err.problems)
    bad = {e.field for e in errors}
    errors += [e for e in later if e.field not in bad]
    if errors:
        result = None
    values = {f.name: form.get(f.name, "") for f in fields}
    pending: list[str] = []
    if form.get(LIVE_FIELD) == "1":
        # Recomputed while typing: an input not filled in yet is not an error to shout about.
        pending = [
            e.field for e in errors if e.field and e.value is None and not values.get(e.field)
        ]
        errors = [e for e in errors if e.field not in pending]
    context = {
        "calc": calc,
        "fields": fields,
        "values": values,
        "errors": messages_by_field(errors),
        "pending": [f.label for f in fields if f.name in pending],
        "result": result,
        "headline": calc.headline(result) if result else None,
        "spec": spec,
    }
    template = "calculators/_body.html" if is_htmx(request) else "calculators/page.html"
    return render(
        request, template, context, status_code=200 if result or is_htmx(request) else 422
    )


# ------------------------------------------------------------------------- case evaluation
# Researchers may use the blank form (no patient data is read or kept); saving a case and
# building one from a registry patient are clinical work (board_views).


def case_context(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "sections": case_form.SECTIONS,
        "values": values,
        "errors": {},
        "error_list": [],
        "result": None,
        "groups": [],
        "derived": None,
        "case_actions": None,
        "open_sections": {
            s.key
            for s in case_form.SECTIONS
            if any(values.get(f.name) and f.default != values.get(f.name) for f in s.fields)
        },
    }


def _form_values(form: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in case_form.ALL_FIELDS:
        out[f.name] = form.getlist(f.name) if f.kind == "multi" else form.get(f.name, "")
    return out


def evaluate_form(form: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Context of the case page for submitted form values, and the case data they make."""
    data, problems = case_form.form_data(form)
    data = compact(data)
    ctx = case_context(_form_values(form))
    return evaluate_data(ctx, data, problems), data


def evaluate_data(
    ctx: dict[str, Any], data: dict[str, Any], problems: list[Any] | None = None
) -> dict[str, Any]:
    """Run the pathway on `data`; refusals go to `errors` in clinical words, per field."""
    problems = list(problems or [])
    ctx["derived"] = case_form.derived_items(data)
    ctx["case"] = data
    result: dict[str, Any] | None = None
    try:
        result = recommend(data).to_dict()
    except CaseValidationError as err:
        problems += err.problems  # form-level and model-level problems shown together
    if problems:
        errors = clinical_errors(problems)
        ctx["errors"] = messages_by_field(errors)
        ctx["error_list"] = errors
        return ctx
    ctx["result"] = result
    ctx["groups"] = case_form.group_options(result["options"]) if result else []
    return ctx


@router.get("/case")
def case_page(request: Request, _: Annotated[Principal, Depends(any_user)]) -> Response:
    values = {f.name: f.default for f in case_form.ALL_FIELDS}
    return render(request, "case/page.html", case_context(values))


@router.post("/case", dependencies=[Depends(require_csrf)])
async def case_evaluate(request: Request, _: Annotated[Principal, Depends(any_user)]) -> Response:
    ctx, _data = evaluate_form(await request.form())
    status = 422 if ctx["errors"] and not is_htmx(request) else 200
    template = "case/_result.html" if is_htmx(request) else "case/page.html"
    return render(request, template, ctx, status_code=status)


@router.post("/case/derived", dependencies=[Depends(require_csrf)])
async def case_derived(request: Request, _: Annotated[Principal, Depends(any_user)]) -> Response:
    form = await request.form()
    data, problems = case_form.form_data(form)
    return render(
        request,
        "case/_derived.html",
        {
            "derived": case_form.derived_items(compact(data)),
            "input_problems": [e.message for e in clinical_errors(problems)],
        },
    )


@router.get("/case/sheet")
def case_sheet_get(_: Annotated[Principal, Depends(any_user)]) -> Response:
    """The sheet is made from a submitted form; a reload or the back button lands on the form."""
    return RedirectResponse("/case", status_code=303)


@router.post("/case/sheet", dependencies=[Depends(require_csrf)])
async def case_sheet(
    request: Request, principal: Annotated[Principal, Depends(any_user)]
) -> Response:
    ctx, _data = evaluate_form(await request.form())
    if ctx["result"] is None:
        return render(request, "case/page.html", ctx, status_code=422)
    ctx["prepared_by"] = principal.name
    ctx["back_url"] = "/case"
    return render(request, "case/sheet.html", ctx)
