"""`AccountStore` backed by the registry database (users and api_tokens tables).

Each call uses its own short transaction: a login or a token check must never hold a
connection across a request, and SQLite allows one writer at a time.
"""

from __future__ import annotations

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
