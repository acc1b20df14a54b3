"""The child processes of `renalpath.web.offload` run at a lower priority and end with the
server, even one killed outright (its pool cannot stop them then)."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from multiprocessing.queues import Queue
from pathlib import Path

from renalpath.web import offload


def _serve(pids: Queue[int]) -> None:
    """Stand-in server: start the hash pool, say its child's pid, then wait to be killed."""
    pids.put(offload.call("hash", os.getpid))
    time.sleep(600)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_children_end_when_the_server_is_killed() -> None:
    ctx = mp.get_context("spawn")
    pids: Queue[int] = ctx.Queue()
    server = ctx.Process(target=_serve, args=(pids,))
    server.start()
    try:
        child = pids.get(timeout=120)  # a child starts slowly on a busy machine
        assert child != server.pid and _alive(child)
        assert os.getpriority(os.PRIO_PROCESS, child) > os.getpriority(os.PRIO_PROCESS, 0)
    finally:
        assert server.pid is not None
        os.kill(server.pid, signal.SIGKILL)
        server.join(30)
    deadline = time.monotonic() + 60
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(child)


def test_in_memory_databases_stay_in_this_process() -> None:
    assert offload.in_memory("sqlite://")
    assert offload.in_memory("sqlite:///:memory:")
    assert not offload.in_memory("sqlite:////tmp/r.db")
    assert not offload.in_memory("postgresql://u@h/db")
