"""`renalpath export DIR`: the registry as a folder of CSVs in the import format.

Only source data is written (derived eGFR and lineage are recomputed on import), in the
canonical cell form of `registry.cells`, rows sorted by each file's key, so exporting the same
data twice gives byte-identical files and import → export → import → export is a fixed point.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, select

from renalpath.registry.cells import canonical_frame
from renalpath.registry.db import require_schema
from renalpath.registry.dictionary import FILES
from renalpath.registry.models import TABLES


def export_folder(engine: Engine, folder: Path) -> dict[str, int]:
    """Write every registry file (header only when empty); returns rows per file."""
    require_schema(engine)
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with engine.connect() as conn:
        for name, spec in FILES.items():
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
            canon = canon.sort_values(sort_cols, kind="stable")[cols]
            canon.to_csv(folder / spec.filename, index=False, lineterminator="\n")
            counts[name] = len(canon)
    return counts
