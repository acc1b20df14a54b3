"""Load `RegistryFrames` straight from a registry database, letting SQL do the filtering.

Why this module exists: every analysis is a pure function of `RegistryFrames`, but a
1,000,000-patient registry does not fit comfortably in memory as eight full DataFrames (tens
of millions of lab rows). So each study gets a loader that asks the database only for the rows
and columns that study can read — the window restriction, the first operation per patient, the
joins and the per-patient follow-up end all run in SQL, on the indexes the registry models
declare. The frames that come back are complete for what the study reads, so the analyses give
the same numbers as on the whole registry (tests/study compares both).

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
- `survival_frames(db, window_from, window_to)` — what `survival_study` reads, and only the
  columns it reads (the rest arrive blank, so `SurvivalStudy.data` carries only those): each
  patient's first partial/radical nephrectomy in the window (same-day ties kept,
  `first_per_patient` breaks them) joined in one statement with the patient, the tumour and
  the pathology; complications of in-window nephrectomies; death and recurrence events;
  `followup_end_date` from per-patient index look-ups (so no lab rows are loaded).

Rows are read from the DB-API cursor in chunks and turned into typed columns directly (dates
parsed in one vectorised pass, repeated codes sharing one string object), because building
SQLAlchemy row objects and per-value Python strings dominated time and memory at 1M patients.

`db` is a database URL (None → `RENALPATH_DATABASE_URL`, else `sqlite:///./renalpath.db`,
CLI exit codes) or an SQLAlchemy `Engine`. A database without the current schema is refused with
`SchemaError` naming the migration command.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    Boolean,
    Date,
    Engine,
    Float,
    Integer,
    Numeric,
    String,
    and_,
    exists,
    func,
    select,
    true,
    type_coerce,
)
from sqlalchemy.sql import ColumnElement, FromClause, Select

from renalpath.outcomes.cohorts import SURGERY_TYPES, DateLike, to_timestamp
from renalpath.registry.db import make_engine, require_schema
from renalpath.registry.followup import followup_end_sql
from renalpath.registry.frames import COLUMNS, RegistryFrames
from renalpath.registry.models import TABLES

# Rows the salvage denominator needs from every other operation (registry CSV contract names):
# enough to
# count patients and to follow a lineage through them.
_SLIM_OPERATION_COLUMNS = (
    "intervention_id",
    "patient_id",
    "date",
    "type",
    "parent_intervention_id",
    "parent_intervention_id_derived",
)
# What `survival_study` reads (operations → index_table → time_to_event, and BY_FIELDS), plus
# the columns a frame requires; the others arrive blank (fewer columns = a faster 1M read).
_SURVIVAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "interventions": (
        "intervention_id",
        "patient_id",
        "tumour_id",
        "date",
        "type",
        "side",
        "approach",
        "intent",
        "intent_derived",
    ),
    "patients": (
        "patient_id",
        "sex",
        "birth_date",
        "solitary_kidney",
        "death_date",
        "death_cause",
    ),
    "tumours": ("tumour_id", "patient_id", "side", "diagnosis_date", "histology", "ct"),
    "pathology": ("intervention_id", "histology", "isup_grade", "pt", "margin"),
    "complications": ("intervention_id", "date", "clavien_dindo"),
    "events": ("patient_id", "tumour_id", "date", "type"),
}
_SURVIVAL_EVENTS = ("death", "local_recurrence", "distant_metastasis")
_ID_COLUMNS = {
    "patient_id",
    "tumour_id",
    "intervention_id",
    "parent_intervention_id",
    "parent_intervention_id_derived",
}
_CHUNK_ROWS = 50_000  # rows per DB-API fetch: bounds the transient Python tuples
_IN_LIST = 5_000  # ids per IN (...) list (SQLite allows 32,766 parameters)


@dataclass(frozen=True)
class _Col:
    """One selected column: its frame name, how to type it, and the SQL expression."""

    label: str
    kind: str  # "date" | "bool" | "num" | "id" | "text"
    expr: ColumnElement[Any]


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
    iv: Any, lo: pd.Timestamp | None, hi: pd.Timestamp | None, types: Sequence[str] | None
) -> ColumnElement[bool]:
    """Interventions (of `iv`, a table or alias) of `types` dated in [lo, hi]."""
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


def _kind(name: str, table: FromClause) -> str:
    sql_type = table.c[name].type
    if name in _ID_COLUMNS:
        return "id"
    if isinstance(sql_type, Date):
        return "date"
    if isinstance(sql_type, Boolean):
        return "bool"
    if isinstance(sql_type, Float | Integer | Numeric):
        return "num"
    return "text"


def _cols(name: str, columns: Iterable[str] | None = None, prefix: str = "") -> list[_Col]:
    """Selectable columns of a registry table that the outcomes frames know."""
    table = TABLES[name]
    names = list(columns) if columns is not None else [c for c in COLUMNS[name] if c in table.c]
    out = []
    for c in names:
        kind = _kind(c, table)
        # Dates travel as ISO text on SQLite and are parsed by pandas in one vectorised pass
        # (a per-value date processor is the slowest part of a million-row read).
        expr = type_coerce(table.c[c], String) if kind == "date" else table.c[c]
        out.append(_Col(prefix + c, kind, expr.label(prefix + c)))
    return out


def _followup_end(engine: Engine, pat: FromClause) -> _Col:
    """The follow-up end of each patient, computed by the database (`registry.followup`)."""
    expr = followup_end_sql(pat, engine.dialect.name)
    return _Col("followup_end_date", "date", expr.label("followup_end_date"))


def _convert(values: tuple[Any, ...], kind: str) -> Any:
    if kind == "num":
        return np.array(values, dtype=float)
    arr = np.array(values, dtype=object)
    if kind == "date":
        return pd.to_datetime(arr)
    if kind == "bool":
        return pd.array(arr, dtype="boolean")
    if kind == "text" and len(arr):
        # Codes repeat: keep one string object per distinct value (memory at 1M rows).
        codes, uniques = pd.factorize(arr)
        lookup = np.empty(len(uniques) + 1, dtype=object)
        lookup[:-1] = uniques  # the trailing slot stays None: code -1 (missing) picks it
        return lookup[codes]
    return arr


def _to_frame(rows: Sequence[Sequence[Any]], cols: Sequence[_Col]) -> pd.DataFrame:
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in cols]
    return pd.DataFrame(
        {c.label: _convert(v, c.kind) for c, v in zip(cols, columns, strict=True)},
        columns=[c.label for c in cols],
    )


def _fetch(engine: Engine, stmt: Select[Any], cols: Sequence[_Col]) -> pd.DataFrame:
    """Run `stmt` and build a typed frame from the raw DB-API rows, chunk by chunk."""
    parts: list[pd.DataFrame] = []
    with engine.connect() as conn:
        result = conn.execute(stmt)
        try:
            cursor = result.cursor
            while rows := cursor.fetchmany(_CHUNK_ROWS):
                parts.append(_to_frame(rows, cols))
        finally:
            result.close()
    if not parts:
        return _to_frame([], cols)
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


def _read(
    engine: Engine,
    name: str,
    where: ColumnElement[bool] | None = None,
    columns: Iterable[str] | None = None,
) -> pd.DataFrame:
    cols = _cols(name, columns)
    stmt = select(*(c.expr for c in cols))
    return _fetch(engine, stmt if where is None else stmt.where(where), cols)


def _chunks(ids: Sequence[str]) -> list[list[str]]:
    return [list(ids[i : i + _IN_LIST]) for i in range(0, len(ids), _IN_LIST)]


def _read_in(engine: Engine, name: str, key: str, ids: Sequence[str]) -> pd.DataFrame:
    """All rows of a table whose `key` is one of `ids` (a short list, read in IN chunks)."""
    col = TABLES[name].c[key]
    parts = [_read(engine, name, col.in_(chunk)) for chunk in _chunks(ids)]
    if not parts:
        return _read(engine, name, col.in_([]))
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


def _patients(engine: Engine, where: ColumnElement[bool] | None) -> pd.DataFrame:
    pat = TABLES["patients"]
    cols = [*_cols("patients"), _followup_end(engine, pat)]
    stmt = select(*(c.expr for c in cols))
    return _fetch(engine, stmt if where is None else stmt.where(where), cols)


def _complete(engine: Engine, scope: Select[Any] | None) -> dict[str, pd.DataFrame]:
    """Every row of every table for the patients in `scope` (None = everyone)."""
    iv, tum = TABLES["interventions"], TABLES["tumours"]
    pid = None if scope is None else TABLES["patients"].c.patient_id.in_(scope)
    tables = {"patients": _patients(engine, pid)}
    for name in COLUMNS:
        if name == "patients":
            continue
        t = TABLES[name]
        where: ColumnElement[bool] | None = None
        if scope is not None:
            if "patient_id" in t.c:
                where = t.c.patient_id.in_(scope)
            elif "tumour_id" in t.c:  # imaging, staging hang off tumours
                where = t.c.tumour_id.in_(
                    select(tum.c.tumour_id).where(tum.c.patient_id.in_(scope))
                )
            else:  # pathology, complications hang off interventions
                ids = select(iv.c.intervention_id).where(iv.c.patient_id.in_(scope))
                where = t.c.intervention_id.in_(ids)
        tables[name] = _read(engine, name, where)
    return tables


def _complete_for(engine: Engine, patient_ids: Sequence[str]) -> dict[str, pd.DataFrame]:
    """Every row of every table for a short list of patients (index look-ups per id)."""
    pat = TABLES["patients"]
    chunks = _chunks(patient_ids) or [[]]
    parts = [_patients(engine, pat.c.patient_id.in_(chunk)) for chunk in chunks]
    tables = {"patients": pd.concat(parts, ignore_index=True)}
    by_patient = [n for n in COLUMNS if n != "patients" and "patient_id" in TABLES[n].c]
    for name in by_patient:
        tables[name] = _read_in(engine, name, "patient_id", patient_ids)
    tumour_ids = tables["tumours"]["tumour_id"].dropna().unique().tolist()
    op_ids = tables["interventions"]["intervention_id"].dropna().unique().tolist()
    for name in COLUMNS:
        if name == "patients" or name in by_patient:
            continue
        if "tumour_id" in TABLES[name].c:  # imaging, staging
            tables[name] = _read_in(engine, name, "tumour_id", tumour_ids)
        else:  # pathology, complications
            tables[name] = _read_in(engine, name, "intervention_id", op_ids)
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
        scope = _patients_with_ops(_ops_where(TABLES["interventions"], lo, hi, types))
    return RegistryFrames.build(_complete(engine, scope))


def salvage_frames(
    db: str | Engine | None = None, window_from: DateLike = None, window_to: DateLike = None
) -> RegistryFrames:
    """Exactly what `salvage_study` reads for this window (see module docstring)."""
    engine = engine_for(db)
    lo, hi = _window(window_from, window_to)
    iv = TABLES["interventions"]
    in_window = _ops_where(iv, lo, hi, SURGERY_TYPES)
    # an explicit intent wins over the derived lineage.
    salvage = and_(in_window, func.coalesce(iv.c.intent, iv.c.intent_derived) == "salvage")
    id_col = [_Col("patient_id", "id", iv.c.patient_id.label("patient_id"))]
    scope = _fetch(engine, select(iv.c.patient_id).where(salvage).distinct(), id_col)
    scope_ids = sorted(scope["patient_id"].tolist())
    tables = _complete_for(engine, scope_ids)
    others = _read(engine, "interventions", in_window, _SLIM_OPERATION_COLUMNS)
    others = others[~others["patient_id"].isin(scope_ids)]
    full = tables["interventions"]
    tables["interventions"] = pd.concat([full, others], ignore_index=True) if len(full) else others
    return RegistryFrames.build(tables)


def survival_frames(
    db: str | Engine | None = None, window_from: DateLike = None, window_to: DateLike = None
) -> RegistryFrames:
    """Exactly what `survival_study` reads for this window (see module docstring)."""
    engine = engine_for(db)
    lo, hi = _window(window_from, window_to)
    iv, pat, tum, path = (TABLES[n] for n in ("interventions", "patients", "tumours", "pathology"))
    in_window = _ops_where(iv, lo, hi, SURGERY_TYPES)
    first = (
        select(iv.c.patient_id, func.min(iv.c.date).label("first_date"))
        .where(in_window)
        .group_by(iv.c.patient_id)
        .subquery("first_op")
    )
    cols = {
        name: _cols(name, _SURVIVAL_COLUMNS[name], prefix=f"{name}.")
        for name in ("interventions", "patients", "tumours", "pathology")
    }
    cols["patients"].append(_followup_end(engine, pat))
    flat = [c for group in cols.values() for c in group]
    # One statement: each patient's earliest in-window nephrectomy (same-day ties kept; the
    # analysis breaks them by id as on the full frames) with its patient, tumour, pathology.
    joined = (
        first.join(iv, and_(iv.c.patient_id == first.c.patient_id, iv.c.date == first.c.first_date))
        .join(pat, pat.c.patient_id == iv.c.patient_id)
        .outerjoin(tum, tum.c.tumour_id == iv.c.tumour_id)
        .outerjoin(path, path.c.intervention_id == iv.c.intervention_id)
    )
    stmt = select(*(c.expr for c in flat)).select_from(joined).where(in_window)

    def part(wide: pd.DataFrame, name: str, key: str, *, unique: bool) -> pd.DataFrame:
        """One table's columns; outer-join blanks dropped, repeats (same-day ties) too."""
        frame = wide[[c.label for c in cols[name]]]
        frame = frame.rename(columns=lambda c: c.removeprefix(f"{name}."))
        keep = frame[key].notna()
        return frame[keep if unique else keep & ~frame[key].duplicated()]

    wide = _fetch(engine, stmt, flat)
    tables: dict[str, pd.DataFrame] = {
        # one joined row per operation: its id (and its pathology's, a primary key) is unique
        "interventions": part(wide, "interventions", "intervention_id", unique=True),
        "patients": part(wide, "patients", "patient_id", unique=False),
        "tumours": part(wide, "tumours", "tumour_id", unique=False),
        "pathology": part(wide, "pathology", "intervention_id", unique=True),
    }
    del wide  # the split frames are copies; free the joined rows before the next reads
    # Complications of every in-window nephrectomy (a superset of the first ones; the
    # analysis joins them by intervention id), and the survival events of those patients.
    comp = TABLES["complications"]
    has_op = select(iv.c.intervention_id).where(
        in_window, iv.c.intervention_id == comp.c.intervention_id
    )
    tables["complications"] = _read(
        engine, "complications", exists(has_op), _SURVIVAL_COLUMNS["complications"]
    )
    ev, iv2 = TABLES["events"], iv.alias("iv2")
    operated = select(iv2.c.patient_id).where(
        _ops_where(iv2, lo, hi, SURGERY_TYPES), iv2.c.patient_id == ev.c.patient_id
    )
    tables["events"] = _read(
        engine,
        "events",
        and_(ev.c.type.in_(_SURVIVAL_EVENTS), exists(operated)),
        _SURVIVAL_COLUMNS["events"],
    )
    return RegistryFrames.build(tables)
