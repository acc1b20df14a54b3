"""What a server process is doing, sampled: for finding out why an answer was late.

`py-spy` is not installed here, so this is the poor man's version, run inside the server
process (`bench/latency_under_load.py` turns it on with `RENALPATH_BENCH_PROBE=<file>`):

* a thread wakes every `SAMPLE_S` and records the stack of every other thread (the event loop
  is the main thread; upload spooling, unpacking, password checks run in worker threads);
  a sample is taken only when the sampler gets the interpreter lock, so a thread holding it
  for long shows as a gap, which is itself worth seeing;
* a coroutine on the event loop sleeps `SAMPLE_S` in a loop and records by how much it woke
  late: a direct measure of how long the loop could not run anything (a blocking callback,
  or the interpreter lock held by another thread, or no CPU).

Everything goes to a JSON-lines file with wall-clock times (`time.time()`, comparable with
the bench's own), written by the sampler thread once a second.  `summarise` prints, for a
window of time, the loop lag and the functions seen most per thread, 100 ms at a time.
Not part of the product: nothing under `src/` imports it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

SAMPLE_S = 0.005
KEEP_FRAMES = 30

Scope = MutableMapping[str, Any]
ASGI = Callable[[Scope, Any, Any], Awaitable[None]]

_records: list[dict[str, Any]] = []
_lock = threading.Lock()


def _frames(frame: Any) -> list[str]:
    out: list[str] = []
    while frame is not None and len(out) < KEEP_FRAMES:
        code = frame.f_code
        name = code.co_filename
        for marker in ("site-packages/", "/src/", "/lib/python3"):
            if marker in name:
                name = name.split(marker, 1)[1]
                break
        out.append(f"{name}:{code.co_name}:{frame.f_lineno}")
        frame = frame.f_back
    return out


def _sampler(path: Path) -> None:
    me = threading.get_ident()
    last_flush = time.monotonic()
    while True:
        time.sleep(SAMPLE_S)
        now = time.time()
        names = {t.ident: t.name for t in threading.enumerate()}
        taken = [
            {
                "t": now,
                "kind": "stack",
                "thread": names.get(i, str(i)),
                "frames": _frames(f),
            }
            for i, f in sys._current_frames().items()
            if i != me
        ]
        with _lock:
            _records.extend(taken)
        if time.monotonic() - last_flush > 1.0:
            last_flush = time.monotonic()
            _flush(path)


def _flush(path: Path) -> None:
    with _lock:
        batch = list(_records)
        _records.clear()
    with path.open("a") as out:
        for rec in batch:
            out.write(json.dumps(rec) + "\n")


async def _lag_monitor() -> None:
    while True:
        before = time.monotonic()
        await asyncio.sleep(SAMPLE_S)
        late = time.monotonic() - before - SAMPLE_S
        with _lock:
            _records.append({"t": time.time(), "kind": "lag", "ms": round(late * 1000, 2)})


def wrap(app: ASGI, path: str) -> ASGI:
    """`app` with the sampler thread and, once the server starts, the loop-lag monitor."""
    out = Path(path)
    out.write_text("")
    threading.Thread(target=_sampler, args=(out,), name="probe", daemon=True).start()
    tasks: list[asyncio.Task[None]] = []

    async def probed(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan" and not tasks:
            tasks.append(asyncio.create_task(_lag_monitor()))
        await app(scope, receive, send)

    return probed


# ---------------------------------------------------------------------------- reading


def _interesting(frames: list[str]) -> str:
    """The innermost frame that says what the thread is doing (skip the plumbing)."""
    skip = ("threading.py", "concurrent/futures/thread.py", "asyncio/", "selectors.py")
    for f in frames:
        if not f.startswith(skip):
            return f
    return frames[0] if frames else "?"


def summarise(path: str, start: float, seconds: float, step: float = 0.1) -> None:
    """Print the loop lag and the busiest functions per thread, `step` s at a time."""
    lags: dict[int, list[float]] = defaultdict(list)
    stacks: dict[int, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    samples: Counter[int] = Counter()
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            offset = rec["t"] - start
            if not 0 <= offset < seconds:
                continue
            slot = int(offset / step)
            if rec["kind"] == "lag":
                lags[slot].append(rec["ms"])
            else:
                stacks[slot][rec["thread"]][_interesting(rec["frames"])] += 1
                if rec["thread"] == "MainThread":
                    samples[slot] += 1
    for slot in range(int(seconds / step)):
        lag = lags.get(slot, [])
        print(
            f"{slot * step:5.1f} s  loop lag max {max(lag, default=0):7.1f} ms "
            f"(n={len(lag):3})  samples {samples[slot]:3}"
        )
        for thread, counts in sorted(stacks.get(slot, {}).items()):
            top = ", ".join(f"{fn} x{n}" for fn, n in counts.most_common(3))
            if thread in ("MainThread",) or "asyncio" in thread or "AnyIO" in thread:
                print(f"      {thread[:22]:<22} {top}")


if __name__ == "__main__":
    # usage: server_probe.py FILE START_EPOCH_S [SECONDS=3]
    summarise(sys.argv[1], float(sys.argv[2]), float(sys.argv[3]) if len(sys.argv) > 3 else 3.0)
    os._exit(0)
