"""REDCap both ways — the records: a REDCap records file out of the registry, and into it.

The project (forms, field names, codes, labels) is `registry.redcap`, generated from the
registry data dictionary; nothing here names a table or a column.

Records out (`write_records`, `export_records`): REDCap's flat import layout — one CSV, the
record id first, then `redcap_repeat_instrument` and `redcap_repeat_instance`, then every
field. Each record has one row for the record form (repeat columns blank) and one row per
instance of each repeating form, holding only that form's fields; instances are numbered in
the table's key order (complications in their order within the intervention). Choice codes are
the raw codes, booleans 1/0, dates YYYY-MM-DD, numbers in plain decimal notation (REDCap's
number validation takes no exponent); text cells get the same formula guard as the CSV export
(`cells.formula_safe`). A row of a form without a patient column (imaging, pathology,
complications) is filed under the patient of the tumour or intervention it belongs to.

Records in (`read_records`, `import_records`): a REDCap records export made with this
dictionary — raw codes or labels (headers as variable names or as field labels, values as raw
codes or as choice labels, mixed if need be) — is split into the registry's tables, written
as the registry folder they are into a private temporary folder, and imported from there by
exactly the registry import (`importer.import_folder`): reader, normaliser, validation,
all-or-nothing write, `dry_run`, `update`. Its report is then given back in the REDCap file's
terms: file and form, the row's line in the REDCap file, the REDCap field name. Codes and
labels of the dictionary are translated to registry values; anything else is passed on as
written, where the normalising reader rewrites it (with a warning) or the validator refuses it
(with the line). Problems of the REDCap layout itself
(an unknown form, a missing instance number, the same instance twice, a field of one form on
another form's row, an imaging row filed under another patient than its tumour's) are errors
with their line. REDCap's own columns are allowed: form status (`<form>_complete`), data
access group and survey columns hold no registry data and are left out with one warning;
`redcap_event_name` (a longitudinal project) is refused.
"""

from __future__ import annotations

import dataclasses
import io
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from renalpath.errors import Refusal
from renalpath.registry.cells import formula_safe
from renalpath.registry.dictionary import FILES, FileSpec
from renalpath.registry.normalise import ReadOptions
from renalpath.registry.reader import LINE
from renalpath.registry.redcap import (
    DICTIONARY_FILE,
    FIELDS,
    RECORD_FORM,
    RECORD_ID,
    RECORDS_FILE,
    REPEAT_INSTANCE,
    REPEAT_INSTRUMENT,
    SYSTEM_COLUMNS,
    Field,
    choices,
    dictionary_csv,
    field_name,
    form_label,
    readable,
    record_header,
    repeating,
)
from renalpath.registry.validate import Issue, Report

if TYPE_CHECKING:
    from renalpath.registry.importer import ImportResult


class RedcapError(Refusal):
    """A registry that cannot be written as REDCap records (a row without a patient)."""


_CHUNK_RECORDS = 5_000  # records (patients) written per batch


def _owner_maps(tables: Mapping[str, pd.DataFrame]) -> dict[str, dict[str, str]]:
    """`"table.id"` → {id: record id} for every table with its own id and a patient."""
    owners: dict[str, dict[str, str]] = {}
    for name, frame in tables.items():
        spec = FILES[name]
        if RECORD_ID not in spec.column_names or len(spec.key) != 1:
            continue
        key = spec.key[0]
        owners[f"{name}.{key}"] = dict(zip(frame[key], frame[RECORD_ID], strict=True))
    return owners


def _records_of(
    spec: FileSpec, frame: pd.DataFrame, owners: Mapping[str, Mapping[str, str]]
) -> pd.Series:
    """The record (patient) of each row: its patient_id, or the patient of the row it
    belongs to (an imaging row's tumour, a complication's intervention)."""
    if RECORD_ID in spec.column_names:
        records = frame[RECORD_ID]
    else:
        via = next((c for c in spec.columns if c.references in owners), None)
        if via is None:
            raise RedcapError(f"{spec.name}: no column leads to a patient (REDCap record)")
        records = frame[via.name].map(owners[str(via.references)]).fillna("")
    missing = records == ""
    if missing.any():
        row = frame.loc[missing].iloc[0]
        key = ", ".join(f"{k}={row[k]!r}" for k in spec.key if k in frame.columns)
        raise RedcapError(f"{spec.name}: row {key} belongs to no patient (dangling reference)")
    return records.astype(str)


