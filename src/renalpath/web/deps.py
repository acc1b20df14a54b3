"""What a route may ask for, in one place: the caller and their role, the CSRF check, the
registry engine and the settings.

Routes declare these as FastAPI dependencies (`Depends(clinical_user)`,
`dependencies=[Depends(require_csrf)]`) or call them with the request. Who the caller is comes
from `auth` (session cookie or API token); the CSRF token itself from `security`.

- `any_user`, `clinical_user`, `admin_user` (`require_roles(...)` makes others): the caller
  must be logged in with one of the roles; anonymous API calls get 401, anonymous pages a
  redirect to the login page, a role not allowed 403.
- `require_csrf`: state-changing requests made with the session cookie must echo the
  session's CSRF token (form field or header); API-token calls need none.
- `engine_of(request)`: the registry engine of this app, opened once and shared by all
  requests; 503 with a clear message when the server was started without a database.
- `settings_of(request)`: this app's `WebSettings`.
- `actor_of(name)`: how a web user is named in the audit trail.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Awaitable, Callable, Iterable

from fastapi import HTTPException, Request
from sqlalchemy import Engine

from renalpath.registry.db import make_engine
from renalpath.web import upload_spool
from renalpath.web.auth import (
    ROLES,
    LoginRequired,
    Principal,
    Role,
    bearer_token,
    current_principal,
)
from renalpath.web.limits import UPLOAD_PATHS
from renalpath.web.security import CSRF_FIELD, CSRF_HEADER, SAFE_METHODS
from renalpath.web.settings import WebSettings

_LOCK = threading.Lock()


# ----------------------------------------------------------------------- caller and role


def require_roles(*roles: Role) -> Callable[[Request], Awaitable[Principal]]:
    """Dependency factory: the caller must be logged in and hold one of `roles`.

    async on purpose: a sync dependency costs a thread hand-off on every request, more than
    the indexed account lookup it performs.
    """
    allowed: Iterable[Role] = roles or ROLES

    async def dependency(request: Request) -> Principal:
        principal = current_principal(request)
        if principal is None:
            if request.url.path.startswith("/api/"):
                raise HTTPException(401, "authentication required", {"WWW-Authenticate": "Bearer"})
            raise LoginRequired()
        if principal.role not in allowed:
            raise HTTPException(403, f"role {principal.role!r} may not use this")
        return principal

    return dependency


any_user = require_roles(*ROLES)
clinical_user = require_roles("admin", "clinician")
admin_user = require_roles("admin")


# ---------------------------------------------------------------------------------- CSRF


async def require_csrf(request: Request) -> None:
    """Dependency for state-changing routes reached with the session cookie."""
    if request.method in SAFE_METHODS or bearer_token(request) is not None:
        return
    expected = request.session.get("csrf")
    supplied = request.headers.get(CSRF_HEADER)
    if supplied is None:
        ctype = request.headers.get("content-type", "")
        if request.url.path in UPLOAD_PATHS and upload_spool.is_multipart(request):
            # an upload: streamed to disk and read once (the route reads the same form)
            supplied = (await _multipart_fields(request)).get(CSRF_FIELD)
        elif ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(CSRF_FIELD)
            supplied = value if isinstance(value, str) else None
    if not isinstance(expected, str) or not supplied or not hmac.compare_digest(expected, supplied):
        raise HTTPException(403, "CSRF token missing or invalid; reload the page and try again")


async def _multipart_fields(request: Request) -> dict[str, str]:
    """The text fields of a multipart form, its file parts spooled (`upload_spool.form_of`).

    A refused upload (too large, malformed) still yields the fields read before the refusal:
    the CSRF token comes first in the page's form, and the route then gives the refusal.
    """
    try:
        form = await upload_spool.form_of(request, settings_of(request).max_upload_bytes)
    except upload_spool.FormRefused as err:
        return err.fields
    return form.fields


# ---------------------------------------------------------------------- registry, settings


def settings_of(request: Request) -> WebSettings:
    """The settings of the app serving this request."""
    settings: WebSettings = request.app.state.settings
    return settings


def engine_of(request: Request) -> Engine:
    """The app's registry engine (created on first use; one pool per app)."""
    state = request.app.state
    engine: Engine | None = getattr(state, "registry_engine", None)
    if engine is not None:
        return engine
    url = settings_of(request).database_url
    if not url:
        raise HTTPException(503, "no registry database configured (set RENALPATH_DATABASE_URL)")
    with _LOCK:
        engine = getattr(state, "registry_engine", None)
        if engine is None:
            engine = make_engine(url)
            state.registry_engine = engine
    return engine


def actor_of(name: str) -> str:
    """Audit actor for a web user, the same form the admin pages use."""
    return f"web:{name}"
