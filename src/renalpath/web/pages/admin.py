"""Admin pages: list users, add one, (de)activate, issue and revoke API tokens.

Every change names the acting admin (`web:<name>`) and a reason, which the database store
writes to the audit trail.  A new token is shown once, on the page that created it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from renalpath.registry.accounts import ROLES, AccountError
from renalpath.web.auth import Principal
from renalpath.web.deps import admin_user, require_csrf, settings_of
from renalpath.web.templating import render
from renalpath.web.workers import in_hash_pool

router = APIRouter(prefix="/admin", include_in_schema=False)


def _actor(principal: Principal) -> str:
    return f"web:{principal.name}"


def _page(
    request: Request, status: int = 200, error: str | None = None, **extra: object
) -> Response:
    store = request.app.state.accounts
    users, tokens = store.list_users(), store.list_tokens()
    ctx = {"users": users, "tokens": tokens, "roles": ROLES, "error": error, "form": {}, **extra}
    return render(request, "admin/users.html", ctx, status_code=status)


def _field_of(error: str) -> str | None:
    """The add-user input a refusal is about (marked on the form)."""
    if error.startswith("password"):
        return "password"
    if error.startswith("user"):
        return "name"
    if error.startswith("role"):
        return "role"
    return None


@router.get("/users")
def users_page(request: Request, _: Annotated[Principal, Depends(admin_user)]) -> Response:
    return _page(request)


@router.post("/users", dependencies=[Depends(require_csrf)])
async def users_add(
    request: Request, principal: Annotated[Principal, Depends(admin_user)]
) -> Response:
    form = await request.form()
    name, role = str(form.get("name") or ""), str(form.get("role") or "")
    password, reason = str(form.get("password") or ""), str(form.get("reason") or "")
    store = request.app.state.accounts
    try:
        await in_hash_pool(
            lambda: store.create_user(
                name, role, password, _actor(principal), reason or "added on the admin page"
            )
        )
    except AccountError as err:
        form_values = {"name": name, "role": role, "reason": reason}
        return _page(request, 422, str(err), form=form_values, error_field=_field_of(str(err)))
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/users/{name}/active", dependencies=[Depends(require_csrf)])
async def users_active(
    request: Request, name: str, principal: Annotated[Principal, Depends(admin_user)]
) -> Response:
    form = await request.form()
    active = form.get("active") == "true"
    reason = str(form.get("reason") or "") or ("reactivated" if active else "deactivated")
    if name == principal.name and not active:
        return _page(request, 422, "you cannot deactivate your own account")
    try:
        request.app.state.accounts.set_active(name, active, _actor(principal), reason)
    except AccountError as err:
        return _page(request, 422, str(err))
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/users/{name}/token", dependencies=[Depends(require_csrf)])
async def users_token(
    request: Request, name: str, principal: Annotated[Principal, Depends(admin_user)]
) -> Response:
    form = await request.form()
    label = str(form.get("label") or "script")[:64]
    try:
        token = request.app.state.accounts.issue_token(
            name,
            label,
            _actor(principal),
            "token issued on the admin page",
            settings_of(request).token_max_age_days,
        )
    except AccountError as err:
        return _page(request, 422, str(err))
    return _page(request, new_token={"user": name, "label": label, "token": token})


@router.post("/tokens/{token_id}/revoke", dependencies=[Depends(require_csrf)])
async def token_revoke(
    request: Request, token_id: int, principal: Annotated[Principal, Depends(admin_user)]
) -> Response:
    """Revoke one API token; the user's other tokens keep working."""
    try:
        request.app.state.accounts.revoke_token(
            token_id, _actor(principal), "token revoked on the admin page"
        )
    except AccountError as err:
        return _page(request, 404, str(err))
    return RedirectResponse("/admin/users", status_code=303)
