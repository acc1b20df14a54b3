"""Session cookie flags, CSRF, security headers, login throttling, roles and API tokens."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from renalpath.registry.accounts import ThrottleRule
from renalpath.web.app import create_app
from renalpath.web.auth import LoginThrottle, MemoryAccountStore
from renalpath.web.settings import WebSettings

from .conftest import PASSWORD, bearer, csrf_from, login

EGFR = {"creatinine": 1.35, "unit": "mg/dL", "age": 64, "sex": "male"}


@pytest.mark.parametrize("path", ["/login", "/api/v1/calc", "/static/app.css", "/nowhere", "/docs"])
def test_security_headers_on_every_response(client: TestClient, path: str) -> None:
    resp = client.get(path)
    csp = resp.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["x-frame-options"] == "DENY"
    assert resp.headers["referrer-policy"] == "no-referrer"


def test_no_inline_script_or_style_in_pages(client: TestClient) -> None:
    login(client, "cleo")
    for path in ("/", "/calculators", "/calculators/egfr", "/case", "/docs", "/login"):
        html = client.get(path).text
        assert "<script>" not in html and "<style" not in html and " style=" not in html, path
        assert " onclick=" not in html and "javascript:" not in html, path


def test_session_cookie_is_httponly_and_samesite(client: TestClient) -> None:
    token = csrf_from(client.get("/login").text)
    resp = client.post(
        "/login",
        data={"username": "cleo", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    cookie = resp.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_secure_cookie_behind_https(accounts: MemoryAccountStore) -> None:
    app = create_app(WebSettings(secret_key="k", https_only=True), accounts)
    with TestClient(app, base_url="https://testserver") as c:
        cookie = c.get("/login").headers["set-cookie"].lower()
        assert "secure" in cookie
        assert "strict-transport-security" in c.get("/login").headers


def test_login_form_needs_csrf(client: TestClient) -> None:
    client.get("/login")
    resp = client.post("/login", data={"username": "cleo", "password": PASSWORD})
    assert resp.status_code == 403
    assert client.get("/api/v1/me").status_code == 401  # not logged in


def test_session_api_post_needs_csrf_header(client: TestClient) -> None:
    token = login(client, "cleo")
    assert client.post("/api/v1/calc/egfr", json=EGFR).status_code == 403
    assert (
        client.post("/api/v1/calc/egfr", json=EGFR, headers={"X-CSRF-Token": "forged"}).status_code
        == 403
    )
    assert (
        client.post("/api/v1/calc/egfr", json=EGFR, headers={"X-CSRF-Token": token}).status_code
        == 200
    )


def test_ui_form_post_needs_csrf_field(client: TestClient) -> None:
    token = login(client, "cleo")
    form = {"creatinine": "1.35", "unit": "mg/dL", "age": "64", "sex": "male"}
    assert client.post("/calculators/egfr", data=form).status_code == 403
    assert (
        client.post("/calculators/egfr", data={**form, "csrf_token": "x" + token}).status_code
        == 403
    )
    assert client.post("/calculators/egfr", data={**form, "csrf_token": token}).status_code == 200


def test_logout_needs_csrf_and_ends_session(client: TestClient) -> None:
    token = login(client, "cleo")
    assert client.post("/logout").status_code == 403
    assert client.get("/api/v1/me").status_code == 200
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/api/v1/me").status_code == 401


def test_bearer_token_needs_no_csrf(client: TestClient) -> None:
    resp = client.post("/api/v1/calc/egfr", json=EGFR, headers=bearer("rhea"))
    assert resp.status_code == 200
    me = client.get("/api/v1/me", headers=bearer("rhea")).json()
    assert me == {"name": "rhea", "role": "researcher", "via": "token"}


def test_invalid_token_and_anonymous_are_401(client: TestClient) -> None:
    resp = client.get("/api/v1/me", headers={"Authorization": "Bearer nope"})
    assert resp.status_code == 401 and resp.json()["errors"][0]["message"]
    assert client.post("/api/v1/calc/egfr", json=EGFR).status_code == 401


def test_anonymous_page_redirects_to_login(client: TestClient) -> None:
    resp = client.get("/case", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login?next=/case")


def test_login_ignores_offsite_next(client: TestClient) -> None:
    token = csrf_from(client.get("/login").text)
    resp = client.post(
        "/login",
        data={
            "username": "cleo",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/x",
        },
        follow_redirects=False,
    )
    assert resp.status_code == 303 and resp.headers["location"] == "/"


def test_inactive_user_cannot_log_in(client: TestClient) -> None:
    token = csrf_from(client.get("/login").text)
    resp = client.post(
        "/login", data={"username": "gone", "password": PASSWORD, "csrf_token": token}
    )
    assert resp.status_code == 401


def test_login_throttled_after_repeated_failures(client: TestClient) -> None:
    token = csrf_from(client.get("/login").text)
    statuses = []
    for _ in range(5):
        resp = client.post(
            "/login", data={"username": "ada", "password": "wrong", "csrf_token": token}
        )
        statuses.append(resp.status_code)
    # three free failures, then the name backs off (2 s, 4 s, …) from this address
    assert statuses[:3] == [401, 401, 401] and 429 in statuses[3:]
    resp = client.post(
        "/login", data={"username": "ada", "password": PASSWORD, "csrf_token": token}
    )
    assert resp.status_code == 429
    assert 0 < int(resp.headers["retry-after"]) <= 60
    assert "Too many failed attempts" in resp.text
    # another account from the same address is not locked out
    resp = client.post(
        "/login",
        data={"username": "cleo", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert resp.status_code == 303


def test_throttle_backoff_per_name_and_limit_per_address() -> None:
    now = [1000.0]
    rule = ThrottleRule(free=3, max_backoff_s=60, address_max=5, window_s=900)
    throttle = LoginThrottle(rule, clock=lambda: now[0])
    assert [throttle.begin("Ann", "10.0.0.1") for _ in range(3)] == [0, 0, 0]
    assert throttle.begin("ann", "10.0.0.1") == 2  # names compare case-insensitively
    assert throttle.begin("ann", "10.0.0.2") == 0  # a clean address is not held back
    now[0] += 4  # 4 failures of the name: the next waits 4 s after the last one
    assert throttle.begin("ann", "10.0.0.1") == 0
    assert throttle.begin("ann", "10.0.0.1") == 8  # 5 failures of the name: 2**3 s
    now[0] += 10
    throttle.succeeded("ann", "10.0.0.2")  # the right password clears the name's count
    assert throttle.begin("ann", "10.0.0.1") == 0
    # the address limit: 5 failures from one address, whatever the names
    # the address limit: 5 failures from one address, whatever the names (ann's were cleared)
    assert [throttle.begin(n, "10.0.0.1") for n in ("b", "c", "d", "e")] == [0, 0, 0, 0]
    assert throttle.begin("f", "10.0.0.1") > 0
    now[0] += 901
    assert throttle.begin("f", "10.0.0.1") == 0


# Role × endpoint matrix for this slice: expected status per role (None = anonymous).
MATRIX = [
    ("GET", "/api/v1/calc", {"admin": 200, "clinician": 200, "researcher": 200, None: 401}),
    ("POST", "/api/v1/calc/egfr", {"admin": 200, "clinician": 200, "researcher": 200, None: 401}),
    ("GET", "/api/v1/schema/case", {"admin": 200, "clinician": 200, "researcher": 200, None: 401}),
    ("POST", "/api/v1/recommend", {"admin": 200, "clinician": 200, "researcher": 403, None: 401}),
]
ROLE_USER = {"admin": "ada", "clinician": "cleo", "researcher": "rhea"}


@pytest.mark.parametrize(("method", "path", "expected"), MATRIX)
def test_api_role_matrix(client: TestClient, method: str, path: str, expected: dict) -> None:  # type: ignore[type-arg]
    payload = EGFR if path.endswith("egfr") else {}
    for role, status in expected.items():
        headers = bearer(ROLE_USER[role]) if role else {}
        resp = client.request(
            method, path, json=payload if method == "POST" else None, headers=headers
        )
        assert resp.status_code == status, (role, path, resp.text)


# UI pages per role: (case evaluation, calculators, user admin).  Researchers may use the
# blank case form (nothing saved, no patient read); saved board cases are clinical only.
@pytest.mark.parametrize(
    ("user", "statuses"),
    [("ada", (200, 200, 200)), ("cleo", (200, 200, 403)), ("rhea", (200, 200, 403))],
)
def test_ui_role_matrix(app: FastAPI, user: str, statuses: tuple[int, int, int]) -> None:
    with TestClient(app) as c:
        login(c, user)
        got = tuple(c.get(p).status_code for p in ("/case", "/calculators", "/admin/users"))
        assert got == statuses
