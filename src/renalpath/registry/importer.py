"""`renalpath import DIR`: read, check and upsert a folder in one transaction.

- Nothing is written unless the folder has no errors (warnings are reported, not blocking).
- One database transaction for validation-against-the-database, writes, derived values and
  the audit trail: an error, a crash or a SIGKILL leaves the database exactly as it was.
- Existing rows are never changed silently: a folder that would update stored rows is
  refused, with the diff, unless `update=True` (the CLI's `--update`, with a reason that goes
  to the audit trail). Before an update is committed, every stored row of the patients it
  touches is checked again against the merged result (file + database), so an import cannot
  leave the registry in a state the rules (and the studies built on them) refuse.
- `dry_run=True` does everything (validation, writes, derived values, merged checks) inside
  the transaction and then rolls it back: the full report and diff, nothing written.
- Upsert by key (`FileSpec.key`): ids for patients/tumours/interventions/pathology, natural
  keys for the rest (imaging: tumour_id+date+modality; labs: patient_id+date+test; events:
  patient_id+tumour_id+date+type; complications: intervention_id + order within it). A row
  whose canonical cells (`registry.cells`) equal the stored ones is left alone, so importing
  the same folder twice changes nothing and writes no audit rows. Import never deletes.
- Bulk writes (`registry.bulk`): SQLite executemany, PostgreSQL COPY; audit rows likewise.
- Memory stays bounded on large folders (`_import`, `registry.import_stream`): files are read
  in chunks of `READ_ROWS` rows, each chunk normalised, checked and — while no error has been
  found — written (data, then its audit rows, in chunks of `CHUNK_ROWS`) before the next is
  read. Only the reference files (patients, tumours, interventions), complications and tables
  that already hold rows (diffed whole) are held whole, plus 16 bytes per row of each other
  file for its duplicate keys. The single transaction keeps this all-or-nothing: an error in
  the last chunk rolls back the rows of the first.
- A first import into empty tables skips the read-back and diff, and derives the salvage
  lineage from the folder itself (it is then the whole history) before the interventions are
  written, instead of reading everything back and updating it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, func, select

from renalpath.registry import audit
from renalpath.registry.bulk import (
    DeferredIndexes,
    bulk_insert,
    bulk_update,
    copy_escape,
    copy_lines,
    is_postgres,
)
from renalpath.registry.cells import canonical_frame, db_values, format_numbers
from renalpath.registry.db import ensure_schema, lock_for_write
from renalpath.registry.derived import (
    DEFAULT_EQUATION,
    FAILURE_EVENTS,
    LINEAGE_COLUMNS,
    LINEAGE_INPUTS,
    compute_egfr,
    derive_lineage,
    lab_codes,
)
from renalpath.registry.dictionary import FILES, FileSpec
from renalpath.registry.import_stream import ChunkMerger, DuplicateKeys, failure_events
from renalpath.registry.models import TABLES, AuditLog
from renalpath.registry.normalise import ReadOptions
from renalpath.registry.reader import Source, discover, read_source_chunks
from renalpath.registry.validate import (
    LINE,
    Issue,
    Reference,
    Report,
    cross_checks,
    merged_reference,
    parse_frames,
)

Progress = Callable[[int], None]

CHUNK_ROWS = 50_000  # rows written (with their audit rows) per batch
_JSON_SPECIAL = re.compile(r'[\x00-\x1f"\\]')  # characters json.dumps would escape


@dataclass
class ImportResult:
    report: Report
    written: bool
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    audit_rows: int = 0
    rows_total: int = 0
    dry_run: bool = False
    # Cell changes to stored rows (applied only with update=True): entity, id, field, old, new.
    changes: list[audit.Change] = field(default_factory=list)
    updates_refused: bool = False

    def diff(self, limit: int | None = None) -> list[dict[str, str | None]]:
        shown = self.changes if limit is None else self.changes[:limit]
        return [
            {"file": c.entity, "id": c.entity_id, "column": c.field, "old": c.old, "new": c.new}
            for c in shown
        ]

    def to_dict(self) -> dict[str, object]:
        return {
            **self.report.to_dict(),
            "written": self.written,
            "dry_run": self.dry_run,
            "updates_refused": self.updates_refused,
            "counts": self.counts,
            "audit_rows": self.audit_rows,
            "changes": self.diff(),
        }


class _RollBack(Exception):
    """Ends the import's transaction without committing (dry run, refused update)."""


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
    parts = [frame[k].astype(str).tolist() for k in key]
    if len(parts) == 1:
        return parts[0]
    return list(map("|".join, zip(*parts, strict=True)))


