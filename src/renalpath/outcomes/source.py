"""Load `RegistryFrames` straight from a registry database, letting SQL do the filtering.

Why this module exists: every analysis is a pure function of `RegistryFrames`, but a
1,000,000-patient registry does not fit comfortably in memory as eight full DataFrames (tens
of millions of lab rows). So each study gets a loader that asks the database only for the rows
that study can read — the window restriction, the patient selection and the per-patient
follow-up end (a GROUP BY over labs, events and interventions) all run in SQL, on the indexes
the registry models declare. The frames that come back are complete for the patients they hold,
so the analyses give the same numbers as on the whole registry (tests compare both).

Notebook use (the Python API)::

    from renalpath.outcomes import load_frames, build_cohort, CohortSpec, table_one

    frames = load_frames("sqlite:///renalpath.db", "2015-01-01", "2020-12-31")
    cohort = build_cohort(frames, CohortSpec(window_from="2015-01-01", ct=("T1a",)))
    t1 = table_one(cohort.rows, ["age_years", "sex", "ct"], categorical=["sex", "ct"])

- `load_frames(db, window_from=None, window_to=None, *, types=None)` — without a window or
  types, the whole registry; otherwise *every* row of the patients who have an intervention of
  `types` (default: any type) dated in the window, so their histories (prior treatments, labs,
  events after the window) stay whole.
- `salvage_frames(db, window_from, window_to)` — what `salvage_study` reads: complete histories
  of patients with a salvage partial/radical nephrectomy in the window, plus the identifying
  columns of every other partial/radical nephrectomy in the window (the denominator).
- `survival_frames(db, window_from, window_to)` — what `survival_study` reads: the patients
  with a partial/radical nephrectomy in the window, those operations with their pathology and
  complications, their tumours, death and recurrence events, and `followup_end_date` computed
  in SQL (so no lab rows are loaded at all).

`db` is a database URL (None → `RENALPATH_DATABASE_URL`, else `sqlite:///./renalpath.db`,
design §5) or an SQLAlchemy `Engine`. A database without the current schema is refused with
`SchemaError` naming the migration command.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import Engine, String, and_, func, select, true, type_coerce
from sqlalchemy.sql import ColumnElement, Select

from renalpath.outcomes.cohorts import SURGERY_TYPES, DateLike, to_timestamp
from renalpath.outcomes.frames import COLUMNS, RegistryFrames
from renalpath.registry.db import make_engine, require_schema
from renalpath.registry.models import TABLES

# Rows the salvage denominator needs from every other operation (design §4 names).
_SLIM_OPERATION_COLUMNS = (
    "intervention_id", "patient_id", "tumour_id", "date", "type", "side", "intent",
    "intent_derived", "parent_intervention_id", "parent_intervention_id_derived",
)  # fmt: skip
_SURVIVAL_EVENTS = ("death", "local_recurrence", "distant_metastasis")
_DATE_COLUMNS = {"birth_date", "death_date", "last_contact_date", "diagnosis_date", "date"}


def engine_for(db: str | Engine | None) -> Engine:
    """An engine on a migrated registry (refuses an empty or outdated schema)."""
    engine = db if isinstance(db, Engine) else make_engine(db)
    require_schema(engine)
    return engine


def _window(
    window_from: DateLike, window_to: DateLike
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    lo, hi = to_timestamp(window_from, "window_from"), to_timestamp(window_to, "window_to")
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"window: from {lo.date()} is after to {hi.date()}")
    return lo, hi


def _ops_where(
    lo: pd.Timestamp | None, hi: pd.Timestamp | None, types: Sequence[str] | None
) -> ColumnElement[bool]:
    iv = TABLES["interventions"]
    conds: list[ColumnElement[bool]] = []
    if types is not None:
        conds.append(iv.c.type.in_(list(types)))
    if lo is not None:
        conds.append(iv.c.date >= lo.date())
    if hi is not None:
        conds.append(iv.c.date <= hi.date())
    return and_(true(), *conds)


def _patients_with_ops(where: ColumnElement[bool]) -> Select[Any]:
    iv = TABLES["interventions"]
    return select(iv.c.patient_id).where(where).distinct()


def _columns(name: str) -> list[str]:
    """Columns stored in the table that the outcomes frames know (derived ones included)."""
    table = TABLES[name]
    return [c for c in COLUMNS[name] if c in table.c]


def _select(name: str, columns: Iterable[str] | None = None) -> tuple[Select[Any], list[str]]:
    table = TABLES[name]
    cols = list(columns) if columns is not None else _columns(name)
    # Dates come back as ISO text on SQLite and are parsed by pandas in one vectorised pass
    # (SQLAlchemy's per-value date processor is the slowest part of a million-row read).
    exprs = [
        type_coerce(table.c[c], String).label(c) if c in _DATE_COLUMNS else table.c[c] for c in cols
    ]
    return select(*exprs), cols


def _read(engine: Engine, stmt: Select[Any], cols: list[str]) -> pd.DataFrame:
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame.from_records(rows, columns=cols)
    for c in cols:
        if c in _DATE_COLUMNS:
            frame[c] = pd.to_datetime(frame[c])
    return frame


def _followup_end(engine: Engine, patients: pd.DataFrame, scope: Select[Any] | None) -> pd.Series:
    """design §4 follow-up end, the per-table maxima computed by the database."""
    parts: list[pd.Series] = [
        patients.set_index("patient_id")["death_date"],
        patients.set_index("patient_id")["last_contact_date"],
    ]
    for name in ("events", "labs", "interventions"):
        t = TABLES[name]
        stmt = select(t.c.patient_id, type_coerce(func.max(t.c.date), String).label("date"))
        if scope is not None:
            stmt = stmt.where(t.c.patient_id.in_(scope))
        got = _read(engine, stmt.group_by(t.c.patient_id), ["patient_id", "date"])
        parts.append(got.set_index("patient_id")["date"])
    index = pd.Index(patients["patient_id"])
    stacked = pd.concat([p.reindex(index) for p in parts], axis=1)
    return stacked.max(axis=1)


def _patients(engine: Engine, scope: Select[Any] | None) -> pd.DataFrame:
    stmt, cols = _select("patients")
    if scope is not None:
        stmt = stmt.where(TABLES["patients"].c.patient_id.in_(scope))
    pats = _read(engine, stmt, cols)
    pats["followup_end_date"] = _followup_end(engine, pats, scope).to_numpy()
    return pats


def _by_patient(engine: Engine, name: str, scope: Select[Any] | None) -> pd.DataFrame:
    """All rows of a table for the patients in `scope` (None = everyone)."""
    stmt, cols = _select(name)
    if scope is not None:
        t = TABLES[name]
        if "patient_id" in t.c:
            stmt = stmt.where(t.c.patient_id.in_(scope))
        elif name == "imaging":
            tum = TABLES["tumours"]
            ids = select(tum.c.tumour_id).where(tum.c.patient_id.in_(scope))
            stmt = stmt.where(t.c.tumour_id.in_(ids))
        else:  # pathology, complications hang off interventions
            iv = TABLES["interventions"]
            ids = select(iv.c.intervention_id).where(iv.c.patient_id.in_(scope))
            stmt = stmt.where(t.c.intervention_id.in_(ids))
    return _read(engine, stmt, cols)


def _complete(engine: Engine, scope: Select[Any] | None) -> dict[str, pd.DataFrame]:
    tables = {"patients": _patients(engine, scope)}
    for name in COLUMNS:
        if name != "patients":
            tables[name] = _by_patient(engine, name, scope)
    return tables


def load_frames(
    db: str | Engine | None = None,
    window_from: DateLike = None,
    window_to: DateLike = None,
    *,
    types: Sequence[str] | None = None,
) -> RegistryFrames:
    """Complete histories of the patients with an intervention (of `types`) in the window.

    No window and no types: the whole registry.
    """
    engine = engine_for(db)
    lo, hi = _window(window_from, window_to)
    scope = None
    if lo is not None or hi is not None or types is not None:
        scope = _patients_with_ops(_ops_where(lo, hi, types))
    return RegistryFrames.build(_complete(engine, scope))


def salvage_frames(
    db: str | Engine | None = None, window_from: DateLike = None, window_to: DateLike = None
) -> RegistryFrames:
    """Exactly what `salvage_study` reads for this window (see module docstring)."""
    engine = engine_for(db)
    lo, hi = _window(window_from, window_to)
    iv = TABLES["interventions"]
    in_window = _ops_where(lo, hi, SURGERY_TYPES)
    # design §4: an explicit intent wins over the derived lineage.
    salvage = and_(in_window, func.coalesce(iv.c.intent, iv.c.intent_derived) == "salvage")
    scope = _patients_with_ops(salvage)
    tables = _complete(engine, scope)
    stmt, cols = _select("interventions", _SLIM_OPERATION_COLUMNS)
    others = _read(engine, stmt.where(in_window, iv.c.patient_id.not_in(scope)), cols)
    full = tables["interventions"]
    tables["interventions"] = pd.concat([full, others], ignore_index=True) if len(full) else others
    return RegistryFrames.build(tables)


def survival_frames(
    db: str | Engine | None = None, window_from: DateLike = None, window_to: DateLike = None
) -> RegistryFrames:
    """Exactly what `survival_study` reads for this window (see module docstring)."""
    engine = engine_for(db)
    lo, hi = _window(window_from, window_to)
    in_window = _ops_where(lo, hi, SURGERY_TYPES)
    scope = _patients_with_ops(in_window)
    iv = TABLES["interventions"]
    stmt, cols = _select("interventions")
    ops = _read(engine, stmt.where(in_window), cols)
    op_ids = select(iv.c.intervention_id).where(in_window)
    tables: dict[str, pd.DataFrame] = {"patients": _patients(engine, scope), "interventions": ops}
    tum = TABLES["tumours"]
    stmt, cols = _select("tumours")
    tables["tumours"] = _read(engine, stmt.where(tum.c.patient_id.in_(scope)), cols)
    for name in ("pathology", "complications"):
        stmt, cols = _select(name)
        tables[name] = _read(engine, stmt.where(TABLES[name].c.intervention_id.in_(op_ids)), cols)
    ev = TABLES["events"]
    stmt, cols = _select("events")
    stmt = stmt.where(ev.c.patient_id.in_(scope), ev.c.type.in_(_SURVIVAL_EVENTS))
    tables["events"] = _read(engine, stmt, cols)
    return RegistryFrames.build(tables)