def _plain_number(text: str) -> str:
    """A canonical number in plain decimal notation (REDCap's number validation has no
    exponent): "1e-05" → "0.00001"; other texts unchanged."""
    if "e" not in text.lower():
        return text
    return format(Decimal(text), "f")


def _encode(field: Field, values: pd.Series) -> pd.Series:
    col = field.column
    if col.type == "bool" or col.enum is not None:
        codes = {c.value: c.code for c in choices(col)}
        return values.map(lambda v: codes.get(v, v) if v else "")
    if col.type in ("int", "float"):
        return values.map(_plain_number)
    if col.type == "str":
        return values.map(formula_safe)
    return values


def _form_frame(
    spec: FileSpec, frame: pd.DataFrame, records: pd.Series, order: int
) -> pd.DataFrame:
    """One table's rows as REDCap rows (record, form order, instance, its fields), sorted
    by record, the table's own order kept within a record."""
    out = pd.DataFrame({RECORD_ID: records.to_numpy(object)})
    out["_form"] = order
    fields = [f for f in FIELDS if f.table == spec.name and f.name != RECORD_ID]
    for f in fields:
        out[f.name] = _encode(f, frame[f.column.name].reset_index(drop=True)).to_numpy(object)
    out = out.sort_values(RECORD_ID, kind="stable").reset_index(drop=True)
    if repeating(spec.name):
        out[REPEAT_INSTRUMENT] = spec.name
        out[REPEAT_INSTANCE] = (out.groupby(RECORD_ID, sort=False).cumcount() + 1).astype(str)
    else:
        out[REPEAT_INSTRUMENT] = ""
        out[REPEAT_INSTANCE] = ""
    return out


def write_records(tables: Mapping[str, pd.DataFrame], path: Path) -> dict[str, int]:
    """Write registry tables (canonical text frames, rows in key order; see
    `exporter.canonical_table`) as one REDCap records file. Returns rows per form."""
    owners = _owner_maps(tables)
    forms: list[pd.DataFrame] = []
    counts: dict[str, int] = {}
    for order, (name, spec) in enumerate(FILES.items()):
        frame = tables.get(name)
        if frame is None:
            continue
        counts[name] = len(frame)
        forms.append(_form_frame(spec, frame, _records_of(spec, frame, owners), order))
    header = record_header()
    records = sorted(set().union(*(set(f[RECORD_ID]) for f in forms))) if forms else []
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(header) + "\n")
        for start in range(0, len(records), _CHUNK_RECORDS):
            low = records[start]
            high = records[min(start + _CHUNK_RECORDS, len(records)) - 1]
            parts = []
            for f in forms:
                ids = f[RECORD_ID].to_numpy(object)
                a = np.searchsorted(ids, low, side="left")
                b = np.searchsorted(ids, high, side="right")
                parts.append(f.iloc[a:b])
            chunk = pd.concat(parts, ignore_index=True)
            chunk["_instance"] = pd.to_numeric(chunk[REPEAT_INSTANCE], errors="coerce").fillna(0)
            chunk = chunk.sort_values([RECORD_ID, "_form", "_instance"], kind="stable")
            chunk = chunk.reindex(columns=header).fillna("")
            chunk.to_csv(fh, header=False, index=False, lineterminator="\n")
    return counts


def export_records(engine: Engine, folder: Path) -> dict[str, int]:
    """`renalpath export --format redcap`: the records file and the data dictionary it was
    written with, side by side in `folder`. Returns rows per form."""
    from renalpath.registry.db import require_schema
    from renalpath.registry.exporter import canonical_table

    require_schema(engine)
    with engine.connect() as conn:
        tables = {name: canonical_table(conn, name) for name in FILES}
    return write_folder_records(tables, folder)


def write_folder_records(tables: Mapping[str, pd.DataFrame], folder: Path) -> dict[str, int]:
    folder.mkdir(parents=True, exist_ok=True)
    counts = write_records(tables, folder / RECORDS_FILE)
    (folder / DICTIONARY_FILE).write_text(dictionary_csv(), encoding="utf-8")
    return counts


def read_registry_folder(folder: Path) -> dict[str, pd.DataFrame]:
    """The tables of a registry folder as written by the exporter (canonical text)."""
    tables: dict[str, pd.DataFrame] = {}
    for name, spec in FILES.items():
        path = folder / spec.filename
        if path.exists():
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
            tables[name] = frame.reindex(columns=list(spec.column_names)).fillna("")
    return tables