def _json_cells(values: pd.Series) -> np.ndarray:
    """Each canonical cell as a JSON value ("" → null), encoded once per distinct value.

    When no distinct value holds a quote, backslash or control character (one regex scan of
    them all), quoting is plain concatenation, which equals json.dumps(ensure_ascii=False)."""
    codes, uniq = pd.factorize(values.to_numpy(object))
    texts = pd.Series(uniq, dtype=object)
    if _JSON_SPECIAL.search("".join(texts.tolist())):
        encoded = [json.dumps(v, ensure_ascii=False) for v in texts.tolist()]
    else:
        encoded = ('"' + texts + '"').tolist()
    table = np.array([*encoded, "null"], dtype=object)
    table[np.flatnonzero(texts.to_numpy(object) == "")] = "null"
    result: np.ndarray = table[codes]
    return result


def _record_json(frame: pd.DataFrame, columns: tuple[str, ...]) -> list[str]:
    """Each row as a compact JSON object of its canonical cells (blank → null), in column
    order. Cells are encoded per distinct value and rows filled into one template: at 10⁶ rows
    a json.dumps (or pandas' to_json) per row would dominate the import."""
    template = "{" + ",".join(json.dumps(c).replace("%", "%%") + ":%s" for c in columns) + "}"
    cells = [_json_cells(frame[c]).tolist() for c in columns]
    return [template % row for row in zip(*cells, strict=True)]


def _copy_cells(values: pd.Series) -> list[str]:
    """Canonical text cells as COPY text ("" → NULL), escaped once per distinct value."""
    codes, uniq = pd.factorize(values.to_numpy(object))
    table = np.array(
        [copy_escape(str(v)) if v != "" else "\\N" for v in uniq.tolist()] + ["\\N"],
        dtype=object,
    )
    cells: list[str] = table[codes].tolist()
    return cells


def _write_new(
    conn: Connection,
    spec: FileSpec,
    typed: pd.DataFrame,
    canonical: pd.DataFrame,
    extra: dict[str, pd.Series],
    writer: audit.ChainWriter,
    progress: Progress | None,
) -> None:
    """Insert rows and their audit records chunk by chunk (bounded memory).

    Sequential on purpose: preparing the next chunk in a worker thread was measured 30 %
    slower on SQLite (the worker holds the GIL that every sqlite3_step must re-acquire).
    """
    columns = spec.column_names
    ins_cols = [*columns, *extra.keys()]
    pg = is_postgres(conn)

    def prepare(start: int) -> tuple[int, list[list[Any]], list[str], list[str]]:
        canon = canonical.iloc[start : start + CHUNK_ROWS]
        cells: list[list[Any]] = []
        if pg:
            # Canonical text is exactly what PostgreSQL parses back (shortest round-trip
            # floats, ISO dates, true/false), so COPY takes it as is.
            cells = [_copy_cells(canon[c]) for c in columns]
            for series in extra.values():
                part = series.loc[canon.index]
                if pd.api.types.is_float_dtype(part):
                    part = format_numbers(part)
                else:
                    part = part.astype(object).where(part.notna(), "").astype(str)
                cells.append(_copy_cells(part))
        else:
            values = db_values(spec, typed.loc[canon.index], canon)
            cells = [values[c].tolist() for c in columns]
            for series in extra.values():
                part = series.loc[canon.index]
                cells.append(part.astype(object).where(part.notna(), None).tolist())
        ids = _entity_ids(canon, spec.key)
        return len(canon), cells, ids, _record_json(canon, columns)

    for start in range(0, len(canonical), CHUNK_ROWS):
        n, cells, ids, records = prepare(start)
        if pg:
            copy_lines(conn, spec.name, ins_cols, zip(*cells, strict=True))
        else:
            bulk_insert(conn, spec.name, ins_cols, zip(*cells, strict=True))
        del cells
        writer.inserts(spec.name, ids, records)
        if progress:
            progress(n)


