"""`renalpath export DIR`: the registry as a folder of CSVs in the import format.

Only source data is written (derived eGFR and lineage are recomputed on import), in the
canonical cell form of `registry.cells`, rows sorted by each file's key, so exporting the same
data twice gives byte-identical files and import → export → import → export is a fixed point.

Text cells that a spreadsheet would run as a formula (starting with = + - @, tab or carriage
return) are written with a leading apostrophe (`cells.formula_safe`): numbers, dates and coded
values cannot start that way once validated, so only free-text-capable columns (ids, units,
descriptions) are concerned, and a registry whose texts never start so round-trips unchanged.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, Engine, select

from renalpath.registry.cells import canonical_frame, formula_safe
from renalpath.registry.db import require_schema
from renalpath.registry.dictionary import FILES, FileSpec
from renalpath.registry.models import TABLES


def formula_safe_frame(spec: FileSpec, frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with every text cell of `spec`'s free-text-capable ("str") columns made
    formula-safe; other columns are left as they are."""
    out = frame.copy()
    for col in spec.columns:
        if col.type == "str" and col.name in out.columns:
            out[col.name] = out[col.name].map(
                lambda v: formula_safe(v) if isinstance(v, str) else v
            )
    return out


def canonical_table(conn: Connection, name: str) -> pd.DataFrame:
    """One registry table as canonical text (dictionary columns), rows in key order:
    complications in their order within each intervention."""
    spec = FILES[name]
    table = TABLES[name]
    cols = list(spec.column_names)
    extra = ["seq"] if "seq" in spec.key else []
    rows = conn.execute(select(*[table.c[c] for c in [*cols, *extra]])).all()
    frame = pd.DataFrame(rows, columns=[*cols, *extra])
    canon = canonical_frame(spec, frame)
    sort_cols = [k for k in spec.key if k != "seq"]
    if extra:
        canon["_seq"] = frame["seq"].astype(int)
        sort_cols.append("_seq")
    return canon.sort_values(sort_cols, kind="stable")[cols].reset_index(drop=True)


def export_folder(engine: Engine, folder: Path) -> dict[str, int]:
    """Write every registry file (header only when empty); returns rows per file."""
    require_schema(engine)
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with engine.connect() as conn:
        for name, spec in FILES.items():
            canon = formula_safe_frame(spec, canonical_table(conn, name))
            canon.to_csv(folder / spec.filename, index=False, lineterminator="\n")
            counts[name] = len(canon)
    return counts
