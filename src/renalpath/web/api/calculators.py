"""The calculators in the API: `GET /api/v1/calc` lists them, `POST /api/v1/calc/<name>` runs one.

One POST route per calculator (rather than one route with a `{name}` parameter) so each has
its own typed request body in the OpenAPI document, which is what API clients and
Schemathesis generate requests from. The calculators themselves, with their request models,
are the calculator catalogue `renalpath.calculators` (shared with the pages and the CLI).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from renalpath.calculators import Calculator, all_calculators
from renalpath.clinical.common import ClinicalInputError
from renalpath.web.auth import Principal
from renalpath.web.deps import any_user, require_csrf
from renalpath.web.errors import ERRORS, refusal

CALCULATORS = all_calculators()

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


def calculator_out(calc: Calculator) -> CalculatorOut:
    spec = calc.spec.to_dict()
    return CalculatorOut(path=calc.name, title=calc.title, **spec)


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
