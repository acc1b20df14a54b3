"""What one registry upload costs the web server's own process (not its import process).

One uvicorn server as in `latency_under_load.py` (same `serve`), nothing else running against
it.  The zip of N synthetic patients is posted to `POST /api/v1/import` with `dry_run` (the
import runs and is rolled back, so every repetition is the same work) R times; for each, the
CPU time of the server process alone (user + system from /proc: its children, the import
process among them, are not counted) and the wall time until the answer.  With
`RENALPATH_BENCH_PROBE=<file>` the worst event-loop lag during each upload is printed too.

`python bench/upload_server_cost.py 10000 3` (not part of `make bench`).  `45MB` instead of a
number of patients posts a zip of that size that the import refuses at once (one stored
member that is not a CSV file): what is left is the cost of receiving it.
"""

from __future__ import annotations

import io
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import latency_under_load as bench


def worst_lag(probe: str, start: float, end: float) -> float:
    worst = 0.0
    with open(probe) as f:
        for line in f:
            rec = json.loads(line)
            if rec["kind"] == "lag" and start <= rec["t"] <= end:
                worst = max(worst, rec["ms"])
    return worst


def refused_zip(megabytes: int) -> bytes:
    """A zip of one stored member of random bytes, refused by name before it is unpacked."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("reg/notes.txt", os.urandom(megabytes * 1_000_000))
    return buf.getvalue()


def main(size: str, repeat: int) -> None:
    tmp = Path(tempfile.mkdtemp())
    n = 0 if size.endswith("MB") else int(size)
    data = bench.registry_zip(n, tmp) if n else refused_zip(int(size[:-2]))
    db = tmp / "r.db"
    from renalpath.registry.db import make_engine, upgrade

    upgrade(make_engine(f"sqlite:///{db}"))
    server = mp.get_context("spawn").Process(
        target=bench.serve, args=(f"sqlite:///{db}", None, None)
    )
    server.start()
    try:
        bench.wait_ready()
        pid = server.pid
        assert pid is not None
        print(f"{size}: zip {len(data) / 1e6:.2f} MB; load {os.getloadavg()}", flush=True)
        probe = os.environ.get("RENALPATH_BENCH_PROBE")
        for i in range(repeat):
            cpu0, t0, wall0 = bench.cpu_s(pid), time.perf_counter(), time.time()
            resp = httpx.post(
                bench.BASE + "/api/v1/import",
                files={"file": ("registry.zip", data)},
                data={"dry_run": "true"},
                headers={"Authorization": f"Bearer {bench.TOKEN}"},
                timeout=900,
            )
            wall, cpu = time.perf_counter() - t0, bench.cpu_s(pid) - cpu0
            time.sleep(1.5)  # the probe writes once a second
            lag = f"  worst loop lag {worst_lag(probe, wall0, time.time()):.0f} ms" if probe else ""
            print(
                f"upload {i + 1}: status {resp.status_code}  server process CPU {cpu * 1000:.0f} ms"
                f"  wall {wall:.1f} s{lag}",
                flush=True,
            )
    finally:
        server.terminate()
        server.join(timeout=10)
        if server.is_alive():
            server.kill()
            server.join(timeout=5)


if __name__ == "__main__":
    main(
        sys.argv[1] if len(sys.argv) > 1 else "10000",
        int(sys.argv[2]) if len(sys.argv) > 2 else 3,
    )
