"""Create, correct and delete ONE registry record — through the import's own validation.

A record is handled as the CSV cells of its dictionary file (`registry.dictionary`): the cells
go through the importer's parser (`validate.parse_frames`) and cross-row rules
(`validate.cross_checks`) against the database rows they refer to, so a value the importer
refuses is refused here with the same message, and a value it accepts is accepted. Several
records written together (an intervention with its pathology) are validated as one small
folder, exactly as an import of those rows would be.

Guarantees:
- one transaction per call: validation, the write, derived values and the audit rows commit
  together or not at all (nothing is half-saved);
- no lost update: a write takes the registry's write lock (`db.lock_for_write`) before it
  reads the stored record, so what it validates, replaces and audits as "old" is what was
  there; a caller may also pass the record's `version` it based the change on (`if_match`),
  and the write is refused as a conflict if the record changed since;
- every write is in the hash-chained audit trail with the importer's shapes: an insert is the
  whole record as JSON, an update one row per changed field (old → new), a delete the whole
  deleted record; updates and deletes need a reason;
- derived values are refreshed as the importer does: eGFR of a lab (and of every lab of a
  patient whose sex, birth date or race changed), salvage lineage of the patient's
  interventions after a tumour, intervention or event changed;
- a delete never cascades: a record that others still point to is refused with their list;
- only the rows the record refers to are read (never the whole registry): the registry may
  hold 100,000+ patients.

Key columns (ids, and the natural keys of imaging, labs and events) are not changed by a
correction: the importer would treat a changed key as a new row, so a wrong key is corrected
by deleting the record and adding the right one (both audited).  Complications are not
handled here: their key is the row's order among an intervention's complications, which a
single delete would renumber.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    String,
    Table,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from renalpath.errors import Conflict, NotFound, Refusal
from renalpath.registry import audit
from renalpath.registry.bulk import bulk_update
from renalpath.registry.cells import canonical_frame
from renalpath.registry.db import lock_for_write
from renalpath.registry.derived import (
    DEFAULT_EQUATION,
    FAILURE_EVENTS,
    LINEAGE_COLUMNS,
    LINEAGE_INPUTS,
    compute_egfr,
    lab_codes,
)
from renalpath.registry.dictionary import CODED_FILES, FILES, FileSpec
from renalpath.registry.importer import _dates, _entity_ids, _record_json, store_lineage
from renalpath.registry.models import TABLES
from renalpath.registry.validate import (
    LINE,
    Issue,
    Reference,
    Report,
    cross_checks,
    merged_reference,
    parse_frames,
)

# Files with their own identifier column (the record is addressed by it) …
ID_FILES = ("patients", "tumours", "interventions", "pathology")
# … and files keyed by a natural key, addressed by the table's surrogate row id.
ROW_FILES = ("imaging", "labs", "events", *CODED_FILES)
SUPPORTED = (*ID_FILES, *ROW_FILES)

DEMOGRAPHICS = ("sex", "birth_date", "black_race")  # inputs of the stored eGFR
LINEAGE_FILES = ("tumours", "interventions", "events")  # inputs of the salvage lineage

# Rows that point at a record, by file: (child file, column). A delete is refused while any
# exist (no silent cascade); imaging/pathology/complications are reached through their parent.
DEPENDENTS: dict[str, tuple[tuple[str, str], ...]] = {
    "patients": (
        ("tumours", "patient_id"),
        ("interventions", "patient_id"),
        ("labs", "patient_id"),
        ("events", "patient_id"),
        *((f, "patient_id") for f in CODED_FILES if "patient_id" in FILES[f].column_names),
    ),
    "tumours": (
        ("imaging", "tumour_id"),
        ("interventions", "tumour_id"),
        ("events", "tumour_id"),
        *((f, "tumour_id") for f in CODED_FILES if "tumour_id" in FILES[f].column_names),
    ),
    "interventions": (
        ("pathology", "intervention_id"),
        ("complications", "intervention_id"),
        ("interventions", "parent_intervention_id"),
    ),
}
_SHOWN_IDS = 5  # dependents named in a refusal (the rest are counted)

Cells = Mapping[str, str | None]
Locator = str | int


class RecordNotFound(NotFound, LookupError):
    """No record of that file with that id."""


class RecordConflict(Conflict):
    """The write contradicts stored rows: a duplicate key, or dependents block a delete."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class RecordRefused(Refusal, ValueError):
    """The record did not pass validation; nothing was written.

    `issues` are the importer's `Issue`s (file, column, value, reason) — errors first, then
    the warnings that would have been reported with them.
    """

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues = list(issues)
        super().__init__("; ".join(i.text() for i in self.errors))

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]


