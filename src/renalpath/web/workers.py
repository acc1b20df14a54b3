"""Heavy work off the event loop: bounded thread pools for password hashing and uploads.

The server runs one event loop per worker process; anything CPU-heavy or long on it (Argon2
takes tens of milliseconds on purpose, an import seconds to minutes) stalls every other
request of that process.  Such work goes to a worker thread, through a limiter per kind so a
login storm or several uploads cannot take every thread: other sync routes (exports,
studies, pages) keep AnyIO's default pool to themselves.

A thread still shares the interpreter lock with the event loop: the import itself, with the
unpacking and checks of its zip, runs in a child process (`offload`); only the streaming of
the upload to disk (`upload_spool`) is here.

Limiters belong to the running event loop (AnyIO binds them to it), so one is made per loop.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")

# Argon2 is CPU- and memory-hard on purpose: hashing on every core starves the event loop
# (bench/RESULTS.md, latency under a login storm: 4 threads on 2 cores gave recommend a p99
# 9-39x its idle value, 1 thread 3.7x). Half the cores, at least one, keeps the rest for
# every other request.
HASH_THREADS = max(1, (os.cpu_count() or 2) // 2)
IMPORT_THREADS = 1  # a registry only this process sees is imported one upload at a time
UPLOAD_THREADS = 2  # uploads streamed to disk: parsing and writing, a megabyte at a time

_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, anyio.CapacityLimiter]]
_limiters = weakref.WeakKeyDictionary()
_SIZES = {"hash": HASH_THREADS, "import": IMPORT_THREADS, "upload": UPLOAD_THREADS}


def _limiter(kind: str) -> anyio.CapacityLimiter:
    loop = asyncio.get_running_loop()
    per_loop = _limiters.setdefault(loop, {})
    if kind not in per_loop:
        per_loop[kind] = anyio.CapacityLimiter(_SIZES[kind])
    return per_loop[kind]


async def in_hash_pool(fn: Callable[[], T]) -> T:
    """Run a password hash or verification (and its account lookup) in a worker thread."""
    return await anyio.to_thread.run_sync(fn, limiter=_limiter("hash"))


async def in_import_pool(fn: Callable[[], T]) -> T:
    """Import a registry only this process sees (tests) in a worker thread."""
    return await anyio.to_thread.run_sync(fn, limiter=_limiter("import"))


async def in_upload_pool(fn: Callable[[], T]) -> T:
    """Parse a batch of an upload's body and write its file part, in a worker thread."""
    return await anyio.to_thread.run_sync(fn, limiter=_limiter("upload"))
