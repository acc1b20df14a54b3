"""FHIR Bulk Data `$export`: kick-off checks and roles, polling, the manifest and its files
(the same lines as `renalpath export --format fhir`), deletion, file names, the audit trail."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from renalpath.registry import audit
from renalpath.registry.db import make_engine
from renalpath.web import bulk_export
from renalpath.web.app import create_app
from renalpath.web.auth import MemoryAccountStore
from renalpath.web.settings import WebSettings
from tests.conftest import run_cli

from .conftest import bearer
from .registry_support import registry_db  # noqa: F401  (fixture)

KICKOFF = "/api/v1/fhir/$export"
ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}
WAIT_S = 120.0  # generous: the export runs in a niced child on a possibly busy machine


@pytest.fixture
def bulk_client(
    registry_db: Path,  # noqa: F811
    accounts: MemoryAccountStore,
    tmp_path: Path,
) -> Iterator[TestClient]:
    """A private copy of the registry (the export writes its audit row) and a job folder."""
    db = tmp_path / "bulk.db"
    shutil.copy(registry_db, db)
    settings = WebSettings(
        secret_key="k",
        database_url=f"sqlite:///{db}",
        open_docs=True,
        bulk_export_dir=str(tmp_path / "jobs"),
    )
    with TestClient(create_app(settings, accounts)) as c:
        c.db_path = db
        c.jobs = tmp_path / "jobs"
        yield c


def _admin(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**bearer("ada"), **ASYNC, **(extra or {})}


def _kickoff(client: TestClient, url: str = KICKOFF, prefer: str = "respond-async") -> str:
    got = client.get(url, headers=_admin({"Prefer": prefer}))
    assert got.status_code == 202, got.text
    status_url = got.headers["content-location"]
    assert status_url.startswith("http://testserver/api/v1/fhir/$export-status/")
    return status_url


def _wait(client: TestClient, status_url: str) -> dict[str, object]:
    deadline = time.monotonic() + WAIT_S
    while True:
        got = client.get(status_url, headers=bearer("ada"))
        if got.status_code != 202:
            assert got.status_code == 200, got.text
            manifest: dict[str, object] = got.json()
            return manifest
        assert got.headers["x-progress"] and int(got.headers["retry-after"]) > 0
        assert time.monotonic() < deadline, "the export did not finish in time"
        time.sleep(0.5)


def _jobs(client: TestClient) -> list[Path]:
    root: Path = client.jobs
    return list(root.iterdir()) if root.exists() else []


def _state(client: TestClient) -> dict[str, object]:
    (folder,) = _jobs(client)
    state = bulk_export.read_state(folder)
    assert state is not None
    return state


def _lines(client: TestClient, url: str) -> list[str]:
    got = client.get(url, headers=bearer("ada"))
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("application/fhir+ndjson")
    return got.text.splitlines()


def test_kickoff_refusals(bulk_client: TestClient) -> None:
    def message(resp: object) -> str:
        return str(resp.json()["errors"][0]["message"])  # type: ignore[attr-defined]

    no_prefer = bulk_client.get(KICKOFF, headers=bearer("ada"))
    assert no_prefer.status_code == 400 and "respond-async" in message(no_prefer)
    sync = bulk_client.get(KICKOFF, headers=_admin({"Prefer": "return=representation"}))
    assert sync.status_code == 400
    assert bulk_client.get(KICKOFF, headers={**bearer("cleo"), **ASYNC}).status_code == 403
    assert bulk_client.get(KICKOFF, headers={**bearer("rhea"), **ASYNC}).status_code == 403
    assert bulk_client.get(KICKOFF, headers=ASYNC).status_code == 401
    for query, words in [
        ("_outputFormat=text/csv", "_outputFormat"),
        ("_type=Patient,Medication", "Medication"),
        ("_since=2024-01-01T00:00:00Z", "not supported"),
    ]:
        got = bulk_client.get(f"{KICKOFF}?{query}", headers=_admin())
        assert got.status_code == 400 and words in message(got), (query, got.text)
    # nothing was started
    assert _jobs(bulk_client) == []


def test_export_manifest_files_match_the_cli(bulk_client: TestClient, tmp_path: Path) -> None:
    status_url = _kickoff(bulk_client)
    manifest = _wait(bulk_client, status_url)
    assert manifest["requiresAccessToken"] is True and manifest["error"] == []
    assert manifest["request"] == f"http://testserver{KICKOFF}"
    assert isinstance(manifest["transactionTime"], str)
    output = manifest["output"]
    assert isinstance(output, list)
    db_path: Path = bulk_client.db_path
    done = run_cli(
        "export", str(tmp_path / "cli"), "--db", f"sqlite:///{db_path}", "--format", "fhir"
    )
    assert done.returncode == 0, done.stderr
    cli_files = {p.stem: p for p in (tmp_path / "cli").glob("*.ndjson")}
    assert sorted(o["type"] for o in output) == sorted(cli_files)
    for item in output:
        lines = _lines(bulk_client, item["url"])
        assert len(lines) == item["count"] > 0
        assert all(json.loads(line)["resourceType"] == item["type"] for line in lines)
        cli_lines = cli_files[item["type"]].read_text(encoding="utf-8").splitlines()
        assert set(lines) == set(cli_lines) and len(lines) == len(cli_lines), item["type"]
    assert _state(bulk_client)["pid"] != os.getpid()  # exported in a child process
    # audited as a full registry export, by the admin who started it
    engine = make_engine(f"sqlite:///{db_path}")
    try:
        log = list(audit.log_rows(engine, entity="registry"))
        assert [(r["actor"], r["action"], r["entity_id"]) for r in log] == [
            ("web:ada", "export", "full")
        ]
        assert audit.verify(engine).ok
    finally:
        engine.dispose()


def test_type_filter_delete_and_file_names(bulk_client: TestClient) -> None:
    status_url = _kickoff(
        bulk_client,
        "/api/v1/fhir/Patient/$export?_type=Patient,Condition&_outputFormat=ndjson",
        prefer="handling=lenient, respond-async; wait=1",
    )
    manifest = _wait(bulk_client, status_url)
    output = manifest["output"]
    assert isinstance(output, list)
    assert sorted(o["type"] for o in output) == ["Condition", "Patient"]
    job_id = status_url.rsplit("/", 1)[1]
    base = f"/api/v1/fhir/$export-file/{job_id}"
    assert bulk_client.get(f"{base}/Patient.ndjson", headers=bearer("cleo")).status_code == 403
    for name in ("Observation.ndjson", "job.json", "..%2Fjob.json", "%2E%2E", "manifest.json"):
        got = bulk_client.get(f"{base}/{name}", headers=bearer("ada"))
        assert got.status_code in (400, 404), name
    outside = bulk_client.get(f"/api/v1/fhir/$export-file/{job_id}/../x", headers=bearer("ada"))
    assert outside.status_code in (400, 404)
    assert bulk_client.get(f"{base}/Patient.ndjson", headers=bearer("ada")).status_code == 200
    # DELETE (admins), then the job and its files are gone
    assert bulk_client.delete(status_url, headers=bearer("cleo")).status_code == 403
    assert bulk_client.delete(status_url, headers=bearer("ada")).status_code == 202
    assert bulk_client.get(status_url, headers=bearer("ada")).status_code == 404
    assert bulk_client.get(f"{base}/Patient.ndjson", headers=bearer("ada")).status_code == 404
    assert bulk_client.delete(status_url, headers=bearer("ada")).status_code == 404
    assert _jobs(bulk_client) == []
    unknown = "/api/v1/fhir/$export-status/" + "x" * 32
    assert bulk_client.get(unknown, headers=bearer("ada")).status_code == 404


def test_cancel_while_running_leaves_nothing(bulk_client: TestClient) -> None:
    status_url = _kickoff(bulk_client)
    assert bulk_client.delete(status_url, headers=bearer("ada")).status_code == 202
    assert bulk_client.get(status_url, headers=bearer("ada")).status_code == 404
    deadline = time.monotonic() + WAIT_S
    while _jobs(bulk_client) and time.monotonic() < deadline:
        time.sleep(0.5)  # a child that had started removes what it wrote once it notices
    assert _jobs(bulk_client) == []


def test_capability_statement_lists_export(bulk_client: TestClient) -> None:
    doc = bulk_client.get("/api/v1/fhir/metadata", headers=bearer("ada")).json()
    ops = doc["rest"][0]["operation"]
    assert ops[0]["name"] == "export"
    patient = next(r for r in doc["rest"][0]["resource"] if r["type"] == "Patient")
    assert "export" in [o["name"] for o in patient["operation"]]
    paths = bulk_client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/fhir/$export",
        "/api/v1/fhir/Patient/$export",
        "/api/v1/fhir/$export-status/{job_id}",
        "/api/v1/fhir/$export-file/{job_id}/{name}",
    ):
        assert path in paths, path


def test_failed_job_answers_500_and_old_jobs_are_swept(tmp_path: Path) -> None:
    root = bulk_export.root_of(str(tmp_path / "jobs"))
    job_id = bulk_export.create(root, "web:ada", "http://x/$export", ())
    folder = root / job_id
    bulk_export.update(folder, status="failed", error="boom")
    assert bulk_export.read_state(folder)["error"] == "boom"  # type: ignore[index]
    bulk_export.sweep(root, now=time.time() + bulk_export.KEEP_S + 1)
    assert not folder.exists()


def test_failed_job_status_is_500(bulk_client: TestClient) -> None:
    root = bulk_export.root_of(str(bulk_client.jobs))
    job_id = bulk_export.create(root, "web:ada", "http://x/$export", ())
    bulk_export.update(root / job_id, status="failed", error="the export failed")
    got = bulk_client.get(f"/api/v1/fhir/$export-status/{job_id}", headers=bearer("ada"))
    assert got.status_code == 500 and got.json()["errors"][0]["message"] == "the export failed"


def test_job_ids_are_masked_in_the_access_log() -> None:
    from renalpath.web.access_log import mask_path

    job_id = "Zq" * 16
    for path in (f"/api/v1/fhir/$export-status/{job_id}", f"/api/v1/fhir/$export-file/{job_id}/x"):
        assert job_id not in mask_path(path, b"k")


def test_without_child_processes_the_job_runs_in_a_thread(
    bulk_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from renalpath.web import offload

    def no_child(*args: object) -> object:
        raise AssertionError("no child process expected")

    monkeypatch.setattr(offload, "available", lambda: False)
    monkeypatch.setattr(offload, "call", no_child)
    manifest = _wait(bulk_client, _kickoff(bulk_client, f"{KICKOFF}?_type=Patient"))
    output = manifest["output"]
    assert isinstance(output, list) and [o["type"] for o in output] == ["Patient"]
    assert len(_lines(bulk_client, output[0]["url"])) == output[0]["count"] == 150
    assert _state(bulk_client)["pid"] == os.getpid()


def test_a_job_whose_process_ended_is_failed(bulk_client: TestClient) -> None:
    import subprocess
    import sys

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    assert gone.wait() == 0
    root = bulk_export.root_of(str(bulk_client.jobs))
    job_id = bulk_export.create(root, "web:ada", "http://x/$export", ())
    url = f"/api/v1/fhir/$export-status/{job_id}"
    assert bulk_client.get(url, headers=bearer("ada")).status_code == 202  # this process lives
    bulk_export.update(root / job_id, pid=gone.pid)  # its exporting process has ended
    got = bulk_client.get(url, headers=bearer("ada"))
    assert got.status_code == 500 and "stopped" in got.json()["errors"][0]["message"]
    assert bulk_export.read_state(root / job_id)["status"] == "failed"  # type: ignore[index]
