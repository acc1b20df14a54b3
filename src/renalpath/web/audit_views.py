"""`/audit`: recent rows of the hash-chained audit trail, filtered by entity and id.

Admins and clinicians only: rows carry patient ids and old/new values.  Reads go through
`registry.audit.log_rows` (newest first), the same as `renalpath audit log`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field
from starlette.responses import Response

from renalpath.registry.audit import log_rows
from renalpath.web.auth import Principal, clinical_user
from renalpath.web.registry_access import engine_of
from renalpath.web.templating import render

router = APIRouter(include_in_schema=False)
ENTITIES = (
    "patients", "tumours", "imaging", "interventions", "pathology", "complications", "labs",
    "events", "board_cases", "users",
)  # fmt: skip


@router.get("/audit")
def audit_page(
    request: Request,
    _: Annotated[Principal, Depends(clinical_user)],
    entity: str | None = None,
    entity_id: Annotated[str | None, Field(max_length=400)] = None,
    limit: Annotated[int, Field(ge=1, le=1000)] = 100,
) -> Response:
    rows: list[dict[str, Any]] = list(
        log_rows(engine_of(request), entity or None, (entity_id or "").strip() or None, limit)
    )
    ctx = {
        "rows": rows,
        "entities": ENTITIES,
        "form": {"entity": entity or "", "entity_id": entity_id or "", "limit": limit},
    }
    return render(request, "audit.html", ctx)
