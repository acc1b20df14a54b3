"""`/audit`: the hash-chained audit trail, filtered by patient, record, action, user and date.

Admins and clinicians only: rows carry patient ids and old/new values.  The trail itself is
read-only here; rows come newest first, as `renalpath audit log` prints them.

A patient's trail is the patient row plus every record that belongs to the patient: labs and
events carry the patient id at the start of their audit id (their natural key), tumours and
interventions are found in their tables or, once deleted, in the JSON of their insert/delete
rows, and imaging, pathology and complications through their tumour or intervention.  So a
patient's lab corrections and deletions appear in the patient's trail.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field
from sqlalchemy import ColumnElement, Connection, Engine, and_, or_, select
from starlette.responses import Response

from renalpath.registry.models import AuditLog, Intervention, Tumour
from renalpath.web.auth import Principal
from renalpath.web.deps import clinical_user, engine_of
from renalpath.web.errors import FieldError, messages_by_field
from renalpath.web.templating import render

router = APIRouter(include_in_schema=False)
ENTITIES = (
    "patients",
    "tumours",
    "imaging",
    "interventions",
    "pathology",
    "complications",
    "labs",
    "events",
    "board_cases",
    "users",
)
ACTIONS = ("insert", "update", "delete", "read")
ACTION_LABELS = {"insert": "added", "update": "corrected", "delete": "deleted", "read": "viewed"}


@dataclass(frozen=True)
class AuditFilter:
    """What the page was asked for, already checked."""

    entity: str | None = None
    entity_id: str | None = None
    patient: str | None = None
    action: str | None = None
    actor: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    include_reads: bool = False
    limit: int = 100


def _like_prefix(value: str) -> str:
    """`value|` as a LIKE prefix with the wildcards in `value` escaped (escape char `\\`)."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "|%"


def _owned_ids(conn: Connection, patient: str, entity: str) -> set[str]:
    """Ids of the patient's tumours or interventions, present or deleted."""
    current = (
        select(Tumour.tumour_id).where(Tumour.patient_id == patient)
        if entity == "tumours"
        else select(Intervention.intervention_id).where(Intervention.patient_id == patient)
    )
    ids = {str(v) for v in conn.execute(current).scalars()}
    marker = f'"patient_id":{json.dumps(patient)}'
    pattern = "%" + marker.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    past = select(AuditLog.entity_id).where(
        AuditLog.entity == entity,
        AuditLog.action.in_(("insert", "delete")),
        or_(AuditLog.new.like(pattern, escape="\\"), AuditLog.old.like(pattern, escape="\\")),
    )
    ids.update(str(v) for v in conn.execute(past).scalars())
    return ids


def _prefixed(entity: str, owners: Iterable[str]) -> ColumnElement[bool]:
    return and_(
        AuditLog.entity == entity,
        or_(*(AuditLog.entity_id.like(_like_prefix(o), escape="\\") for o in owners)),
    )


def patient_clause(conn: Connection, patient: str) -> ColumnElement[bool]:
    """Audit rows of the patient and of every record that belongs to the patient."""
    tumours = sorted(_owned_ids(conn, patient, "tumours"))
    interventions = sorted(_owned_ids(conn, patient, "interventions"))
    parts: list[ColumnElement[bool]] = [
        and_(AuditLog.entity == "patients", AuditLog.entity_id == patient),
        _prefixed("labs", [patient]),
        _prefixed("events", [patient]),
    ]
    if tumours:
        parts.append(and_(AuditLog.entity == "tumours", AuditLog.entity_id.in_(tumours)))
        parts.append(_prefixed("imaging", tumours))
    if interventions:
        parts.append(
            and_(
                AuditLog.entity.in_(("interventions", "pathology")),
                AuditLog.entity_id.in_(interventions),
            )
        )
        parts.append(_prefixed("complications", interventions))
    return or_(*parts)


