"""Signing in and out, changing one's own password, and the home page.

The login is throttled (`auth.login_throttle`) and checked in the hash pool (Argon2 is slow on
purpose); a new session (and CSRF token) starts for every new identity.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from renalpath.calculators import all_calculators
from renalpath.registry.accounts import AccountError
from renalpath.web.auth import Principal, current_principal, start_session
from renalpath.web.deps import actor_of, any_user, require_csrf
from renalpath.web.templating import render
from renalpath.web.workers import in_hash_pool

CALCULATORS = all_calculators()

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only local paths: an open redirect after login would be a phishing aid."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


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
