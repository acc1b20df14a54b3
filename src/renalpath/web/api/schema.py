"""`GET /api/v1/schema/case`: the case JSON Schema, as `renalpath schema case` prints it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from renalpath.pathway import case_json_schema
from renalpath.web.auth import Principal
from renalpath.web.deps import any_user
from renalpath.web.errors import ERRORS

router = APIRouter(prefix="/api/v1", responses=ERRORS)


@router.get("/schema/case", tags=["pathway"], summary="Case JSON Schema")
def schema_case(_: Annotated[Principal, Depends(any_user)]) -> dict[str, Any]:
    """The case JSON Schema (draft 2020-12), as `renalpath schema case` prints it."""
    return case_json_schema()
