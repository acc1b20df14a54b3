"""Heavy work off the event loop: a cheap route answers while an import or a login runs.

The slow part is replaced by one that waits for the test's signal, so the assertion is about
order (the cheap route answered while the slow one was still busy), not about timing.  The
import runs in a child process: its stand-in (`tests/web/import_gates.py`) waits on a file.
"""

from __future__ import annotations

import io
import os
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from renalpath.web import import_child, offload, passwords
from renalpath.web.auth import MemoryAccountStore
from tests.web import import_gates
from tests.web.conftest import PASSWORD, bearer, csrf_from
from tests.web.registry_support import registry_db, rw_client  # noqa: F401  (fixtures)


def _one_csv_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("reg/patients.csv", "patient_id,sex,birth_date\n")
    return buf.getvalue()


def _answers_while(
    client: TestClient,
    slow: Callable[[], Any],
    entered: threading.Event,
    release: threading.Event,
    start_s: float = 30,
) -> bool:
    """Start `slow` in a thread; once it is inside the slow part, see if /healthz answers.

    `start_s` bounds the wait for the slow part to start (a child process starts slowly on a
    busy machine)."""
    done: dict[str, int] = {}
    runner = threading.Thread(target=slow, daemon=True)
    runner.start()
    try:
        assert entered.wait(start_s), "the slow request never started"
        probe = threading.Thread(
            target=lambda: done.setdefault("status", client.get("/healthz").status_code),
            daemon=True,
        )
        probe.start()
        probe.join(10)
        return done.get("status") == 200
    finally:
        release.set()
        runner.join(30)


def test_healthz_answers_while_an_import_runs(
    rw_client: TestClient,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The import runs in another process: the test and the stand-in meet through files.
    monkeypatch.setattr(import_child, "run_import", import_gates.gated_refusal)
    gates: Path = rw_client.db_path.parent  # type: ignore[attr-defined]
    entered, release = threading.Event(), threading.Event()
    statuses: dict[str, int] = {}

    def upload() -> None:
        resp = rw_client.post(
            "/api/v1/import", files={"file": ("x.zip", _one_csv_zip())}, headers=bearer("cleo")
        )
        statuses["import"] = resp.status_code

    def watch_gates() -> None:
        if import_gates.wait_for_file(gates / "entered"):
            entered.set()
        release.wait(import_gates.WAIT_S)
        (gates / "release").touch()

    watcher = threading.Thread(target=watch_gates, daemon=True)
    watcher.start()
    assert _answers_while(rw_client, upload, entered, release, import_gates.WAIT_S)
    watcher.join(import_gates.WAIT_S)
    assert statuses.get("import") == 422  # the stand-in's refusal reached the API


def test_healthz_answers_while_a_password_is_checked(
    client: TestClient, accounts: MemoryAccountStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, release = threading.Event(), threading.Event()
    real = accounts.authenticate

    def slow_auth(name: str, password: str) -> Any:
        entered.set()
        release.wait(30)
        return real(name, password)

    monkeypatch.setattr(accounts, "authenticate", slow_auth)
    token = csrf_from(client.get("/login").text)

    def log_in() -> None:
        client.post(
            "/login",
            data={"username": "cleo", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )

    assert _answers_while(client, log_in, entered, release)


def test_web_import_page_polls_a_long_job(
    rw_client: TestClient,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.web.conftest import login

    monkeypatch.setattr(import_child, "run_import", import_gates.gated_import)
    gates: Path = rw_client.db_path.parent  # type: ignore[attr-defined]
    rw_client.app.state.settings = type(rw_client.app.state.settings)(
        **{**rw_client.app.state.settings.__dict__, "import_wait_s": 0.05}
    )
    csrf = login(rw_client, "cleo")
    resp = rw_client.post(
        "/import",
        files={"file": ("x.zip", _one_csv_zip())},
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    job_url = resp.headers["location"]
    running = rw_client.get(job_url)
    assert running.status_code == 202 and 'id="import-stage"' in running.text
    assert 'http-equiv="refresh"' in running.text
    state = rw_client.get("/api/v1" + job_url, headers=bearer("cleo")).json()
    assert "stage" in state and "result" not in state
    assert rw_client.get("/api/v1" + job_url, headers=bearer("ada")).status_code == 200
    (gates / "release").touch()
    for _ in range(1200):  # up to 2 min: the import process may be slow to start
        state = rw_client.get("/api/v1" + job_url, headers=bearer("cleo")).json()
        if state["stage"] == "done":
            break
        threading.Event().wait(0.1)
    assert state["stage"] == "done"
    assert rw_client.get(job_url).status_code in (200, 422)


def test_password_hashes_run_in_the_niced_hash_process(client: TestClient) -> None:
    # The app turns the hash process on (`hash_in_process`, the default): a login storm then
    # gets only the CPU the server leaves, while logins still work both ways.
    assert passwords._in_child_process
    token = csrf_from(client.get("/login").text)
    wrong = client.post(
        "/login",
        data={"username": "cleo", "password": "not it", "csrf_token": token},
        follow_redirects=False,
    )
    assert wrong.status_code == 401
    right = client.post(
        "/login",
        data={"username": "cleo", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert right.status_code == 303
    child = offload.call("hash", os.getpid)
    assert child != os.getpid()
    assert os.getpriority(os.PRIO_PROCESS, child) >= os.getpriority(os.PRIO_PROCESS, 0) + 1