def _upsert(
    conn: Connection,
    spec: FileSpec,
    typed: pd.DataFrame,
    ref: Reference,
    equation: str,
    writer: audit.ChainWriter,
    progress: Progress | None,
    lineage: pd.DataFrame | None = None,
    demographics: set[str] | None = None,
    collected: list[audit.Change] | None = None,
    empty: bool = False,
) -> dict[str, int]:
    """Insert the new rows of `typed`, diff the others against the stored ones. `empty`: the
    table held no row when the import began (its later chunks need no diff: the whole file's
    keys are unique, `import_stream.DuplicateKeys`)."""
    table = TABLES[spec.name]
    columns = spec.column_names
    key = spec.key
    canonical = _key_frame(spec, canonical_frame(spec, typed), typed)
    extra: dict[str, pd.Series] = {}
    if spec.name == "complications":
        extra["seq"] = canonical["seq"].astype(int)
    if spec.name == "labs":
        labs = typed[["patient_id", "date", "test", "value", "unit"]]
        pats = ref.patients.set_index("patient_id", drop=False)
        egfr, eq = compute_egfr(labs, pats, equation)
        extra["egfr"] = egfr
        extra["egfr_equation"] = eq
        extra["loinc"], extra["ucum"] = lab_codes(typed)
    if lineage is not None:
        for name in LINEAGE_COLUMNS[1:]:
            extra[name] = lineage[name]

    existing_count = 0 if empty else conn.execute(select(func.count()).select_from(table)).scalar()
    existing_count = existing_count or 0
    if existing_count:
        is_new, old = _diff_stored(conn, spec, canonical)
    else:
        is_new = pd.Series(True, index=canonical.index)

    counts = {"inserted": int(is_new.sum()), "updated": 0, "unchanged": 0}
    if counts["inserted"]:
        new_canon = canonical if not existing_count else canonical.loc[is_new]
        _write_new(conn, spec, typed, new_canon, extra, writer, progress)
    if not existing_count:
        return counts

    # Updates: compare canonical cells column by column (of the rows whose hash differed).
    diff_cols = [c for c in columns if c not in key]
    changed_any = pd.Series(False, index=old.index)
    per_col: dict[str, pd.Series] = {}
    for c in diff_cols:
        d = old[c].ne(old[f"{c}__old"].fillna(""))
        per_col[c] = d
        changed_any |= d
    counts["updated"] = int(changed_any.sum())
    counts["unchanged"] = int((~is_new).sum()) - counts["updated"]
    if progress:
        progress(counts["unchanged"])
    if not changed_any.any():
        return counts
    upd = old.loc[changed_any]
    ids = _entity_ids(upd, key)
    flags = [per_col[c].loc[upd.index].tolist() for c in diff_cols]
    befores = [upd[f"{c}__old"].astype(str).tolist() for c in diff_cols]
    afters = [upd[c].astype(str).tolist() for c in diff_cols]
    changes: list[audit.Change] = []
    for pos in range(len(upd)):
        for j, c in enumerate(diff_cols):
            if flags[j][pos]:
                before, after = befores[j][pos], afters[j][pos]
                changes.append(
                    audit.Change("update", spec.name, ids[pos], c, before or None, after or None)
                )
    if reverts := audit.reverted(conn, changes):  # never undo a correction silently
        raise audit.RevertConflict(spec.name, reverts)
    writer.changes(changes)
    if collected is not None:
        collected.extend(changes)
    if demographics is not None:
        demographics.update(
            c.entity_id for c in changes if c.field in ("sex", "birth_date", "black_race")
        )
    values = db_values(spec, typed.loc[upd.index], canonical.loc[upd.index])
    for name, series in extra.items():
        if pd.api.types.is_float_dtype(series):
            extra[name] = series.astype(object).where(series.notna(), None)
    set_cols = [*diff_cols, *extra.keys()]
    key_vals = values
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


_READ_CHUNK = 100_000


