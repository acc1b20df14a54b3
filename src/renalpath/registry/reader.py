"""Reading a registry folder: which files, which format, which columns — nothing skipped.

Every entry of the folder is either read or named in the report:
- `<table>.csv` is read; the same name in another case (`Labs.CSV`) is read with a warning;
- `<table>.xlsx` is a workbook holding that table (its only sheet, or the sheet named like
  the table); any other `.xlsx` is a workbook with one sheet per table, named like the
  files (`patients`, `labs` …);
- any other file or folder is an error naming the files expected (`labs.txt` → "rename to
  labs.csv"); a folder with no registry file at all is an error;
- a table given twice (`labs.csv` and a `labs` sheet) is an error.

CSV: UTF-8 with or without BOM (or `--encoding`), separator detected from the header line
(`,` `;` tab; a `;` file may use decimal commas). Headers are matched without regard to case
or surrounding blanks. A column outside the data dictionary is one error (or dropped with a
warning when named in `--ignore-columns`); the rest of the file is still read, so its rows
are still known to the files that refer to them. Rows with every cell blank (a trailing
`,,,,` line) are dropped with a warning.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from renalpath.registry.dictionary import FILES, FileSpec
from renalpath.registry.normalise import FileContext, ReadOptions, missing_set

LINE = "_line"  # CSV line (or sheet row) of each row, carried through every typed frame
_BLOCK = 1 << 24  # bytes scanned at a time by `_padded`
_SEPARATORS = (",", ";", "\t")
_EXPECTED = ", ".join(spec.filename for spec in FILES.values())


@dataclass
class Source:
    """Where one table comes from."""

    table: str
    path: Path
    label: str  # the name used in messages: file name, or "book.xlsx:sheet"
    sheet: str | None = None  # workbook sheet; None for CSV or a one-sheet table workbook
    workbook_table: bool = False  # `<table>.xlsx`


def discover(folder: Path, report: Any) -> list[Source]:
    """The tables of `folder`, and an issue for every entry that is not one."""
    if not folder.is_dir():
        report.add("error", str(folder), None, None, None, "not a directory")
        return []
    sources: dict[str, Source] = {}

    def take(src: Source) -> None:
        if src.table in sources:
            report.add(
                "error",
                src.label,
                None,
                None,
                None,
                f"{src.table} is given twice (also in {sources[src.table].label}); keep one",
            )
            return
        sources[src.table] = src

    for path in sorted(folder.iterdir()):
        name = path.name
        if path.is_dir():
            report.add(
                "error",
                name,
                None,
                None,
                None,
                "a sub-folder is not read; put the registry files directly in the folder",
            )
            continue
        stem, suffix = path.stem.lower(), path.suffix.lower()
        if name.startswith(".") or name.startswith("~$"):
            report.add("warning", name, None, None, None, "hidden or lock file, not read")
            continue
        if suffix == ".csv" and stem in FILES:
            if name != FILES[stem].filename:
                report.add(
                    "warning",
                    name,
                    None,
                    None,
                    None,
                    f"read as {FILES[stem].filename} (file name in another case)",
                )
            take(Source(stem, path, name))
        elif suffix == ".xlsx" and stem in FILES:
            take(Source(stem, path, name, workbook_table=True))
        elif suffix == ".xlsx":
            for sheet in _sheet_names(path, report):
                table = sheet.strip().lower()
                if table in FILES:
                    take(Source(table, path, f"{name}:{sheet}", sheet=sheet))
                else:
                    report.add(
                        "error",
                        f"{name}:{sheet}",
                        None,
                        None,
                        None,
                        "sheet is not a registry table (name sheets like the files: "
                        f"{', '.join(FILES)})",
                    )
        elif suffix in (".xls", ".xlsm", ".xlsb", ".ods"):
            report.add(
                "error",
                name,
                None,
                None,
                None,
                f"{suffix} workbooks are not read; save as .xlsx or as CSV UTF-8",
            )
        elif stem in FILES:
            report.add(
                "error",
                name,
                None,
                None,
                None,
                f"not read: rename to {FILES[stem].filename} if it is that table "
                "(comma-, semicolon- or tab-separated text)",
            )
        else:
            report.add(
                "error", name, None, None, None, f"unknown file, not read (expected: {_EXPECTED})"
            )
    if not sources and not report.errors:
        report.add(
            "error",
            str(folder),
            None,
            None,
            None,
            f"no registry file in the folder (expected: {_EXPECTED})",
        )
    return [sources[t] for t in FILES if t in sources]


def _sheet_names(path: Path, report: Any) -> list[str]:
    try:
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True)
        try:
            return list(wb.sheetnames)
        finally:
            wb.close()
    except Exception as err:  # any unreadable workbook is one message
        report.add("error", path.name, None, None, None, f"not a readable .xlsx workbook ({err})")
        return []


# --- one table -----------------------------------------------------------------------------


def read_source(
    src: Source, report: Any, options: ReadOptions
) -> tuple[pd.DataFrame, FileContext] | None:
    """All-string frame of one table (blank = "", header matched), or None when unreadable."""
    spec = FILES[src.table]
    ctx = FileContext(options, missing=missing_set(options))
    if src.path.suffix.lower() == ".xlsx":
        frame = _read_sheet(src, report)
        padded = True
    else:
        data = src.path.read_bytes()
        frame = _read_csv(src, data, report, options, ctx)
        padded = frame is not None and _padded(data, ctx.separator)
        del data
    if frame is None:
        return None
    frame = _match_header(spec, src, frame, report, options)
    if frame is None:
        return None
    if padded:
        frame = frame.apply(lambda s: s.str.strip())
    frame[LINE] = np.arange(2, len(frame) + 2)
    # A row with every cell blank has its first cell blank: only those rows are looked at.
    first = (frame[spec.column_names[0]] == "").to_numpy()
    empty = np.zeros(len(frame), dtype=bool)
    if first.any():
        empty[first] = (frame.loc[first, list(spec.column_names)] == "").all(axis=1).to_numpy()
    if empty.any():
        lines = frame.loc[empty, LINE].tolist()
        report.add(
            "warning",
            src.label,
            int(lines[0]),
            None,
            None,
            f"{len(lines)} empty row(s) ignored (every cell blank)",
        )
        frame = frame.loc[~empty]
    return frame, ctx


def _decode(src: Source, data: bytes, report: Any, options: ReadOptions) -> str | None:
    encoding = options.encoding or "utf-8"
    if data.startswith(b"\xef\xbb\xbf") and encoding.lower().replace("-", "") in ("utf8",):
        data = data[3:]
    try:
        return data.decode(encoding)
    except LookupError:
        report.add("error", src.label, None, None, None, f"unknown encoding {encoding!r}")
        return None
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        byte = data[err.start : err.start + 1].hex()
        hint = (
            "save it from Excel as 'CSV UTF-8 (comma delimited)', or name its encoding with "
            "--encoding (e.g. cp1252 for Windows Western Europe)"
            if options.encoding is None
            else "check --encoding"
        )
        report.add(
            "error",
            src.label,
            line,
            None,
            None,
            f"not {encoding} (byte 0x{byte} at line {line}); {hint}",
        )
        return None


def _separator(text: str) -> str:
    """The separator of the header line: the most frequent of , ; tab outside quotes."""
    first = text.split("\n", 1)[0]
    outside, quoted = [], False
    for ch in first:
        if ch == '"':
            quoted = not quoted
        elif not quoted:
            outside.append(ch)
    counts = {s: outside.count(s) for s in _SEPARATORS}
    best = max(_SEPARATORS, key=lambda s: counts[s])
    return best if counts[best] else ","


def _set_separator(src: Source, ctx: FileContext, sep: str, report: Any) -> None:
    ctx.separator = sep
    ctx.decimal_comma = sep == ";"
    if sep != ",":
        report.add(
            "warning",
            src.label,
            None,
            None,
            None,
            f"{'semicolon' if sep == ';' else 'tab'}-separated file"
            + ("; decimal commas read as decimal points" if sep == ";" else ""),
        )


def _read_csv(
    src: Source, data: bytes, report: Any, options: ReadOptions, ctx: FileContext
) -> pd.DataFrame | None:
    if not data.strip(b"\xef\xbb\xbf \r\n\t"):
        report.add("error", src.label, 1, None, None, "empty file (no header row)")
        return None
    plain_utf8 = options.encoding is None and not data.startswith(b"\xef\xbb\xbf")
    head = data[:65536]
    if plain_utf8:
        try:
            head_text = head.decode("utf-8")
        except UnicodeDecodeError as err:
            if err.start < len(head) - 4:
                _decode(src, data, report, options)
                return None
            head_text = head[: err.start].decode("utf-8")
        sep = _separator(head_text)
        source: Any = io.BytesIO(data)
        encoding = "utf-8"
    else:
        text = _decode(src, data, report, options)
        if text is None:
            return None
        sep = _separator(text[:65536])
        source = io.StringIO(text)
        encoding = None
    _set_separator(src, ctx, sep, report)
    try:
        return pd.read_csv(
            source,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            sep=sep,
            encoding=encoding,
            skip_blank_lines=False,
            index_col=False,
        )
    except UnicodeDecodeError:
        _decode(src, data, report, options)
        return None
    except pd.errors.ParserError as err:
        report.add("error", src.label, None, None, None, f"not a valid CSV: {err}")
        return None
    except pd.errors.EmptyDataError:
        report.add("error", src.label, 1, None, None, "empty file (no header row)")
        return None


def _cell_text(value: object) -> str:
    """A workbook cell as the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def _read_sheet(src: Source, report: Any) -> pd.DataFrame | None:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(src.path, read_only=True, data_only=True)
    except Exception as err:  # any unreadable workbook is one message
        report.add("error", src.label, None, None, None, f"not a readable .xlsx workbook ({err})")
        return None
    try:
        sheet_name = src.sheet
        if sheet_name is None:
            names = list(wb.sheetnames)
            matching = [n for n in names if n.strip().lower() == src.table]
            if len(names) == 1:
                sheet_name = names[0]
            elif matching:
                sheet_name = matching[0]
                for other in names:
                    if other != sheet_name:
                        report.add(
                            "error",
                            f"{src.label}:{other}",
                            None,
                            None,
                            None,
                            f"extra sheet in the {src.table} workbook, not read",
                        )
            else:
                report.add(
                    "error",
                    src.label,
                    None,
                    None,
                    None,
                    f"several sheets and none named {src.table!r}",
                )
                return None
        rows = [[_cell_text(v) for v in row] for row in wb[sheet_name].iter_rows(values_only=True)]
    finally:
        wb.close()
    while rows and not any(rows[-1]):
        rows.pop()
    if not rows:
        report.add("error", src.label, 1, None, None, "empty sheet (no header row)")
        return None
    header = rows[0]
    while header and header[-1] == "":
        header = header[:-1]
    width = len(header)
    body = [r[:width] + [""] * (width - len(r)) for r in rows[1:]]
    return pd.DataFrame(body, columns=header, dtype=object)


