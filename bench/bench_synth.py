"""`renalpath synth` throughput and memory: patients/s, rows/s, peak RSS, 1,000,000 extrapolated.

Each size runs in a fresh subprocess so that its peak RSS (`resource.getrusage`) is its own;
similar peaks at 2,000 and 20,000 patients show that memory stays flat as N grows.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import Figure, report

SIZES = (2_000, 20_000)
EXTRAPOLATE_TO = 1_000_000

_CHILD = """
import json, resource, sys, time
from pathlib import Path
from renalpath.synth.writer import write_registry
out, n = Path(sys.argv[1]), int(sys.argv[2])
start = time.perf_counter()
summary = write_registry(out, n, seed=1)
seconds = time.perf_counter() - start
size = sum(p.stat().st_size for p in out.iterdir())
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
print(json.dumps({"seconds": seconds, "rows": sum(summary.rows.values()), "bytes": size,
                  "peak_mib": peak_kib / 1024}))
"""


def _run(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, str(Path(tmp) / "out"), str(n)],
            capture_output=True,
            text=True,
            check=True,
        )
    result: dict[str, float] = json.loads(proc.stdout)
    return result


def main() -> None:
    results = {n: _run(n) for n in SIZES}
    figures = []
    for n, r in results.items():
        figures.append(
            Figure(f"synth {n:,} patients", r["seconds"], "patients/s", n / r["seconds"])
        )
        figures.append(
            Figure(
                f"synth {n:,} patients (rows written)",
                r["seconds"],
                "rows/s",
                r["rows"] / r["seconds"],
            )
        )
    report(figures)
    for n, r in results.items():
        print(
            f"  peak RSS at {n:>7,} patients: {r['peak_mib']:7.1f} MiB "
            f"({r['rows']:,.0f} rows, {r['bytes'] / 1e6:,.1f} MB on disk)"
        )
    big = results[SIZES[-1]]
    scale = EXTRAPOLATE_TO / SIZES[-1]
    print(
        f"  extrapolated {EXTRAPOLATE_TO:,} patients: ~{big['seconds'] * scale:,.0f} s, "
        f"~{big['rows'] * scale / 1e6:,.1f} M rows, ~{big['bytes'] * scale / 1e9:,.2f} GB on disk; "
        f"memory flat (streamed), so the limit is time and disk, not RAM"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
