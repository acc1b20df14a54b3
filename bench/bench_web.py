"""Web API under load: POST /api/v1/recommend at 50 concurrent clients (target p99 < 50 ms).

The server runs in a second process tree (uvicorn, `RENALPATH_BENCH_WORKERS` workers, default
2 = one per core) on a free loopback port.  Accounts live in a fresh SQLite
database, as in a real deployment, and every request authenticates with a bearer token, so
each one also pays for the token check.

Load generator (a third process, closed loop: each of the 50 connections sends its next
request when the previous answer arrived):
- `wrk` (Debian package `wrk`; C, one thread) when it is on PATH: it costs the 2-core machine
  far less CPU than any Python client, so more of the machine measures the server;
- otherwise a light Python client (raw HTTP/1.1 over keep-alive sockets on uvloop when
  available), whose own CPU use competes with the server: its figures are pessimistic.
Each figure line names the generator that produced it.  `RENALPATH_BENCH_LOADGEN=python`
forces the Python client.

Closed-loop arithmetic: mean latency ≈ clients / throughput, so p99 < 50 ms at 50 clients
needs well over 1,000 req/s with a tight tail.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import Figure, report

HERE = Path(__file__).resolve().parent
CLIENTS = 50
WORKERS = int(os.environ.get("RENALPATH_BENCH_WORKERS", "2"))  # one per core
DURATION_S = int(os.environ.get("RENALPATH_BENCH_WEB_SECONDS", "10"))
WARMUP_S = 3
PY_REQUESTS = 20_000  # Python client: requests in the measured round (~6–8 s)
URL_ENV = "RENALPATH_BENCH_WEB_DB"
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

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = [==[%(body)s]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(token)s"
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d %%d %%d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout))
end
"""


def make_accounts_db(folder: Path) -> tuple[str, str]:
    """A fresh SQLite registry with one clinician and one API token; returns (url, token)."""
    from renalpath.registry import accounts
    from renalpath.registry.db import make_engine, upgrade

    url = f"sqlite:///{folder / 'web-bench.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        accounts.create_user(conn, "bench", "clinician", "not-a-login-hash", "bench", "bench")
        token = accounts.issue_token(conn, "bench", "bench", "bench", "bench")
    engine.dispose()
    return url, token


def app_factory() -> object:
    """The real app, accounts in the bench database, set up as `app_from_env` does for
    `renalpath serve` (one app per worker process)."""
    from renalpath.web import api
    from renalpath.web.app import create_app
    from renalpath.web.settings import WebSettings

    app = create_app(WebSettings(secret_key="bench", database_url=os.environ[URL_ENV]))
    api.warm_up()
    return app


def _serve(port: int) -> None:
    """Child process: uvicorn with WORKERS worker processes, as `renalpath serve` runs it."""
    import uvicorn

    uvicorn.run(
        "bench_web:app_factory",
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=WORKERS,
        log_level="warning",
        access_log=False,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("bench server did not start")
        time.sleep(0.2)


def _tree(pid: int) -> list[int]:
    """pid and all its descendants (Linux /proc)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        with contextlib.suppress(OSError):  # exited meanwhile
            todo += [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time used so far by pid and its descendants (the uvicorn workers).

    CPU per request does not depend on how busy the rest of the machine is, unlike latency,
    so it is the figure to compare between runs on a shared machine.
    """
    ticks = 0
    for p in _tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


class Result:
    def __init__(
        self, generator: str, requests: int, seconds: float, pct: dict[int, float], bad: int
    ) -> None:
        self.generator = generator
        self.requests = requests
        self.seconds = seconds
        self.pct = pct  # percentile -> seconds
        self.bad = bad
        self.server_cpu_s = 0.0
        self.loadgen_cpu_s = 0.0


# ----------------------------------------------------------------------------------- wrk


def _wrk(port: int, token: str, seconds: int) -> Result:
    script = WRK_SCRIPT % {"body": json.dumps(CASE), "token": token}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
    try:
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{CLIENTS}",
                f"-d{seconds}s",
                "--timeout",
                "10s",
                "-s",
                fh.name,
                f"http://127.0.0.1:{port}/api/v1/recommend",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        ).stdout
    finally:
        os.unlink(fh.name)
    match = re.search(r"^RESULT (.*)$", out, re.M)
    if match is None:
        raise RuntimeError(f"wrk printed no result:\n{out}")
    n, dur_us, p50, p95, p99, pmax, bad_status, sock_err = map(int, match.group(1).split())
    pct = {50: p50 / 1e6, 95: p95 / 1e6, 99: p99 / 1e6, 100: pmax / 1e6}
    return Result("wrk", n, dur_us / 1e6, pct, bad_status + sock_err)


