"""Canonical text of every cell: the one normalisation shared by export, upsert and audit.

Import → export → import is lossless *after* this normalisation (documented contract):
- surrounding whitespace of every cell is dropped;
- numbers are written in Python's shortest round-trip form, integral values without ".0"
  ("20.0" → "20", "1e3" → "1000", "+3" → "3"); the stored double is exactly the parsed one;
- dates ISO `YYYY-MM-DD`, booleans `true`/`false`, blank = missing;
- rows are written in key order (see `EXPORT_ORDER`), with the dictionary's column order.
Comparing canonical strings (not Python objects) makes "did this row change?" independent of
how each database driver returns dates, booleans and floats.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from renalpath.registry.dictionary import FileSpec

# A spreadsheet opening a CSV runs a cell starting with one of these as a formula
# (OWASP "CSV Injection"): =HYPERLINK(…) phones home, =cmd|… runs a program.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(text: str) -> str:
    """`text` that no spreadsheet runs as a formula: a leading apostrophe is added before a
    formula character (the spreadsheet convention for "this is text")."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def format_number(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    number = float(value)
    if number.is_integer() and abs(number) < 1e16:
        return str(int(number))
    return repr(number)


def format_numbers(series: pd.Series) -> pd.Series:
    """Vectorised `format_number`: integral values through int64, the rest through repr."""
    number = pd.to_numeric(series, errors="coerce").astype(float)
    out = pd.Series("", index=series.index, dtype=object)
    present = number.notna()
    integral = present & (number == number.round()) & (number.abs() < 1e15)
    out[integral] = number[integral].astype("int64").astype(str)
    rest = present & ~integral
    out[rest] = number[rest].map(repr)
    return out


def _format_dates(values: pd.Series) -> pd.Series:
    dates = pd.to_datetime(values, errors="coerce")
    return dates.dt.strftime("%Y-%m-%d").fillna("")


def _format_bools(values: pd.Series) -> pd.Series:
    return pd.Series(
        ["true" if bool(v) else "false" for v in values.tolist()], index=values.index, dtype=object
    )


def _format_texts(values: pd.Series) -> pd.Series:
    return values.astype(str)


def _per_distinct(series: pd.Series, fmt: Callable[[pd.Series], pd.Series]) -> np.ndarray:
    """`fmt` applied once per distinct value, spread back to every row; blanks (None, NaN,
    NaT, pd.NA) become "". A registry column has far fewer distinct values than rows, and the
    rows then share one string object per value (memory as well as time)."""
    codes, uniq = pd.factorize(series)
    texts = fmt(pd.Series(uniq)).to_numpy(object) if len(uniq) else np.empty(0, dtype=object)
    # code -1 (blank) picks the appended "" through numpy's negative indexing
    table = np.append(texts, "").astype(object)
    result: np.ndarray = table[codes]
    return result


def canonical_frame(spec: FileSpec, typed: pd.DataFrame) -> pd.DataFrame:
    """All columns of `spec` as canonical strings ("" = blank)."""
    formats: dict[str, Callable[[pd.Series], pd.Series]] = {
        "date": _format_dates,
        "int": format_numbers,
        "float": format_numbers,
        "bool": _format_bools,
    }
    cols = {
        col.name: _per_distinct(typed[col.name], formats.get(col.type, _format_texts))
        for col in spec.columns
    }
    return pd.DataFrame(cols, index=typed.index, columns=list(spec.column_names))


def _per_distinct_values(series: pd.Series, convert: Callable[[Any], Any]) -> pd.Series:
    codes, uniq = pd.factorize(series)
    table = np.array([*(convert(v) for v in uniq.tolist()), None], dtype=object)
    return pd.Series(table[codes], index=series.index, dtype=object)


def db_values(spec: FileSpec, typed: pd.DataFrame, canonical: pd.DataFrame) -> pd.DataFrame:
    """Values as the drivers take them: text/dates as canonical strings or None, numbers as
    float/int or None, booleans as bool or None."""
    out = pd.DataFrame(index=typed.index)
    for col in spec.columns:
        if col.type in ("str", "enum", "date"):
            text = canonical[col.name]
            out[col.name] = text.astype(object).where(text != "", None)
        elif col.type == "float":
            num = typed[col.name].astype(float)
            out[col.name] = num.astype(object).where(num.notna(), None)
        elif col.type == "int":
            out[col.name] = _per_distinct_values(typed[col.name], int)
        else:
            out[col.name] = typed[col.name].astype(object).where(typed[col.name].notna(), None)
    return out
