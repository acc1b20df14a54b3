"""`renalpath import` throughput: rows/s and peak RSS for a synthetic folder of N patients.

N comes from RENALPATH_BENCH_REGISTRY_N (default 20,000: about a minute on 2 cores); the
issue-4 target is 100,000 patients in < 60 s per database and < 1.5 GB peak RSS (figures in
bench/RESULTS.md). RENALPATH_BENCH_REGISTRY_DIR reuses an existing synth folder of N patients
(seed 1) instead of generating one. SQLite always; PostgreSQL too when
RENALPATH_TEST_PG_URL is set (a private schema, dropped afterwards). Each import runs in a fresh
subprocess so its peak RSS is its own. Uses `renalpath.synth` for the folder.

The messy variant (RENALPATH_BENCH_REGISTRY_MESSY=0 to skip) streams the same folder through
`renalpath.synth.messy.render_folder` (every cell variant: respelt enums, units, TNM
prefixes, times on dates, padded cells, missing-value words; semicolons with decimal commas,
upper-case and shuffled headers, a trailing empty row) and imports that into SQLite, so the
normalising path is timed against the clean one. RENALPATH_BENCH_REGISTRY_REIMPORT=0 skips the
re-imports (a 1,000,000-patient run measures the first import's peak only).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from harness import Figure, report

N = int(os.environ.get("RENALPATH_BENCH_REGISTRY_N", "20000"))
# An existing synth folder of N patients (seed 1) to reuse instead of generating one.
FOLDER = os.environ.get("RENALPATH_BENCH_REGISTRY_DIR")
MESSY = os.environ.get("RENALPATH_BENCH_REGISTRY_MESSY", "1") != "0"
REIMPORT = os.environ.get("RENALPATH_BENCH_REGISTRY_REIMPORT", "1") != "0"
MESSY_FILES = ["semicolon_decimal_comma", "upper_headers", "shuffled_columns", "trailing_empty_row"]

_CHILD = """
import json, resource, sys, time
from pathlib import Path
from renalpath.registry.db import make_engine, upgrade
from renalpath.registry.importer import import_folder
engine = make_engine(sys.argv[1])
upgrade(engine)
start = time.perf_counter()
first = import_folder(engine, Path(sys.argv[2]))
seconds = time.perf_counter() - start
assert first.written, first.report.render()
peak_first = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
reimport = 0.0
if sys.argv[3] == "1":
    start = time.perf_counter()
    again = import_folder(engine, Path(sys.argv[2]))
    reimport = time.perf_counter() - start
    assert again.audit_rows == 0
print(json.dumps({"seconds": seconds, "reimport": reimport, "rows": first.rows_total,
                  "audit": first.audit_rows, "peak_mib": peak_first,
                  "peak_reimport_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _import(url: str, folder: Path, reimport: bool = REIMPORT) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, url, str(folder), str(int(reimport))],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _pg_schema(pg_url: str, create: bool) -> str:
    from sqlalchemy import create_engine, text

    schema = os.environ.setdefault("RENALPATH_BENCH_SCHEMA", f"bench_{uuid.uuid4().hex[:8]}")
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        verb = f'CREATE SCHEMA "{schema}"' if create else f'DROP SCHEMA "{schema}" CASCADE'
        conn.execute(text(verb))
    engine.dispose()
    sep = "&" if "?" in pg_url else "?"
    return f"{pg_url}{sep}options=-csearch_path%3D{schema}"


def main() -> None:
    from renalpath.synth.writer import write_registry

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(FOLDER) if FOLDER else Path(tmp) / "synth"
        if not FOLDER:
            write_registry(folder, N, seed=1)
        runs = {"sqlite": _import(f"sqlite:///{Path(tmp) / 'bench.db'}", folder)}
        if MESSY:
            from renalpath.synth.messy import CELL_VARIANTS, render_folder

            messy = render_folder(
                folder, Path(tmp) / "messy", list(CELL_VARIANTS), MESSY_FILES, seed=1
            )
            runs["sqlite, messy"] = _import(f"sqlite:///{Path(tmp) / 'messy.db'}", messy, False)
            shutil.rmtree(messy)
        pg = os.environ.get("RENALPATH_TEST_PG_URL")
        if pg:
            url = _pg_schema(pg, create=True)
            try:
                runs["postgresql"] = _import(url, folder)
            finally:
                _pg_schema(pg, create=False)
    figures = []
    for name, r in runs.items():
        figures.append(
            Figure(
                f"import {N:,} patients ({name})", r["seconds"], "rows/s", r["rows"] / r["seconds"]
            )
        )
        if r["reimport"]:
            figures.append(
                Figure(
                    f"re-import, no changes ({name})",
                    r["reimport"],
                    "rows/s",
                    r["rows"] / r["reimport"],
                )
            )
    report(figures)
    for name, r in runs.items():
        per_100k = r["seconds"] * 100_000 / N
        print(
            f"  {name}: {r['rows']:,.0f} CSV rows + {r['audit']:,.0f} audit rows; "
            f"peak RSS {r['peak_mib']:,.0f} MiB (after re-import {r['peak_reimport_mib']:,.0f});"
            f" ≈ {per_100k:,.0f} s per 100,000 patients "
            f"(target < 60 s)"
        )


if __name__ == "__main__":
    main()
