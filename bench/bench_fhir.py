"""FHIR Bulk Data round trip: `renalpath export --format fhir` then `import --format fhir`.

N comes from RENALPATH_BENCH_FHIR_N (default 2,000, a few seconds for `make bench`; the target
is 100,000 patients: export < 60 s with memory that does not grow with N, import < 120 s).
RENALPATH_BENCH_FHIR_DB reuses an existing SQLite registry of N patients (a file path; e.g.
`renalpath synth --patients N --seed 1` then `renalpath import`) instead of building one.
The export (registry → NDJSON) and the import (NDJSON → an empty SQLite registry, the steps of
`renalpath import --format fhir`: read and validate, then the registry import) each run in a
fresh subprocess, so each peak RSS is its own; the export's CPU includes its worker processes
(from 5,000 patients), whose largest peak RSS is printed beside the export's. The baseline
loop is timed before and after (the machine's load changes during a long run) and the load
average is printed with both.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import Figure, _baseline_workload, baseline, measure, report

N = int(os.environ.get("RENALPATH_BENCH_FHIR_N", "2000"))
DB = os.environ.get("RENALPATH_BENCH_FHIR_DB")

_EXPORT = """
import json, resource, sys, time
from pathlib import Path
from renalpath.registry.db import make_engine
from renalpath.interop.fhir.export import export_fhir
engine = make_engine(sys.argv[1])
start, cpu = time.perf_counter(), time.process_time()
counts = export_fhir(engine, Path(sys.argv[2]), "fhir")
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
size = sum(p.stat().st_size for p in Path(sys.argv[2]).iterdir())
workers = resource.getrusage(resource.RUSAGE_CHILDREN)  # the export's worker processes
print(json.dumps({"seconds": seconds, "cpu": cpu, "resources": sum(counts.values()), "bytes": size,
                  "patients": counts.get("Patient", 0),
                  "workers_cpu": workers.ru_utime + workers.ru_stime,
                  "workers_peak_mib": workers.ru_maxrss / 1024,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

_IMPORT = """
import json, resource, sys, tempfile, time
from pathlib import Path
from renalpath.registry.db import make_engine, upgrade
from renalpath.registry.importer import import_folder
from renalpath.interop.fhir.importer import read_fhir, write_folder
engine = make_engine(sys.argv[1])
upgrade(engine)
start, cpu = time.perf_counter(), time.process_time()
read = read_fhir(Path(sys.argv[2]))
assert not read.errors, [n.render() for n in read.errors[:5]]
read_seconds, read_cpu = time.perf_counter() - start, time.process_time() - cpu
peak_read = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
with tempfile.TemporaryDirectory() as tmp:
    write_folder(read, Path(tmp))
    read.release_rows()
    result = import_folder(engine, Path(tmp))
assert result.written, result.report.render()
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"seconds": seconds, "read": read_seconds, "cpu": cpu, "read_cpu": read_cpu,
                  "resources": read.resources,
                  "mapped": read.mapped, "skipped": len(read.skipped), "rows": result.rows_total,
                  "peak_read_mib": peak_read,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _child(code: str, *args: str) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _baseline_cpu() -> float:
    """CPU seconds of the baseline workload (median of 7): on a machine shared by many jobs
    CPU time, unlike wall time, does not count the waits for a core."""
    times = []
    for _ in range(7):
        start = time.process_time()
        _baseline_workload()
        times.append(time.process_time() - start)
    return statistics.median(times)


def _registry(tmp: Path) -> str:
    """A SQLite registry of N synthetic patients (seed 1)."""
    if DB:
        return f"sqlite:///{DB}"
    from renalpath.registry.db import make_engine, upgrade
    from renalpath.registry.importer import import_folder
    from renalpath.synth.writer import write_registry

    write_registry(tmp / "synth", N, seed=1)
    url = f"sqlite:///{tmp / 'source.db'}"
    engine = make_engine(url)
    upgrade(engine)
    assert import_folder(engine, tmp / "synth").written
    engine.dispose()
    return url


def main() -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        source = _registry(tmp)
        load_before = os.getloadavg()
        baseline()
        before_cpu = _baseline_cpu()
        exp = _child(_EXPORT, source, str(tmp / "ndjson"))
        imp = _child(_IMPORT, f"sqlite:///{tmp / 'target.db'}", str(tmp / "ndjson"))
        after = measure(_baseline_workload, repeat=7)
        after_cpu = _baseline_cpu()
        load_after = os.getloadavg()
    n = exp["patients"]
    figures = [
        Figure(
            f"export {n:,} patients → NDJSON",
            exp["seconds"],
            "resources/s",
            exp["resources"] / exp["seconds"],
        ),
        Figure(
            f"import {n:,} patients ← NDJSON (all steps)",
            imp["seconds"],
            "resources/s",
            imp["resources"] / imp["seconds"],
        ),
        Figure(
            "  of which read + validate", imp["read"], "resources/s", imp["resources"] / imp["read"]
        ),
    ]
    report(figures)
    print(
        f"  baseline after the run {after * 1000:.3f} ms; load average before "
        f"{load_before[0]:.1f}, after {load_after[0]:.1f} (1 min)"
    )
    base_cpu = (before_cpu + after_cpu) / 2
    cpus = (
        ("export", exp["cpu"] + exp["workers_cpu"]),
        ("  of which workers", exp["workers_cpu"]),
        ("import", imp["cpu"]),
        ("  read", imp["read_cpu"]),
    )
    for name, seconds in cpus:
        print(
            f"  {name} CPU {seconds:,.1f} s = {seconds / base_cpu:,.0f}× the baseline's CPU "
            f"({before_cpu * 1000:.1f} / {after_cpu * 1000:.1f} ms before / after)"
        )
    print(
        f"  export: {exp['resources']:,.0f} resources, {exp['bytes'] / 2**20:,.0f} MiB NDJSON, "
        f"peak RSS {exp['peak_mib']:,.0f} MiB (largest worker {exp['workers_peak_mib']:,.0f} "
        f"MiB); ≈ {exp['seconds'] * 100_000 / n:,.0f} s per "
        f"100,000 patients at this load (target < 60 s)"
    )
    print(
        f"  import: {imp['mapped']:,.0f} mapped, {imp['skipped']:,.0f} not imported (derived), "
        f"{imp['rows']:,.0f} registry rows; peak RSS {imp['peak_read_mib']:,.0f} MiB after "
        f"reading, {imp['peak_mib']:,.0f} MiB in all; ≈ {imp['seconds'] * 100_000 / n:,.0f} s "
        f"per 100,000 patients at this load (target < 120 s)"
    )


if __name__ == "__main__":
    main()
