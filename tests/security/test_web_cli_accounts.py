"""`renalpath users passwd | tokens | revoke-token` and `serve` refusing a weak key (in-process)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from renalpath.cli import app
from renalpath.registry import accounts
from renalpath.registry.db import make_engine, upgrade
from renalpath.web.auth import PASSWORDS

PASSWORD = "violet tram under seven lanterns"
runner = CliRunner()


@pytest.fixture
def url(tmp_path: Path) -> str:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(db)
    upgrade(engine)
    with engine.begin() as conn:
        accounts.create_user(conn, "ann", "clinician", PASSWORDS.hash(PASSWORD), "t", "t")
    engine.dispose()
    return db


def test_passwd_refuses_weak_and_revokes_tokens(url: str) -> None:
    token = runner.invoke(app, ["users", "token", "ann", "--days", "5", "--db", url])
    assert token.exit_code == 0, token.output
    weak = runner.invoke(app, ["users", "passwd", "ann", "--password", "aaaaaaaaaa", "--db", url])
    assert weak.exit_code == 1 and "too easy to guess" in weak.output
    done = runner.invoke(
        app, ["users", "passwd", "ann", "--password", "granite otter sings at noon", "--db", url]
    )
    assert done.exit_code == 0, done.output
    listed = runner.invoke(app, ["users", "tokens", "ann", "--db", url])
    assert "revoked" in listed.output
    engine = make_engine(url)
    with engine.connect() as conn:
        assert accounts.account_for_token(conn, token.output.strip()) is None
        found = accounts.password_hash_of(conn, "ann")
    assert found is not None and PASSWORDS.verify("granite otter sings at noon", found[1])


def test_revoke_one_token(url: str) -> None:
    first = runner.invoke(app, ["users", "token", "ann", "--db", url]).output.strip()
    second = runner.invoke(app, ["users", "token", "ann", "--db", url]).output.strip()
    engine = make_engine(url)
    with engine.connect() as conn:
        ids = [t.id for t in accounts.list_tokens(conn, "ann")]
    res = runner.invoke(app, ["users", "revoke-token", str(ids[0]), "--db", url])
    assert res.exit_code == 0, res.output
    with engine.connect() as conn:
        assert accounts.account_for_token(conn, first) is None
        assert accounts.account_for_token(conn, second) is not None
    missing = runner.invoke(app, ["users", "revoke-token", "999", "--db", url])
    assert missing.exit_code == 1


def test_users_add_refuses_a_confusable_name(url: str) -> None:
    res = runner.invoke(
        app,
        ["users", "add", "\u0430nn", "--role", "admin", "--password", PASSWORD, "--db", url],
    )
    assert res.exit_code == 1


@pytest.mark.parametrize("key", [None, "changeme"])
def test_serve_refuses_a_missing_or_weak_key(
    url: str, key: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the server must not start")

    monkeypatch.setattr(uvicorn, "run", never)
    if key is None:
        monkeypatch.delenv("RENALPATH_SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("RENALPATH_SECRET_KEY", key)
    res = runner.invoke(app, ["serve", "--db", url, "--port", "1"])
    assert res.exit_code == 1 and "secret key" in res.output
