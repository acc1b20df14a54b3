"""Web imports run in a child process at a lower CPU priority, and a failing one says so.

In a worker thread the import held the interpreter lock and every other request of the server
waited for it; in the import process (`renalpath.web.offload`) it cannot.  What is checked
here is where it ran (another pid, a higher niceness) and that a child that fails or dies
still ends its job with a message, with no hang, and the next import works.
"""

from __future__ import annotations

import dataclasses
import os
import time

import pytest
from fastapi.testclient import TestClient

from renalpath.web import import_child
from renalpath.web.import_jobs import ImportJob

from . import import_gates
from .conftest import bearer, login
from .registry_support import zip_folder


@pytest.fixture(scope="module")
def small_zip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    from renalpath.synth.writer import write_registry

    out = tmp_path_factory.mktemp("synth-process") / "csv"
    write_registry(out, 6, 11)
    return zip_folder(out, "reg/")


def _only_job(client: TestClient) -> ImportJob:
    jobs: dict[str, ImportJob] = client.app.state.import_jobs  # type: ignore[attr-defined]
    assert len(jobs) == 1
    return next(iter(jobs.values()))


def test_web_import_runs_in_a_niced_child_process(
    empty_client: TestClient,
    small_zip: bytes,
) -> None:
    csrf = login(empty_client, "cleo")
    resp = empty_client.post(
        "/import",
        files={"file": ("reg.zip", small_zip)},
        data={"csrf_token": csrf, "action": "validate"},
    )
    assert resp.status_code == 200, resp.text
    job = _only_job(empty_client)
    assert job.result is not None and job.result.report.ok and not job.result.written
    assert job.pid is not None and job.pid != os.getpid()
    # the pool keeps its process: it is still there to be asked its priority
    assert os.getpriority(os.PRIO_PROCESS, job.pid) >= os.getpriority(os.PRIO_PROCESS, 0) + 1


def test_api_import_through_the_child_writes(
    empty_client: TestClient,
    small_zip: bytes,
) -> None:
    resp = empty_client.post(
        "/api/v1/import",
        files={"file": ("reg.zip", small_zip)},
        data={"reason": "from the child"},
        headers=bearer("cleo"),
    )
    assert resp.status_code == 200, resp.text
    doc = resp.json()
    assert doc["written"] and doc["counts"]["patients"]["inserted"] == 6
    assert _only_job(empty_client).pid != os.getpid()


def test_error_in_the_child_reaches_the_page(
    empty_client: TestClient,
    small_zip: bytes,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(import_child, "run_import", import_gates.raising)
    csrf = login(empty_client, "cleo")
    resp = empty_client.post(
        "/import", files={"file": ("reg.zip", small_zip)}, data={"csrf_token": csrf}
    )
    assert resp.status_code == 500
    assert "internal error" in resp.text
    assert _only_job(empty_client).stage == "done"
    assert "broken in the import process" in caplog.text  # the child's trace is logged


def test_a_dying_child_ends_the_job_and_the_next_import_works(
    empty_client: TestClient,
    small_zip: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(import_child, "run_import", import_gates.dying)
    resp = empty_client.post(
        "/api/v1/import", files={"file": ("reg.zip", small_zip)}, headers=bearer("cleo")
    )
    assert resp.status_code == 500
    assert "import process stopped" in resp.json()["errors"][0]["message"]
    monkeypatch.undo()
    again = empty_client.post(
        "/api/v1/import",
        files={"file": ("reg.zip", small_zip)},
        data={"dry_run": "true"},
        headers=bearer("cleo"),
    )
    assert again.status_code == 200, again.text  # a fresh import process took over


def test_stages_come_from_the_child(
    empty_client: TestClient,
    small_zip: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(import_child, "run_import", import_gates.reporting_gate)
    state = empty_client.app.state  # type: ignore[attr-defined]
    gates = import_gates.gate_dir(state.settings.database_url)
    state.settings = dataclasses.replace(state.settings, import_wait_s=0.05)
    csrf = login(empty_client, "cleo")
    started = empty_client.post(
        "/import",
        files={"file": ("reg.zip", small_zip)},
        data={"csrf_token": csrf, "action": "validate"},
        follow_redirects=False,
    )
    assert started.status_code == 303
    job_url = "/api/v1" + started.headers["location"]
    try:
        seen = ""
        for _ in range(1200):  # up to 2 min: the import process may be slow to start
            seen = empty_client.get(job_url, headers=bearer("cleo")).json()["stage"]
            if seen == import_gates.HELD:
                break
            time.sleep(0.1)
        assert seen == import_gates.HELD
        assert _only_job(empty_client).pid not in (None, os.getpid())
    finally:
        (gates / "release").touch()
    for _ in range(1200):  # up to 2 min: the import process may be slow to start
        doc = empty_client.get(job_url, headers=bearer("cleo")).json()
        if doc["stage"] == "done":
            break
        time.sleep(0.1)
    assert doc["stage"] == "done" and doc["result"]["ok"], doc
