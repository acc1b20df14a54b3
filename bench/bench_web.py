"""Web API under load: POST /api/v1/recommend at 50 concurrent clients (target p99 < 50 ms).

The server runs in a second process (uvicorn, one worker) on a free loopback port, as in
issue 6; the load comes from this process through one HTTP/1.1 connection per client.
Authentication is a bearer token, so each request also pays for the token lookup.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from harness import Figure, report

CLIENTS = 50
WORKERS = int(os.environ.get("RENALPATH_BENCH_WORKERS", "2"))  # one per core
REQUESTS = 2000
TOKEN = "bench-token-0123456789"
CASE = {
    "patient": {"age": 64, "sex": "male", "ecog": 1, "fit_for_surgery": True},
    "kidney": {"creatinine": {"value": 1.35, "unit": "mg/dL"}},
    "tumour": {
        "size_mm": 35,
        "side": "left",
        "cn": "N0",
        "cm": "M0",
        "extension": {},
        "renal": {
            "exophytic_pct": 60,
            "nearness_mm": 8,
            "ap": "a",
            "polar": "outside",
            "hilar": False,
        },
    },
    "metastases": [],
}


def app_factory() -> object:
    """The real app with one in-memory clinician holding TOKEN (one per worker process)."""
    from renalpath.web.app import create_app
    from renalpath.web.auth import MemoryAccountStore
    from renalpath.web.settings import WebSettings

    store = MemoryAccountStore()
    store.add_token(store.add("bench", "bench-password-1", "clinician"), TOKEN)
    return create_app(WebSettings(secret_key="bench"), store)


def _serve(port: int) -> None:
    """Child process: uvicorn with WORKERS worker processes, as `renalpath serve` would run."""
    import uvicorn

    uvicorn.run(
        "bench_web:app_factory",
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=WORKERS,
        log_level="warning",
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _client(port: int, request: bytes, latencies: list[float], remaining: list[int]) -> None:
    """One keep-alive HTTP/1.1 connection sending requests back to back.

    Raw asyncio streams rather than an HTTP client library: on a 2-core machine the load
    generator's own CPU time would otherwise dominate what is measured.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while remaining[0] > 0:
            remaining[0] -= 1
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
            if status != 200:
                raise RuntimeError(f"recommend answered {status}")
    finally:
        writer.close()


async def _load(port: int) -> tuple[list[float], float]:
    body = json.dumps(CASE).encode()
    request = (
        b"POST /api/v1/recommend HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + f"Authorization: Bearer {TOKEN}\r\n".encode()
        + b"Content-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    latencies: list[float] = []
    remaining = [REQUESTS]
    start = time.perf_counter()
    await asyncio.gather(*(_client(port, request, latencies, remaining) for _ in range(CLIENTS)))
    return latencies, time.perf_counter() - start


def main() -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent)}
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port)], env=env, stdout=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("bench server did not start") from None
                time.sleep(0.1)
        asyncio.run(_load(port))  # warm-up round (packs, connections)
        latencies, elapsed = asyncio.run(_load(port))
    finally:
        proc.terminate()
        proc.wait(10)
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[int(0.99 * (len(latencies) - 1))]
    report(
        [
            Figure(f"web: recommend p50, {CLIENTS} clients, {WORKERS} workers", p50),
            Figure(f"web: recommend p99, {CLIENTS} clients (target < 50 ms)", p99),
            Figure(f"web: {REQUESTS} recommend requests", elapsed, "req/s", REQUESTS / elapsed),
        ]
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        _serve(int(sys.argv[2]))
    else:
        main()
