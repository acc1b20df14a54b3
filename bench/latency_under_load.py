"""Latency of `POST /api/v1/recommend` for 50 concurrent clients: alone, during an import,
during a login storm.

One uvicorn server (one worker, in a child process, as `serve` would run it) on
127.0.0.1:8766.  50 asyncio clients (httpx, bearer token) post a vignette case in a loop,
in three phases of the same run:

a. alone, for `PHASE_S` seconds;
b. while `POST /api/v1/import` uploads a zip of N synthetic patients (until it finishes,
   at most `IMPORT_CAP_S` seconds);
c. while 8 clients post `/login` with random user names and wrong passwords, for
   `PHASE_S` seconds.

The import and the login storm run in another child process, so neither they nor the
recommend clients share an interpreter lock with the server or with each other.  The login
storm comes from one address, which the throttle would refuse after a few failures; the
server here allows any number of failures per address so that every attempt pays the full
password hash -- the worst case, an attacker spread over many addresses.

Each phase is timed only once its 50 clients exist and have opened their connections (one
untimed request each), and from the moment its load starts: the upload client is started
beforehand and sends when the phase begins.  Until 2026-12-07 the clients were made inside the
timed loop; 50 httpx clients cost over a second of CPU (an SSL context each), so every phase
began with a second of slow answers that were the bench's own (bench/RESULTS.md).  Each phase
line also gives the worst lag of the clients' own event loop, which is not the server's.

`RENALPATH_BENCH_PROBE=<file>` samples the server process (`bench/server_probe.py`: every
thread's stack and the event loop's lag, every 5 ms); `python bench/server_probe.py <file>
<epoch> [s]` summarises a window of it (a phase line gives its start as an epoch).

Each phase stops by itself (time cap and a request cap).  Not part of `make bench` (it needs
a free port and takes about two minutes):
`.venv/bin/python bench/latency_under_load.py 3000`; a second argument runs the server with
that many password-hash threads instead of the shipped number ("-": as shipped), a third
hashes passwords in the hash process ("process") or in the server's threads ("thread")
instead of as the settings ship (what-ifs for the storm).
"""

from __future__ import annotations

import asyncio
import io
import json
import multiprocessing as mp
import os
import re
import resource
import secrets
import statistics
import sys
import tempfile
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.synchronize import Event
from pathlib import Path

import httpx

HOST, PORT = "127.0.0.1", 8766
BASE = f"http://{HOST}:{PORT}"
TOKEN = "bench-token"
CLIENTS = 50
STORM_CLIENTS = 8
PHASE_S = 20.0
IMPORT_CAP_S = 90.0
MAX_REQUESTS = 200_000  # per phase: a bound whatever the machine's speed
CASE = Path(__file__).resolve().parent.parent / "tests/pathway/cases/v03_fit_ct1a.json"


# ------------------------------------------------------------------------------- server


def serve(db_url: str, hash_threads: int | None, hash_where: str | None) -> None:
    """Child process: one uvicorn worker, packs warmed up as `app_from_env` does."""
    import uvicorn

    from renalpath.web import workers
    from renalpath.web.api.pathway import warm_up

    if hash_threads is not None:  # what-if: fewer concurrent password hashes than shipped
        workers._SIZES["hash"] = hash_threads
    from renalpath.web.app import create_app
    from renalpath.web.auth import MemoryAccountStore
    from renalpath.web.settings import WebSettings

    store = MemoryAccountStore()
    store.add_token(store.add("bench", "x" * 12, "clinician"), TOKEN)
    where = {} if hash_where is None else {"hash_in_process": hash_where == "process"}
    settings = WebSettings(
        secret_key=secrets.token_urlsafe(40),
        database_url=db_url,
        login_max_failures=10**9,  # every storm attempt reaches the password hash (see above)
        **where,  # type: ignore[arg-type]
    )
    app = create_app(settings, store)
    probe = os.environ.get("RENALPATH_BENCH_PROBE")
    if probe:  # what the server does, sampled (bench/server_probe.py)
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import server_probe

        app = server_probe.wrap(app, probe)  # type: ignore[assignment]
    warm_up()
    uvicorn.Server(
        uvicorn.Config(app, host=HOST, port=PORT, log_level="warning", access_log=False)
    ).run()