def _match_header(
    spec: FileSpec, src: Source, frame: pd.DataFrame, report: Any, options: ReadOptions
) -> pd.DataFrame | None:
    """Columns renamed to the dictionary's names (any case); unknown columns reported once."""
    ignore = {c.strip().lower() for c in options.ignore_columns}
    names = {c.lower(): c for c in spec.column_names}
    renamed: dict[str, str] = {}
    keep: list[str] = []
    ok = True
    seen: set[str] = set()
    for col in map(str, frame.columns):
        key = col.strip().lstrip("\ufeff").lower()
        if key in names:
            canonical = names[key]
            if canonical in seen:
                report.add("error", src.label, 1, canonical, None, "column appears twice")
                ok = False
                continue
            seen.add(canonical)
            if col != canonical:
                renamed[col] = canonical
            keep.append(col)
        elif key in ignore:
            report.add("warning", src.label, 1, col, None, "column ignored (--ignore-columns)")
        elif key == "" and (frame[col] == "").all():
            continue  # a trailing separator on every line
        else:
            report.add(
                "error",
                src.label,
                1,
                col,
                None,
                f"column `{col}` is not in the data dictionary (use --ignore-columns "
                f"{col}); allowed: {', '.join(spec.column_names)}",
            )
            ok = False
    if renamed:
        report.add(
            "warning",
            src.label,
            1,
            None,
            None,
            "header read as " + ", ".join(f"{a!r} → {b}" for a, b in renamed.items()),
        )
    for cspec in spec.columns:
        if cspec.required and cspec.name not in seen:
            report.add("error", src.label, 1, cspec.name, None, "required column missing")
            return None
    if list(frame.columns) == list(spec.column_names):
        return frame  # the usual case: nothing to select, rename or add
    frame = frame[keep].rename(columns=renamed)
    for cspec in spec.columns:
        if cspec.name not in frame.columns:
            frame[cspec.name] = ""
    frame = frame[list(spec.column_names)]
    if not ok:
        frame.attrs["refused_header"] = True
    return frame


