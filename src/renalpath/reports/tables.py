"""Report tables as plain formatted text, so templates only lay out what is already decided.

All number formatting happens in Python (`formatting`), where it is tested; a template never
formats a number. A `Table` is rendered by one Jinja macro for every table in every report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from renalpath.reports.formatting import DASH

RowKind = Literal["item", "group", "sub"]


@dataclass(frozen=True)
class Row:
    """One table row; `group` rows are section headings, `sub` rows are indented levels."""

    cells: tuple[str, ...]
    kind: RowKind = "item"


@dataclass
class Table:
    """A captioned table with footnotes (footnotes explain every dash and every test)."""

    caption: str
    header: tuple[str, ...]
    rows: list[Row] = field(default_factory=list)
    footnotes: list[str] = field(default_factory=list)
    numeric_from: int = 1  # columns from this index are right-aligned numbers

    def add(self, *cells: str, kind: RowKind = "item") -> None:
        if len(cells) != len(self.header):
            raise ValueError(
                f"table {self.caption!r}: row has {len(cells)} cells, header has {len(self.header)}"
            )
        self.rows.append(Row(tuple(cells), kind))

    def note(self, text: str) -> None:
        if text not in self.footnotes:
            self.footnotes.append(text)


def _cell(value: object) -> str:
    if value is None:
        return DASH
    if isinstance(value, float) and pd.isna(value):
        return DASH
    text = str(value).strip()
    return text if text else ""


def extra_table(obj: object, caption: str) -> Table:
    """A caller's own table (e.g. tableone) as a report `Table`.

    Accepts a pandas DataFrame (tableone's `.tableone` frame with its two-level index, or any
    frame), a {"columns": [...], "rows": [{...}]} dict (outcomes `Table1.to_json_dict()`), or a
    sequence of rows whose first row is the header.
    """
    if isinstance(obj, pd.DataFrame):
        return _from_frame(obj, caption)
    if isinstance(obj, Mapping):
        if "columns" not in obj or "rows" not in obj:
            raise ValueError(
                f"table1: a dict needs 'columns' and 'rows' keys (got {sorted(obj)}); "
                "pass outcomes Table1.to_json_dict() or a DataFrame"
            )
        cols = [str(c) for c in obj["columns"]]
        table = Table(caption, tuple(cols))
        for rec in obj["rows"]:
            table.add(*(_cell(rec.get(c)) for c in cols))
        return table
    if isinstance(obj, Sequence) and not isinstance(obj, str):
        rows = [list(r) for r in obj]
        if not rows:
            raise ValueError("table1: an empty sequence has no header row")
        table = Table(caption, tuple(_cell(c) for c in rows[0]))
        for r in rows[1:]:
            table.add(*(_cell(c) for c in r))
        return table
    raise ValueError(
        f"table1: {type(obj).__name__} is not supported (allowed: DataFrame, "
        "{'columns','rows'} dict, sequence of rows)"
    )


def _from_frame(frame: pd.DataFrame, caption: str) -> Table:
    def flat(key: Any) -> str:
        parts = key if isinstance(key, tuple) else (key,)
        return ", ".join(str(p) for p in parts if str(p).strip())

    index_names = [n for n in frame.index.names if n] or ["Variable"]
    if isinstance(frame.index, pd.MultiIndex) and frame.index.nlevels == 2:
        header = ("Variable", "Level", *(flat(c) for c in frame.columns))
        table = Table(caption, header, numeric_from=2)
        previous: object = None
        for key, values in frame.iterrows():
            variable, level = key if isinstance(key, tuple) else (key, "")
            shown = "" if variable == previous else _cell(variable)
            previous = variable
            table.add(shown, _cell(level), *(_cell(v) for v in values.tolist()))
        return table
    header = (", ".join(str(n) for n in index_names), *(flat(c) for c in frame.columns))
    table = Table(caption, header)
    for key, values in frame.iterrows():
        table.add(flat(key), *(_cell(v) for v in values.tolist()))
    return table