def wait_ready(timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(BASE + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("server did not start")


# --------------------------------------------------------------------------------- load


def registry_zip(n: int, tmp: Path) -> bytes:
    from renalpath.synth.writer import write_registry

    write_registry(tmp / "csv", n, 7)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted((tmp / "csv").iterdir()):
            zf.write(f, "reg/" + f.name)
    return buf.getvalue()


def upload(zip_path: str, go: Event, result: mp.Queue[tuple[str, float, int]]) -> None:
    """Child process: one web import of the zip, sent when `go` is set.

    Started (interpreter, httpx, the zip read) before the phase: the upload client is another
    machine's business, its start-up is not the server's latency.
    """
    data = Path(zip_path).read_bytes()
    go.wait()
    start = time.perf_counter()
    resp = httpx.post(
        BASE + "/api/v1/import",
        files={"file": ("registry.zip", data)},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=IMPORT_CAP_S + 600,
    )
    result.put(("import", time.perf_counter() - start, resp.status_code))


def storm(stop: Event, result: mp.Queue[tuple[str, float, int]]) -> None:
    """Child process: `STORM_CLIENTS` threads posting wrong logins until told to stop."""
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def attacker() -> None:
        with httpx.Client(base_url=BASE, timeout=60) as client:
            page = client.get("/login").text
            found = re.search(r'name="csrf_token" value="([^"]+)"', page)
            csrf = found.group(1) if found else ""
            while not stop.is_set():
                resp = client.post(
                    "/login",
                    data={
                        "username": "u" + secrets.token_hex(6),
                        "password": secrets.token_urlsafe(12),
                        "csrf_token": csrf,
                    },
                )
                with lock:
                    statuses[resp.status_code] += 1

    threads = [threading.Thread(target=attacker) for _ in range(STORM_CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for code, count in statuses.items():
        result.put(("login", float(count), code))


@dataclass
class Measured:
    latencies: list[float]  # ms
    statuses: Counter[int]
    seconds: float
    slow: list[float]  # when (s into the phase) each answer slower than 1 s was sent, sorted
    started: float  # epoch seconds at which the timed phase began
    client_lag_ms: float  # the clients' own event loop: how late it woke at worst


async def _lag(stop: asyncio.Event, worst: list[float]) -> None:
    """The clients' own event loop: how late it wakes (a stall here is not the server's)."""
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(0.005)
        worst[0] = max(worst[0], (time.perf_counter() - before - 0.005) * 1000)


async def recommend_load(
    body: bytes, done: threading.Event | None, cap_s: float, begin: Callable[[], None] | None
) -> Measured:
    """`CLIENTS` clients posting the case until `done` (or `cap_s`, or the request cap).

    The clients are made and their connections opened (one untimed request each) before the
    clock starts, then `begin` starts the load of the phase: making 50 httpx clients costs
    over a second of CPU (an SSL context each), and made inside the timed loop, as this
    bench first did, that second showed as slow answers at the start of every phase.
    """
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    slow: list[tuple[float, float]] = []
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    ssl_context = httpx.create_ssl_context()  # one for all (plain HTTP; never used)
    # One client (one keep-alive connection) each: a shared pool of 50 connections costs
    # the client more CPU per request than the server spends answering it.
    clients = [
        httpx.AsyncClient(base_url=BASE, headers=headers, timeout=60, verify=ssl_context)
        for _ in range(CLIENTS)
    ]
    await asyncio.gather(*(c.post("/api/v1/recommend", content=body) for c in clients))
    if begin is not None:
        begin()
    t0, p0, started = time.monotonic(), time.perf_counter(), time.time()
    stop, worst = asyncio.Event(), [0.0]
    lag = asyncio.create_task(_lag(stop, worst))

    def over() -> bool:
        if done is not None and done.is_set():
            return True
        return time.monotonic() - t0 > cap_s or len(latencies) >= MAX_REQUESTS

    async def one_client(client: httpx.AsyncClient) -> None:
        while not over():
            start = time.perf_counter()
            resp = await client.post("/api/v1/recommend", content=body)
            latencies.append((time.perf_counter() - start) * 1000)
            if latencies[-1] > 1000:
                slow.append((start - p0, latencies[-1]))
            statuses[resp.status_code] += 1

    await asyncio.gather(*(one_client(c) for c in clients))
    seconds = time.monotonic() - t0
    stop.set()
    await lag
    for c in clients:
        await c.aclose()
    return Measured(latencies, statuses, seconds, sorted(t for t, _ in slow), started, worst[0])


def cpu_s(pid: int | None = None) -> float:
    """CPU seconds (user + system) of a process, this one by default."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def phase(
    name: str,
    server_pid: int,
    body: bytes,
    done: threading.Event | None,
    cap_s: float,
    begin: Callable[[], None] | None = None,
) -> float:
    """Run one phase and print its line; the CPU columns show which side was the bottleneck."""
    client0, server0 = cpu_s(), cpu_s(server_pid)
    m = asyncio.run(recommend_load(body, done, cap_s, begin))
    client, server = cpu_s() - client0, cpu_s(server_pid) - server0
    lat = m.latencies
    print(
        f"{name:<22} n={len(lat):>6} {len(lat) / m.seconds:6.1f} req/s  "
        f"p50={statistics.median(lat):7.1f} ms  p99={p99(lat):7.1f} ms  "
        f"max={max(lat):7.1f} ms  {m.seconds:5.1f} s  CPU client {client:4.1f} s "
        f"server {server:4.1f} s  load {os.getloadavg()[0]:.1f}  status={dict(m.statuses)}",
        flush=True,
    )
    print(
        f"  timed from epoch {m.started:.3f}; worst lag of the clients' own loop "
        f"{m.client_lag_ms:.0f} ms",
        flush=True,
    )
    if m.slow:
        print(
            f"  {len(m.slow)} answers over 1 s, sent {m.slow[0]:.1f}-{m.slow[-1]:.1f} s into "
            f"the phase: {[round(t, 1) for t in m.slow[:: max(1, len(m.slow) // 12)]]}",
            flush=True,
        )
    return p99(lat)


def main(n: int, hash_threads: int | None, hash_where: str | None) -> None:
    ctx = mp.get_context("spawn")
    tmp = Path(tempfile.mkdtemp())
    zip_path = tmp / "registry.zip"
    zip_path.write_bytes(registry_zip(n, tmp))
    db = tmp / "r.db"
    from renalpath.registry.db import make_engine, upgrade

    upgrade(make_engine(f"sqlite:///{db}"))
    body = json.dumps(json.loads(CASE.read_text())).encode()
    # not daemonic: the server starts its own children (the import and hash processes)
    server = ctx.Process(target=serve, args=(f"sqlite:///{db}", hash_threads, hash_where))
    server.start()
    results: mp.Queue[tuple[str, float, int]] = ctx.Queue()
    try:
        wait_ready()
        pid = server.pid
        assert pid is not None
        print(f"load average at start: {os.getloadavg()}", flush=True)
        asyncio.run(recommend_load(body, None, 2.0, None))  # server caches warm

        a = phase("a. alone", pid, body, None, PHASE_S)

        go = ctx.Event()
        importer = ctx.Process(target=upload, args=(str(zip_path), go, results), daemon=True)
        importer.start()
        time.sleep(3.0)  # the upload client has started (interpreter, httpx) and waits
        finished = threading.Event()

        def watch() -> None:
            importer.join()
            finished.set()

        threading.Thread(target=watch, daemon=True).start()
        # timed from the moment the upload is sent: its receipt is part of the phase
        b = phase("b. during import", pid, body, finished, IMPORT_CAP_S, go.set)
        importer.join(timeout=IMPORT_CAP_S + 600)
        print("import (s, status):", results.get(timeout=5)[1:], flush=True)

        stop = ctx.Event()
        attackers = ctx.Process(target=storm, args=(stop, results), daemon=True)

        def start_storm() -> None:
            attackers.start()
            time.sleep(1.0)  # the attackers have their CSRF tokens and are posting

        c = phase("c. during login storm", pid, body, None, PHASE_S, start_storm)
        stop.set()
        attackers.join(timeout=90)
        logins: Counter[int] = Counter()
        while not results.empty():
            _, count, code = results.get()
            logins[code] += int(count)
        print(f"login attempts by status: {dict(logins)}")
        print(f"p99 ratio b/a = {b / a:.2f}   c/a = {c / a:.2f}   (goal: each < 2)")
        print(f"load average at end: {os.getloadavg()}", flush=True)
    finally:
        server.terminate()
        server.join(timeout=10)
        if server.is_alive():  # not daemonic: the interpreter would wait for it at exit
            server.kill()
            server.join(timeout=5)


if __name__ == "__main__":
    # usage: latency_under_load.py [patients=3000] [password-hash threads or "-" for as
    # shipped] [where passwords are hashed: "process" or "thread", default as shipped]
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 3000,
        int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] != "-" else None,
        sys.argv[3] if len(sys.argv) > 3 else None,
    )