def _diff_stored(
    conn: Connection, spec: FileSpec, canonical: pd.DataFrame
) -> tuple[pd.Series, pd.DataFrame]:
    """Which folder rows are new, and the stored cells ("<col>__old") of the rows whose
    canonical cells differ from the stored ones.

    The stored table is streamed in chunks and compared through a 64-bit hash of each row's
    canonical cells, so a re-import never holds the whole stored table as text; only rows whose
    hashes differ are kept for the column-by-column diff. Keys are matched by hash too, then
    checked for equality (a collision falls back to the exact merge).
    """
    key = list(spec.key)
    rest = [c for c in spec.column_names if c not in key]
    stored_cols = list(dict.fromkeys([*spec.column_names, *key]))
    key_hash = pd.util.hash_pandas_object(canonical[key], index=False).to_numpy()
    row_hash = pd.util.hash_pandas_object(canonical[rest], index=False).to_numpy()
    lookup = pd.Index(key_hash)
    if not lookup.is_unique:
        return _diff_stored_exact(conn, spec, canonical)
    found = np.zeros(len(canonical), dtype=bool)
    changed: list[pd.DataFrame] = []
    t = TABLES[spec.name]
    # Statement-level option: Connection.execution_options would stick to the connection.
    result = conn.execute(
        select(*[t.c[c] for c in stored_cols]).execution_options(yield_per=_READ_CHUNK)
    )
    for part in result.partitions():
        stored = pd.DataFrame(part, columns=stored_cols)
        sc = canonical_frame(spec, stored)
        if "seq" in key:
            sc["seq"] = stored["seq"].astype(int).astype(str)
        pos = lookup.get_indexer(pd.Index(pd.util.hash_pandas_object(sc[key], index=False)))
        hit = pos >= 0
        if not hit.any():
            continue
        mine = canonical.iloc[pos[hit]]
        theirs = sc.loc[hit]
        same_key = (mine[key].to_numpy() == theirs[key].to_numpy()).all()
        if not same_key:
            return _diff_stored_exact(conn, spec, canonical)
        found[pos[hit]] = True
        their_hash = pd.util.hash_pandas_object(theirs[rest], index=False).to_numpy()
        d = row_hash[pos[hit]] != their_hash
        if d.any():
            old = theirs.loc[theirs.index[d], rest]
            part_frame = mine.loc[mine.index[d]].copy()
            for c in rest:
                part_frame[f"{c}__old"] = old[c].to_numpy()
            changed.append(part_frame)
    is_new = pd.Series(~found, index=canonical.index)
    if changed:
        return is_new, pd.concat(changed)
    empty = canonical.iloc[:0].copy()
    for c in rest:
        empty[f"{c}__old"] = pd.Series(dtype=object)
    return is_new, empty


def _diff_stored_exact(
    conn: Connection, spec: FileSpec, canonical: pd.DataFrame
) -> tuple[pd.Series, pd.DataFrame]:
    """The plain merge of the whole stored table (hash collision or non-unique folder keys)."""
    key = list(spec.key)
    stored_cols = list(dict.fromkeys([*spec.column_names, *key]))
    stored = _read(conn, spec.name, stored_cols)
    stored_canon = canonical_frame(spec, stored)
    if "seq" in key:
        stored_canon["seq"] = stored["seq"].astype(int).astype(str)
    merged = (
        canonical.reset_index()
        .merge(stored_canon, on=key, how="left", suffixes=("", "__old"), indicator=True)
        .set_index("index")
    )
    is_new = merged["_merge"].eq("left_only")
    return is_new, merged.loc[~is_new]


def _refresh_lineage(conn: Connection, patients: set[str]) -> int:
    """Recompute salvage lineage for the patients the folder touched; store what changed."""
    if not patients:
        return 0
    ivs = _read(
        conn,
        "interventions",
        [*LINEAGE_INPUTS, *LINEAGE_COLUMNS[1:]],
    )
    ivs = ivs[ivs["patient_id"].isin(patients)]
    if ivs.empty:
        return 0
    tums = _read(conn, "tumours", ["tumour_id", "side"])
    evs = _read(conn, "events", ["patient_id", "tumour_id", "date", "type"])
    evs = evs[evs["type"].isin(FAILURE_EVENTS) & evs["patient_id"].isin(patients)]
    return store_lineage(conn, ivs, tums, evs)


def store_lineage(
    conn: Connection, ivs: pd.DataFrame, tums: pd.DataFrame, evs: pd.DataFrame
) -> int:
    """Derive the lineage of the stored interventions `ivs` (as read, with their stored
    lineage columns) from their tumours and failure events; write only the rows it changes.

    Shared by a folder import (which reads whole tables) and a single-record write (which
    reads one patient's rows), so both store exactly the same derived values.
    """
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


