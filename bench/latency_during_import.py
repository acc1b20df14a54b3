"""Latency of a cheap route (GET /healthz) alone and while a web import runs.

One uvicorn server (one worker, in this process) on port 8765; a client samples /healthz
every 5 ms for 5 s idle, then again while `POST /api/v1/import` uploads a zip of N synthetic
patients.  Not part of `make bench` (it needs a free port and takes a minute):
`.venv/bin/python bench/latency_during_import.py 3000`.
"""

from __future__ import annotations

import io
import statistics
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import httpx
import uvicorn

from renalpath.registry.db import make_engine, upgrade
from renalpath.synth.writer import write_registry
from renalpath.web.app import create_app
from renalpath.web.auth import MemoryAccountStore
from renalpath.web.settings import WebSettings

BASE = "http://127.0.0.1:8765"


def registry_zip(n: int, tmp: Path) -> bytes:
    write_registry(tmp / "csv", n, 7)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted((tmp / "csv").iterdir()):
            zf.write(f, "reg/" + f.name)
    return buf.getvalue()


def sample(client: httpx.Client, stop: Callable[[], bool]) -> list[float]:
    latencies = []
    while not stop():
        start = time.perf_counter()
        client.get("/healthz")
        latencies.append((time.perf_counter() - start) * 1000)
        time.sleep(0.005)
    return latencies


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(n: int) -> None:
    tmp = Path(tempfile.mkdtemp())
    data = registry_zip(n, tmp)
    db = tmp / "r.db"
    upgrade(make_engine(f"sqlite:///{db}"))
    store = MemoryAccountStore()
    store.add_token(store.add("c", "x" * 12, "clinician"), "tok")
    app = create_app(WebSettings(secret_key="k" * 40, database_url=f"sqlite:///{db}"), store)
    server = uvicorn.Server(uvicorn.Config(app, port=8765, log_level="warning", access_log=False))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    client = httpx.Client(base_url=BASE, timeout=600)
    t0 = time.time()
    idle = sample(client, lambda: time.time() - t0 > 5)
    done = threading.Event()
    took: dict[str, float] = {}

    def upload() -> None:
        start = time.perf_counter()
        resp = httpx.post(
            BASE + "/api/v1/import",
            files={"file": ("r.zip", data)},
            headers={"Authorization": "Bearer tok"},
            timeout=600,
        )
        took["seconds"], took["status"] = time.perf_counter() - start, resp.status_code
        done.set()

    threading.Thread(target=upload).start()
    time.sleep(0.2)
    busy = sample(client, done.is_set)
    for name, lat in (("idle", idle), ("during import", busy)):
        print(
            f"{name}: n={len(lat)} p50={statistics.median(lat):.1f} ms "
            f"p99={quantile(lat, 0.99):.1f} ms max={max(lat):.1f} ms"
        )
    print("import", took)
    server.should_exit = True


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3000)
