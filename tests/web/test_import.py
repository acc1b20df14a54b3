"""Import upload: zip of a synth folder → patients appear; bad rows → report, nothing written;
zip-slip, non-CSV and oversized uploads refused with a clear message."""

from __future__ import annotations

import dataclasses
import io
import sqlite3
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from renalpath.registry.db import make_engine, upgrade
from renalpath.synth.writer import write_registry
from renalpath.web.auth import MemoryAccountStore

from .conftest import bearer, login
from .registry_support import registry_app


def _zip(folder: Path, prefix: str = "") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, prefix + f.name)
    return buf.getvalue()


@pytest.fixture
def empty_client(tmp_path: Path, accounts: MemoryAccountStore) -> Iterator[TestClient]:
    db = tmp_path / "empty.db"
    upgrade(make_engine(f"sqlite:///{db}"))
    with TestClient(registry_app(db, accounts)) as c:
        c.db_path = db
        yield c


@pytest.fixture(scope="module")
def small_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "csv"
    write_registry(out, 12, 3)
    return out


def _count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"select count(*) from {table}").fetchone()[0])


def test_api_import_zip_writes_patients(empty_client: TestClient, small_folder: Path) -> None:
    files = {"file": ("registry.zip", _zip(small_folder, "registry/"), "application/zip")}
    resp = empty_client.post(
        "/api/v1/import", files=files, data={"reason": "test"}, headers=bearer("cleo")
    )
    assert resp.status_code == 200, resp.text
    n = sum(1 for _ in (small_folder / "patients.csv").open()) - 1
    assert (
        resp.json()["counts"]["patients"]["inserted"]
        == n
        == _count(empty_client.db_path, "patients")
    )
    listed = empty_client.get("/api/v1/patients", headers=bearer("cleo")).json()
    assert listed["total"] == n


def test_bad_row_gives_report_and_writes_nothing(
    empty_client: TestClient, small_folder: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in small_folder.iterdir():
        (bad / f.name).write_bytes(f.read_bytes())
    lines = (bad / "patients.csv").read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index("sex")] = "banana"
    lines[1] = ",".join(cells)
    (bad / "patients.csv").write_text("\n".join(lines) + "\n")
    token = login(empty_client, "cleo")
    resp = empty_client.post(
        "/import",
        files={"file": ("bad.zip", _zip(bad), "application/zip")},
        data={"csrf_token": token},
    )
    assert resp.status_code == 422
    assert (
        "banana" in resp.text
        and "patients.csv" in resp.text
        and "Nothing was imported" in resp.text
    )
    assert _count(empty_client.db_path, "patients") == 0
    assert _count(empty_client.db_path, "labs") == 0


@pytest.mark.parametrize(
    ("name", "message"),
    [("../evil.csv", "zip-slip"), ("/abs/patients.csv", "zip-slip"), ("notes.txt", "not a .csv")],
)
def test_unsafe_zip_members_refused(empty_client: TestClient, name: str, message: str) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(name, "patient_id\n")
    resp = empty_client.post(
        "/api/v1/import", files={"file": ("x.zip", buf.getvalue())}, headers=bearer("ada")
    )
    assert resp.status_code == 422
    err = resp.json()["errors"][0]
    assert err["field"] == "file" and message in err["message"]


def test_not_a_zip_and_oversized(empty_client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    resp = empty_client.post(
        "/api/v1/import", files={"file": ("x.zip", b"hello")}, headers=bearer("cleo")
    )
    assert resp.status_code == 422 and "not a zip" in resp.json()["errors"][0]["message"]
    settings = empty_client.app.state.settings  # type: ignore[attr-defined]
    monkeypatch.setattr(
        empty_client.app.state,  # type: ignore[attr-defined]
        "settings",
        dataclasses.replace(settings, max_upload_bytes=10),
    )
    resp = empty_client.post(
        "/api/v1/import", files={"file": ("x.zip", b"0123456789abc")}, headers=bearer("cleo")
    )
    assert resp.status_code == 413 and "too large" in resp.json()["errors"][0]["message"]


def test_researcher_cannot_import(empty_client: TestClient) -> None:
    resp = empty_client.post(
        "/api/v1/import", files={"file": ("x.zip", b"x")}, headers=bearer("rhea")
    )
    assert resp.status_code == 403