def import_folder(
    engine: Engine,
    folder: Path,
    *,
    actor: str | None = None,
    reason: str | None = None,
    equation: str = DEFAULT_EQUATION,
    on_start: Callable[[int], None] | None = None,
    progress: Progress | None = None,
    options: ReadOptions | None = None,
    dry_run: bool = False,
    update: bool = False,
    confirm: Callable[[], bool] | None = None,
) -> ImportResult:
    """Validate `folder` against itself and the database, then upsert it atomically.

    Changes to stored rows are applied only with `update=True`; `dry_run=True` reports
    everything (counts, diff, merged checks) and writes nothing. `confirm()`, when given, is
    asked just before the commit of an import that would be written: False rolls it back
    (nothing written, `written` False), for a caller whose folder is still being vetted (the
    FHIR import, while its worker process validates the resources the rows came from)."""
    ensure_schema(engine)  # a brand-new empty database gets its schema; older ones must upgrade
    actor = actor or audit.cli_actor()
    reason = reason or f"import {folder}"
    for hash_key in _HASH_KEYS:
        result = ImportResult(Report(), written=False, dry_run=dry_run)
        try:
            with engine.begin() as conn:
                _import(
                    conn,
                    folder,
                    result,
                    actor,
                    reason,
                    equation,
                    on_start,
                    progress,
                    options,
                    update,
                    hash_key,
                )
                if not result.report.ok or dry_run or result.updates_refused:
                    raise _RollBack
                if confirm is not None and not confirm():
                    raise _RollBack
                result.written = True
        except _RollBack:
            result.written = False
        except _HashCollision:
            continue  # rolled back; once in ~10¹² folders: again with another hash key
        return result
    raise RuntimeError("duplicate-key hashes collided under every hash key")


class _HashCollision(Exception):
    """Two different keys of one file had the same 64-bit hash: writes were held back, so the
    import is rolled back and run again with another hash key (see `DuplicateKeys`)."""


# 16-byte keys of pandas' key-column hash; the first is pandas' own default.
_HASH_KEYS = ("0123456789123456", "renalpath-import", "rcc-registry-key")


