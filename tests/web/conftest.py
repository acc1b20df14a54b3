"""Web-layer fixtures: an app with in-memory accounts for each role, and logged-in clients."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from renalpath.web.app import create_app
from renalpath.web.auth import MemoryAccountStore
from renalpath.web.settings import WebSettings

from .registry_support import empty_client  # noqa: F401  (a fixture for every web test)

PASSWORD = "correct horse battery staple"
USERS = {"ada": "admin", "cleo": "clinician", "rhea": "researcher"}
TOKENS = {
    "ada": "tok-admin-0123456789",
    "cleo": "tok-clin-0123456789",
    "rhea": "tok-res-0123456789",
}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def accounts() -> MemoryAccountStore:
    store = MemoryAccountStore()
    for name, role in USERS.items():
        uid = store.add(name, PASSWORD, role)  # type: ignore[arg-type]
        store.add_token(uid, TOKENS[name])
    store.add("gone", PASSWORD, "clinician", active=False)
    return store


@pytest.fixture
def app(accounts: MemoryAccountStore) -> FastAPI:
    return create_app(WebSettings(secret_key="test-secret-key", open_docs=True), accounts)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


def login(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Log in through the form; return the new session's CSRF token."""
    token = csrf_from(client.get("/login").text)
    resp = client.post(
        "/login",
        data={"username": name, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    return csrf_from(client.get("/calculators/egfr").text)


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name]}"}
