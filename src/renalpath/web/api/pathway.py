"""`POST /api/v1/recommend`: the guideline options for one case (the pathway engine).

The hot path of the API; see `recommend_route` for why it reads its own body. The case's JSON
Schema is served by `api/schema.py`.
"""

from __future__ import annotations

import gc
import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

from renalpath.clinical.common import ClinicalInputError, Problem
from renalpath.errors import UnknownPack
from renalpath.pathway import CaseValidationError, recommend
from renalpath.web.deps import clinical_user, require_csrf
from renalpath.web.errors import ERRORS, refusal

router = APIRouter(prefix="/api/v1", responses=ERRORS)


class RecommendOut(BaseModel):
    """The engine's result: options, derived values, flags, conflicts and follow-up."""

    model_config = ConfigDict(extra="allow")
    derived: dict[str, Any]
    options: list[dict[str, Any]]
    missing_inputs: list[str]
    flags: list[str]
    conflicts: list[dict[str, Any]]
    followup: dict[str, Any] | None
    packs: list[dict[str, str]]


def _is_json(content_type: str | None) -> bool:
    """`application/json` or `application/*+json`, as FastAPI decides for a JSON body."""
    if not content_type:
        return False  # FastAPI's strict content type: no header, no JSON
    kind = content_type.partition(";")[0].strip().lower()
    main, _, sub = kind.partition("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


async def json_object_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, refused exactly as a FastAPI `dict` body would be.

    The recommend route reads its body itself (see there); the errors keep the shape and
    wording of FastAPI's own body validation, so clients see no difference.
    """
    raw = await request.body()
    if not raw:
        raise RequestValidationError(
            [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
        )
    value: Any = raw
    if _is_json(request.headers.get("content-type")):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as err:
            raise RequestValidationError(
                [
                    {
                        "type": "json_invalid",
                        "loc": ("body", err.pos),
                        "msg": "JSON decode error",
                        "input": {},
                        "ctx": {"error": err.msg},
                    }
                ]
            ) from err
        except UnicodeDecodeError as err:  # not UTF-8/16/32
            raise HTTPException(400, "There was an error parsing the body") from err
    if not isinstance(value, dict):
        raise RequestValidationError(
            [
                {
                    "type": "dict_type",
                    "loc": ("body",),
                    "msg": "Input should be a valid dictionary",
                    "input": value,
                }
            ]
        )
    return value


# What FastAPI would have generated from `case: dict = Body(...)` and `pack: list[str] | None
# = Query(...)`; `app._openapi` then puts the Case schema in place of the plain object.
_RECOMMEND_OPENAPI: dict[str, Any] = {
    "parameters": [
        {
            "name": "pack",
            "in": "query",
            "required": False,
            "schema": {
                "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}],
                "description": "Restrict to these packs (default: all merged)",
                "title": "Pack",
            },
            "description": "Restrict to these packs (default: all merged)",
        }
    ],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "additionalProperties": True,
                    "description": "A case (every field optional); its JSON Schema: /schema/case",
                }
            }
        },
    },
}


# The hot path of the API (target: p99 < 50 ms at 50 clients), so the route takes the bare
# request instead of FastAPI parameters: the case is validated once, by the pathway (with its
# cross-field checks and hints) rather than first as a FastAPI `dict` body too, no dependency
# graph is solved, and it is the router's first route so matching stops at once.  It runs
# inline (async): evaluation is ~0.15 ms of CPU, less than a thread-pool hand-off.  The checks
# are the ones the dependencies made (who is calling, the role, CSRF for cookie sessions), now
# before the body is read: an anonymous caller gets 401 whatever it sent.
async def recommend_route(request: Request) -> Response:
    """Guideline options for one case, with why, strength, sources and missing inputs."""
    await clinical_user(request)
    await require_csrf(request)
    pack = request.query_params.getlist("pack") or None
    case = await json_object_body(request)
    try:
        result = recommend(case, pack)
    except CaseValidationError as err:
        return refusal(err)
    except UnknownPack as err:
        return refusal(ClinicalInputError(Problem("pack", pack, str(err))))
    return JSONResponse(result.to_dict())


def warm_up() -> None:
    """Load the guideline packs and build the evaluation plans now, then freeze the heap.

    For server worker processes only (`app_from_env`): the first recommend request would
    otherwise pay the pack loading (~0.6 s).  `gc.freeze()` moves everything alive after
    start-up (app, packs, plans: ~300,000 objects) out of the collector's reach, so the full
    collections that a busy worker triggers no longer walk them on every run.
    """
    recommend({}, None)
    gc.collect()
    gc.freeze()


router.add_api_route(
    "/recommend",
    recommend_route,
    methods=["POST"],
    response_model=RecommendOut,
    tags=["pathway"],
    summary="Guideline options for a case",
    operation_id="recommend_route_api_v1_recommend_post",
    openapi_extra=_RECOMMEND_OPENAPI,
)
router.routes.insert(0, router.routes.pop())  # matched first: see recommend_route
