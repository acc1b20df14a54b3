"""Accounts in the registry database: migration, login through the real store, tokens,
deactivation, and the audit trail (no secrets in it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect

from renalpath.registry import accounts, audit
from renalpath.registry.db import make_engine, upgrade
from renalpath.web.app import create_app
from renalpath.web.auth import PASSWORDS
from renalpath.web.settings import WebSettings

from .conftest import csrf_from

PASSWORD = "a long enough password"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'acc.db'}")
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with engine.begin() as conn:
        accounts.create_user(conn, "nora", "clinician", PASSWORDS.hash(PASSWORD), "test", "setup")
        accounts.create_user(conn, "ray", "researcher", PASSWORDS.hash(PASSWORD), "test", "setup")
    settings = WebSettings(secret_key="k", database_url=str(engine.url))
    with TestClient(create_app(settings)) as c:  # accounts from the database by default
        yield c


def _login(c: TestClient, name: str, password: str = PASSWORD) -> int:
    token = csrf_from(c.get("/login").text)
    resp = c.post(
        "/login",
        data={"username": name, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    return resp.status_code


def test_migration_creates_account_tables(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert {"users", "api_tokens"} <= tables


def test_login_and_roles_from_database(client: TestClient) -> None:
    assert _login(client, "nora", "wrong password!") == 401
    assert _login(client, "nora") == 303
    assert client.get("/case").status_code == 200
    client.cookies.clear()
    assert _login(client, "ray") == 303
    assert client.get("/case").status_code == 200  # the blank case form: no patient data
    assert client.get("/patients").status_code == 403  # identifiable records: not for researchers


def test_token_and_deactivation(client: TestClient, engine: Engine) -> None:
    with engine.begin() as conn:
        token = accounts.issue_token(conn, "nora", "script", "test", "for a script")
    assert token.startswith(accounts.TOKEN_PREFIX)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).json()["name"] == "nora"
    assert _login(client, "nora") == 303
    assert client.get("/case").status_code == 200
    with engine.begin() as conn:
        accounts.set_active(conn, "nora", False, "test", "left the department")
    # the open session and the token stop working at once
    assert client.get("/case", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert _login(client, "nora") == 401


def test_revoked_token_is_refused(client: TestClient, engine: Engine) -> None:
    with engine.begin() as conn:
        token = accounts.issue_token(conn, "ray", "script", "test", None)
        assert accounts.revoke_tokens(conn, "ray", "test", "rotated") == 1
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_refusals(engine: Engine) -> None:
    with engine.begin() as conn:
        accounts.create_user(conn, "dup", "admin", PASSWORDS.hash(PASSWORD), "test", None)
    with engine.begin() as conn, pytest.raises(accounts.AccountError, match="already exists"):
        accounts.create_user(conn, "dup", "admin", "x", "test", None)
    with engine.begin() as conn, pytest.raises(accounts.AccountError, match="role"):
        accounts.create_user(conn, "eve", "superuser", "x", "test", None)
    with engine.begin() as conn, pytest.raises(accounts.AccountError, match="no spaces"):
        accounts.create_user(conn, "two words", "admin", "x", "test", None)


def test_account_changes_audited_without_secrets(client: TestClient, engine: Engine) -> None:
    with engine.begin() as conn:
        token = accounts.issue_token(conn, "nora", "script", "test", "why")
        accounts.set_active(conn, "ray", False, "admin:test", "left")
    rows = list(audit.log_rows(engine, limit=None))
    entities = {(r["entity"], r["entity_id"], r["action"]) for r in rows}
    assert ("user", "nora", "insert") in entities and ("api_token", "nora", "insert") in entities
    assert ("user", "ray", "update") in entities
    text = " ".join(str(v) for r in rows for v in r.values())
    assert token not in text and accounts.token_digest(token) not in text
    assert "argon2" not in text  # no password hash in the trail
    assert audit.verify(engine).ok