# --- records in ----------------------------------------------------------------------------

# REDCap's own columns that hold no registry data (by name, and by label in a labelled
# export): left out with one warning. Form status is `<form>_complete` ("Complete?").
_IGNORED = {
    "redcap_data_access_group": "data access group",
    "redcap_survey_identifier": "survey identifier",
}
_IGNORED_LABELS = ("complete?", "data access group", "survey identifier", "survey timestamp")
_SYSTEM_LABELS = {"repeat instrument": REPEAT_INSTRUMENT, "repeat instance": REPEAT_INSTANCE}
_EVENT = ("redcap_event_name", "event name")
_SEPARATORS = (",", ";", "\t")
_INT = re.compile(r"\d+")


def _key(text: str) -> str:
    return re.sub(r"[\s_]+", " ", text.strip().lower())


_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
_BY_LABEL: dict[str, Field] = {_key(f.label): f for f in FIELDS}
_FORMS: dict[str, str] = {
    **{_key(form_label(s)): n for n, s in FILES.items()},
    **{_key(readable(n)): n for n in FILES},
    **{_key(n): n for n in FILES},
}


def _decoder(field: Field) -> dict[str, str]:
    """Raw code or choice label → registry value, for a coded field."""
    table: dict[str, str] = {}
    for c in choices(field.column):
        table[c.code] = c.value
        table[c.label] = c.value
    return table


_DECODERS: dict[str, dict[str, str]] = {
    f.name: _decoder(f) for f in FIELDS if f.column.enum is not None or f.column.type == "bool"
}


def _decode(data: bytes, label: str, report: Any, options: ReadOptions) -> str | None:
    encoding = options.encoding or "utf-8-sig"
    try:
        return data.decode(encoding)
    except LookupError:
        report.add("error", label, None, None, None, f"unknown encoding {encoding!r}")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        byte = data[err.start : err.start + 1].hex()
        reason = (
            f"not {encoding} (byte 0x{byte} at line {line}); REDCap exports UTF-8 — name "
            "another encoding with --encoding"
        )
        report.add("error", label, line, None, None, reason)
    return None


def _separator(text: str) -> str:
    first = text.split("\n", 1)[0]
    counts = {s: first.count(s) for s in _SEPARATORS}
    best = max(_SEPARATORS, key=lambda s: counts[s])
    return best if counts[best] else ","


@dataclass
class _Header:
    """What each column of the file is."""

    fields: dict[str, Field]  # file column → field
    system: dict[str, str]  # REPEAT_INSTRUMENT / REPEAT_INSTANCE → file column
    ok: bool


def _header(columns: list[str], label: str, report: Any, options: ReadOptions) -> _Header:
    ignore = {_key(c) for c in options.ignore_columns}
    form_status = {f"{n}_complete" for n in FILES}
    head = _Header({}, {}, True)
    seen: dict[str, str] = {}
    left_out: list[str] = []
    for col in columns:
        key = _key(col.lstrip("\ufeff"))
        name = key.replace(" ", "_")
        field = _BY_NAME.get(name) or _BY_LABEL.get(key)
        system = name if name in SYSTEM_COLUMNS else _SYSTEM_LABELS.get(key)
        target = field.name if field else system
        if target is not None:
            if target in seen:
                report.add(
                    "error", label, 1, col, None, f"column appears twice (also as {seen[target]!r})"
                )
                head.ok = False
                continue
            seen[target] = col
            if field is not None:
                head.fields[col] = field
            else:
                head.system[str(system)] = col
        elif name in _EVENT or key in _EVENT:
            report.add(
                "error",
                label,
                1,
                col,
                None,
                "a longitudinal REDCap project (events) is not read: export the "
                "records of a classic project made with `renalpath dictionary "
                "--format redcap`",
            )
            head.ok = False
        elif (
            name in form_status
            or name in _IGNORED
            or key in _IGNORED_LABELS
            or (name.endswith("_timestamp") and name.removesuffix("_timestamp") in FILES)
        ):
            left_out.append(col)
        elif key in ignore:
            report.add("warning", label, 1, col, None, "column ignored (--ignore-columns)")
        elif key == "":
            continue
        else:
            report.add(
                "error",
                label,
                1,
                col,
                None,
                f"column `{col}` is not a field of the renalpath REDCap dictionary "
                f"(`renalpath dictionary --format redcap`; or --ignore-columns "
                f"{col})",
            )
            head.ok = False
    if left_out:
        report.add(
            "warning",
            label,
            1,
            None,
            None,
            "REDCap columns not imported (form status, data access group, survey "
            f"columns are REDCap's, not registry data): {', '.join(left_out)}",
        )
    if RECORD_ID not in {f.name for f in head.fields.values()}:
        report.add(
            "error",
            label,
            1,
            RECORD_ID,
            None,
            f"the record id column {RECORD_ID} is missing (it is the first field of "
            "the renalpath REDCap dictionary)",
        )
        head.ok = False
    return head


