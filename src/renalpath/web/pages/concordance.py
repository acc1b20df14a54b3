"""The concordance audit page, `/studies/concordance`: what `renalpath audit concordance` prints.

Rates overall, by year and by registry cT, the partial-nephrectomy rate in cT1a, the most
frequent missing inputs and the notes, with the CLI's `--from`, `--to` and `--assume` as form
fields. The audit itself, the checks of `assume` entries and what each role may see are in
`api/concordance.py`, shared with `GET /api/v1/concordance`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from renalpath.outcomes import board_concordance as board
from renalpath.outcomes.concordance import CATEGORIES
from renalpath.registry.board_cases import decided_cases
from renalpath.web.api.concordance import AuditRefused, check_assumptions, for_role, run_audit
from renalpath.web.api.studies import Window, parse_window
from renalpath.web.auth import Principal
from renalpath.web.deps import any_user, engine_of
from renalpath.web.errors import FieldError, messages_by_field
from renalpath.web.templating import render

router = APIRouter(include_in_schema=False)


# Case fields the registry does not hold and the audit most often reports missing (the
# module notes of outcomes.concordance): offered on the page as form fields.
ASSUME_FIELDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("patient.fit_for_surgery", "Fit for surgery", ("true", "false")),
    ("patient.frail", "Frail or comorbid", ("true", "false")),
    ("patient.ecog", "ECOG performance status", ("0", "1", "2", "3", "4")),
    ("surgeon.pn_feasible", "Partial nephrectomy feasible", ("yes", "no", "unknown")),
    ("tumour.central", "Centrally located tumour", ("true", "false")),
)


def _assume_entries(request: Request) -> tuple[list[str], dict[str, str], str]:
    """`assume` entries from the page: the named fields, then one FIELD=VALUE per line."""
    params = request.query_params
    entries: list[str] = []
    chosen: dict[str, str] = {}
    for name, _, _choices in ASSUME_FIELDS:
        raw = params.get(name, "")
        if raw:
            chosen[name] = raw
            entries.append(f"{name}={raw}")
    more = params.get("more", "")
    entries += [line.strip() for line in more.splitlines() if line.strip()]
    entries += params.getlist("assume")
    return entries, chosen, more


@router.get("/studies/concordance")
def concordance_page(
    request: Request, principal: Annotated[Principal, Depends(any_user)]
) -> Response:
    errors: list[FieldError] = []
    raw_from, raw_to = request.query_params.get("from"), request.query_params.get("to")
    w = parse_window(raw_from, raw_to, errors)
    entries, chosen, more = _assume_entries(request)
    for name, _, choices in ASSUME_FIELDS:
        if name in chosen and chosen[name] not in choices:
            errors.append(
                FieldError(
                    field=name,
                    message=f"{name}: {chosen[name]!r} is not allowed",
                    value=chosen[name],
                    allowed=", ".join(choices),
                )
            )
            entries.remove(f"{name}={chosen[name]}")
    assumed = check_assumptions(entries, errors)
    form = {"from": raw_from or "", "to": raw_to or "", "more": more, **chosen}
    ctx: dict[str, Any] = {
        "form": form,
        "assume_fields": ASSUME_FIELDS,
        "categories": CATEGORIES,
        "doc": None,
    }
    if errors:
        ctx["errors"] = messages_by_field(errors)
        return render(request, "studies/concordance.html", ctx, status_code=422)
    try:
        doc = run_audit(request, w, assumed)
    except AuditRefused as err:
        ctx["errors"] = {"": [str(err)]}
        return render(request, "studies/concordance.html", ctx, status_code=422)
    query: list[tuple[str, str]] = [(k, v) for k, v in (("from", w.start), ("to", w.end)) if v]
    query += [("assume", f"{k}={request_value}") for k, request_value in _as_text(assumed)]
    ctx["doc"] = for_role(doc, principal)
    ctx["json_link"] = "/api/v1/concordance" + (f"?{urlencode(query)}" if query else "")
    ctx["top_missing"] = list(doc["missing_inputs"].items())[:10]
    ctx["board"] = board_decisions(request, w)
    ctx["board_categories"] = board.CATEGORIES
    ctx["board_rows"] = principal.role in ("admin", "clinician")  # rows name patients
    return render(request, "studies/concordance.html", ctx)


def board_decisions(request: Request, w: Window) -> board.BoardConcordance:
    """The tumour board's recorded decisions in the window, each against the pathway."""
    start = dt.date.fromisoformat(w.start) if w.start else None
    end = dt.date.fromisoformat(w.end) if w.end else None
    return board.board_concordance(decided_cases(engine_of(request), start=start, end=end))


def _as_text(assumed: dict[str, Any]) -> list[tuple[str, str]]:
    return [(k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in assumed.items()]
