"""The case-evaluation page, `/case`: a case entered by hand, its derived values while typing,
the guideline options with reasons and sources, and a printable sheet.

Every form works without JavaScript (a normal POST re-renders the whole page); with htmx the
same route returns only the fragment that changed (`HX-Request` header).  Errors are shown
next to the input whose `name` equals the error's field path. The tumour-board pages
(`pages/board.py`) evaluate their saved cases with the same functions.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from renalpath.pathway import CaseValidationError, recommend
from renalpath.web import case_form
from renalpath.web.auth import Principal
from renalpath.web.case_errors import clinical_errors
from renalpath.web.deps import any_user, require_csrf
from renalpath.web.errors import messages_by_field
from renalpath.web.forms import compact
from renalpath.web.templating import is_htmx, render

router = APIRouter(include_in_schema=False)
# ----------------------------------------------------------------------------------- login


# ----------------------------------------------------------------------------- calculators


# ------------------------------------------------------------------------- case evaluation
# Researchers may use the blank form (no patient data is read or kept); saving a case and
# building one from a registry patient are clinical work (pages/board.py).


def case_context(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "sections": case_form.SECTIONS,
        "values": values,
        "errors": {},
        "error_list": [],
        "result": None,
        "groups": [],
        "derived": None,
        "case_actions": None,
        "open_sections": {
            s.key
            for s in case_form.SECTIONS
            if any(values.get(f.name) and f.default != values.get(f.name) for f in s.fields)
        },
    }


def _form_values(form: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in case_form.ALL_FIELDS:
        out[f.name] = form.getlist(f.name) if f.kind == "multi" else form.get(f.name, "")
    return out


def evaluate_form(form: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Context of the case page for submitted form values, and the case data they make."""
    data, problems = case_form.form_data(form)
    data = compact(data)
    ctx = case_context(_form_values(form))
    return evaluate_data(ctx, data, problems), data


def evaluate_data(
    ctx: dict[str, Any], data: dict[str, Any], problems: list[Any] | None = None
) -> dict[str, Any]:
    """Run the pathway on `data`; refusals go to `errors` in clinical words, per field."""
    problems = list(problems or [])
    ctx["derived"] = case_form.derived_items(data)
    ctx["case"] = data
    result: dict[str, Any] | None = None
    try:
        result = recommend(data).to_dict()
    except CaseValidationError as err:
        problems += err.problems  # form-level and model-level problems shown together
    if problems:
        errors = clinical_errors(problems)
        ctx["errors"] = messages_by_field(errors)
        ctx["error_list"] = errors
        return ctx
    ctx["result"] = result
    ctx["groups"] = case_form.group_options(result["options"]) if result else []
    return ctx


@router.get("/case")
def case_page(request: Request, _: Annotated[Principal, Depends(any_user)]) -> Response:
    values = {f.name: f.default for f in case_form.ALL_FIELDS}
    return render(request, "case/page.html", case_context(values))


@router.post("/case", dependencies=[Depends(require_csrf)])
async def case_evaluate(request: Request, _: Annotated[Principal, Depends(any_user)]) -> Response:
    ctx, _data = evaluate_form(await request.form())
    status = 422 if ctx["errors"] and not is_htmx(request) else 200
    template = "case/_result.html" if is_htmx(request) else "case/page.html"
    return render(request, template, ctx, status_code=status)


@router.post("/case/derived", dependencies=[Depends(require_csrf)])
async def case_derived(request: Request, _: Annotated[Principal, Depends(any_user)]) -> Response:
    form = await request.form()
    data, problems = case_form.form_data(form)
    return render(
        request,
        "case/_derived.html",
        {
            "derived": case_form.derived_items(compact(data)),
            "input_problems": [e.message for e in clinical_errors(problems)],
        },
    )


@router.get("/case/sheet")
def case_sheet_get(_: Annotated[Principal, Depends(any_user)]) -> Response:
    """The sheet is made from a submitted form; a reload or the back button lands on the form."""
    return RedirectResponse("/case", status_code=303)


@router.post("/case/sheet", dependencies=[Depends(require_csrf)])
async def case_sheet(
    request: Request, principal: Annotated[Principal, Depends(any_user)]
) -> Response:
    ctx, _data = evaluate_form(await request.form())
    if ctx["result"] is None:
        return render(request, "case/page.html", ctx, status_code=422)
    ctx["prepared_by"] = principal.name
    ctx["back_url"] = "/case"
    return render(request, "case/sheet.html", ctx)
