"""The Jinja2 environment and the context every page gets (user, CSRF token, navigation)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from renalpath.web import labels
from renalpath.web.auth import current_principal
from renalpath.web.security import csrf_token

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

templates = Jinja2Templates(directory=str(TEMPLATE_DIR))
labels.register(templates.env)

NAV: tuple[tuple[str, str], ...] = (
    ("/case", "Case evaluation"),
    ("/calculators", "Calculators"),
    ("/docs", "API"),
)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    try:
        principal = current_principal(request)
    except Exception:  # an invalid bearer token on an HTML page: show it as anonymous
        principal = None
    ctx: dict[str, Any] = {
        "principal": principal,
        "csrf_token": csrf_token(request),
        "nav": NAV,
        "path": request.url.path,
        "title": request.app.state.settings.title,
        "demo": request.app.state.settings.demo,
    }
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)
