"""Admin user management: only admins; add, refuse bad input, deactivate, issue tokens."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from renalpath.web.app import create_app
from renalpath.web.auth import MemoryAccountStore
from renalpath.web.settings import WebSettings

from .conftest import PASSWORD, csrf_from, login


@pytest.fixture
def admin_client() -> Iterator[tuple[TestClient, str, MemoryAccountStore]]:
    store = MemoryAccountStore()
    store.add("ada", PASSWORD, "admin")
    store.add("cleo", PASSWORD, "clinician")
    with TestClient(create_app(WebSettings(secret_key="adm"), store)) as c:
        yield c, login(c, "ada"), store


def test_only_admins_see_users(admin_client) -> None:  # type: ignore[no-untyped-def]
    client, _, _store = admin_client
    assert client.get("/admin/users").status_code == 200
    with TestClient(client.app) as other:
        login(other, "cleo")
        assert other.get("/admin/users").status_code == 403
        assert "/admin/users" not in other.get("/").text


def test_add_user_and_refusals(admin_client) -> None:  # type: ignore[no-untyped-def]
    client, token, store = admin_client
    new = {"name": "nia", "role": "researcher", "password": PASSWORD, "csrf_token": token}
    resp = client.post("/admin/users", data=new, follow_redirects=False)
    assert resp.status_code == 303
    assert [u.name for u in store.list_users()] == ["ada", "cleo", "nia"]
    resp = client.post("/admin/users", data=new)
    assert resp.status_code == 422 and "already exists" in resp.text
    resp = client.post("/admin/users", data={**new, "name": "zed", "password": "short"})
    assert resp.status_code == 422 and "too short" in resp.text
    resp = client.post("/admin/users", data={**new, "name": "zed", "role": "root"})
    assert resp.status_code == 422 and "role" in resp.text
    assert (
        client.post("/admin/users", data={**new, "name": "x", "csrf_token": ""}).status_code == 403
    )


def test_deactivate_user_and_not_self(admin_client) -> None:  # type: ignore[no-untyped-def]
    client, token, _ = admin_client
    resp = client.post(
        "/admin/users/cleo/active",
        data={"active": "false", "reason": "left", "csrf_token": token},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    with TestClient(client.app) as other:
        page = csrf_from(other.get("/login").text)
        resp = other.post(
            "/login", data={"username": "cleo", "password": PASSWORD, "csrf_token": page}
        )
        assert resp.status_code == 401
    resp = client.post("/admin/users/ada/active", data={"active": "false", "csrf_token": token})
    assert resp.status_code == 422 and "your own account" in resp.text


def test_issue_token_shown_once_and_works(admin_client) -> None:  # type: ignore[no-untyped-def]
    client, token, _ = admin_client
    resp = client.post("/admin/users/cleo/token", data={"label": "etl", "csrf_token": token})
    assert resp.status_code == 200
    match = re.search(r'<code id="new-token">([^<]+)</code>', resp.text)
    assert match
    api_token = match.group(1)
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {api_token}"}).json()
    assert me["name"] == "cleo" and me["via"] == "token"
    assert api_token not in client.get("/admin/users").text  # not shown again
