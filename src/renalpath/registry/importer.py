"""`renalpath import DIR`: validate the whole folder, then upsert it in one transaction.

- Nothing is written unless the folder has no errors (warnings are reported, not blocking).
- One database transaction for validation-against-the-database, writes, derived values and
  the audit trail: an error, a crash or a SIGKILL leaves the database exactly as it was.
- Upsert by key (`FileSpec.key`): ids for patients/tumours/interventions/pathology, natural
  keys for the rest (imaging: tumour_id+date+modality; labs: patient_id+date+test; events:
  patient_id+tumour_id+date+type; complications: intervention_id + order within it). A row
  whose canonical cells (`registry.cells`) equal the stored ones is left alone, so importing
  the same folder twice changes nothing and writes no audit rows. Import never deletes.
- Bulk writes (`registry.bulk`): SQLite executemany, PostgreSQL COPY; audit rows likewise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, Engine, func, select

from renalpath.registry import audit
from renalpath.registry.bulk import bulk_insert, bulk_update
from renalpath.registry.cells import canonical_frame, db_values
from renalpath.registry.db import require_schema
from renalpath.registry.derived import (
    DEFAULT_EQUATION,
    FAILURE_EVENTS,
    LINEAGE_COLUMNS,
    compute_egfr,
    derive_lineage,
)
from renalpath.registry.dictionary import FILES, FileSpec
from renalpath.registry.models import TABLES
from renalpath.registry.validate import LINE, Reference, Report, validate_folder

Progress = Callable[[int], None]


@dataclass
class ImportResult:
    report: Report
    written: bool
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    audit_rows: int = 0
    rows_total: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            **self.report.to_dict(),
            "written": self.written,
            "counts": self.counts,
            "audit_rows": self.audit_rows,
        }


def _read(conn: Connection, table: str, columns: list[str]) -> pd.DataFrame:
    t = TABLES[table]
    rows = conn.execute(select(*[t.c[c] for c in columns])).all()
    return pd.DataFrame(rows, columns=columns)


def _dates(frame: pd.DataFrame, *cols: str) -> pd.DataFrame:
    for c in cols:
        frame[c] = pd.to_datetime(frame[c])
    return frame


def load_reference(conn: Connection) -> Reference:
    """Rows already in the database that a folder may refer to."""
    pats = _read(conn, "patients", ["patient_id", "sex", "birth_date", "death_date", "black_race"])
    tums = _read(conn, "tumours", ["tumour_id", "patient_id", "side", "diagnosis_date"])
    ivs = _read(
        conn,
        "interventions",
        ["intervention_id", "patient_id", "tumour_id", "date", "type", "side"],
    )
    return Reference(
        patients=_dates(pats, "birth_date", "death_date"),
        tumours=_dates(tums, "diagnosis_date"),
        interventions=_dates(ivs, "date"),
    )


def _key_frame(spec: FileSpec, canonical: pd.DataFrame, typed: pd.DataFrame) -> pd.DataFrame:
    if spec.name == "complications":
        seq = typed.groupby("intervention_id", sort=False).cumcount() + 1
        canonical = canonical.assign(seq=seq.astype(int).astype(str))
    return canonical


def _entity_ids(frame: pd.DataFrame, key: tuple[str, ...]) -> list[str]:
    """Audit id of a row: its id, or its natural key joined with "|"."""
    first = frame[key[0]].astype(str)
    if len(key) == 1:
        return first.tolist()
    for k in key[1:]:
        first = first + "|" + frame[k].astype(str)
    ids: list[str] = first.tolist()
    return ids


def _record_json(frame: pd.DataFrame, columns: tuple[str, ...]) -> list[str]:
    """Each row as a JSON object of its canonical cells (blank → null), written by pandas'
    C encoder: at 10⁶ rows a Python json.dumps per row would dominate the import."""
    cells = frame[list(columns)]
    cells = cells.astype(object).where(cells != "", None)
    text = cells.to_json(orient="records", lines=True, force_ascii=False)
    lines: list[str] = text.splitlines()
    return lines


def _upsert(
    conn: Connection,
    spec: FileSpec,
    typed: pd.DataFrame,
    ref: Reference,
    equation: str,
    changes: list[audit.Change],
    progress: Progress | None,
) -> dict[str, int]:
    table = TABLES[spec.name]
    columns = spec.column_names
    key = spec.key
    canonical = _key_frame(spec, canonical_frame(spec, typed), typed)
    values = db_values(spec, typed, canonical)
    extra: dict[str, pd.Series] = {}
    if spec.name == "complications":
        extra["seq"] = canonical["seq"].astype(int)
    if spec.name == "labs":
        labs = typed[["patient_id", "date", "test", "value", "unit"]]
        pats = ref.patients.set_index("patient_id", drop=False)
        egfr, eq = compute_egfr(labs, pats, equation)
        extra["egfr"] = egfr.astype(object).where(egfr.notna(), None)
        extra["egfr_equation"] = eq

    existing_count = conn.execute(select(func.count()).select_from(table)).scalar() or 0
    if existing_count:
        stored_cols = list(dict.fromkeys([*columns, *key]))
        stored = _read(conn, spec.name, stored_cols)
        stored_canon = canonical_frame(spec, stored)
        if "seq" in key:
            stored_canon["seq"] = stored["seq"].astype(int).astype(str)
        merged = (
            canonical.reset_index()
            .merge(stored_canon, on=list(key), how="left", suffixes=("", "__old"), indicator=True)
            .set_index("index")
        )
        is_new = merged["_merge"].eq("left_only")
    else:
        merged = canonical
        is_new = pd.Series(True, index=canonical.index)

    counts = {"inserted": int(is_new.sum()), "updated": 0, "unchanged": 0}
    # Inserts.
    if counts["inserted"]:
        ins_cols = [*columns, *extra.keys()]
        frame = values.loc[is_new]
        for name, series in extra.items():
            frame = frame.assign(**{name: series.loc[is_new]})
        rows = list(frame[ins_cols].itertuples(index=False, name=None))
        bulk_insert(conn, spec.name, ins_cols, rows, progress)
        new_canon = canonical.loc[is_new]
        ids = _entity_ids(new_canon, key)
        for eid, rec in zip(ids, _record_json(new_canon, columns), strict=True):
            changes.append(audit.Change("insert", spec.name, eid, None, None, rec))
    if not existing_count:
        return counts

    # Updates: compare canonical cells column by column.
    old = merged.loc[~is_new]
    diff_cols = [c for c in columns if c not in key]
    changed_any = pd.Series(False, index=old.index)
    per_col: dict[str, pd.Series] = {}
    for c in diff_cols:
        d = old[c].ne(old[f"{c}__old"].fillna(""))
        per_col[c] = d
        changed_any |= d
    counts["unchanged"] = int((~changed_any).sum())
    counts["updated"] = int(changed_any.sum())
    if progress:
        progress(counts["unchanged"])
    if not changed_any.any():
        return counts
    upd = old.loc[changed_any]
    ids = _entity_ids(upd, key)
    for pos, idx in enumerate(upd.index):
        for c in diff_cols:
            if per_col[c].at[idx]:
                before = str(upd.at[idx, f"{c}__old"])
                after = str(upd.at[idx, c])
                changes.append(
                    audit.Change("update", spec.name, ids[pos], c, before or None, after or None)
                )
    set_cols = [*diff_cols, *extra.keys()]
    key_vals = values.loc[upd.index]
    if "seq" in key:
        key_vals = key_vals.assign(seq=extra["seq"].loc[upd.index])
    frame = key_vals
    for name, series in extra.items():
        if name != "seq":
            frame = frame.assign(**{name: series.loc[upd.index]})
    set_cols = [c for c in set_cols if c != "seq"]
    rows = list(frame[[*key, *set_cols]].itertuples(index=False, name=None))
    bulk_update(conn, spec.name, list(key), set_cols, rows)
    if progress:
        progress(len(rows))
    return counts


def _refresh_lineage(conn: Connection, patients: set[str]) -> int:
    """Recompute salvage lineage for the patients the folder touched; store what changed."""
    if not patients:
        return 0
    ivs = _read(
        conn,
        "interventions",
        [
            "intervention_id", "patient_id", "tumour_id", "date", "type", "side", "intent",
            "parent_intervention_id", *LINEAGE_COLUMNS[1:],
        ],
    )  # fmt: skip
    ivs = ivs[ivs["patient_id"].isin(patients)]
    if ivs.empty:
        return 0
    tums = _read(conn, "tumours", ["tumour_id", "side"])
    evs = _read(conn, "events", ["patient_id", "tumour_id", "date", "type"])
    evs = evs[evs["type"].isin(FAILURE_EVENTS) & evs["patient_id"].isin(patients)]
    stored = ivs.set_index("intervention_id")[list(LINEAGE_COLUMNS[1:])]
    ivs = _dates(ivs.copy(), "date")
    derived = derive_lineage(
        ivs.drop(columns=list(LINEAGE_COLUMNS[1:])), tums, _dates(evs.copy(), "date")
    ).set_index("intervention_id")
    same = (derived.fillna("\0") == stored.reindex(derived.index).fillna("\0")).all(axis=1)
    changed = derived.loc[~same]
    rows = [
        (iid, *(None if pd.isna(v) else v for v in vals))
        for iid, vals in zip(changed.index, changed.itertuples(index=False, name=None), strict=True)
    ]
    bulk_update(conn, "interventions", ["intervention_id"], list(LINEAGE_COLUMNS[1:]), rows)
    return len(rows)


def _refresh_egfr(conn: Connection, patients: set[str], ref: Reference, equation: str) -> int:
    """Recompute stored eGFR of patients whose sex, birth date or race changed."""
    if not patients:
        return 0
    labs = _read(conn, "labs", ["id", "patient_id", "date", "test", "value", "unit"])
    labs = _dates(labs[labs["patient_id"].isin(patients)].copy(), "date")
    pats = ref.patients.set_index("patient_id", drop=False)
    egfr, eq = compute_egfr(labs, pats, equation)
    rows = [
        (int(i), None if pd.isna(g) else float(g), e)
        for i, g, e in zip(labs["id"], egfr, eq, strict=True)
    ]
    bulk_update(conn, "labs", ["id"], ["egfr", "egfr_equation"], rows)
    return len(rows)


def _demographics_changed(changes: list[audit.Change]) -> set[str]:
    return {
        c.entity_id
        for c in changes
        if c.entity == "patients"
        and c.action == "update"
        and c.field in ("sex", "birth_date", "black_race")
    }


def import_folder(
    engine: Engine,
    folder: Path,
    *,
    actor: str | None = None,
    reason: str | None = None,
    equation: str = DEFAULT_EQUATION,
    on_start: Callable[[int], None] | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Validate `folder` against itself and the database, then upsert it atomically."""
    require_schema(engine)
    actor = actor or audit.cli_actor()
    reason = reason or f"import {folder}"
    with engine.begin() as conn:
        ref_db = load_reference(conn)
        report, typed, ref = validate_folder(folder, ref_db)
        result = ImportResult(report, written=False)
        if not report.ok:
            return result  # nothing was written; the transaction ends empty
        total = sum(len(f) for f in typed.values())
        result.rows_total = total
        if on_start:
            on_start(total)
        changes: list[audit.Change] = []
        for name in FILES:
            if name in typed:
                frame = typed[name].drop(columns=[LINE])
                result.counts[name] = _upsert(
                    conn, FILES[name], frame, ref, equation, changes, progress
                )
        touched: set[str] = set()
        for name in ("tumours", "interventions", "events"):
            if name in typed:
                touched |= set(typed[name]["patient_id"].dropna())
        _refresh_lineage(conn, touched)
        _refresh_egfr(conn, _demographics_changed(changes), ref, equation)
        result.audit_rows = audit.append(conn, changes, actor, reason)
        result.written = True
    return result