def _padded(data: bytes, sep: str) -> bool:
    """Is there a blank or tab next to a separator or a line end (where stripping changes a
    cell)? numpy over the bytes: a regex scan cost more than parsing the CSV itself."""
    arr = np.frombuffer(data, dtype=np.uint8)
    n = len(arr)
    delim = ord(sep)
    blanks = (32,) if sep == "\t" else (32, 9)
    for start in range(0, n, _BLOCK):
        block = arr[start : start + _BLOCK]
        pos = np.flatnonzero(np.isin(block, blanks)) + start
        if not len(pos):
            continue
        before = np.where(pos > 0, arr[np.maximum(pos - 1, 0)], 10)
        after = np.where(pos < n - 1, arr[np.minimum(pos + 1, n - 1)], 10)
        if (np.isin(before, (delim, 10)) | np.isin(after, (delim, 10, 13))).any():
            return True
    return False


def iter_sources(
    folder: Path, report: Any, options: ReadOptions
) -> Iterator[tuple[str, pd.DataFrame, FileContext, str]]:
    """Each readable table of `folder`: (table, all-string frame, context, label)."""
    for src in discover(folder, report):
        got = read_source(src, report, options)
        if got is None:
            report.failed.add(src.table)
            continue
        frame, ctx = got
        if frame.attrs.get("refused_header"):
            report.failed_header.add(src.table)
        yield src.table, frame, ctx, src.label


