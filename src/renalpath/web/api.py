"""REST API under /api/v1: calculators, case schema, recommend.

One POST route per calculator (rather than one route with a `{name}` parameter) so each has
its own typed request body in the OpenAPI document, which is what API clients and
Schemathesis generate requests from.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from renalpath.clinical.common import ClinicalInputError, Problem
from renalpath.web.auth import Principal, any_user, clinical_user
from renalpath.web.calculators import CALCULATORS, Calculator
from renalpath.web.errors import ErrorBody, body, from_problems
from renalpath.web.security import require_csrf

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Body could not be decoded (not UTF-8 JSON)"},
    401: {"model": ErrorBody, "description": "Not logged in, or the API token is invalid"},
    403: {"model": ErrorBody, "description": "Role not allowed, or CSRF token missing"},
    422: {"model": ErrorBody, "description": "Input refused; every problem names its field"},
}

router = APIRouter(prefix="/api/v1", responses=ERRORS)


class SourceOut(BaseModel):
    title: str
    section: str = ""
    url: str = ""
    verification: str = ""


class CalcResultOut(BaseModel):
    """Common part of every calculator result; calculator-specific keys follow (extra)."""

    model_config = ConfigDict(extra="allow")
    calculator_id: str
    version: str
    band: str
    sources: list[SourceOut]
    flags: list[str]


class InputOut(BaseModel):
    name: str
    unit: str
    allowed: str
    description: str = ""


class CalculatorOut(BaseModel):
    path: str  # POST /api/v1/calc/{path}
    title: str
    id: str
    name: str
    version: str
    formula: str
    inputs: list[InputOut]
    bands: list[str]
    sources: list[SourceOut]
    notes: list[str]


class RecommendOut(BaseModel):
    """Design §3 output; options and derived values are documented there."""

    model_config = ConfigDict(extra="allow")
    derived: dict[str, Any]
    options: list[dict[str, Any]]
    missing_inputs: list[str]
    flags: list[str]
    conflicts: list[dict[str, Any]]
    followup: dict[str, Any] | None
    packs: list[dict[str, str]]


class MeOut(BaseModel):
    name: str
    role: str
    via: str


def refusal(err: ClinicalInputError, prefix: str = "") -> JSONResponse:
    return JSONResponse(body(from_problems(err.problems, prefix)), status_code=422)


def calculator_out(calc: Calculator) -> CalculatorOut:
    spec = calc.spec.to_dict()
    return CalculatorOut(path=calc.name, title=calc.title, **spec)


@router.get("/me", response_model=MeOut, tags=["accounts"])
def me(principal: Annotated[Principal, Depends(any_user)]) -> MeOut:
    """Who the API thinks you are (check an API token with this)."""
    return MeOut(name=principal.name, role=principal.role, via=principal.via)


@router.get("/calc", response_model=list[CalculatorOut], tags=["calculators"])
def list_calculators(_: Annotated[Principal, Depends(any_user)]) -> list[CalculatorOut]:
    """Every calculator with its formula, inputs (unit, valid range), bands and sources."""
    return [calculator_out(c) for c in CALCULATORS.values()]


def _calc_endpoint(
    calc: Calculator,
) -> Callable[..., Awaitable[dict[str, Any] | JSONResponse]]:
    model = calc.request

    async def endpoint(
        payload: Annotated[model, Body()],  # type: ignore[valid-type]
        _: Annotated[Principal, Depends(any_user)],
        __: Annotated[None, Depends(require_csrf)],
    ) -> dict[str, Any] | JSONResponse:
        try:
            return calc.run(payload)
        except ClinicalInputError as err:
            return refusal(err)

    # Annotations are strings (PEP 563); the request model is local, so bind it explicitly.
    endpoint.__annotations__["payload"] = Annotated[model, Body()]
    endpoint.__name__ = f"calc_{calc.name}"
    endpoint.__doc__ = f"{calc.spec.name}.\n\nFormula: {calc.spec.formula}"
    return endpoint


for _calc in CALCULATORS.values():
    router.add_api_route(
        f"/calc/{_calc.name}",
        _calc_endpoint(_calc),
        methods=["POST"],
        response_model=CalcResultOut,
        response_model_exclude_none=False,
        summary=_calc.title,
        tags=["calculators"],
        operation_id=f"calc_{_calc.name}",
    )


try:  # the pathway layer is optional at import time only while it is being built
    from renalpath.pathway import CaseValidationError, case_json_schema, recommend

    HAVE_PATHWAY = True
except ImportError:  # pragma: no cover - the package ships the pathway
    HAVE_PATHWAY = False


if HAVE_PATHWAY:

    @router.get("/schema/case", tags=["pathway"], summary="Case JSON Schema")
    def schema_case(_: Annotated[Principal, Depends(any_user)]) -> dict[str, Any]:
        """The case JSON Schema (draft 2020-12), as `renalpath schema case` prints it."""
        return case_json_schema()

    # async: evaluation takes about a millisecond of CPU, less than a threadpool hand-off costs.
    @router.post(
        "/recommend",
        response_model=RecommendOut,
        tags=["pathway"],
        summary="Guideline options for a case",
    )
    async def recommend_route(
        case: Annotated[
            dict[str, Any],
            Body(description="A case as in design §3; every field optional; see /schema/case"),
        ],
        _: Annotated[Principal, Depends(clinical_user)],
        __: Annotated[None, Depends(require_csrf)],
        pack: Annotated[
            list[str] | None, Query(description="Restrict to these packs (default: all merged)")
        ] = None,
    ) -> JSONResponse:
        """Guideline options for one case, with why, strength, sources and missing inputs."""
        try:
            result = recommend(case, pack or None)
        except CaseValidationError as err:
            return refusal(err)
        except ValueError as err:  # unknown pack name
            return refusal(ClinicalInputError(Problem("pack", pack, str(err))))
        return JSONResponse(result.to_dict())