# ------------------------------------------------------------------------- Python client


async def _client(port: int, request: bytes, latencies: list[float], remaining: list[int]) -> None:
    """One keep-alive HTTP/1.1 connection sending requests back to back (no pipelining)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while remaining[0] > 0:
            remaining[0] -= 1
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = int(re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
            if status != 200:
                raise RuntimeError(f"recommend answered {status}")
    finally:
        writer.close()


async def _py_round(port: int, token: str, n: int) -> tuple[list[float], float]:
    body = json.dumps(CASE).encode()
    request = (
        b"POST /api/v1/recommend HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + f"Authorization: Bearer {token}\r\n".encode()
        + b"Content-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    latencies: list[float] = []
    remaining = [n]
    start = time.perf_counter()
    await asyncio.gather(*(_client(port, request, latencies, remaining) for _ in range(CLIENTS)))
    return latencies, time.perf_counter() - start


def _python(port: int, token: str, n: int) -> Result:
    try:
        import uvloop

        name = "python client (uvloop)"
        latencies, elapsed = uvloop.run(_py_round(port, token, n))
    except ImportError:  # pragma: no cover - uvicorn's dependencies bring uvloop
        name = "python client (asyncio)"
        latencies, elapsed = asyncio.run(_py_round(port, token, n))
    latencies.sort()
    pct = {q: latencies[min(len(latencies) - 1, int(q / 100 * len(latencies)))] for q in (95, 99)}
    pct[50] = statistics.median(latencies)
    pct[100] = latencies[-1]
    return Result(name, len(latencies), elapsed, pct, 0)


def _own_cpu(children: bool) -> float:
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    use = resource.getrusage(who)
    return use.ru_utime + use.ru_stime


def load(port: int, token: str, server_pid: int) -> Result:
    """Warm up (packs, plans, connections), then one measured round."""
    use_wrk = shutil.which("wrk") and os.environ.get("RENALPATH_BENCH_LOADGEN") != "python"
    if use_wrk:
        _wrk(port, token, WARMUP_S)
    else:
        _python(port, token, 1000)
    server0, gen0 = cpu_seconds(server_pid), _own_cpu(bool(use_wrk))
    res = _wrk(port, token, DURATION_S) if use_wrk else _python(port, token, PY_REQUESTS)
    res.server_cpu_s = cpu_seconds(server_pid) - server0
    res.loadgen_cpu_s = _own_cpu(bool(use_wrk)) - gen0
    return res


def main() -> None:
    out_dir = HERE / "out"
    out_dir.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        url, token = make_accounts_db(Path(tmp))
        port = _free_port()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path]), URL_ENV: url}
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port)], env=env, stdout=subprocess.DEVNULL
        )
        try:
            _wait_ready(port, proc)
            load_before = os.getloadavg()[0]
            res = load(port, token, proc.pid)
            load_after = os.getloadavg()[0]
        finally:
            proc.terminate()
            proc.wait(15)
    if res.bad:
        raise RuntimeError(f"{res.bad} recommend requests failed or answered non-2xx")
    gen = res.generator
    print(
        f"load generator: {gen}; {CLIENTS} connections, {WORKERS} uvicorn workers; "
        f"1-min load average {load_before:.1f} before, {load_after:.1f} after"
    )
    n = res.requests
    busy = (res.server_cpu_s + res.loadgen_cpu_s) / res.seconds / (os.cpu_count() or 1)
    print(
        f"CPU per request: server {res.server_cpu_s / n * 1e6:.0f} µs (all workers), "
        f"load generator {res.loadgen_cpu_s / n * 1e6:.0f} µs; "
        f"server + load generator kept {busy:.0%} of the machine busy"
    )
    report(
        [
            Figure(f"web: recommend p50 [{gen}]", res.pct[50]),
            Figure(f"web: recommend p95 [{gen}]", res.pct[95]),
            Figure(f"web: recommend p99, {CLIENTS} clients (< 50 ms)", res.pct[99]),
            Figure("web: recommend max", res.pct[100]),
            Figure(
                f"web: {res.requests} recommend requests",
                res.seconds,
                "req/s",
                res.requests / res.seconds,
            ),
        ]
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        _serve(int(sys.argv[2]))
    else:
        main()
