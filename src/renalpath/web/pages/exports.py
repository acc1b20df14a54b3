"""The export page, `/export`: links to the registry downloads of `api/exports.py`.

Clinicians and admins are offered the full export; every role the de-identified one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from renalpath.web.auth import Principal
from renalpath.web.deps import any_user
from renalpath.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/export")
def export_page(request: Request, principal: Annotated[Principal, Depends(any_user)]) -> Response:
    full = principal.role in ("admin", "clinician")
    return render(request, "export.html", {"full_allowed": full})
