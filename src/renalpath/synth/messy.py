"""Messy renderings of a clean registry folder, the way hospital exports write it.

Each cell variant rewrites the clean rows into a spelling the importer must normalise back to
exactly the clean cell; each file variant changes how the files are written (separator,
encoding, header case, workbooks …). `render` applies any combination to rows held in memory
(the tests' small registries); `render_folder` streams a clean folder of any size (a
`renalpath synth` folder) into a messy one chunk by chunk, so the import benchmark can time the
normalising path at 100,000 patients and more. Entirely synthetic: it only respells cells.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import datetime as dt
import io
import random
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from renalpath.registry.dictionary import FILES

Rows = dict[str, list[dict[str, str]]]  # table → its rows, each a column → cell dict
CellVariant = Callable[[Rows, random.Random], None]

_ROMAN_TO_ARABIC = {"I": "1", "II": "2", "III": "3", "IV": "4", "V": "5"}


def _each(rows: Rows, file: str, column: str, fn: Callable[[str], str]) -> None:
    """Rewrite the non-blank cells of one column (a cell an earlier variant already
    rewrote into something this one does not know is left as it is)."""
    for row in rows.get(file, []):
        value = row.get(column, "")
        if value != "":
            with contextlib.suppress(KeyError, ValueError):
                row[column] = fn(value)


def tnm_prefixes(rows: Rows, rng: random.Random) -> None:
    for col in ("pt", "pn", "pm"):
        _each(rows, "pathology", col, lambda v: "p" + v)
    for col in ("ct", "cn", "cm"):
        _each(rows, "tumours", col, lambda v: rng.choice(["c" + v, v.lower(), v.upper()]))


def sexes(rows: Rows, rng: random.Random) -> None:
    spell = {"male": ["M", "m", "Male", "MALE"], "female": ["F", "f", "Female"]}
    _each(rows, "patients", "sex", lambda v: rng.choice(spell[v]))


def sides(rows: Rows, rng: random.Random) -> None:
    spell = {"left": ["L", "l", "Left"], "right": ["R", "Right", "RIGHT"]}
    for file in ("tumours", "interventions"):
        _each(rows, file, "side", lambda v: rng.choice(spell[v]))


def booleans(rows: Rows, rng: random.Random) -> None:
    spell = {"true": ["yes", "1", "Y", "TRUE"], "false": ["no", "0", "N", "False"]}
    for name, spec in FILES.items():
        for col in spec.columns:
            if col.type == "bool":
                _each(rows, name, col.name, lambda v: rng.choice(spell[v]))


def histologies(rows: Rows, rng: random.Random) -> None:
    spell = {
        "clear_cell": ["ccRCC", "clear cell", "Clear cell RCC", "clear-cell"],
        "papillary": ["pRCC", "Papillary", "papillary RCC"],
        "chromophobe": ["chRCC", "Chromophobe"],
    }
    for file in ("tumours", "pathology"):
        _each(rows, file, "histology", lambda v: rng.choice(spell.get(v, [v.upper()])))


def isup(rows: Rows, rng: random.Random) -> None:
    roman = {"1": "I", "2": "II", "3": "III", "4": "IV"}
    _each(
        rows,
        "pathology",
        "isup_grade",
        lambda v: rng.choice([f"G{v}", f"{v}.0", roman[v], f"Grade {v}"]),
    )


def clavien_arabic(rows: Rows, rng: random.Random) -> None:
    def arabic(v: str) -> str:
        grade, _, d = v.partition("-")
        base = grade.rstrip("ab")
        sub = grade[len(base) :]
        return _ROMAN_TO_ARABIC[base] + sub + ("-d" if d else "")

    _each(rows, "complications", "clavien_dindo", arabic)


def datetimes(rows: Rows, rng: random.Random) -> None:
    for name, spec in FILES.items():
        for col in spec.columns:
            if col.type == "date":
                _each(rows, name, col.name, lambda v: rng.choice(_TIMES).format(v))


_TIMES = ("{} 00:00:00", "{}T08:15:00", "{} 13:05")


def day_month(rows: Rows, rng: random.Random) -> None:
    """DD.MM.YYYY: imports only with --date-format DD.MM.YYYY."""
    for name, spec in FILES.items():
        for col in spec.columns:
            if col.type == "date":
                _each(rows, name, col.name, lambda v: dt.date.fromisoformat(v).strftime("%d.%m.%Y"))


def missing_words(rows: Rows, rng: random.Random) -> None:
    """Blank optional typed cells written as NA, N/A, '.', 'null'."""
    for name, spec in FILES.items():
        for col in spec.columns:
            if col.required or col.type == "str":
                continue
            for row in rows.get(name, []):
                if row.get(col.name, "") == "" and rng.random() < 0.5:
                    row[col.name] = rng.choice(["NA", "N/A", ".", "null", "NaN"])


def enum_case(rows: Rows, rng: random.Random) -> None:
    for name, spec in FILES.items():
        for col in spec.columns:
            if (
                col.type == "enum"
                and col.name not in ("clavien_dindo", "comparator")
                and col.name not in ("ct", "cn", "cm", "pt", "pn", "pm")
            ):
                _each(rows, name, col.name, lambda v: rng.choice([v.upper(), v.title()]))


def lab_units(rows: Rows, rng: random.Random) -> None:
    spell = {
        "µmol/L": ["umol/L", "μmol/L", "µmol/l", "micromol/L"],
        "mg/dL": ["mg/dl", "MG/DL"],
        "mL/min/1.73m2": ["ml/min/1.73 m2", "mL/min/1.73m²", "ml/min/1,73m2"],
    }
    for row in rows.get("labs", []):
        unit = row.get("unit", "")
        if unit in spell:
            row["unit"] = rng.choice(spell[unit])
        elif row["test"] == "hemoglobin" and unit == "g/dL" and rng.random() < 0.5:
            row["unit"] = "g/L"
            for col in ("value", "lln", "uln"):
                if row.get(col, ""):
                    row[col] = format(Decimal(row[col]) * 10, "f")


def blanks(rows: Rows, rng: random.Random) -> None:
    for records in rows.values():
        for row in records:
            for col, value in row.items():
                if value != "" and rng.random() < 0.1:
                    row[col] = f" {value}  "


CELL_VARIANTS: dict[str, CellVariant] = {
    "tnm_prefixes": tnm_prefixes,
    "sexes": sexes,
    "sides": sides,
    "booleans": booleans,
    "histologies": histologies,
    "isup": isup,
    "clavien_arabic": clavien_arabic,
    "datetimes": datetimes,
    "missing_words": missing_words,
    "enum_case": enum_case,
    "lab_units": lab_units,
    "blanks": blanks,
}

# File variants: how the folder is written.
FILE_VARIANTS = (
    "semicolon_decimal_comma",
    "tab",
    "bom",
    "cp1252",
    "upper_headers",
    "shuffled_columns",
    "upper_file_names",
    "trailing_empty_row",
    "extra_column",
    "workbook",
    "workbook_per_table",
)


def render(
    rows: Rows,
    folder: Path,
    cells: list[str],
    files: list[str],
    seed: int = 0,
) -> Path:
    """Write `rows` messily into `folder` with the given cell and file variants."""
    rng = random.Random(seed)
    rows = copy.deepcopy(rows)
    for name in CELL_VARIANTS:  # one fixed order: missing words and blanks come last
        if name in cells:
            CELL_VARIANTS[name](rows, rng)
    folder.mkdir(parents=True, exist_ok=True)
    sep = ";" if "semicolon_decimal_comma" in files else "\t" if "tab" in files else ","
    workbook = "workbook" in files or "workbook_per_table" in files
    # Decimal commas belong to a `;`-separated text file, which is how the importer knows to
    # read them; a workbook has no separator, so its cells keep their decimal points.
    decimal_comma = sep == ";" and not workbook
    tables: dict[str, list[list[str]]] = {}
    for name, records in rows.items():
        header = list(FILES[name].column_names)
        if "shuffled_columns" in files:
            rng.shuffle(header)
        body = [[r.get(c, "") for c in header] for r in records]
        if decimal_comma:
            body = [
                [_decimal_comma(name, c, v) for c, v in zip(header, r, strict=True)] for r in body
            ]
        shown = [h.upper() for h in header] if "upper_headers" in files else header
        if "extra_column" in files:
            shown = [*shown, "mrn"]
            body = [[*r, f"H{i:07d}"] for i, r in enumerate(body)]
        if "trailing_empty_row" in files:
            body = [*body, [""] * len(shown)]
        tables[name] = [shown, *body]
    if workbook:
        _write_workbooks(folder, tables, per_table="workbook_per_table" in files)
        return folder
    for name, table in tables.items():
        buf = io.StringIO()
        csv.writer(buf, delimiter=sep, lineterminator="\r\n").writerows(table)
        text = buf.getvalue()
        filename = name.upper() + ".CSV" if "upper_file_names" in files else f"{name}.csv"
        if "cp1252" in files:
            data = text.encode("cp1252")
        else:
            data = ("\ufeff" if "bom" in files else "").encode() + text.encode("utf-8")
        (folder / filename).write_bytes(data)
    return folder


def _decimal_comma(table: str, column: str, value: str) -> str:
    spec = FILES[table].column(column)
    if spec.type == "float" and re.fullmatch(r"\s*[+-]?\d+\.\d+\s*", value):
        return value.replace(".", ",")
    return value


def _write_workbooks(folder: Path, tables: dict[str, list[list[str]]], per_table: bool) -> None:
    from openpyxl import Workbook

    def cell(table: str, column: str, value: str) -> object:
        """Cells as Excel holds them: numbers as numbers, dates as dates."""
        try:
            spec = FILES[table].column(column)
        except KeyError:
            return value
        text = value.strip()
        if text == "":
            return None
        if spec.type in ("int", "float"):
            try:
                number = float(text)
            except ValueError:
                return value
            return int(number) if spec.type == "int" and number.is_integer() else number
        if spec.type == "date":
            try:
                return dt.datetime.fromisoformat(text)
            except ValueError:
                return value
        return value

    book = None if per_table else Workbook()
    if book is not None:
        book.remove(book.active)
    for name, table in tables.items():
        wb = Workbook() if per_table else book
        assert wb is not None
        ws = wb.active if per_table else wb.create_sheet(name)
        ws.title = name
        header = [h.lower() for h in table[0]]
        ws.append(table[0])
        for row in table[1:]:
            ws.append([cell(name, h, v) for h, v in zip(header, row, strict=True)])
        if per_table:
            wb.save(folder / f"{name}.xlsx")
    if book is not None:
        book.save(folder / "registry.xlsx")


STREAMED_FILE_VARIANTS = tuple(v for v in FILE_VARIANTS if not v.startswith("workbook"))


def render_folder(
    clean: Path,
    folder: Path,
    cells: list[str],
    files: list[str],
    seed: int = 0,
    chunk_rows: int = 50_000,
) -> Path:
    """Stream the CSV files of the clean folder `clean` into `folder`, messily.

    Same cell and file variants as `render` (workbooks excepted: a workbook is written whole),
    applied `chunk_rows` rows at a time so a million-patient folder never sits in memory.
    """
    unknown = [f for f in files if f not in STREAMED_FILE_VARIANTS]
    if unknown:
        raise ValueError(f"file variants not streamed: {', '.join(unknown)}")
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    sep = ";" if "semicolon_decimal_comma" in files else "\t" if "tab" in files else ","
    encoding = "cp1252" if "cp1252" in files else "utf-8-sig" if "bom" in files else "utf-8"
    for name in FILES:
        path = clean / f"{name}.csv"
        if not path.exists():
            continue
        filename = name.upper() + ".CSV" if "upper_file_names" in files else f"{name}.csv"
        with (
            path.open(newline="", encoding="utf-8") as src,
            (folder / filename).open("w", newline="", encoding=encoding) as out,
        ):
            reader = csv.DictReader(src)
            header = list(reader.fieldnames or FILES[name].column_names)
            if "shuffled_columns" in files:
                rng.shuffle(header)
            shown = [h.upper() for h in header] if "upper_headers" in files else header
            if "extra_column" in files:
                shown = [*shown, "mrn"]
            writer = csv.writer(out, delimiter=sep, lineterminator="\r\n")
            writer.writerow(shown)
            count = 0
            while chunk := [dict(r) for _, r in zip(range(chunk_rows), reader, strict=False)]:
                rows: Rows = {name: chunk}
                for variant in CELL_VARIANTS:  # the same fixed order as `render`
                    if variant in cells:
                        CELL_VARIANTS[variant](rows, rng)
                for r in chunk:
                    body = [r.get(c, "") for c in header]
                    if sep == ";":
                        pairs = zip(header, body, strict=True)
                        body = [_decimal_comma(name, c, v) for c, v in pairs]
                    if "extra_column" in files:
                        body.append(f"H{count:07d}")
                    count += 1
                    writer.writerow(body)
            if "trailing_empty_row" in files:
                writer.writerow([""] * len(shown))
    return folder
