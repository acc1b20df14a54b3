"""The JSON API under /api/v1: one router module per resource (docs/architecture.md).

Every route here is in the OpenAPI document, answers errors in the one shape of `web/errors.py`
and takes its dependencies (caller and role, CSRF, registry engine) from `web/deps.py`. What
a resource's page shares with its API (query checks, running a study, reading a record) lives
in the resource's module here; the pages import it, never the other way round.
"""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    """Every API router, in the order the app matches them: recommend (the hot path) first."""
    from renalpath.web.api import (
        accounts,
        calculators,
        concordance,
        exports,
        fhir,
        imports,
        pathway,
        patients,
        records,
        schema,
        studies,
    )

    return [
        pathway.router,  # POST /recommend
        accounts.router,  # GET /me
        calculators.router,  # GET /calc, POST /calc/<name>
        schema.router,  # GET /schema/case
        studies.router,  # GET /studies/salvage|survival
        patients.router,  # GET /patients, /patients/{id}; PATCH /labs/{id}
        records.router,  # /<table> and /<table>/{id}: create, read, correct, delete
        fhir.router,  # /fhir/...
        imports.router,  # POST /import, GET /import/jobs/{id}
        exports.router,  # GET /export, /export/deidentified
        concordance.router,  # GET /concordance
    ]
