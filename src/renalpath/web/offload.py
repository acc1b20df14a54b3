"""Heavy work in child processes at a lower CPU priority: imports, exports, password hashes.

A worker thread keeps heavy work off the event loop but not off the interpreter lock: a
pure-Python import holding it made every other request of the server wait (bench/RESULTS.md,
recommend p99 6-11x its idle value during a 3,000-patient import).  A child process has its
own interpreter, and at `NICE` it yields the CPU to the server whenever both want it, so the
event loop keeps answering while the import runs on whatever CPU is left.

One pool per kind and per server process, created on first use, `spawn`ed (a fork of a
threaded server can copy held locks, and SQLAlchemy engines must not cross a fork): the child
builds its own engine from the database URL.  The product's configuration lives in
`RENALPATH_*` environment variables, which the child takes from the parent with every task
(they may change after the child started, as tests do).  A child that dies (killed, out of
memory) breaks its pool: the caller gets `OffloadError` and the next call starts a new pool.
A child ends by itself once its server is gone, even a server killed outright.

Stages: a task may call `report(token, stage)`; the parent's listener for that token (a job
of `import_jobs`) receives the stage and the child's pid.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing as mp
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.queues import SimpleQueue
from typing import Any, TypeVar

from renalpath.errors import RenalpathError

T = TypeVar("T")
log = logging.getLogger(__name__)

PARENT_CHECK_S = 1.0  # how often a child checks that its server is still there
NICE = 10  # added to the child's niceness: the server's event loop wins the CPU when it wants it
ENV_PREFIX = "RENALPATH_"

# Imports write one registry: one after another, as the database would order them anyway.
# Password hashes: half the cores, at least one (the same rule as the hash threads).
# Exports only read: half the cores, as the hashes.
SIZES = {"import": 1, "hash": max(1, (os.cpu_count() or 2) // 2)}
SIZES["export"] = SIZES["hash"]

Listener = Callable[[str, int], None]  # (stage, pid of the child)


class OffloadError(RenalpathError):
    """The child process stopped before answering (killed, out of memory)."""

    http_status = 500


class _Pool:
    """A process pool of one kind, with the queue its children report stages on."""

    def __init__(self, kind: str) -> None:
        ctx = mp.get_context("spawn")
        self.stages: SimpleQueue[tuple[str, str, int] | None] = ctx.SimpleQueue()
        self.executor = ProcessPoolExecutor(
            max_workers=SIZES[kind],
            mp_context=ctx,
            initializer=_start_child,
            initargs=(self.stages,),
        )
        self.reader = threading.Thread(
            target=self._read_stages, name=f"offload-{kind}-stages", daemon=True
        )
        self.reader.start()

    def _read_stages(self) -> None:
        while (message := self.stages.get()) is not None:
            token, stage, pid = message
            listener = _listeners.get(token)
            if listener is not None:
                listener(stage, pid)

    def close(self, wait: bool) -> None:
        self.executor.shutdown(wait=wait, cancel_futures=True)
        with contextlib.suppress(OSError, ValueError):
            self.stages.put(None)  # ends the reader thread


_pools: dict[str, _Pool] = {}
_listeners: dict[str, Listener] = {}
_lock = threading.Lock()

# ------------------------------------------------------------------------ in the child

_child_stages: SimpleQueue[tuple[str, str, int] | None] | None = None


def _start_child(stages: SimpleQueue[tuple[str, str, int] | None]) -> None:
    """Pool initializer: lower this process's priority, keep the stage queue, and end with
    the server."""
    global _child_stages
    with contextlib.suppress(OSError):  # best effort: a platform may refuse it
        os.nice(NICE)
    _child_stages = stages
    parent = os.getppid()
    threading.Thread(target=_exit_with, args=(parent,), name="offload-parent", daemon=True).start()


def _exit_with(parent: int) -> None:
    """End this process once the server that started it is gone.

    A server killed outright (SIGKILL, out of memory) cannot stop its pool, and the pool's
    workers hold both ends of their own task queue, so they would wait for work forever.
    """
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os._exit(0)


def report(token: str | None, stage: str) -> None:
    """From a task in the child: tell the parent's listener of `token` the stage it is at."""
    if token is not None and _child_stages is not None:
        _child_stages.put((token, stage, os.getpid()))


def _with_env(env: dict[str, str], fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    """Run `fn(*args)` with the parent's `RENALPATH_*` environment of the moment."""
    for key in [k for k in os.environ if k.startswith(ENV_PREFIX) and k not in env]:
        del os.environ[key]
    os.environ.update(env)
    return fn(*args)


# ------------------------------------------------------------------------ in the parent


def available() -> bool:
    """Whether this process may start children: a daemonic one (as some process managers and
    test harnesses run servers) may not, and then the work stays in a worker thread."""
    return not mp.current_process().daemon


def in_memory(url: str) -> bool:
    """A database only this process can see (SQLite in memory): a child could not reach it."""
    from sqlalchemy import make_url

    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


def _pool(kind: str) -> _Pool:
    with _lock:
        pool = _pools.get(kind)
        if pool is None:
            pool = _pools[kind] = _Pool(kind)
        return pool


def _submit(kind: str, fn: Callable[..., T], args: tuple[Any, ...]) -> tuple[_Pool, Future[T]]:
    env = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX)}
    pool = _pool(kind)
    try:
        return pool, pool.executor.submit(_with_env, env, fn, args)
    except BrokenProcessPool:  # broken by an earlier task: start afresh, once
        _discard(kind, pool)
        pool = _pool(kind)
        return pool, pool.executor.submit(_with_env, env, fn, args)


def _discard(kind: str, pool: _Pool) -> None:
    with _lock:
        if _pools.get(kind) is pool:
            del _pools[kind]
    pool.close(wait=False)


def _broken(kind: str, pool: _Pool, err: BrokenProcessPool) -> OffloadError:
    _discard(kind, pool)
    log.error("the %s process stopped before answering: %s", kind, err)
    return OffloadError(f"the {kind} process stopped before it finished ({err})")


async def run(
    kind: str,
    fn: Callable[..., T],
    *args: Any,
    token: str | None = None,
    listener: Listener | None = None,
) -> T:
    """Run `fn(*args)` in a child process of the `kind` pool; `fn` and its values must pickle.

    `listener` receives what the task reports under `token`.  A task that raises raises here;
    a child that dies raises `OffloadError`.
    """
    if token is not None and listener is not None:
        _listeners[token] = listener
    try:
        pool, future = _submit(kind, fn, args)
        try:
            return await asyncio.wrap_future(future)
        except BrokenProcessPool as err:
            raise _broken(kind, pool, err) from err
    finally:
        if token is not None:
            _listeners.pop(token, None)


def call(kind: str, fn: Callable[..., T], *args: Any) -> T:
    """`run` for a worker thread: blocks the thread (not the interpreter) until the answer."""
    pool, future = _submit(kind, fn, args)
    try:
        return future.result()
    except BrokenProcessPool as err:
        raise _broken(kind, pool, err) from err


def shutdown() -> None:
    """Stop every pool (at exit; tests)."""
    with _lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close(wait=True)