# --- reading large files in chunks ---------------------------------------------------------

STREAM_MIN_BYTES = 8 << 20  # smaller files (and workbooks, and other encodings) are read whole


class _Scratch:
    """A report that forgets: header matching of the chunks after the first (already reported)."""

    def add(self, *args: object) -> None:
        pass


def read_source_chunks(
    src: Source, report: Any, options: ReadOptions, rows: int
) -> tuple[Iterator[pd.DataFrame], FileContext] | None:
    """`read_source` as a stream of all-string frames of at most `rows` rows each, so a
    file's strings never sit in memory whole; None when unreadable (as `read_source`).

    Only large plain UTF-8 CSV files (no BOM, no --encoding) are streamed; anything else is
    read whole by `read_source` and given as one chunk, so small folders read exactly as
    before. A problem found part-way (a bad byte, a broken quote) is reported when reached and
    the table marked failed (`report.failed`); the chunks before it were already given out,
    which the importer's single transaction makes harmless (an error refuses everything).
    Line numbers (`LINE`) run on across chunks; the empty-row warning counts the whole file.
    """
    streamed = _stream_csv(src, report, options, rows)
    if streamed is not None:
        return streamed
    got = read_source(src, report, options)
    if got is None:
        return None
    frame, ctx = got
    if frame.attrs.get("refused_header"):
        report.failed_header.add(src.table)
    return iter([frame]), ctx


def _stream_csv(
    src: Source, report: Any, options: ReadOptions, rows: int
) -> tuple[Iterator[pd.DataFrame], FileContext] | None:
    if src.path.suffix.lower() != ".csv" or options.encoding is not None:
        return None
    if src.path.stat().st_size < STREAM_MIN_BYTES:
        return None
    with src.path.open("rb") as fh:
        head = fh.read(65536)
    if head.startswith(b"\xef\xbb\xbf") or not head.strip(b" \r\n\t"):
        return None
    try:
        head_text = head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 4:
            return None  # read whole: `read_source` reports where
        head_text = head[: err.start].decode("utf-8")
    ctx = FileContext(options, missing=missing_set(options))
    sep = _separator(head_text)
    _set_separator(src, ctx, sep, report)
    padded = _padded_file(src.path, sep)
    return _chunks(src, report, options, rows, sep, padded), ctx


def _chunks(
    src: Source, report: Any, options: ReadOptions, rows: int, sep: str, padded: bool
) -> Iterator[pd.DataFrame]:
    spec = FILES[src.table]
    line = 2
    empty_first: int | None = None
    empty_count = 0
    first = True
    try:
        reader = pd.read_csv(
            src.path,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            sep=sep,
            encoding="utf-8",
            skip_blank_lines=False,
            index_col=False,
            chunksize=rows,
        )
        with reader:
            for raw in reader:
                frame = _match_header(spec, src, raw, report if first else _Scratch(), options)
                if frame is None:
                    report.failed.add(src.table)
                    return
                if first and frame.attrs.get("refused_header"):
                    report.failed_header.add(src.table)
                first = False
                if padded:
                    frame = frame.apply(lambda s: s.str.strip())
                frame[LINE] = np.arange(line, line + len(frame))
                line += len(frame)
                cells = frame[spec.column_names[0]] == ""
                if cells.any():
                    blank = (frame.loc[cells, list(spec.column_names)] == "").all(axis=1)
                    if blank.any():
                        if empty_first is None:
                            empty_first = int(frame.loc[blank.index[blank], LINE].iloc[0])
                        empty_count += int(blank.sum())
                        frame = frame.drop(index=blank.index[blank])
                yield frame
    except UnicodeDecodeError:
        _decode(src, src.path.read_bytes(), report, options)
        report.failed.add(src.table)
    except pd.errors.ParserError as err:
        report.add("error", src.label, None, None, None, f"not a valid CSV: {err}")
        report.failed.add(src.table)
    if empty_first is not None:
        report.add(
            "warning",
            src.label,
            empty_first,
            None,
            None,
            f"{empty_count} empty row(s) ignored (every cell blank)",
        )


def _padded_file(path: Path, sep: str) -> bool:
    """`_padded` over a file read in blocks (each block with the byte before it)."""
    last = b"\n"
    with path.open("rb") as fh:
        while block := fh.read(_BLOCK):
            if _padded(last + block, sep):
                return True
            last = block[-1:]
    return False