@dataclass
class RecordResult:
    """What a create / update / delete did."""

    entity: str  # dictionary file name
    entity_id: str  # audit id: the record's id, or its natural key joined with "|"
    locator: Locator  # how the API addresses it: the id, or the surrogate row id
    cells: dict[str, str]  # canonical cells after the write (before it, for a delete)
    changed: list[str] = field(default_factory=list)  # columns an update changed
    before: dict[str, str] = field(default_factory=dict)  # an update's cells before it
    derived: dict[str, Any] = field(default_factory=dict)
    warnings: list[Issue] = field(default_factory=list)
    audit_rows: int = 0

    @property
    def version(self) -> str:
        """The record's version: a digest of its canonical cells (an HTTP entity tag)."""
        return record_version(self.cells)


def record_version(cells: Mapping[str, str]) -> str:
    """Digest of a record's canonical cells: any change of any cell changes it."""
    text = json.dumps(sorted(cells.items()), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def _check_version(
    name: str, entity_id: str, cells: Mapping[str, str], if_match: str | None
) -> None:
    if if_match is None:
        return
    wanted = if_match.strip().removeprefix("W/").strip('"')
    if wanted != record_version(cells):
        raise RecordConflict(
            f"{_singular(name)} {entity_id} was changed since version {wanted} was read "
            "(by another correction or an import); nothing was saved — reload it and redo "
            "the change",
            field="version",
        )


@dataclass(frozen=True)
class NewRecord:
    """One record of a `create_records` batch."""

    file: str
    cells: Cells


# ------------------------------------------------------------------------------ helpers


def spec_of(name: str) -> FileSpec:
    if name not in SUPPORTED:
        raise ValueError(f"records of {name!r} cannot be edited one by one")
    return FILES[name]


def _table(name: str) -> Table:
    table: Table = TABLES[name]  # type: ignore[assignment]
    return table


def _locator_clause(name: str, locator: Locator) -> ColumnElement[bool]:
    table = _table(name)
    if name in ROW_FILES:
        return table.c["id"] == int(locator)
    return table.c[FILES[name].key[0]] == str(locator)


def _read_where(
    conn: Connection, name: str, columns: Sequence[str], cond: ColumnElement[bool]
) -> pd.DataFrame:
    table = _table(name)
    rows = conn.execute(select(*[table.c[c] for c in columns]).where(cond)).all()
    return pd.DataFrame(rows, columns=list(columns))


def _present(values: Iterable[object]) -> set[str]:
    return {v for v in values if isinstance(v, str) and v}


def scoped_reference(conn: Connection, typed: Mapping[str, pd.DataFrame]) -> Reference:
    """The database rows that `typed` refers to — and only those (the importer's
    `load_reference` reads every patient, tumour and intervention, right for a folder of
    thousands of rows but not for one record in a 100,000-patient registry).

    Patients named directly or through a tumour or intervention are loaded, so that the
    cross-row date rules (before birth, after death) see the patient of a pathology row too.
    """
    pids: set[str] = set()
    tids: set[str] = set()
    ivids: set[str] = set()
    for frame in typed.values():
        if "patient_id" in frame:
            pids |= _present(frame["patient_id"])
        if "tumour_id" in frame:
            tids |= _present(frame["tumour_id"])
        for col in ("intervention_id", "parent_intervention_id"):
            if col in frame:
                ivids |= _present(frame[col])
    tum_t, iv_t, pat_t = _table("tumours"), _table("interventions"), _table("patients")
    tums = _read_where(
        conn,
        "tumours",
        ["tumour_id", "patient_id", "side", "diagnosis_date"],
        tum_t.c.tumour_id.in_(sorted(tids)),
    )
    ivs = _read_where(
        conn,
        "interventions",
        ["intervention_id", "patient_id", "tumour_id", "date", "type", "side"],
        iv_t.c.intervention_id.in_(sorted(ivids)),
    )
    pids |= _present(tums["patient_id"]) | _present(ivs["patient_id"])
    pats = _read_where(
        conn,
        "patients",
        ["patient_id", "sex", "birth_date", "death_date", "black_race"],
        pat_t.c.patient_id.in_(sorted(pids)),
    )
    return Reference(
        patients=_dates(pats, "birth_date", "death_date"),
        tumours=_dates(tums, "diagnosis_date"),
        interventions=_dates(ivs, "date"),
    )


def _raw_frame(spec: FileSpec, rows: Sequence[Cells], first_line: int = 2) -> pd.DataFrame:
    """Cells as the importer reads a CSV: all strings, blank = "", surrounding blanks dropped."""
    data = {
        c: ["" if r.get(c) is None else str(r.get(c)).strip() for r in rows]
        for c in spec.column_names
    }
    frame = pd.DataFrame(data, columns=list(spec.column_names), dtype=object)
    frame[LINE] = np.arange(first_line, first_line + len(rows))
    return frame


def _storage_checks(spec: FileSpec, raw: pd.DataFrame, report: Report) -> None:
    """What the database itself would refuse (import has no such check; PostgreSQL would
    fail the whole transaction): text longer than its column, and NUL characters."""
    table = _table(spec.name)
    for col in spec.columns:
        if col.type not in ("str", "enum"):
            continue
        values = raw[col.name].astype(str)
        nul = values.str.contains("\x00", regex=False)
        report.add_rows("error", spec, raw, nul, col.name, "contains a NUL character")
        sql_type = table.c[col.name].type
        length = sql_type.length if isinstance(sql_type, String) else None
        if length:
            long = values.str.len() > length
            report.add_rows(
                "error", spec, raw, long & ~nul, col.name, f"longer than {length} characters"
            )


def _unknown_columns(spec: FileSpec, rows: Sequence[Cells], report: Report) -> None:
    for n, row in enumerate(rows):
        for col in row:
            if col not in spec.column_names:
                report.add(
                    "error",
                    spec.filename,
                    n + 2,
                    col,
                    None,
                    f"unknown column (allowed: {', '.join(spec.column_names)})",
                )


def validate_rows(
    conn: Connection, rows: Mapping[str, Sequence[Cells]]
) -> tuple[Report, dict[str, pd.DataFrame]]:
    """Validate in-memory rows of one or more files like an import of a folder holding them
    (parse + cross-row rules against the database rows they refer to)."""
    report = Report()
    raws: dict[str, pd.DataFrame] = {}
    for name in FILES:
        if name in rows:
            spec = spec_of(name)
            _unknown_columns(spec, rows[name], report)
            raws[name] = _raw_frame(spec, rows[name])
            _storage_checks(spec, raws[name], report)
    typed = parse_frames(raws, report)
    ref = merged_reference(scoped_reference(conn, typed), typed)
    cross_checks(typed, ref, report)
    return report, typed


def _py_value(value: object) -> object:
    """A typed-frame cell as SQLAlchemy takes it (dates as date, NaN/NaT/NA as None)."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _values(spec: FileSpec, typed_row: pd.Series) -> dict[str, object]:
    return {c: _py_value(typed_row[c]) for c in spec.column_names}


def _stored(conn: Connection, name: str, locator: Locator) -> dict[str, Any]:
    table = _table(name)
    if isinstance(locator, str) and ("\x00" in locator or len(locator) > 400):
        raise RecordNotFound(f"no {_singular(name)} with id {locator!r}")  # not storable
    try:
        clause = _locator_clause(name, locator)
    except (TypeError, ValueError):
        raise RecordNotFound(f"no {name} record with id {locator!r}") from None
    row = conn.execute(select(table).where(clause)).mappings().first()
    if row is None:
        raise RecordNotFound(f"no {_singular(name)} with id {locator!r}")
    return dict(row)


def _cells_of(canon_row: pd.Series) -> dict[str, str]:
    return {str(k): str(v) for k, v in canon_row.items()}


def _locator_of(name: str, row_id: object, cells: Mapping[str, str]) -> Locator:
    """How the API addresses a record: its surrogate row id, or its own id."""
    return int(row_id) if name in ROW_FILES else cells[FILES[name].key[0]]  # type: ignore[call-overload]


@dataclass(frozen=True)
class _StoredRecord:
    """A stored record as the database row and as the canonical cells export would write."""

    row: dict[str, Any]
    canon: pd.DataFrame  # one canonical row
    cells: dict[str, str]
    entity_id: str
    locator: Locator


def _load(conn: Connection, name: str, locator: Locator) -> _StoredRecord:
    spec = FILES[name]
    row = _stored(conn, name, locator)
    frame = pd.DataFrame([{c: row[c] for c in spec.column_names}], dtype=object)
    canon = canonical_frame(spec, frame)
    cells = _cells_of(canon.iloc[0])
    entity_id = _entity_ids(canon, spec.key)[0]
    return _StoredRecord(row, canon, cells, entity_id, _locator_of(name, row.get("id"), cells))


def _singular(name: str) -> str:
    return {
        "patients": "patient",
        "tumours": "tumour",
        "interventions": "intervention",
        "pathology": "pathology record",
        "imaging": "imaging study",
        "labs": "lab",
        "events": "event",
    }.get(name, name)


def read_record(
    engine: Engine, name: str, locator: Locator, actor: str | None = None
) -> RecordResult:
    """One record's cells and derived values. With an `actor` the read is audited in the same
    transaction (reads of identifiable data are accountable like writes)."""
    spec_of(name)
    with engine.begin() as conn:
        if actor:  # an audited read: lock before reading, like every audited action
            lock_for_write(conn)
        rec = _load(conn, name, locator)
        if actor:
            _audit_read(conn, name, rec.entity_id, actor)
        return RecordResult(
            entity=name,
            entity_id=rec.entity_id,
            locator=rec.locator,
            cells=rec.cells,
            derived=_derived_of(name, rec.row),
        )


def _audit_read(conn: Connection, name: str, entity_id: str, actor: str) -> None:
    audit.append(
        conn, [audit.Change("read", name, entity_id, None, None, None)], actor, "record viewed"
    )


def log_read(engine: Engine, name: str, entity_id: str, actor: str) -> None:
    """Audit that `actor` viewed a record the caller has already read (and checked)."""
    with engine.begin() as conn:
        _audit_read(conn, name, entity_id, actor)


def require_record(engine: Engine, name: str, locator: Locator) -> None:
    """RecordNotFound unless the record is stored (a parent check: nothing of it is shown,
    so nothing is audited)."""
    spec_of(name)
    with engine.connect() as conn:
        _stored(conn, name, locator)


def _derived_of(name: str, row: Mapping[str, Any]) -> dict[str, Any]:
    if name == "labs":
        return {k: row.get(k) for k in ("egfr", "egfr_equation", "loinc", "ucum")}
    if name == "interventions":
        return {c: row.get(c) for c in LINEAGE_COLUMNS[1:]}
    return {}


def _key_clause(spec: FileSpec, values: Mapping[str, object]) -> ColumnElement[bool]:
    """Rows with the same key as `values` (blank key cells match blank, as in import)."""
    table = _table(spec.name)
    parts = [
        table.c[k].is_(None) if values[k] is None else table.c[k] == values[k] for k in spec.key
    ]
    return and_(*parts)


def _require_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if "\x00" in text:
        raise RecordRefused(
            [Issue("error", "request", None, "reason", None, "contains a NUL character")]
        )
    if not text:
        raise RecordRefused(
            [
                Issue(
                    "error",
                    "request",
                    None,
                    "reason",
                    None,
                    "a reason is required (it goes to the audit trail)",
                )
            ]
        )
    return text


# ----------------------------------------------------------------------------- derived


def _patients_of(conn: Connection, name: str, values: Mapping[str, object]) -> set[str]:
    """Patients whose salvage lineage a change of this record may alter."""
    pid = values.get("patient_id")
    if isinstance(pid, str):
        return {pid}
    if name == "tumours" or name == "imaging":
        tid = values.get("tumour_id")
        t = _table("tumours")
        found = conn.execute(select(t.c.patient_id).where(t.c.tumour_id == tid)).scalar()
        return {found} if found else set()
    return set()


def refresh_lineage(conn: Connection, patients: set[str]) -> int:
    """Recompute and store the salvage lineage of `patients` (the importer's rule, reading
    only their interventions, tumours and failure events); returns rows changed."""
    if not patients:
        return 0
    iv_t, ev_t, tum_t = _table("interventions"), _table("events"), _table("tumours")
    cols = [*LINEAGE_INPUTS, *LINEAGE_COLUMNS[1:]]
    ivs = _read_where(conn, "interventions", cols, iv_t.c.patient_id.in_(sorted(patients)))
    if ivs.empty:
        return 0
    evs = _read_where(
        conn,
        "events",
        ["patient_id", "tumour_id", "date", "type"],
        and_(ev_t.c.patient_id.in_(sorted(patients)), ev_t.c.type.in_(FAILURE_EVENTS)),
    )
    tids = _present(ivs["tumour_id"]) | _present(evs["tumour_id"])
    tums = _read_where(
        conn,
        "tumours",
        ["tumour_id", "side"],
        or_(tum_t.c.tumour_id.in_(sorted(tids)), tum_t.c.patient_id.in_(sorted(patients))),
    )
    return store_lineage(conn, ivs, tums, evs)


def _patient_frame(conn: Connection, patient_id: str) -> pd.DataFrame:
    t = _table("patients")
    pats = _read_where(
        conn,
        "patients",
        ["patient_id", "sex", "birth_date", "black_race"],
        t.c.patient_id == patient_id,
    )
    pats["birth_date"] = pd.to_datetime(pats["birth_date"])
    return pats.set_index("patient_id", drop=False)


def refresh_patient_egfr(conn: Connection, patient_id: str) -> int:
    """Recompute the stored eGFR of every lab of one patient (after sex, birth date or race
    changed), each with the equation it was stored with (else the registry default)."""
    t = _table("labs")
    labs = _read_where(
        conn,
        "labs",
        ["id", "patient_id", "date", "test", "value", "unit", "egfr_equation"],
        t.c.patient_id == patient_id,
    )
    if labs.empty:
        return 0
    labs = _dates(labs, "date")
    pats = _patient_frame(conn, patient_id)
    rows: list[tuple[Any, ...]] = []
    equations = labs["egfr_equation"].fillna(DEFAULT_EQUATION)
    for equation, part in labs.groupby(equations, sort=True):
        egfr, eq = compute_egfr(part, pats, str(equation))
        rows += [
            (int(i), None if pd.isna(g) else float(g), e)
            for i, g, e in zip(part["id"], egfr, eq, strict=True)
        ]
    bulk_update(conn, "labs", ["id"], ["egfr", "egfr_equation"], rows)
    return len(rows)


def _lab_egfr(
    conn: Connection, values: Mapping[str, object], equation: str
) -> tuple[float | None, str | None]:
    pid = str(values["patient_id"])
    labs = pd.DataFrame(
        [
            {
                "patient_id": pid,
                "date": pd.Timestamp(values["date"]),  # type: ignore[arg-type]
                "test": values["test"],
                "value": values["value"],
                "unit": values["unit"],
            }
        ]
    )
    egfr, eq = compute_egfr(labs, _patient_frame(conn, pid), equation)
    if pd.isna(egfr.iloc[0]):
        return None, None
    return float(egfr.iloc[0]), str(eq.iloc[0])


def _lab_codes(values: Mapping[str, object]) -> dict[str, object]:
    """The derived LOINC and UCUM codes of one lab (`derived.lab_codes`, as on import)."""
    frame = pd.DataFrame([{k: values.get(k) for k in ("test", "unit", "equation")}])
    loinc, ucum = lab_codes(frame)
    return {"loinc": loinc.iloc[0], "ucum": ucum.iloc[0]}


# ------------------------------------------------------------------------------ create


def create_records(
    engine: Engine,
    records: Sequence[NewRecord],
    actor: str,
    reason: str | None = None,
    equation: str = DEFAULT_EQUATION,
) -> list[RecordResult]:
    """Validate `records` together (like one import of a folder holding just them) and
    insert them in dictionary order, in one transaction; `equation` is the one used for the
    eGFR of a new creatinine (the importer's default unless told otherwise)."""
    if not records:
        return []
    by_file: dict[str, list[Cells]] = {}
    for rec in records:
        spec_of(rec.file)
        by_file.setdefault(rec.file, []).append(rec.cells)
    with engine.begin() as conn:
        lock_for_write(conn)
        report, typed = validate_rows(conn, by_file)
        if not report.ok:
            raise RecordRefused(report.sorted())
        writer = audit.ChainWriter(conn, actor, (reason or "").strip() or None)
        results: list[RecordResult] = []
        lineage: set[str] = set()
        for name in FILES:
            if name not in typed:
                continue
            spec = FILES[name]
            frame = typed[name].drop(columns=[LINE])
            canon = canonical_frame(spec, frame)
            ids = _entity_ids(canon, spec.key)
            records_json = _record_json(canon, spec.column_names)
            for pos in range(len(frame)):
                values = _values(spec, frame.iloc[pos])
                results.append(_insert_one(conn, spec, values, canon.iloc[pos], ids[pos], equation))
                if name in LINEAGE_FILES:
                    lineage |= _patients_of(conn, name, values)
            writer.inserts(name, ids, records_json)
        refresh_lineage(conn, lineage)
        for res in results:
            res.derived = _derived_after(conn, res)
            res.audit_rows = 1
        warnings = report.warnings
        for res in results:
            res.warnings = [w for w in warnings if w.file == FILES[res.entity].filename]
    return results


def create_record(
    engine: Engine,
    name: str,
    cells: Cells,
    actor: str,
    reason: str | None = None,
    equation: str = DEFAULT_EQUATION,
) -> RecordResult:
    """One new record (see `create_records`)."""
    return create_records(engine, [NewRecord(name, cells)], actor, reason, equation)[0]


def _insert_one(
    conn: Connection,
    spec: FileSpec,
    values: dict[str, object],
    canon: pd.Series,
    entity_id: str,
    equation: str,
) -> RecordResult:
    table = _table(spec.name)
    if conn.execute(
        select(func.count()).select_from(table).where(_key_clause(spec, values))
    ).scalar():
        keys = ", ".join(spec.key)
        raise RecordConflict(
            f"{spec.filename}: a record with this key already exists ({keys}: {entity_id})",
            field=spec.key[0],
        )
    extra: dict[str, object] = {}
    if spec.name == "labs":
        extra["egfr"], extra["egfr_equation"] = _lab_egfr(conn, values, equation)
        extra.update(_lab_codes(values))
    try:
        with conn.begin_nested():
            result = conn.execute(insert(table).values(**values, **extra))
    except IntegrityError as err:  # a concurrent writer took the key first
        raise RecordConflict(
            f"{spec.filename}: a record with this key already exists ({entity_id})",
            field=spec.key[0],
        ) from err
    cells = _cells_of(canon)
    row_id = result.inserted_primary_key[0] if spec.name in ROW_FILES else None  # type: ignore[index]
    return RecordResult(
        entity=spec.name,
        entity_id=entity_id,
        locator=_locator_of(spec.name, row_id, cells),
        cells=cells,
    )


def _derived_after(conn: Connection, res: RecordResult) -> dict[str, Any]:
    if res.entity not in ("labs", "interventions"):
        return {}
    row = _stored(conn, res.entity, res.locator)
    return _derived_of(res.entity, row)


# ------------------------------------------------------------------------------ update


def update_record(
    engine: Engine,
    name: str,
    locator: Locator,
    changes: Cells,
    reason: str | None,
    actor: str,
    if_match: str | None = None,
    *,
    owner: str | None = None,
    seen: Cells | None = None,
) -> RecordResult:
    """Correct fields of one record (PATCH: the stored cells with `changes` laid over them),
    validated as an import of the corrected row would be; audited old → new with `reason`.

    Every check is made under the write lock, against the row actually replaced. With
    `if_match` (a `version`), refused as a conflict if the record changed since. With `seen`
    (cells as the caller's user saw them), refused as a conflict if one of them changed since —
    for a form that shows one value rather than a version. With `owner`, a record of another
    patient is "not found" (a page of patient A never writes patient B's rows)."""
    spec = spec_of(name)
    why = _require_reason(reason)
    with engine.begin() as conn:
        lock_for_write(conn)
        stored = _load(conn, name, locator)
        row, old = stored.row, stored.cells
        if owner is not None and old.get("patient_id") != owner:
            raise RecordNotFound(
                f"{_singular(name)} {locator} does not belong to patient {owner!r}"
            )
        _check_version(name, stored.entity_id, old, if_match)
        for col, value in (seen or {}).items():
            if value is not None and not _same_cell(spec, col, old.get(col), value):
                raise RecordConflict(
                    f"{_singular(name)} {stored.entity_id}: {col} was changed to {old.get(col)} "
                    f"since you saw {value}; nothing was saved — check the new value",
                    field=col,
                )
        report = Report()
        for col, value in changes.items():
            if col not in spec.column_names:
                report.add(
                    "error",
                    spec.filename,
                    None,
                    col,
                    None,
                    f"unknown column (allowed: {', '.join(spec.column_names)})",
                )
            elif col in spec.key and ("" if value is None else str(value).strip()) != old[col]:
                report.add(
                    "error",
                    spec.filename,
                    None,
                    col,
                    value,
                    "part of the record's key and cannot be corrected; delete the record "
                    "and add the right one",
                )
        if not report.ok:
            raise RecordRefused(report.sorted())
        merged: dict[str, str | None] = {**old, **changes}
        check, typed = validate_rows(conn, {name: [merged]})
        if not check.ok:
            raise RecordRefused(check.sorted())
        frame = typed[name].drop(columns=[LINE])
        canon = canonical_frame(spec, frame)
        new = _cells_of(canon.iloc[0])
        entity_id = _entity_ids(canon, spec.key)[0]
        result = RecordResult(
            entity=name,
            entity_id=entity_id,
            locator=stored.locator,
            cells=new,
            before=dict(old),
            warnings=check.warnings,
        )
        changed = [c for c in spec.column_names if c not in spec.key and old[c] != new[c]]
        result.changed = changed
        if not changed:
            result.derived = _derived_of(name, row)
            return result  # an unchanged record writes nothing, as a re-import does
        values = _values(spec, frame.iloc[0])
        sets: dict[str, object] = {c: values[c] for c in changed}
        if name == "labs":
            equation = row.get("egfr_equation") or DEFAULT_EQUATION
            sets["egfr"], sets["egfr_equation"] = _lab_egfr(conn, values, str(equation))
            sets.update(_lab_codes(values))
        conn.execute(update(_table(name)).where(_locator_clause(name, locator)).values(**sets))
        result.audit_rows = audit.append(
            conn,
            [
                audit.Change("update", name, entity_id, c, old[c] or None, new[c] or None)
                for c in changed
            ],
            actor,
            why,
        )
        if name == "patients" and any(c in DEMOGRAPHICS for c in changed):
            refresh_patient_egfr(conn, entity_id)
        if name in LINEAGE_FILES:
            before = _patients_of(conn, name, {**row})
            refresh_lineage(conn, before | _patients_of(conn, name, values))
        result.derived = _derived_of(name, _stored(conn, name, locator))
    return result


def _same_cell(spec: FileSpec, col: str, stored: str | None, seen: str) -> bool:
    """Whether a stored canonical cell equals what a user saw (numbers compared as numbers)."""
    if stored is None or col not in spec.column_names:
        return False
    try:
        return float(stored) == float(seen)
    except ValueError:
        return stored == seen.strip()


# ------------------------------------------------------------------------------ delete


def dependents(conn: Connection, name: str, key_value: str) -> dict[str, list[str]]:
    """Rows that still point at the record (file → their ids or natural keys)."""
    out: dict[str, list[str]] = {}
    for child, col in DEPENDENTS.get(name, ()):
        spec = FILES[child]
        table = _table(child)
        ids_cols = [table.c[k] for k in spec.key if k != "seq"]
        stmt = select(*ids_cols).where(table.c[col] == key_value).limit(_SHOWN_IDS + 1)
        count = conn.execute(
            select(func.count()).select_from(table).where(table.c[col] == key_value)
        ).scalar_one()
        if not count:
            continue
        shown = [
            "|".join("" if v is None else _text(v) for v in r) for r in conn.execute(stmt).all()
        ][:_SHOWN_IDS]
        if count > len(shown):
            shown.append(f"… {count - len(shown)} more")
        out[child] = shown
    return out


def _text(value: object) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def delete_record(
    engine: Engine,
    name: str,
    locator: Locator,
    reason: str | None,
    actor: str,
    if_match: str | None = None,
) -> RecordResult:
    """Delete one record that nothing points to; the audit row keeps its last cells.
    With `if_match` (a `version`), refused as a conflict if the record changed since."""
    spec = spec_of(name)
    why = _require_reason(reason)
    with engine.begin() as conn:
        lock_for_write(conn)
        rec = _load(conn, name, locator)
        row, cells, entity_id = rec.row, rec.cells, rec.entity_id
        _check_version(name, entity_id, cells, if_match)
        blocking = dependents(conn, name, cells[spec.key[0]]) if name in DEPENDENTS else {}
        if blocking:
            listed = "; ".join(f"{child}: {', '.join(ids)}" for child, ids in blocking.items())
            raise RecordConflict(
                f"{_singular(name)} {entity_id} is still referred to by other records "
                f"(delete or correct them first) — {listed}"
            )
        conn.execute(delete(_table(name)).where(_locator_clause(name, locator)))
        rows = audit.append(
            conn,
            [
                audit.Change(
                    "delete",
                    name,
                    entity_id,
                    None,
                    _record_json(rec.canon, spec.column_names)[0],
                    None,
                )
            ],
            actor,
            why,
        )
        if name in LINEAGE_FILES:
            refresh_lineage(conn, _patients_of(conn, name, row))
    return RecordResult(
        entity=name, entity_id=entity_id, locator=rec.locator, cells=cells, audit_rows=rows
    )
