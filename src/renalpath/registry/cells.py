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
from typing import Any

import pandas as pd

from renalpath.registry.dictionary import FileSpec


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


def canonical_frame(spec: FileSpec, typed: pd.DataFrame) -> pd.DataFrame:
    """All columns of `spec` as canonical strings ("" = blank)."""
    out = pd.DataFrame(index=typed.index)
    for col in spec.columns:
        series = typed[col.name]
        if col.type == "date":
            dates = pd.to_datetime(series, errors="coerce")
            out[col.name] = dates.dt.strftime("%Y-%m-%d").fillna("")
        elif col.type in ("int", "float"):
            out[col.name] = format_numbers(series)
        elif col.type == "bool":
            out[col.name] = [
                "" if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))
                else ("true" if bool(v) else "false")
                for v in series.tolist()
            ]  # fmt: skip
        else:
            out[col.name] = series.astype(object).where(series.notna(), "").astype(str)
    return out


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
            ints = [None if pd.isna(v) else int(v) for v in typed[col.name].tolist()]
            out[col.name] = pd.Series(ints, index=typed.index, dtype=object)
        else:
            out[col.name] = typed[col.name].astype(object).where(typed[col.name].notna(), None)
    return out
