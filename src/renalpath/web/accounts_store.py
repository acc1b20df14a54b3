"""`AccountStore` and the login throttle backed by the registry database (users, api_tokens
and login_failures tables).

Each call uses its own short transaction: a login or a token check must never hold a
connection across a request, and SQLite allows one writer at a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from sqlalchemy import Engine

from renalpath.registry import accounts
from renalpath.registry.db import make_engine
from renalpath.web.auth import PASSWORDS, Principal, Role


def _principal(acc: accounts.Account, via: Literal["session", "token"] = "session") -> Principal:
    role: Role = acc.role  # type: ignore[assignment]  # checked on write (accounts.ROLES)
    return Principal(acc.id, acc.name, role, via, acc.session_version)


class SqlAccountStore:
    def __init__(self, url_or_engine: str | Engine) -> None:
        self.engine = (
            make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
        )

    def authenticate(self, name: str, password: str) -> Principal | None:
        with self.engine.connect() as conn:
            found = accounts.password_hash_of(conn, name)
        if found is None:
            PASSWORDS.hash(password)  # same cost for unknown names: no enumeration by timing
            return None
        account, pw_hash = found
        if not PASSWORDS.verify(password, pw_hash) or not account.active:
            return None
        return _principal(account)

    def get(self, user_id: int) -> Principal | None:
        with self.engine.connect() as conn:
            acc = accounts.get_user(conn, user_id)
        return _principal(acc) if acc is not None and acc.active else None

    def principal_for_token(self, token: str) -> Principal | None:
        with self.engine.connect() as conn:
            acc = accounts.account_for_token(conn, token)
        return _principal(acc, "token") if acc is not None else None

    def list_users(self) -> list[accounts.Account]:
        with self.engine.connect() as conn:
            return accounts.list_users(conn)

    def create_user(
        self, name: str, role: str, password: str, actor: str, reason: str | None
    ) -> accounts.Account:
        accounts.check_password(password, name)
        with self.engine.begin() as conn:
            return accounts.create_user(conn, name, role, PASSWORDS.hash(password), actor, reason)

    def set_active(self, name: str, active: bool, actor: str, reason: str | None) -> None:
        with self.engine.begin() as conn:
            accounts.set_active(conn, name, active, actor, reason)

    def issue_token(
        self, name: str, label: str, actor: str, reason: str | None, max_age_days: int = 90
    ) -> str:
        with self.engine.begin() as conn:
            return accounts.issue_token(conn, name, label, actor, reason, max_age_days)

    def list_tokens(self, name: str | None = None) -> list[accounts.TokenInfo]:
        with self.engine.connect() as conn:
            return accounts.list_tokens(conn, name)

    def revoke_token(self, token_id: int, actor: str, reason: str | None) -> accounts.TokenInfo:
        with self.engine.begin() as conn:
            return accounts.revoke_token(conn, token_id, actor, reason)

    def end_sessions(self, user_id: int) -> None:
        with self.engine.begin() as conn:
            accounts.end_sessions(conn, user_id)

    def change_password(
        self, name: str, current: str, new: str, actor: str, reason: str | None
    ) -> int:
        """Check the current password, then set the new one (ending other sessions)."""
        with self.engine.connect() as conn:
            found = accounts.password_hash_of(conn, name)
        if found is None or not PASSWORDS.verify(current, found[1]):
            raise accounts.AccountError("current password: wrong password")
        accounts.check_password(new, name)
        with self.engine.begin() as conn:
            return accounts.set_password(conn, name, PASSWORDS.hash(new), actor, reason)


class SqlLoginThrottle:
    """`accounts.ThrottleRule` counted in the database instead of in one process.

    With N uvicorn workers an in-memory count would allow N × the attempts (each worker
    counts its own); here every worker — and every server on the same database — counts in
    the same rows, atomically (see `accounts.admit_login`).
    """

    def __init__(
        self,
        engine: Engine,
        rule: accounts.ThrottleRule,
        clock: Callable[[], float] = time.time,  # wall clock: comparable between processes
    ) -> None:
        self.engine = engine
        self.rule = rule
        self.clock = clock

    def begin(self, name: str, address: str) -> int:
        """Seconds to wait; 0 admits the attempt (a failure until `succeeded`)."""
        with self.engine.begin() as conn:
            return accounts.admit_login(conn, name, address, self.clock(), self.rule)

    def succeeded(self, name: str, address: str) -> None:
        with self.engine.begin() as conn:
            accounts.clear_login_failures(conn, name, address)
