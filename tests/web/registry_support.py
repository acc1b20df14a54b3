"""A small synthetic registry (renalpath.synth → importer) and an app serving it.

Session-scoped: the import is the slow part, and the read-only study and patient tests share
it.  Tests that write (lab corrections, imports) copy the database file first.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from renalpath.registry.db import make_engine, upgrade
from renalpath.registry.importer import import_folder
from renalpath.synth.writer import write_registry
from renalpath.web.app import create_app
from renalpath.web.auth import MemoryAccountStore
from renalpath.web.settings import WebSettings

SYNTH_PATIENTS = 150
SYNTH_SEED = 1


@pytest.fixture(scope="session")
def registry_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("registry")
    write_registry(root / "csv", SYNTH_PATIENTS, SYNTH_SEED)
    db = root / "registry.db"
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    result = import_folder(engine, root / "csv", actor="test-setup", reason="synthetic")
    assert result.written, result.report.to_dict()
    engine.dispose()
    return db


def registry_app(db: Path, accounts: MemoryAccountStore) -> FastAPI:
    # A generous wait: on a busy machine a small import can outlast the default 2 s (the
    # import process runs at a lower priority: on a host at load 20, 30 s was not always
    # enough) and the page would hand it to a background job; the job path has its own tests.
    settings = WebSettings(
        secret_key="k", database_url=f"sqlite:///{db}", open_docs=True, import_wait_s=120.0
    )
    return create_app(settings, accounts)


@pytest.fixture
def reg_client(registry_db: Path, accounts: MemoryAccountStore) -> Iterator[TestClient]:
    """Read-only use of the shared registry."""
    with TestClient(registry_app(registry_db, accounts)) as c:
        yield c


@pytest.fixture
def rw_client(
    registry_db: Path, accounts: MemoryAccountStore, tmp_path: Path
) -> Iterator[TestClient]:
    """A private copy of the registry for tests that write."""
    db = tmp_path / "rw.db"
    shutil.copy(registry_db, db)
    with TestClient(registry_app(db, accounts)) as c:
        c.db_path = db
        yield c


@pytest.fixture
def empty_client(tmp_path: Path, accounts: MemoryAccountStore) -> Iterator[TestClient]:
    """An app on an empty, migrated registry of its own (for tests that import into it)."""
    db = tmp_path / "empty.db"
    upgrade(make_engine(f"sqlite:///{db}"))
    with TestClient(registry_app(db, accounts)) as c:
        c.db_path = db
        yield c


def zip_folder(folder: Path, prefix: str = "") -> bytes:
    """The folder's files as a zip (names under `prefix`), as a user uploads a registry."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, prefix + f.name)
    return buf.getvalue()
