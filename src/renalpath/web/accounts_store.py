"""`AccountStore` and the login throttle backed by the registry database (users, api_tokens
and login_failures tables).

Each call uses its own short transaction: a login or a token check must never hold a
connection across a request, and SQLite allows one writer at a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Engine

from renalpath.registry import accounts
from renalpath.registry.db import make_engine
from renalpath.web.auth import PASSWORDS, Principal, Role, check_password


def _principal(acc: accounts.Account, via: str = "session") -> Principal:
    role: Role = acc.role  # type: ignore[assignment]  # checked on write (accounts.ROLES)
    return Principal(acc.id, acc.name, role, "token" if via == "token" else "session")


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
        check_password(password)
        with self.engine.begin() as conn:
            return accounts.create_user(conn, name, role, PASSWORDS.hash(password), actor, reason)

    def set_active(self, name: str, active: bool, actor: str, reason: str | None) -> None:
        with self.engine.begin() as conn:
            accounts.set_active(conn, name, active, actor, reason)

    def issue_token(self, name: str, label: str, actor: str, reason: str | None) -> str:
        with self.engine.begin() as conn:
            return accounts.issue_token(conn, name, label, actor, reason)


class SqlLoginThrottle:
    """`auth.LoginThrottle`'s rule, counted in the database instead of in one process.

    With N uvicorn workers an in-memory count would allow N × the failures (each worker
    counts its own); here every worker — and every server on the same database — reads and
    writes the same rows.  Same rule and interface: after `max_failures` failures for one
    (user name, client address) within `window_s`, further attempts wait until the oldest
    failure leaves the window; a successful login clears the pair.  Failed attempts still in
    flight on other workers (Argon2 takes a moment) are counted when they finish, as in memory.
    """

    def __init__(
        self,
        engine: Engine,
        max_failures: int,
        window_s: float,
        clock: Callable[[], float] = time.time,  # wall clock: comparable between processes
    ) -> None:
        self.engine = engine
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock

    def retry_after(self, name: str, address: str) -> int:
        """Seconds until the next attempt is allowed; 0 when not locked."""
        now = self.clock()
        with self.engine.connect() as conn:
            count, first = accounts.recent_login_failures(conn, name, address, now - self.window_s)
        if count < self.max_failures or first is None:
            return 0
        return max(1, int(first + self.window_s - now) + 1)

    def failed(self, name: str, address: str) -> None:
        now = self.clock()
        with self.engine.begin() as conn:
            accounts.record_login_failure(conn, name, address, now, now - self.window_s)

    def succeeded(self, name: str, address: str) -> None:
        with self.engine.begin() as conn:
            accounts.clear_login_failures(conn, name, address)
