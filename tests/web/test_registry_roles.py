"""Role × endpoint matrix for the registry pages: studies for everyone logged in, patient
data, audit and import for clinicians and admins only (researchers: aggregate results)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from .conftest import bearer, login
from .registry_support import reg_client, registry_db  # noqa: F401  (fixtures)

ROLE_USER = {"admin": "ada", "clinician": "cleo", "researcher": "rhea"}
ALL = {"admin": 200, "clinician": 200, "researcher": 200, None: 401}
CLINICAL = {"admin": 200, "clinician": 200, "researcher": 403, None: 401}

API_MATRIX = [
    ("GET", "/api/v1/studies/salvage", ALL),
    ("GET", "/api/v1/studies/survival", ALL),
    ("GET", "/api/v1/patients", CLINICAL),
    # a bad body still shows the role check first: 422 for allowed roles, 403/401 otherwise
    ("PATCH", "/api/v1/labs/1", {**CLINICAL, "admin": 422, "clinician": 422}),
    ("POST", "/api/v1/import", {**CLINICAL, "admin": 422, "clinician": 422}),
]


@pytest.mark.parametrize(("method", "path", "expected"), API_MATRIX)
def test_registry_api_role_matrix(
    reg_client: TestClient,  # noqa: F811
    method: str,
    path: str,
    expected: dict[str | None, int],
) -> None:
    for role, status in expected.items():
        headers = bearer(ROLE_USER[role]) if role else {}
        kwargs: dict[str, object] = {}
        if method == "PATCH":
            kwargs["json"] = {"value": "x"}
        if method == "POST":
            kwargs["files"] = {"file": ("x.zip", b"not a zip")}
        resp = reg_client.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]
        assert resp.status_code == status, (role, path, resp.text)


UI_PAGES = ("/studies/salvage", "/studies/survival", "/patients", "/audit", "/import")


@pytest.mark.parametrize(
    ("user", "statuses"),
    [
        ("ada", (200, 200, 200, 200, 200)),
        ("cleo", (200, 200, 200, 200, 200)),
        ("rhea", (200, 200, 403, 403, 403)),
    ],
)
def test_registry_ui_role_matrix(
    reg_client: TestClient,  # noqa: F811
    user: str,
    statuses: tuple[int, ...],
) -> None:
    login(reg_client, user)
    got = tuple(reg_client.get(p).status_code for p in UI_PAGES)
    assert got == statuses


def test_navigation_shows_pages_by_role(reg_client: TestClient) -> None:  # noqa: F811
    login(reg_client, "cleo")
    html = reg_client.get("/studies/salvage").text
    for href in ('href="/patients"', 'href="/import"', 'href="/audit"', 'href="/studies/salvage"'):
        assert href in html
    reg_client.cookies.clear()
    login(reg_client, "rhea")
    html = reg_client.get("/studies/salvage").text
    assert 'href="/studies/salvage"' in html and 'href="/patients"' not in html


def test_anonymous_ui_redirects(app: FastAPI) -> None:
    with TestClient(app) as c:
        for path in UI_PAGES:
            resp = c.get(path, follow_redirects=False)
            assert resp.status_code == 303 and resp.headers["location"].startswith("/login"), path
