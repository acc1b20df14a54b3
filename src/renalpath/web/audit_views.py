"""`/audit`: the hash-chained audit trail, newest first, with filters a reviewer needs.

Admins and clinicians only: rows carry patient ids and old/new values.  Filters: entity and
record id (as `renalpath audit log`), a patient together with all of its records (tumours,
their imaging, interventions, pathology, complications, labs, events and board cases — also
records deleted since, found by the patient id in their deleted values), the action (reads
can be hidden), the user, and a date range.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field
from sqlalchemy import ColumnElement, Engine, and_, false, or_, select
from starlette.responses import Response

from renalpath.registry.audit import COLUMNS
from renalpath.registry.models import AuditLog, Intervention, Tumour
from renalpath.web.auth import Principal, clinical_user
from renalpath.web.errors import FieldError, messages_by_field
from renalpath.web.registry_access import engine_of
from renalpath.web.templating import render

router = APIRouter(include_in_schema=False)
ENTITIES = (
    "patients", "tumours", "imaging", "interventions", "pathology", "complications", "labs",
    "events", "board_cases", "users",
)  # fmt: skip
ACTIONS = {"": "any", "changes": "changes only (no reads)", "insert": "insert",
           "update": "update", "delete": "delete", "read": "read"}  # fmt: skip


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _patient_condition(engine: Engine, pid: str) -> ColumnElement[bool]:
    """Audit rows of the patient and of every record that belongs (or belonged) to it."""
    from renalpath.registry.board_cases import BoardCase

    with engine.connect() as conn:
        tumours = list(
            conn.execute(select(Tumour.tumour_id).where(Tumour.patient_id == pid)).scalars()
        )
        ivs = list(
            conn.execute(
                select(Intervention.intervention_id).where(Intervention.patient_id == pid)
            ).scalars()
        )
        cases = [
            str(i)
            for i in conn.execute(select(BoardCase.id).where(BoardCase.patient_id == pid)).scalars()
        ]
    mark = f'%"patient_id":"{_like(pid)}"%'
    e, eid = AuditLog.entity, AuditLog.entity_id
    parts: list[ColumnElement[bool]] = [
        and_(e == "patients", eid == pid),
        and_(e.in_(("labs", "events")), eid.like(_like(pid) + "|%", escape="\\")),
        and_(e == "tumours", eid.in_(tumours)) if tumours else false(),
        and_(e.in_(("interventions", "pathology")), eid.in_(ivs)) if ivs else false(),
        and_(e == "board_cases", eid.in_(cases)) if cases else false(),
        # records deleted since: their deleted values name the patient
        and_(e.in_(("tumours", "interventions")), AuditLog.action == "delete",
             AuditLog.old.like(mark, escape="\\")),
    ]  # fmt: skip
    for t in tumours:
        parts.append(and_(e == "imaging", eid.like(_like(t) + "|%", escape="\\")))
    for iv in ivs:
        parts.append(and_(e == "complications", eid.like(_like(iv) + "|%", escape="\\")))
    return or_(*parts)


def _date(raw: str | None, name: str, errors: list[FieldError]) -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        errors.append(FieldError(field=name, message=f"{name}: {raw!r} is not a date (YYYY-MM-DD)"))
        return None


@router.get("/audit")
def audit_page(
    request: Request,
    _: Annotated[Principal, Depends(clinical_user)],
    entity: str | None = None,
    entity_id: Annotated[str | None, Field(max_length=400)] = None,
    patient_id: Annotated[str | None, Field(max_length=64)] = None,
    action: str | None = None,
    user: Annotated[str | None, Field(max_length=200)] = None,
    date_from: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    date_to: Annotated[str | None, Query(alias="to", max_length=10)] = None,
    limit: Annotated[int, Field(ge=1, le=1000)] = 100,
) -> Response:
    engine = engine_of(request)
    errors: list[FieldError] = []
    where: list[ColumnElement[bool]] = []
    if entity:
        where.append(AuditLog.entity == entity)
    if entity_id and entity_id.strip():
        where.append(AuditLog.entity_id == entity_id.strip())
    pid = (patient_id or "").strip()
    if pid:
        where.append(_patient_condition(engine, pid))
    if action == "changes":
        where.append(AuditLog.action.in_(("insert", "update", "delete")))
    elif action:
        if action not in ACTIONS:
            errors.append(FieldError(field="action", message=f"action: {action!r} is not allowed"))
        else:
            where.append(AuditLog.action == action)
    who = (user or "").strip()
    if who:
        where.append(or_(AuditLog.actor == who, AuditLog.actor == f"web:{who}"))
    start, end = _date(date_from, "from", errors), _date(date_to, "to", errors)
    if start:
        where.append(AuditLog.at >= start.isoformat())
    if end:
        where.append(AuditLog.at < (end + dt.timedelta(days=1)).isoformat())
    cols = [getattr(AuditLog, c) for c in ("seq", *COLUMNS)]
    stmt = select(*cols).where(and_(True, *where)).order_by(AuditLog.seq.desc()).limit(limit)
    rows: list[dict[str, Any]] = []
    if not errors:
        with engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(stmt).mappings()]
    ctx = {
        "rows": rows,
        "entities": ENTITIES,
        "actions": ACTIONS,
        "errors": messages_by_field(errors),
        "form": {
            "entity": entity or "", "entity_id": entity_id or "", "patient_id": pid,
            "action": action or "", "user": who, "from": date_from or "", "to": date_to or "",
            "limit": limit,
        },
    }  # fmt: skip
    return render(request, "audit.html", ctx, status_code=422 if errors else 200)
