"""Import upload: zip of a synth folder → patients appear; bad rows → report, nothing written;
zip-slip, non-CSV and oversized uploads refused with a clear message."""

from __future__ import annotations

import dataclasses
import io
import sqlite3
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from renalpath.synth.writer import write_registry

from .conftest import bearer, login
from .registry_support import zip_folder as _zip


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


def _copy(src: Path, dest: Path) -> Path:
    dest.mkdir()
    for f in src.iterdir():
        (dest / f.name).write_bytes(f.read_bytes())
    return dest


def test_validate_only_then_changes_need_a_confirmed_reason(
    empty_client: TestClient, small_folder: Path, tmp_path: Path
) -> None:
    token = login(empty_client, "cleo")
    upload = {"file": ("r.zip", _zip(small_folder), "application/zip")}
    dry = empty_client.post(
        "/import", files=upload, data={"csrf_token": token, "action": "validate"}
    )
    assert dry.status_code == 200 and "Validated: nothing was written" in dry.text
    assert _count(empty_client.db_path, "patients") == 0
    done = empty_client.post("/import", files=upload, data={"csrf_token": token})
    assert done.status_code == 200 and "Imported" in done.text
    changed = _copy(small_folder, tmp_path / "changed")
    lines = (changed / "patients.csv").read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    old = cells[header.index("birth_date")]
    cells[header.index("birth_date")] = "1931-01-01"
    lines[1] = ",".join(cells)
    (changed / "patients.csv").write_text("\n".join(lines) + "\n")
    upload2 = {"file": ("c.zip", _zip(changed), "application/zip")}
    refused = empty_client.post("/import", files=upload2, data={"csrf_token": token})
    assert refused.status_code == 409 and 'id="import-diff"' in refused.text
    assert old in refused.text and "1931-01-01" in refused.text
    no_reason = empty_client.post(
        "/import", files=upload2, data={"csrf_token": token, "update": "1"}
    )
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    applied = empty_client.post(
        "/import",
        files=upload2,
        data={"csrf_token": token, "update": "1", "reason": "birth date corrected"},
    )
    assert applied.status_code == 200 and "Imported" in applied.text
    with sqlite3.connect(empty_client.db_path) as conn:
        reasons = {r[0] for r in conn.execute("select reason from audit_log where action='update'")}
    assert reasons == {"birth date corrected"}


def test_api_imports_a_workbook_in_the_zip(
    empty_client: TestClient, small_folder: Path, tmp_path: Path
) -> None:
    from openpyxl import Workbook

    folder = tmp_path / "wb"
    folder.mkdir()
    book = Workbook()
    book.remove(book.active)
    for f in sorted(small_folder.glob("*.csv")):
        sheet = book.create_sheet(f.stem)
        for line in f.read_text(encoding="utf-8").splitlines():
            sheet.append(line.split(","))  # synthetic cells hold no commas
    book.save(folder / "registry.xlsx")
    files = {"file": ("wb.zip", _zip(folder), "application/zip")}
    resp = empty_client.post(
        "/api/v1/import", files=files, data={"reason": "wb"}, headers=bearer("cleo")
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["counts"]["patients"]["inserted"] == _count(empty_client.db_path, "patients")