def _read_table(path: Path, report: Any, options: ReadOptions) -> tuple[pd.DataFrame, str] | None:
    label = path.name
    if not path.is_file():
        report.add("error", label, None, None, None, "not a file (a REDCap records CSV export)")
        return None
    text = _decode(path.read_bytes(), label, report, options)
    if text is None:
        return None
    if not text.strip():
        report.add("error", label, 1, None, None, "empty file (no header row)")
        return None
    sep = _separator(text)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            sep=sep,
            skip_blank_lines=False,
            index_col=False,
        )
    except pd.errors.ParserError as err:
        report.add("error", label, None, None, None, f"not a valid CSV: {err}")
        return None
    frame.columns = [str(c) for c in frame.columns]
    return frame.apply(lambda s: s.str.strip()), sep


@dataclass
class RedcapFile:
    """A REDCap records file split into registry tables (all-string frames of the columns
    the file has, values decoded, `LINE` = the row's line in the REDCap file), and the
    problems of the REDCap layout itself."""

    tables: dict[str, pd.DataFrame]
    report: Report
    separator: str = ","
    readable: bool = True  # False: nothing could be read (no file, bad encoding, no record id)


def read_records(path: Path, options: ReadOptions | None = None) -> RedcapFile:
    """Split a REDCap records export into the registry's tables. Problems of the REDCap
    layout (an unknown form, instance numbers, a cell on the wrong form, a row filed under the
    wrong patient) are errors with their line; cells are left to the registry import."""
    options = options or ReadOptions()
    report = Report()
    got = _read_table(path, report, options)
    if got is None:
        return RedcapFile({}, report, readable=False)
    frame, sep = got
    head = _header(list(frame.columns), path.name, report, options)
    if RECORD_ID not in {f.name for f in head.fields.values()}:
        return RedcapFile({}, report, sep, readable=False)
    frame[LINE] = np.arange(2, len(frame) + 2)
    blank_row = (frame.drop(columns=[LINE]) == "").all(axis=1)
    if blank_row.any():
        first = int(frame.loc[blank_row, LINE].iloc[0])
        reason = f"{int(blank_row.sum())} empty row(s) ignored (every cell blank)"
        report.add("warning", path.name, first, None, None, reason)
        frame = frame.loc[~blank_row]
    return RedcapFile(_split(frame, head, path.name, report), report, sep)


def _form_of_rows(
    frame: pd.DataFrame, head: _Header, label: str, report: Any
) -> tuple[pd.Series, pd.Series]:
    """Form and instance number of every row ("" for an unusable row, reported)."""
    column = head.system.get(REPEAT_INSTRUMENT)
    written = frame[column] if column else pd.Series("", index=frame.index)
    forms = written.map(lambda v: RECORD_FORM if v == "" else _FORMS.get(_key(v), ""))
    unknown = forms == ""
    for line, value in zip(frame.loc[unknown, LINE], written[unknown], strict=True):
        report.add(
            "error",
            label,
            int(line),
            REPEAT_INSTRUMENT,
            value,
            "not a form of the renalpath REDCap dictionary (forms: "
            f"{', '.join(n for n in FILES if repeating(n))})",
        )
    explicit = forms.isin([RECORD_FORM]) & (written != "")
    reason = f"{RECORD_FORM} is not a repeating form: leave {REPEAT_INSTRUMENT} blank"
    for line in frame.loc[explicit, LINE]:
        report.add("error", label, int(line), REPEAT_INSTRUMENT, RECORD_FORM, reason)
    forms = forms.where(~explicit, "")
    column = head.system.get(REPEAT_INSTANCE)
    instance = frame[column] if column else pd.Series("", index=frame.index)
    is_repeating = forms.map(lambda f: f != "" and repeating(f))
    bad = is_repeating & ~instance.map(lambda v: bool(_INT.fullmatch(v)) and int(v) >= 1)
    for line, value in zip(frame.loc[bad, LINE], instance[bad], strict=True):
        report.add(
            "error",
            label,
            int(line),
            REPEAT_INSTANCE,
            value or None,
            "a repeating form's row needs its instance number (1, 2, …)",
        )
    stray = forms.eq(RECORD_FORM) & instance.ne("")
    for line, value in zip(frame.loc[stray, LINE], instance[stray], strict=True):
        report.add(
            "error",
            label,
            int(line),
            REPEAT_INSTANCE,
            value,
            "an instance number without a repeating form (repeating events are not read)",
        )
    forms = forms.where(~(bad | stray), "")
    return forms, instance