def _import(
    conn: Connection,
    folder: Path,
    result: ImportResult,
    actor: str,
    reason: str,
    equation: str,
    on_start: Callable[[int], None] | None,
    progress: Progress | None,
    options: ReadOptions | None,
    update: bool,
    hash_key: str = _HASH_KEYS[0],
) -> None:
    """Read, check and write file by file, each large file in chunks of `READ_ROWS` rows.

    Every check a whole-folder read made still holds (see `registry.import_stream`): files are
    taken in the dictionary's order, in which every file refers only to earlier ones, and the
    reference files (patients, tumours, interventions: what the others point to, with their
    dates) are held whole, so each chunk is checked against the folder and database rows it
    may name. Rows are written as soon as their chunk is checked, in the import's single
    transaction: once any error is found nothing more is written, the rest is still checked
    (every problem reported at once), and the transaction is rolled back."""
    # Write lock before reading what the diff compares against: no correction can slip in
    # between the read and the upsert (and be silently overwritten).
    lock_for_write(conn)
    options = options or ReadOptions()
    report = result.report
    ref = merged_reference(load_reference(conn), {})
    sources = discover(folder, report)
    present = {src.table for src in sources}
    if on_start:
        on_start(_estimate_rows(sources))
    writer = audit.ChainWriter(conn, actor, reason)
    empty = _empty_tables(conn)
    fresh = {"interventions", "tumours", "events"} <= empty
    deferred = DeferredIndexes(conn)
    deferred.drop(
        [t for t in (*FILES, "audit_log") if t in empty and (t in present or t == "audit_log")]
    )
    merger = ChunkMerger(report)
    touched: set[str] = set()
    demographics: set[str] = set()
    conflict: audit.RevertConflict | None = None
    counts: dict[str, dict[str, int]] = {}
    total = 0
    held = False  # a key hash repeated: probably a duplicate, so nothing more is written
    collided = False

    def write(name: str, typed: pd.DataFrame, lineage: pd.DataFrame | None = None) -> None:
        nonlocal conflict
        if not report.ok or conflict is not None or held:
            return  # refused already: check the rest, write nothing more
        try:
            got = _upsert(
                conn,
                FILES[name],
                typed.drop(columns=[LINE]),
                ref,
                equation,
                writer,
                progress,
                lineage,
                demographics if name == "patients" else None,
                result.changes,
                name in empty,
            )
        except audit.RevertConflict as err:
            conflict = err  # raised at the end, unless an error refuses the folder anyway
            return
        mine = counts.setdefault(name, {"inserted": 0, "updated": 0, "unchanged": 0})
        for k, v in got.items():
            mine[k] += v

    for src in sources:
        name = src.table
        got = read_source_chunks(src, report, options, READ_ROWS)
        if got is None:
            report.failed.add(name)
            continue
        chunks, ctx = got
        report.labels[name] = src.label
        spec = FILES[name]
        if name in _WHOLE or name not in empty:
            # Held whole: a reference file, complications (their order within an
            # intervention is their key), or a table with stored rows (diffed whole).
            parts = [merger.parse(name, raw, ctx) for raw in chunks]
            if name in report.failed:
                continue
            typed = pd.concat(parts) if len(parts) > 1 else parts[0]
            del parts
            if name in _REFERENCE:
                ref = _with_rows(ref, name, typed)
            cross_checks({name: typed}, ref, report)
            total += len(typed)
            if name in _OWNED and not fresh:
                touched |= set(typed["patient_id"].dropna())
            lineage = None
            if name == "interventions" and fresh:
                events = None
                if "events" in present:
                    events_src = next(s for s in sources if s.table == "events")
                    events = failure_events(events_src, options, READ_ROWS)
                lineage = _folder_lineage(
                    {
                        "interventions": typed,
                        "tumours": ref.tumours.reset_index(drop=True),
                        "events": events,
                    }
                )
            if name in empty and name != "complications":
                # Written in slices: the canonical text of a whole million-row file is not
                # held at once (complications' order within an intervention needs them whole).
                for start in range(0, max(len(typed), 1), READ_ROWS):  # an empty file counts too
                    write(name, typed.iloc[start : start + READ_ROWS], lineage)
            else:
                write(name, typed, lineage)
            del typed
            continue
        dups = DuplicateKeys(spec, hash_key)
        for raw in chunks:
            typed = merger.parse(name, raw, ctx)
            del raw
            cross_checks({name: typed}, ref, report, duplicates=False)
            held |= dups.add(typed)
            total += len(typed)
            if name in _OWNED and not fresh:
                touched |= set(typed["patient_id"].dropna())
            write(name, typed)
            del typed
        if name not in report.failed:
            dups.check(src, ctx, options, READ_ROWS, report)
            collided |= dups.collided

    if not report.ok:
        result.changes.clear()  # the diff of files written before the error: rolled back
        return  # the transaction is rolled back: nothing was written
    if collided or held:
        raise _HashCollision  # writes were held back for duplicates that were not there
    if conflict is not None:
        raise conflict
    result.counts = counts
    result.rows_total = total
    deferred.restore()
    if not fresh:
        _refresh_lineage(conn, touched)
    _refresh_egfr(conn, demographics, ref, equation)
    result.audit_rows = writer.rows
    if result.changes and not update:
        result.updates_refused = True
    if result.changes:
        _check_merged(conn, _patients_changed(conn, result.changes), report)


READ_ROWS = 200_000  # rows read, normalised, checked and written per chunk of a large file
_REFERENCE = ("patients", "tumours", "interventions")  # what other files point to
_WHOLE = (*_REFERENCE, "complications")
_OWNED = ("tumours", "interventions", "events")  # files whose patients' lineage is refreshed


def _with_rows(ref: Reference, name: str, typed: pd.DataFrame) -> Reference:
    """The reference with one file's rows laid over the database's (folder wins)."""
    return merged_reference(ref, {name: typed})


def _estimate_rows(sources: list[Source]) -> int:
    """Rows of the folder for a progress bar, counted as CSV line ends (a quoted cell over
    several lines counts more; a workbook counts 0): reading every file twice to know the
    exact figure up front would cost more than the bar is worth."""
    total = 0
    for src in sources:
        if src.path.suffix.lower() != ".csv":
            continue
        with src.path.open("rb") as fh:
            lines = 0
            while block := fh.read(1 << 24):
                lines += block.count(b"\n")
        total += max(lines - 1, 0)
    return total


