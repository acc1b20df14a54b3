"""Login throttling shared through the database: N workers must not mean N × the attempts.

Two app instances on one database stand in for two uvicorn worker processes (each has its
own app and its own engine); without a database the in-memory throttle stays in use.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from renalpath.registry import accounts
from renalpath.registry.db import make_engine, upgrade
from renalpath.web.accounts_store import SqlLoginThrottle
from renalpath.web.app import create_app
from renalpath.web.auth import PASSWORDS, LoginThrottle, MemoryAccountStore, login_throttle
from renalpath.web.settings import WebSettings

from .conftest import csrf_from

PASSWORD = "a long enough password"  # stored directly: no policy check here
MAX_FAILURES = 3


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'throttle.db'}")
    upgrade(eng)
    with eng.begin() as conn:
        accounts.create_user(conn, "nora", "clinician", PASSWORDS.hash(PASSWORD), "test", "setup")
    yield eng
    eng.dispose()


def _settings(engine: Engine) -> WebSettings:
    return WebSettings(
        secret_key="k", database_url=str(engine.url), login_max_failures=MAX_FAILURES
    )


def _attempt(client: TestClient, password: str) -> int:
    token = csrf_from(client.get("/login").text)
    resp = client.post(
        "/login",
        data={"username": "nora", "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    status: int = resp.status_code
    return status


def test_two_app_instances_share_one_count(engine: Engine) -> None:
    with (
        TestClient(create_app(_settings(engine))) as worker_a,
        TestClient(create_app(_settings(engine))) as worker_b,
    ):
        # failures alternate between the two "workers"; each alone has seen fewer than the
        # limit, together they have reached it
        statuses = [_attempt(c, "wrong password!") for c in (worker_a, worker_b, worker_a)]
        assert statuses == [401] * MAX_FAILURES
        # now both refuse, even the right password, and say when to come back
        assert _attempt(worker_b, PASSWORD) == 429
        assert _attempt(worker_a, PASSWORD) == 429
        token = csrf_from(worker_b.get("/login").text)
        resp = worker_b.post(
            "/login", data={"username": "NORA", "password": PASSWORD, "csrf_token": token}
        )
        assert resp.status_code == 429  # names compare case-insensitively
        assert 0 < int(resp.headers["Retry-After"]) <= 15 * 60


def test_success_clears_the_shared_count(engine: Engine) -> None:
    with (
        TestClient(create_app(_settings(engine))) as worker_a,
        TestClient(create_app(_settings(engine))) as worker_b,
    ):
        for _ in range(MAX_FAILURES - 1):
            assert _attempt(worker_a, "wrong password!") == 401
        assert _attempt(worker_b, PASSWORD) == 303
        worker_b.cookies.clear()
        # the count started again: the limit is again MAX_FAILURES failures away
        for _ in range(MAX_FAILURES - 1):
            assert _attempt(worker_b, "wrong password!") == 401
        assert _attempt(worker_a, PASSWORD) == 303


def test_sql_throttle_window_and_keys(engine: Engine) -> None:
    now = [1_000_000.0]
    rule = accounts.ThrottleRule(free=2, max_backoff_s=60, address_max=4, window_s=900)
    throttle = SqlLoginThrottle(engine, rule, clock=lambda: now[0])
    other = SqlLoginThrottle(engine, rule, clock=lambda: now[0])
    assert throttle.begin("Ann", "10.0.0.1") == 0
    assert other.begin("ann", "10.0.0.1") == 0
    assert other.begin("ANN", "10.0.0.1") == 2  # shared count, names case-insensitive
    assert other.begin("ann", "10.0.0.2") == 0  # a clean address is not held back
    assert other.begin("bob", "10.0.0.1") == 0  # per name
    assert other.begin("bob", "10.0.0.3") == 0
    assert other.begin("carl", "10.0.0.1") == 0  # 4th failure from the address (refused
    assert other.begin("dave", "10.0.0.1") > 0  # attempts are not kept): the limit is reached
    now[0] += 901  # every failure leaves the window
    assert throttle.begin("ann", "10.0.0.1") == 0
    with engine.connect() as conn:
        count = select(func.count()).select_from(accounts.LoginFailure)
        assert conn.execute(count).scalar_one() == 1  # older rows dropped on the way
    throttle.succeeded("Ann", "10.0.0.1")
    with engine.connect() as conn:
        assert conn.execute(count).scalar_one() == 0


def test_memory_throttle_without_database() -> None:
    assert isinstance(login_throttle(WebSettings(), MemoryAccountStore()), LoginThrottle)


def test_database_throttle_even_with_memory_accounts(engine: Engine) -> None:
    throttle = login_throttle(_settings(engine), MemoryAccountStore())
    assert isinstance(throttle, SqlLoginThrottle)