def audit_rows(engine: Engine, f: AuditFilter) -> list[dict[str, Any]]:
    """Newest first, at most `f.limit` rows matching every filter."""
    stmt = select(AuditLog).order_by(AuditLog.seq.desc()).limit(f.limit)
    with engine.connect() as conn:
        if f.entity:
            stmt = stmt.where(AuditLog.entity == f.entity)
        if f.entity_id:
            stmt = stmt.where(AuditLog.entity_id == f.entity_id)
        if f.patient:
            stmt = stmt.where(patient_clause(conn, f.patient))
        if f.action:
            stmt = stmt.where(AuditLog.action == f.action)
        elif not f.include_reads:
            stmt = stmt.where(AuditLog.action != "read")
        if f.actor:  # a user's name matches its web and CLI actors ("web:NAME", "user:NAME")
            names = (f.actor, f"web:{f.actor}", f"user:{f.actor}")
            stmt = stmt.where(AuditLog.actor.in_(names))
        # `at` is ISO-8601 UTC text, so whole days compare as strings.
        if f.date_from:
            stmt = stmt.where(AuditLog.at >= f.date_from.isoformat())
        if f.date_to:
            stmt = stmt.where(AuditLog.at < (f.date_to + dt.timedelta(days=1)).isoformat())
        return [_shown(dict(row)) for row in conn.execute(stmt).mappings()]


def readable_time(at: str) -> str:
    """'2026-12-07T05:46:47.918826+00:00' → '2026-12-07 05:46:47' (UTC, whole seconds)."""
    try:
        when = dt.datetime.fromisoformat(at)
    except ValueError:
        return at
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC)
    return when.strftime("%Y-%m-%d %H:%M:%S")


def _shown(row: dict[str, Any]) -> dict[str, Any]:
    row["when"] = readable_time(str(row["at"]))
    row["action_label"] = ACTION_LABELS.get(str(row["action"]), row["action"])
    return row


def _parse(request: Request, limit: int, errors: list[FieldError]) -> AuditFilter:
    q = request.query_params

    def text(name: str) -> str | None:
        return (q.get(name) or "").strip()[:400] or None

    def day(name: str) -> dt.date | None:
        raw = text(name)
        if raw is None:
            return None
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            errors.append(
                FieldError(
                    field=name,
                    message=f"{raw!r} is not a date (YYYY-MM-DD)",
                    value=raw,
                    allowed="YYYY-MM-DD",
                )
            )
            return None

    def choice(name: str, allowed: tuple[str, ...]) -> str | None:
        raw = text(name)
        if raw is None or raw in allowed:
            return raw
        errors.append(
            FieldError(
                field=name,
                message=f"{raw!r} is not one of the choices",
                value=raw,
                allowed=", ".join(allowed),
            )
        )
        return None

    lo, hi = day("from"), day("to")
    if lo and hi and lo > hi:
        errors.append(FieldError(field="to", message=f"{hi} is before the start date {lo}"))
    return AuditFilter(
        entity=choice("entity", ENTITIES),
        entity_id=text("entity_id"),
        patient=text("patient"),
        action=choice("action", ACTIONS),
        actor=text("actor"),
        date_from=lo,
        date_to=hi,
        include_reads=q.get("reads") == "1",
        limit=limit,
    )


@router.get("/audit")
def audit_page(
    request: Request,
    _: Annotated[Principal, Depends(clinical_user)],
    limit: Annotated[int, Field(ge=1, le=1000)] = 100,
) -> Response:
    errors: list[FieldError] = []
    f = _parse(request, limit, errors)
    q = request.query_params
    form = {
        name: q.get(name, "")
        for name in ("entity", "entity_id", "patient", "action", "actor", "from", "to")
    }
    form.update(limit=str(limit), reads="1" if f.include_reads else "")
    ctx: dict[str, Any] = {
        "rows": [],
        "entities": ENTITIES,
        "actions": ACTIONS,
        "action_labels": ACTION_LABELS,
        "form": form,
        "filter": f,
    }
    if errors:
        ctx["errors"] = messages_by_field(errors)
        return render(request, "audit.html", ctx, status_code=422)
    ctx["rows"] = audit_rows(engine_of(request), f)
    return render(request, "audit.html", ctx)
