"""The clinician UI: one router module of HTML pages per area (docs/architecture.md).

Pages are server-rendered (Jinja2 templates in web/templates/, htmx for partial updates) and
left out of the OpenAPI document. A page takes what it shows from its resource's API module
(`web/api/<resource>.py`) or from the shared modules of web/, never the reverse.
"""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    """Every page router, in the order the app matches them."""
    from renalpath.web.pages import (
        account,
        admin,
        audit,
        board,
        calculators,
        case,
        concordance,
        exports,
        imports,
        patients,
        records,
        studies,
    )

    return [
        account.router,  # /login, /logout, /account/password, /
        calculators.router,  # /calculators, /calculators/<name>
        case.router,  # /case: the case-evaluation form and its sheet
        admin.router,  # /admin/...: users and API tokens
        studies.router,  # /studies/salvage, /studies/survival
        patients.router,  # /patients, /patients/{id}, lab corrections
        records.router,  # /patients/{id}/add/..., /patients/{id}/records/...
        audit.router,  # /audit
        board.router,  # /patients/{id}/evaluate, /cases/..., /board
        imports.router,  # /import, /import/jobs/{id}
        exports.router,  # /export
        concordance.router,  # /studies/concordance
    ]