def _patients_changed(conn: Connection, changes: list[audit.Change]) -> set[str]:
    """Patients whose stored rows an update touched (their whole record is re-checked)."""
    ids: dict[str, set[str]] = {}
    for c in changes:
        ids.setdefault(c.entity, set()).add(c.entity_id)
    patients = set(ids.get("patients", set()))
    for table, col in (("tumours", "tumour_id"), ("interventions", "intervention_id")):
        if table in ids:
            t = TABLES[table]
            rows = conn.execute(select(t.c.patient_id).where(t.c[col].in_(ids[table]))).all()
            patients |= {r[0] for r in rows}
    # Every other file's audit id starts with its patient, tumour or intervention id.
    via = {"intervention_id": "interventions", "tumour_id": "tumours"}
    for table, entity_ids in ids.items():
        if table in ("patients", "tumours", "interventions"):
            continue
        first = FILES[table].key[0]
        keys = {i.split("|")[0] for i in entity_ids}
        if first == "patient_id":
            patients |= keys
        elif first in via:
            t = TABLES[via[first]]
            rows = conn.execute(select(t.c.patient_id).where(t.c[first].in_(keys))).all()
            patients |= {r[0] for r in rows}
    return patients


def _check_merged(conn: Connection, patients: set[str], report: Report) -> None:
    """Re-check every stored row of `patients` after the writes (file + database merged);
    an error here refuses the import. Rows are named by their key, lines being the order of
    the stored rows of that patient set."""
    if not patients:
        return
    stored: dict[str, pd.DataFrame] = {}
    for name in ("patients", "tumours", "interventions"):
        stored[name] = _read(conn, name, list(FILES[name].column_names))
        stored[name] = stored[name][stored[name]["patient_id"].isin(patients)]
    owners = {
        "patient_id": patients,
        "tumour_id": set(stored["tumours"]["tumour_id"]),
        "intervention_id": set(stored["interventions"]["intervention_id"]),
    }
    for name, spec in FILES.items():  # every other file, through its patient or parent
        if name in stored:
            continue
        col = next(
            c for c in ("patient_id", "tumour_id", "intervention_id") if c in spec.column_names
        )
        frame = _read(conn, name, list(spec.column_names))
        stored[name] = frame[frame[col].isin(owners[col])]
    raw: dict[str, pd.DataFrame] = {}
    names: dict[tuple[str, int], str] = {}
    for name, frame in stored.items():
        spec = FILES[name]
        canon = canonical_frame(spec, frame.reset_index(drop=True))
        canon[LINE] = np.arange(2, len(canon) + 2)
        raw[name] = canon
        key = [k for k in spec.key if k != "seq"]
        for line, entity in zip(canon[LINE].tolist(), _entity_ids(canon, tuple(key)), strict=True):
            names[(f"{name} (stored)", line)] = entity
    merged = Report()
    merged.labels = {n: f"{n} (stored)" for n in raw}
    typed = parse_frames(raw, merged, normalise=False)
    ref = merged_reference(load_reference(conn), {})
    cross_checks(typed, ref, merged)
    for issue in merged.errors:
        entity = names.get((issue.file, issue.line or 0), "?")
        reason = f"row {entity} after this import: {issue.reason}"
        report.issues.append(Issue("error", issue.file, None, issue.column, issue.value, reason))


def _empty_tables(conn: Connection) -> set[str]:
    """Tables with no row yet. When interventions, tumours and events are all empty the folder
    is the whole history that salvage lineage is derived from; empty tables are bulk-loaded
    with their secondary indexes deferred."""
    tables = {**TABLES, "audit_log": AuditLog.__table__}
    return {
        name
        for name, table in tables.items()
        if conn.execute(select(table.c[next(iter(table.c.keys()))]).limit(1)).first() is None
    }


def _folder_lineage(typed: dict[str, pd.DataFrame | None]) -> pd.DataFrame | None:
    frame = typed.get("interventions")
    if frame is None:
        return None
    ivs = frame[list(LINEAGE_INPUTS)]
    tums = typed.get("tumours")
    if tums is not None:
        tums = tums[["tumour_id", "side"]]
    else:
        tums = pd.DataFrame({"tumour_id": pd.Series(dtype=object), "side": pd.Series(dtype=object)})
    evs = typed.get("events")
    if evs is None:
        evs = pd.DataFrame(
            {c: pd.Series(dtype=object) for c in ("patient_id", "tumour_id", "date", "type")}
        )
    else:
        evs = evs.loc[evs["type"].isin(FAILURE_EVENTS), ["patient_id", "tumour_id", "date", "type"]]
    lineage: pd.DataFrame = derive_lineage(ivs, tums, evs)
    return lineage
