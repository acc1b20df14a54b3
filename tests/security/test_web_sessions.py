"""Sessions and tokens that end: logout, deactivation, password change, lifetimes; passwords
and user names; the login throttle cannot lock out the real user; weak keys refused."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from renalpath.registry import accounts
from renalpath.registry.db import make_engine, upgrade
from renalpath.settings import secret_problem
from renalpath.web.accounts_store import SqlLoginThrottle
from renalpath.web.app import create_app
from renalpath.web.auth import PASSWORDS
from renalpath.web.settings import InsecureSettings, WebSettings, settings_from_env
from tests.registry.registry_fixtures import _pg_engine
from tests.web.conftest import csrf_from

PASSWORD = "violet tram under seven lanterns"
NEW_PASSWORD = "granite otter sings at noon"


def _users(eng: Engine) -> None:
    upgrade(eng)
    with eng.begin() as conn:
        for name, role in (("nora", "clinician"), ("root", "admin")):
            accounts.create_user(conn, name, role, PASSWORDS.hash(PASSWORD), "test", "setup")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'sessions.db'}")
    _users(eng)
    yield eng
    eng.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """SQLite and (when configured) PostgreSQL."""
    if request.param == "sqlite":
        yield request.getfixturevalue("engine")
        return
    for eng, _url in _pg_engine(request.getfixturevalue("pg_url")):
        _users(eng)
        yield eng


def _app(engine: Engine, **kw: object) -> FastAPI:
    return create_app(WebSettings(secret_key="k" * 40, database_url=str(engine.url), **kw))  # type: ignore[arg-type]


def _login(client: TestClient, name: str = "nora", password: str = PASSWORD) -> str:
    token = csrf_from(client.get("/login").text)
    resp = client.post(
        "/login",
        data={"username": name, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    return csrf_from(client.get("/calculators/egfr").text)


def _token(engine: Engine, name: str = "nora", days: int = 90) -> str:
    with engine.begin() as conn:
        return accounts.issue_token(conn, name, "script", "test", "test", days)


def test_cookie_copied_before_logout_stops_working(any_engine: Engine) -> None:
    app = _app(any_engine)
    with TestClient(app) as browser, TestClient(app) as thief:
        csrf = _login(browser)
        thief.cookies.update(browser.cookies)
        assert thief.get("/api/v1/me").status_code == 200
        browser.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
        assert thief.get("/api/v1/me").status_code == 401


def test_deactivate_then_reactivate_revives_no_cookie_or_token(engine: Engine) -> None:
    token = _token(engine)
    with TestClient(_app(engine)) as browser:
        _login(browser)
        with engine.begin() as conn:
            accounts.set_active(conn, "nora", False, "test", "leave")
            accounts.set_active(conn, "nora", True, "test", "back")
        assert browser.get("/api/v1/me").status_code == 401
        auth = {"Authorization": f"Bearer {token}"}
        assert browser.get("/api/v1/me", headers=auth).status_code == 401


def test_password_change_ends_other_sessions_and_tokens(engine: Engine) -> None:
    token = _token(engine)
    app = _app(engine)
    with TestClient(app) as browser, TestClient(app) as other:
        csrf = _login(browser)
        _login(other)
        weak = browser.post(
            "/account/password",
            data={
                "csrf_token": csrf,
                "current": PASSWORD,
                "new": "aaaaaaaaaa",
                "confirm": "aaaaaaaaaa",
            },
        )
        assert weak.status_code == 422 and "too easy to guess" in weak.text
        wrong = browser.post(
            "/account/password",
            data={
                "csrf_token": csrf,
                "current": "nope",
                "new": NEW_PASSWORD,
                "confirm": NEW_PASSWORD,
            },
        )
        assert wrong.status_code == 422
        done = browser.post(
            "/account/password",
            data={
                "csrf_token": csrf,
                "current": PASSWORD,
                "new": NEW_PASSWORD,
                "confirm": NEW_PASSWORD,
            },
        )
        assert done.status_code == 200 and 'id="password-changed"' in done.text
        assert browser.get("/api/v1/me").status_code == 200  # this browser stays in
        assert other.get("/api/v1/me").status_code == 401
        auth = {"Authorization": f"Bearer {token}"}
        assert other.get("/api/v1/me", headers=auth).status_code == 401
    with TestClient(app) as fresh:
        _login(fresh, password=NEW_PASSWORD)


def test_session_lifetime_is_absolute_not_sliding(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = time.time()
    now = [start]
    monkeypatch.setattr(time, "time", lambda: now[0])
    with TestClient(_app(engine, session_max_age_s=100)) as browser:
        _login(browser)
        for offset in (50, 90):
            now[0] = start + offset
            assert browser.get("/api/v1/me").status_code == 200  # cookie re-issued each time
        now[0] = start + 110  # 20 s after the last request, 110 s after login
        assert browser.get("/api/v1/me").status_code == 401


def test_api_token_expires(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    token = _token(engine, days=1)
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(_app(engine)) as client:
        assert client.get("/api/v1/me", headers=auth).status_code == 200
        later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat(timespec="microseconds")
        monkeypatch.setattr(accounts.audit, "now_utc", lambda: later)
        assert client.get("/api/v1/me", headers=auth).status_code == 401


def test_one_token_revoked_the_other_still_works(engine: Engine) -> None:
    first, second = _token(engine), _token(engine)
    with TestClient(_app(engine)) as admin:
        csrf = _login(admin, "root")
        ids = [t.id for t in admin.app.state.accounts.list_tokens("nora")]  # type: ignore[attr-defined]
        resp = admin.post(
            f"/admin/tokens/{ids[0]}/revoke", data={"csrf_token": csrf}, follow_redirects=False
        )
        assert resp.status_code == 303
        me = "/api/v1/me"
        assert admin.get(me, headers={"Authorization": f"Bearer {first}"}).status_code == 401
        assert admin.get(me, headers={"Authorization": f"Bearer {second}"}).status_code == 200


@pytest.mark.parametrize("password", ["aaaaaaaaaa", "password123", "nora12345678", "qwertyuiop"])
def test_guessable_passwords_refused(password: str) -> None:
    with pytest.raises(accounts.AccountError, match="password"):
        accounts.check_password(password, "nora")


def test_confusable_user_names_refused(engine: Engine) -> None:
    with pytest.raises(accounts.AccountError, match="scripts"):
        accounts.check_name("r\u043eot")  # Cyrillic o inside a Latin name
    with engine.begin() as conn:
        accounts.create_user(conn, "ace", "clinician", "x", "test", "setup")
        with pytest.raises(accounts.AccountError, match="looks the same"):
            accounts.create_user(conn, "\u0430\u0441\u0435", "admin", "x", "test", "spoof")
        with pytest.raises(accounts.AccountError, match="looks the same"):
            accounts.create_user(conn, "ＡＣＥ", "admin", "x", "test", "fullwidth")
    assert accounts.check_name("José") == "José"


def test_others_failures_do_not_lock_out_the_right_password(engine: Engine) -> None:
    app = _app(engine)
    with TestClient(app, client=("203.0.113.9", 4000)) as attacker:
        token = csrf_from(attacker.get("/login").text)
        for _ in range(8):
            attacker.post(
                "/login", data={"username": "nora", "password": "guess!", "csrf_token": token}
            )
    with TestClient(app, client=("198.51.100.7", 4000)) as nora:
        _login(nora)


def test_simultaneous_attempts_are_counted_atomically(any_engine: Engine) -> None:
    rule = accounts.ThrottleRule(free=3, max_backoff_s=60, address_max=5, window_s=900)
    throttle = SqlLoginThrottle(any_engine, rule, clock=lambda: 1_000_000.0)
    admitted: list[int] = []
    gate = threading.Barrier(20)

    def attempt() -> None:
        gate.wait()
        admitted.append(throttle.begin("nora", "192.0.2.1"))

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(admitted).count(0) == 3  # the free attempts, not one more


@pytest.mark.parametrize(
    "key", [None, "", "changeme", "a" * 64, "abcabcabcabcabcabcabcabcabcabcabc"]
)
def test_weak_or_missing_secret_refused_outside_demo(
    key: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert secret_problem(key) is not None
    if key is None:
        monkeypatch.delenv("RENALPATH_SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("RENALPATH_SECRET_KEY", key)
    monkeypatch.delenv("RENALPATH_DEMO", raising=False)
    with pytest.raises(InsecureSettings):
        settings_from_env()
    assert settings_from_env(demo=True).demo


def test_random_secret_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    import secrets

    key = secrets.token_urlsafe(32)
    monkeypatch.setenv("RENALPATH_SECRET_KEY", key)
    assert settings_from_env().secret_key == key
