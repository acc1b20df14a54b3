"""`create_app(settings)`: the one FastAPI application serving the API and the clinician UI.

It puts the pieces together: the middleware (body limits, sessions, security headers), the
error handlers (`errors.install_handlers`), the routers of `web/api/` and `web/pages/`, and
the routes of its own: the API description (`/openapi.json`, `/docs`) and `/healthz`.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_oauth2_redirect_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from pydantic.json_schema import models_json_schema
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import Response

import renalpath
from renalpath.web import access_log, api, pages, passwords
from renalpath.web.api import imports, pathway
from renalpath.web.auth import (
    AccountStore,
    LoginRequired,
    MemoryAccountStore,
    current_principal,
    login_throttle,
)
from renalpath.web.errors import install_handlers
from renalpath.web.limits import BodyLimitMiddleware, BodyLimits
from renalpath.web.security import SecurityHeadersMiddleware
from renalpath.web.settings import WebSettings, settings_from_env
from renalpath.web.templating import STATIC_DIR, render
from renalpath.web.upload_spool import SpoolCleanup

log = logging.getLogger(__name__)
SESSION_COOKIE = "renalpath_session"

DESCRIPTION = """
Clinical calculators and the guideline pathway of renalpath.

Authenticate with `Authorization: Bearer <token>` (scripts) or the session cookie of a logged-in
browser (then send the page's CSRF token as `X-CSRF-Token` on POST).  Errors are
`{"errors": [{"field": "a.b", "message": ...}]}` with the dotted path of each refused field.

Decision support for clinicians; not a certified medical device.
"""


def create_app(settings: WebSettings, accounts: AccountStore | None = None) -> FastAPI:
    """Build the app; `accounts` defaults to the registry database named by the settings."""
    app = FastAPI(
        title="renalpath",
        version=renalpath.__version__ if hasattr(renalpath, "__version__") else "0",
        description=DESCRIPTION,
        docs_url=None,  # our own /docs: vendored Swagger UI, no CDN, no inline script
        redoc_url=None,
        openapi_url=None,  # our own /openapi.json: behind login unless the settings open it
    )
    app.state.settings = settings
    passwords.use_hash_process(settings.hash_in_process)  # process-wide: one hash pool
    app.state.accounts = accounts if accounts is not None else _default_accounts(settings)
    app.state.throttle = login_throttle(settings, app.state.accounts)  # shared via the DB

    app.add_middleware(
        BodyLimitMiddleware,
        limits=BodyLimits(
            default_bytes=settings.max_body_bytes,
            upload_bytes=settings.max_upload_bytes + imports.MULTIPART_SLACK,
        ),
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=settings.session_max_age_s,
        same_site="lax",
        https_only=settings.https_only,
    )
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.https_only)
    app.add_middleware(SpoolCleanup)  # outermost: runs after every answer, even an error
    install_handlers(app)

    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    for router in (*api.routers(), *pages.routers()):
        app.include_router(router)

    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_document(request: Request) -> Response:
        """The API description; for logged-in users unless `open_docs` is set."""
        if not settings.open_docs and current_principal(request) is None:
            raise StarletteHTTPException(
                401,
                "log in (or send an API token) to read the API description",
                {"WWW-Authenticate": "Bearer"},
            )
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> Response:
        if not settings.open_docs and current_principal(request) is None:
            raise LoginRequired()
        return render(request, "docs.html")

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def docs_redirect() -> Response:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return RedirectResponse("/static/favicon.svg", status_code=301)

    @app.get("/healthz", include_in_schema=False)
    def health() -> dict[str, Any]:
        return {"status": "ok"}

    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, plus the Case model as the documented body of /recommend.

    The route itself takes a plain JSON object so that the pathway's own validation (with its
    cross-field checks and hints) is the only one, but clients should see the real schema.
    """
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    from renalpath.pathway import Case

    _, defs = models_json_schema(
        [(Case, "validation")], ref_template="#/components/schemas/{model}"
    )
    doc.setdefault("components", {}).setdefault("schemas", {}).update(defs.get("$defs", {}))
    body = doc["paths"]["/api/v1/recommend"]["post"]["requestBody"]["content"]
    body["application/json"]["schema"] = {"$ref": "#/components/schemas/Case"}
    app.openapi_schema = doc
    return doc


def app_from_env() -> FastAPI:
    """Factory for uvicorn worker processes (`renalpath serve --workers N`).

    Every worker must sign sessions with the same key, so `serve` puts one key into the
    environment before the workers start.
    """
    settings = settings_from_env()
    access_log.install(settings.secret_key)  # no patient ids in this worker's access log
    app = create_app(settings)
    pathway.warm_up()  # packs loaded before the first request; start-up heap frozen (see there)
    return app


def _default_accounts(settings: WebSettings) -> AccountStore:
    """Accounts from the registry database; an empty in-memory store when there is none."""
    if settings.database_url:
        from renalpath.web.accounts_store import SqlAccountStore

        return SqlAccountStore(settings.database_url)
    return MemoryAccountStore()
