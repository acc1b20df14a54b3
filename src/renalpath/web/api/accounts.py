"""Accounts in the API: `GET /api/v1/me`, who the caller is (check an API token with it).

Users and tokens are managed on the admin pages (`pages/admin.py`) and with `renalpath users`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from renalpath.web.auth import Principal
from renalpath.web.deps import any_user
from renalpath.web.errors import ERRORS

router = APIRouter(prefix="/api/v1", responses=ERRORS)


class MeOut(BaseModel):
    name: str
    role: str
    via: str


@router.get("/me", response_model=MeOut, tags=["accounts"])
def me(principal: Annotated[Principal, Depends(any_user)]) -> MeOut:
    """Who the API thinks you are (check an API token with this)."""
    return MeOut(name=principal.name, role=principal.role, via=principal.via)
