"""`study salvage` and `study survival` on a synthetic SQLite registry: seconds and peak RSS.

N comes from RENALPATH_BENCH_STUDY_N (default 20,000 patients). The registry is built once
(synth + import) and cached under bench/out/study_<N>.db; RENALPATH_BENCH_STUDY_DB (a
database URL) points at an existing registry of N patients instead, e.g. one built with
`renalpath synth` + `renalpath import`. Each study runs in a fresh subprocess — load from SQL
(`outcomes.source`) plus the analysis, as the CLI does — so its peak RSS (VmHWM) is its own;
CPU seconds are printed too, since wall time on a shared machine includes other jobs. The
issue-5 target is 1,000,000 patients in < 60 s and < 4 GB each (bench/RESULTS.md, "Studies").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from harness import Figure, report

N = int(os.environ.get("RENALPATH_BENCH_STUDY_N", "20000"))
OUT = Path(__file__).resolve().parent / "out"

_CHILD = """
import json, resource, sys, time
start = time.perf_counter()
cpu0 = time.process_time()
from renalpath.outcomes.source import salvage_frames, survival_frames
from renalpath.outcomes import salvage_study, survival_study
url, which = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
if which == "salvage":
    frames = salvage_frames(url)
    t1 = time.perf_counter()
    doc = salvage_study(frames).to_json_dict()
    n = doc["n_surgical_patients"]
else:
    frames = survival_frames(url)
    t1 = time.perf_counter()
    doc = survival_study(frames, "recurrence-free", "procedure").to_json_dict()
    n = doc["n"]
t2 = time.perf_counter()
# VmHWM belongs to this exec'd image; ru_maxrss can carry the forking parent's peak over exec.
try:
    hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
    peak = int(hwm.split()[1]) / 1024
except (OSError, IndexError):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
# CPU seconds too: on a shared machine wall time also counts other people's jobs.
print(json.dumps({"load": t1 - t0, "analyse": t2 - t1, "total": t2 - t0, "n": n,
                  "peak_mib": peak, "cpu": time.process_time() - cpu0}))
"""


def registry(n: int) -> str:
    """A cached SQLite registry of n synthetic patients (built on first use)."""
    from renalpath.registry.db import make_engine, upgrade
    from renalpath.registry.importer import import_folder
    from renalpath.synth.writer import write_registry

    given = os.environ.get("RENALPATH_BENCH_STUDY_DB")
    if given:
        return given
    OUT.mkdir(exist_ok=True)
    db = OUT / f"study_{n}.db"
    url = f"sqlite:///{db}"
    if db.exists():
        return url
    folder = OUT / f"study_{n}_csv"
    start = time.perf_counter()
    write_registry(folder, n, 1, overwrite=True)
    partial = db.with_suffix(".partial")
    engine = make_engine(f"sqlite:///{partial}")
    upgrade(engine)
    result = import_folder(engine, folder)
    engine.dispose()
    if not result.written:
        raise RuntimeError(result.report.render())
    partial.rename(db)
    print(f"built {db.name} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return url


def run(url: str, which: str) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, url, which], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    url = registry(N)
    figures: list[Figure] = []
    for which in ("salvage", "survival"):
        r = run(url, which)
        figures.append(
            Figure(
                f"study {which}, {N:,} patients (load+analyse)",
                r["total"],
                "patients/s",
                N / r["total"],
            )
        )
        figures.append(Figure("  of which SQL load", r["load"]))
        print(
            f"study {which}: peak RSS {r['peak_mib']:.0f} MiB, CPU {r['cpu']:.1f} s, "
            f"n={int(r['n'])}"
        )
    report(figures)


if __name__ == "__main__":
    main()
