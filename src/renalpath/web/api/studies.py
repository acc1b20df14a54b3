"""The studies in the API: `GET /api/v1/studies/salvage|survival`, the CLI's `--json` document.

Also what the study pages share with it: the query checks (window, choices) and running a
study on the registry, refused by kind (`StudyRefused`) when its values cannot be analysed.
Aggregate results only: every role may read them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.responses import Response

from renalpath.clinical.common import ClinicalInputError
from renalpath.clinical.egfr import EQUATIONS, MDRD
from renalpath.errors import Refusal
from renalpath.outcomes.salvage import SalvageStudy, salvage_study
from renalpath.outcomes.source import salvage_frames, survival_frames
from renalpath.outcomes.study_options import BY_FIELDS, ENDPOINTS
from renalpath.outcomes.survival_by_group import SurvivalStudy, survival_study
from renalpath.registry.frames import FramesError
from renalpath.web.auth import Principal
from renalpath.web.deps import any_user, engine_of
from renalpath.web.errors import ERRORS, NO_REGISTRY, FieldError, body

API_ERRORS = {**ERRORS, **NO_REGISTRY}
router = APIRouter(prefix="/api/v1/studies", tags=["studies"], responses=API_ERRORS)


@dataclass(frozen=True)
class Window:
    start: str | None
    end: str | None


def _date(field: str, raw: str | None, errors: list[FieldError]) -> str | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw).isoformat()
    except ValueError:
        errors.append(
            FieldError(
                field=field,
                message=f"{field}: {raw!r} is not a date",
                value=raw,
                allowed="YYYY-MM-DD",
            )
        )
        return None


def parse_choice(
    field: str, raw: str | None, allowed: tuple[str, ...], errors: list[FieldError]
) -> str:
    if raw is None or raw in allowed:
        return raw or ""
    errors.append(
        FieldError(
            field=field,
            message=f"{field}: {raw!r} is not allowed",
            value=raw,
            allowed=", ".join(allowed),
        )
    )
    return ""


def parse_window(
    window_from: str | None, window_to: str | None, errors: list[FieldError]
) -> Window:
    lo = _date("from", window_from, errors)
    hi = _date("to", window_to, errors)
    if lo and hi and lo > hi:
        errors.append(FieldError(field="to", message=f"to: {hi} is before from {lo}", value=hi))
    return Window(lo, hi)


class StudyRefused(Refusal):
    """The registry holds values the analysis cannot use (the CLI's exit-1 refusal)."""


def run_salvage(engine: Engine, w: Window, equation: str) -> SalvageStudy:
    try:
        return salvage_study(salvage_frames(engine, w.start, w.end), w.start, w.end, equation)
    except (ClinicalInputError, FramesError) as err:
        raise StudyRefused(f"registry data cannot be analysed: {err}") from err


def run_survival(engine: Engine, w: Window, endpoint: str, by: str | None) -> SurvivalStudy:
    try:
        frames = survival_frames(engine, w.start, w.end)
        return survival_study(frames, endpoint, by, w.start, w.end)
    except (ClinicalInputError, FramesError) as err:
        raise StudyRefused(f"registry data cannot be analysed: {err}") from err


def _api_refusal(errors: list[FieldError], status: int = 422) -> JSONResponse:
    return JSONResponse(body(errors), status_code=status)


@router.get("/salvage")
def salvage_api(
    request: Request,
    _: Annotated[Principal, Depends(any_user)],
    equation: str = MDRD,
) -> Response:
    """`renalpath study salvage --json`; query `from`, `to` (YYYY-MM-DD), `equation`."""
    errors: list[FieldError] = []
    w = parse_window(request.query_params.get("from"), request.query_params.get("to"), errors)
    eq = parse_choice("equation", equation, EQUATIONS, errors)
    if errors:
        return _api_refusal(errors)
    try:
        doc = run_salvage(engine_of(request), w, eq).to_json_dict()
    except StudyRefused as err:
        return _api_refusal([FieldError(field=None, message=str(err))])
    return JSONResponse(doc)


@router.get("/survival")
def survival_api(
    request: Request,
    _: Annotated[Principal, Depends(any_user)],
    endpoint: str = "overall",
    by: str | None = None,
) -> Response:
    """`renalpath study survival --json`; query `endpoint`, `by`, `from`, `to`."""
    errors: list[FieldError] = []
    w = parse_window(request.query_params.get("from"), request.query_params.get("to"), errors)
    ep = parse_choice("endpoint", endpoint, ENDPOINTS, errors)
    group = parse_choice("by", by, tuple(sorted(BY_FIELDS)), errors) or None
    if errors:
        return _api_refusal(errors)
    try:
        doc = run_survival(engine_of(request), w, ep, group).to_json_dict()
    except StudyRefused as err:
        return _api_refusal([FieldError(field=None, message=str(err))])
    return JSONResponse(doc)
