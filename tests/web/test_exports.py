"""Registry downloads: role matrix, zip contents, de-identification, audit trail."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from renalpath.registry import audit
from renalpath.registry.db import make_engine, upgrade
from renalpath.registry.dictionary import FILES
from renalpath.registry.importer import import_folder
from renalpath.web.auth import MemoryAccountStore
from renalpath.web.settings import WebSettings
from tests.conftest import run_cli

from .conftest import bearer, login
from .registry_support import registry_app, registry_db, rw_client  # noqa: F401  (fixtures)

FULL, DEID = "/api/v1/export", "/api/v1/export/deidentified"
CSV_NAMES = sorted(spec.filename for spec in FILES.values())


def members(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n).decode("utf-8") for n in zf.namelist()}


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize(
    ("user", "full", "deid"),
    [(None, 401, 401), ("rhea", 403, 200), ("cleo", 200, 200), ("ada", 200, 200)],
)
def test_role_matrix(rw_client: TestClient, user: str | None, full: int, deid: int) -> None:  # noqa: F811
    headers = bearer(user) if user else {}
    got_full = rw_client.get(FULL, headers=headers)
    got_deid = rw_client.get(DEID, headers=headers)
    assert (got_full.status_code, got_deid.status_code) == (full, deid)
    for resp in (got_full, got_deid):
        if resp.status_code == 200:
            assert resp.headers["content-type"] == "application/zip"
            assert resp.headers["cache-control"] == "no-store"
            assert "attachment" in resp.headers["content-disposition"]
            assert sorted(members(resp.content)) == CSV_NAMES
        else:
            assert resp.json()["errors"][0]["message"]


def test_full_zip_is_the_cli_export(rw_client: TestClient, tmp_path: Path) -> None:  # noqa: F811
    resp = rw_client.get(FULL, headers=bearer("cleo"))
    assert resp.status_code == 200
    db_path: Path = rw_client.db_path
    done = run_cli("export", str(tmp_path / "cli"), "--db", f"sqlite:///{db_path}")
    assert done.returncode == 0, done.stderr
    for name, text in members(resp.content).items():
        assert text == (tmp_path / "cli" / name).read_text(encoding="utf-8"), name


def test_deidentified_zip_has_no_identifiers_and_reimports(
    rw_client: TestClient,  # noqa: F811
    tmp_path: Path,
) -> None:
    full = members(rw_client.get(FULL, headers=bearer("ada")).content)
    deid = members(rw_client.get(DEID, headers=bearer("rhea")).content)
    ids = {r["patient_id"] for r in rows(full["patients.csv"])}
    ids |= {r["tumour_id"] for r in rows(full["tumours.csv"])}
    ids |= {r["intervention_id"] for r in rows(full["interventions.csv"])}
    blob = "\n".join(deid.values())
    assert ids and not [i for i in ids if i in blob]
    assert all(r["detail"] == "" for r in rows(deid["events.csv"]))
    assert len(rows(deid["labs.csv"])) == len(rows(full["labs.csv"]))

    # Follow-up length (birth → last contact) per patient is kept: same multiset of intervals.
    def spans(text: str) -> list[int]:
        out = []
        for r in rows(text):
            if r["last_contact_date"]:
                b = dt.date.fromisoformat(r["birth_date"])
                out.append((dt.date.fromisoformat(r["last_contact_date"]) - b).days)
        return sorted(out)

    assert spans(deid["patients.csv"]) == spans(full["patients.csv"])
    # The zip re-imports (through the web import too) and validates.
    folder = tmp_path / "deid"
    folder.mkdir()
    for name, text in deid.items():
        (folder / name).write_text(text, encoding="utf-8")
    engine = make_engine(f"sqlite:///{tmp_path / 'again.db'}")
    upgrade(engine)
    result = import_folder(engine, folder, actor="test")
    assert result.written and not result.report.errors, result.report.render()
    engine.dispose()


def test_pseudonyms_stable_per_server_secret(
    rw_client: TestClient,  # noqa: F811
    accounts: MemoryAccountStore,
) -> None:
    first = members(rw_client.get(DEID, headers=bearer("rhea")).content)
    again = members(rw_client.get(DEID, headers=bearer("cleo")).content)
    assert first == again  # successive downloads can be linked by the research team
    db_path: Path = rw_client.db_path
    from renalpath.web.app import create_app

    other = create_app(
        WebSettings(secret_key="another-secret", database_url=f"sqlite:///{db_path}"), accounts
    )
    with TestClient(other) as c:
        rotated = members(c.get(DEID, headers=bearer("rhea")).content)
    a = {r["patient_id"] for r in rows(first["patients.csv"])}
    b = {r["patient_id"] for r in rows(rotated["patients.csv"])}
    assert len(a) == len(b) and a.isdisjoint(b)


def test_downloads_are_audited(rw_client: TestClient) -> None:  # noqa: F811
    assert rw_client.get(DEID, headers=bearer("rhea")).status_code == 200
    assert rw_client.get(FULL, headers=bearer("cleo")).status_code == 200
    assert rw_client.get(FULL, headers=bearer("rhea")).status_code == 403  # refused: not logged
    db_path: Path = rw_client.db_path
    engine = make_engine(f"sqlite:///{db_path}")
    log = list(audit.log_rows(engine, entity="registry"))
    assert [(r["actor"], r["action"], r["entity_id"]) for r in log] == [
        ("web:cleo", "export", "full"),
        ("web:rhea", "export", "deidentified"),
    ]
    assert audit.verify(engine).ok
    engine.dispose()


def test_export_page_shows_role_appropriate_buttons(rw_client: TestClient) -> None:  # noqa: F811
    anonymous = rw_client.get("/export", follow_redirects=False)
    assert anonymous.status_code == 303 and "/login" in anonymous.headers["location"]
    login(rw_client, "rhea")
    page = rw_client.get("/export")
    assert page.status_code == 200
    assert 'id="dl-deidentified"' in page.text and 'id="dl-full"' not in page.text
    assert 'href="/export"' in page.text  # the nav link
    login(rw_client, "cleo")
    page = rw_client.get("/export")
    assert 'id="dl-deidentified"' in page.text and 'id="dl-full"' in page.text
    # the buttons' targets work with the browser session (no token)
    assert rw_client.get(FULL).status_code == 200


def test_no_database_is_a_503_not_a_500(accounts: MemoryAccountStore) -> None:
    from renalpath.web.app import create_app

    with TestClient(create_app(WebSettings(secret_key="s"), accounts)) as c:
        resp = c.get(DEID, headers=bearer("rhea"))
    assert resp.status_code == 503
    assert "no registry database" in resp.json()["errors"][0]["message"]


def test_database_without_schema_is_a_503(accounts: MemoryAccountStore, tmp_path: Path) -> None:
    app = registry_app(tmp_path / "empty.db", accounts)
    with TestClient(app) as c:
        resp = c.get(FULL, headers=bearer("ada"))
    assert resp.status_code == 503
    assert resp.json()["errors"][0]["message"]


def test_download_leaves_no_patient_files_behind(
    rw_client: TestClient,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the zip is streamed from a private temporary folder, which must go once it is sent
    import tempfile

    made: list[Path] = []
    real_mkdtemp = tempfile.mkdtemp

    def recording_mkdtemp(*args: object, **kwargs: object) -> str:
        path = real_mkdtemp(*args, **kwargs)  # type: ignore[call-overload]
        made.append(Path(path))
        return str(path)

    monkeypatch.setattr(tempfile, "mkdtemp", recording_mkdtemp)
    for url in (FULL, DEID):
        resp = rw_client.get(url, headers=bearer("cleo"))
        assert resp.status_code == 200
        assert sorted(members(resp.content)) == CSV_NAMES
    downloads = [p for p in made if p.name.startswith("renalpath-download-")]
    assert len(downloads) == 2
    assert [p for p in downloads if p.exists()] == []