def _split(frame: pd.DataFrame, head: _Header, label: str, report: Any) -> dict[str, pd.DataFrame]:
    """The rows of each form as that table's all-string frame (dictionary columns, values
    decoded, file lines kept)."""
    record_col = next(c for c, f in head.fields.items() if f.name == RECORD_ID)
    records = frame[record_col]
    no_record = records == ""
    for line in frame.loc[no_record, LINE]:
        report.add("error", label, int(line), RECORD_ID, None, "record id missing")
    forms, instance = _form_of_rows(frame, head, label, report)
    forms = forms.where(~no_record, "")
    # Each record, form and instance once.
    ident = records + "\x00" + forms + "\x00" + instance
    dup = ident.duplicated(keep="first") & forms.ne("")
    for line, rec, form, inst in zip(
        frame.loc[dup, LINE], records[dup], forms[dup], instance[dup], strict=True
    ):
        what = f"instance {inst} of {form}" if inst else f"the {form} row"
        reason = f"{what} of this record is given twice"
        report.add("error", label, int(line), RECORD_ID, rec, reason)
    forms = forms.where(~dup, "")
    first_seen = pd.Series(pd.factorize(records)[0], index=frame.index)
    file_columns = {f.name: c for c, f in head.fields.items()}
    tables: dict[str, pd.DataFrame] = {}
    for name, spec in FILES.items():
        mine = forms == name
        own = {f.name for f in FIELDS if f.table == name}
        # A cell of another form on this form's rows: REDCap never writes one.
        for column, field in head.fields.items():
            if field.name in own or field.name == RECORD_ID:
                continue
            filled = mine & frame[column].ne("")
            for line, value in zip(frame.loc[filled, LINE], frame.loc[filled, column], strict=True):
                where = "blank" if name == RECORD_FORM else name
                reason = (
                    f"a field of form {field.table} on a row of form {name} "
                    f"({REPEAT_INSTRUMENT} {where})"
                )
                report.add("error", label, int(line), field.name, value, reason)
        rows = frame.loc[mine]
        if not repeating(name):
            fields_here = [file_columns[f] for f in own if f in file_columns and f != RECORD_ID]
            # A record row with nothing of its form (a record exported with other forms only)
            # carries no patient data.
            rows = rows.loc[(rows[fields_here] != "").any(axis=1)] if fields_here else rows.iloc[:0]
        if rows.empty:
            continue
        order = pd.DataFrame(
            {
                "first": first_seen[rows.index],
                "inst": pd.to_numeric(instance[rows.index], errors="coerce"),
            }
        )
        rows = rows.loc[order.sort_values(["first", "inst"], kind="stable").index]
        # Only the columns the file has: a missing one is the importer's to report (a
        # required column missing refuses the table without knock-on errors).
        out = pd.DataFrame(index=rows.index)
        for col in spec.columns:
            fname = field_name(name, col.name)
            if col.name == RECORD_ID:
                out[col.name] = records[rows.index]
            elif fname in file_columns:
                values = rows[file_columns[fname]]
                decoder = _DECODERS.get(fname)
                out[col.name] = values.map(lambda v, d=decoder: d.get(v, v)) if decoder else values
        out[LINE] = rows[LINE].to_numpy()
        tables[name] = out
    _check_owners(tables, records, label, report)
    return tables


