"""Calculator pages: `/calculators` and one form per calculator (server-rendered, htmx-enhanced).

Every form works without JavaScript (a normal POST re-renders the whole page); with htmx the
same route returns only the fragment that changed (`HX-Request` header), recomputed while
typing. Errors are shown next to the input whose `name` equals the error's field path. The
calculators are the catalogue `renalpath.calculators`, shared with the API and the CLI.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import ValidationError
from starlette.responses import Response

from renalpath.calculators import all_calculators
from renalpath.clinical.common import ClinicalInputError
from renalpath.web.auth import Principal
from renalpath.web.deps import any_user, require_csrf
from renalpath.web.errors import FieldError, from_problems, from_pydantic, messages_by_field
from renalpath.web.forms import fields_of, form_to_data
from renalpath.web.templating import is_htmx, render

CALCULATORS = all_calculators()

router = APIRouter(include_in_schema=False)


LIVE_FIELD = "_live"  # sent by htmx when a calculator recomputes on change (not on submit)


@router.get("/calculators")
def calculators_index(request: Request, _: Annotated[Principal, Depends(any_user)]) -> Response:
    return render(request, "calculators/index.html", {"calculators": CALCULATORS.values()})


def _calculator(name: str) -> Any:
    calc = CALCULATORS.get(name)
    if calc is None:
        raise HTTPException(404, f"no calculator named {name!r}")
    return calc


@router.get("/calculators/{name}")
def calculator_page(
    request: Request, name: str, _: Annotated[Principal, Depends(any_user)]
) -> Response:
    calc = _calculator(name)
    fields = fields_of(calc.request)
    values = {f.name: f.default for f in fields}
    return render(
        request,
        "calculators/page.html",
        {
            "calc": calc,
            "fields": fields,
            "values": values,
            "errors": {},
            "pending": [],
            "result": None,
            "spec": calc.spec,
        },
    )


@router.post("/calculators/{name}", dependencies=[Depends(require_csrf)])
async def calculator_submit(
    request: Request, name: str, _: Annotated[Principal, Depends(any_user)]
) -> Response:
    calc = _calculator(name)
    fields = fields_of(calc.request)
    form = await request.form()
    data, problems = form_to_data(form, fields)
    errors: list[FieldError] = from_problems(problems)
    result: dict[str, Any] | None = None
    spec = calc.spec
    # Validate the rest even when some inputs did not parse, so every problem shows at once;
    # a field that failed to parse is not reported a second time as "missing".
    later: list[FieldError] = []
    try:
        req = calc.request.model_validate(data)
        spec = calc.spec_for(req)
        result = calc.run(req)
    except ValidationError as err:
        later = from_pydantic(err.errors())
    except ClinicalInputError as err:
        later = from_problems(err.problems)
    bad = {e.field for e in errors}
    errors += [e for e in later if e.field not in bad]
    if errors:
        result = None
    values = {f.name: form.get(f.name, "") for f in fields}
    pending: list[str] = []
    if form.get(LIVE_FIELD) == "1":
        # Recomputed while typing: an input not filled in yet is not an error to shout about.
        pending = [
            e.field for e in errors if e.field and e.value is None and not values.get(e.field)
        ]
        errors = [e for e in errors if e.field not in pending]
    context = {
        "calc": calc,
        "fields": fields,
        "values": values,
        "errors": messages_by_field(errors),
        "pending": [f.label for f in fields if f.name in pending],
        "result": result,
        "headline": calc.headline(result) if result else None,
        "spec": spec,
    }
    template = "calculators/_body.html" if is_htmx(request) else "calculators/page.html"
    return render(
        request, template, context, status_code=200 if result or is_htmx(request) else 422
    )