def _check_owners(
    tables: dict[str, pd.DataFrame], records: pd.Series, label: str, report: Any
) -> None:
    """A row of a form without a patient column (imaging, pathology, complications) must
    belong to a tumour or intervention of its own record, when that row is in the file."""
    owners = _owner_maps(tables)
    for name, frame in tables.items():
        spec = FILES[name]
        if RECORD_ID in spec.column_names:
            continue
        via = next((c for c in spec.columns if c.references in owners), None)
        if via is None:
            continue
        owner = frame[via.name].map(owners[str(via.references)])
        mine = records[frame.index]
        wrong = owner.notna() & owner.ne(mine)
        fname = field_name(name, via.name)
        for line, value, rec, own in zip(
            frame.loc[wrong, LINE],
            frame.loc[wrong, via.name],
            mine[wrong],
            owner[wrong],
            strict=True,
        ):
            report.add(
                "error",
                f"{label} ({name})",
                int(line),
                fname,
                value,
                f"belongs to record {own}, not to record {rec} of this row",
            )


def import_records(
    engine: Engine, path: Path, *, options: ReadOptions | None = None, **kwargs: Any
) -> ImportResult:
    """`renalpath import --format redcap FILE`: the registry import of a REDCap records file,
    with every option `importer.import_folder` takes (`dry_run`, `update`, `reason` …).

    The file's tables are written, as the registry folder they are, into a private temporary
    folder (mode 0700, removed before returning) and imported from there by the one registry
    import — its reader, normaliser, validation and all-or-nothing write. Its report then names
    the REDCap file, form, line and field. With problems of the REDCap layout the import runs
    as a dry run (the whole report, nothing written) and is refused."""
    from renalpath.registry.importer import ImportResult, import_folder

    options = options or ReadOptions()
    dry_run = bool(kwargs.pop("dry_run", False))
    kwargs.setdefault("reason", f"import REDCap records {path}")
    read = read_records(path, options)
    if not read.readable:
        return ImportResult(read.report, written=False, dry_run=dry_run)
    with tempfile.TemporaryDirectory(prefix="renalpath-redcap-import-") as tmp:
        lines = _write_tables(read, Path(tmp))
        # The tables are UTF-8 now, and the columns to ignore are already left out.
        folder_options = dataclasses.replace(options, encoding=None, ignore_columns=())
        result: ImportResult = import_folder(
            engine,
            Path(tmp),
            options=folder_options,
            dry_run=dry_run or not read.report.ok,
            **kwargs,
        )
    result.dry_run = dry_run
    _name_redcap(result.report, path, lines)
    for issue in read.report.issues:
        result.report.add(
            issue.severity, issue.file, issue.line, issue.column, issue.value, issue.reason
        )
    if not result.report.ok:
        result.written = False
    return result


def _write_tables(read: RedcapFile, folder: Path) -> dict[str, list[int]]:
    """Each table as `<table>.csv` in the REDCap file's separator (so decimal commas of a
    semicolon file are read alike); returns the REDCap line of each written row."""
    empty = pd.DataFrame(columns=[*FILES[RECORD_FORM].column_names, LINE])
    tables = read.tables or {RECORD_FORM: empty}  # no rows: an empty import, not "no file"
    lines: dict[str, list[int]] = {}
    for name, frame in tables.items():
        body = frame.drop(columns=[LINE])
        body.to_csv(
            folder / FILES[name].filename, index=False, sep=read.separator, lineterminator="\n"
        )
        lines[name] = [int(n) for n in frame[LINE]]
    return lines


def _name_redcap(report: Report, path: Path, lines: Mapping[str, list[int]]) -> None:
    """Issues of the temporary tables as the REDCap file's: file (form), line, field name."""
    files = {FILES[name].filename: name for name in lines}

    def line(name: str, n: int | None) -> int | None:
        if n is None or n < 2 or n - 2 >= len(lines[name]):
            return n
        return lines[name][n - 2]

    issues: list[Issue] = []
    separator_noted = False
    for i in report.issues:
        name = files.get(i.file)
        if name is None:
            issues.append(i)
            continue
        if i.line in (None, 1) and i.reason.split(";")[0].endswith("-separated file"):
            if separator_noted:
                continue  # said once for the REDCap file, not once per table
            separator_noted = True
            issues.append(dataclasses.replace(i, file=path.name, line=None))
            continue
        column = i.column
        if column is not None and column in FILES[name].column_names:
            column = field_name(name, column)
        issues.append(
            dataclasses.replace(
                i,
                file=f"{path.name} ({name})",
                line=line(name, i.line),
                lines=tuple(int(line(name, n) or n) for n in i.lines),
                column=column,
            )
        )
    report.issues = issues
    report.labels = {name: f"{path.name} ({name})" for name in lines}
