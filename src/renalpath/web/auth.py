"""Who is asking: session or bearer-token principals, roles, and login throttling.

The web layer talks to accounts only through `AccountStore`, so the routes, the role checks
and the throttle are the same whether accounts live in the registry database (production,
demo) or in memory (unit tests of the web layer alone).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from fastapi import HTTPException, Request
from pwdlib import PasswordHash

from renalpath.registry.accounts import (
    TOKEN_PREFIX,
    Account,
    AccountError,
    check_name,
    check_role,
)
from renalpath.web.settings import WebSettings

Role = Literal["admin", "clinician", "researcher"]
ROLES: tuple[Role, ...] = ("admin", "clinician", "researcher")

# pwdlib's recommended profile = Argon2id with its current defaults (anchors §3).
PASSWORDS = PasswordHash.recommended()
MIN_PASSWORD_LENGTH = 10  # [P] project rule; NIST SP 800-63B asks for at least 8


@dataclass(frozen=True)
class Principal:
    user_id: int
    name: str
    role: Role
    via: Literal["session", "token"] = "session"


def check_password(password: str) -> str:
    """Refuse a password that is too short (same rule for the CLI and the admin page)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            f"password: too short (allowed: at least {MIN_PASSWORD_LENGTH} characters)"
        )
    return password


class AccountStore(Protocol):
    """What the web layer needs from wherever accounts are kept.

    Changes take the acting user and a reason, which the database store writes to the audit
    trail; refusals raise AccountError with the reason.
    """

    def authenticate(self, name: str, password: str) -> Principal | None: ...

    def get(self, user_id: int) -> Principal | None: ...

    def principal_for_token(self, token: str) -> Principal | None: ...

    def list_users(self) -> list[Account]: ...

    def create_user(
        self, name: str, role: str, password: str, actor: str, reason: str | None
    ) -> Account: ...

    def set_active(self, name: str, active: bool, actor: str, reason: str | None) -> None: ...

    def issue_token(self, name: str, label: str, actor: str, reason: str | None) -> str: ...


@dataclass
class MemoryAccountStore:
    """Accounts in memory: tests of the web layer, and a fallback when no database is set."""

    _users: dict[int, tuple[str, Role, str, bool]] = field(default_factory=dict)
    _tokens: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, password: str, role: Role, active: bool = True) -> int:
        uid = len(self._users) + 1
        self._users[uid] = (name, role, PASSWORDS.hash(password), active)
        return uid

    def add_token(self, user_id: int, token: str) -> None:
        self._tokens[token] = user_id

    def authenticate(self, name: str, password: str) -> Principal | None:
        for uid, (uname, role, pw_hash, active) in self._users.items():
            if uname == name:
                ok = PASSWORDS.verify(password, pw_hash)
                return Principal(uid, uname, role) if ok and active else None
        PASSWORDS.hash(password)  # same cost for unknown names: no user enumeration by timing
        return None

    def get(self, user_id: int) -> Principal | None:
        row = self._users.get(user_id)
        if row is None or not row[3]:
            return None
        return Principal(user_id, row[0], row[1])

    def principal_for_token(self, token: str) -> Principal | None:
        uid = self._tokens.get(token)
        p = self.get(uid) if uid is not None else None
        return Principal(p.user_id, p.name, p.role, "token") if p else None

    def _uid(self, name: str) -> int:
        for uid, row in self._users.items():
            if row[0] == name:
                return uid
        raise AccountError(f"no user named {name!r}")

    def list_users(self) -> list[Account]:
        rows = sorted(self._users.items(), key=lambda kv: kv[1][0])
        return [Account(uid, r[0], r[1], r[3]) for uid, r in rows]

    def create_user(
        self, name: str, role: str, password: str, actor: str, reason: str | None
    ) -> Account:
        name, role_ = check_name(name), check_role(role)
        check_password(password)
        if any(r[0] == name for r in self._users.values()):
            raise AccountError(f"user {name!r} already exists")
        uid = self.add(name, password, role_)  # type: ignore[arg-type]  # checked above
        return Account(uid, name, role_, True)

    def set_active(self, name: str, active: bool, actor: str, reason: str | None) -> None:
        uid = self._uid(name)
        uname, role, pw_hash, _ = self._users[uid]
        self._users[uid] = (uname, role, pw_hash, active)

    def issue_token(self, name: str, label: str, actor: str, reason: str | None) -> str:
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self._tokens[token] = self._uid(name)
        return token


class LoginThrottle:
    """Refuse logins for a (user name, client address) pair after repeated failures.

    Counting per name *and* address keeps one attacker from locking every account holder out
    from everywhere, while still stopping password guessing against one account.
    """

    def __init__(
        self, max_failures: int, window_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        now = self.clock()
        q = self._failures.setdefault(key, deque())
        while q and now - q[0] >= self.window_s:
            q.popleft()
        return q

    def retry_after(self, name: str, address: str) -> int:
        """Seconds until the next attempt is allowed; 0 when not locked."""
        with self._lock:
            q = self._recent((name.casefold(), address))
            if len(q) < self.max_failures:
                return 0
            return max(1, int(q[0] + self.window_s - self.clock()) + 1)

    def failed(self, name: str, address: str) -> None:
        with self._lock:
            self._recent((name.casefold(), address)).append(self.clock())

    def succeeded(self, name: str, address: str) -> None:
        with self._lock:
            self._failures.pop((name.casefold(), address), None)


class Throttle(Protocol):
    """What the login route needs: `LoginThrottle` (memory) or `SqlLoginThrottle` (database)."""

    def retry_after(self, name: str, address: str) -> int: ...

    def failed(self, name: str, address: str) -> None: ...

    def succeeded(self, name: str, address: str) -> None: ...


def login_throttle(settings: WebSettings, store: AccountStore) -> Throttle:
    """Shared through the database when one is configured, else in this process's memory.

    Several worker processes (`serve --workers N`) must share one count, or each would allow
    `login_max_failures` attempts of its own.
    """
    if not settings.database_url:
        return LoginThrottle(settings.login_max_failures, settings.login_window_s)
    from renalpath.registry.db import make_engine
    from renalpath.web.accounts_store import SqlAccountStore, SqlLoginThrottle

    engine = (
        store.engine if isinstance(store, SqlAccountStore) else make_engine(settings.database_url)
    )
    return SqlLoginThrottle(engine, settings.login_max_failures, settings.login_window_s)


def store_of(request: Request) -> AccountStore:
    store: AccountStore = request.app.state.accounts
    return store


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def current_principal(request: Request) -> Principal | None:
    """The caller, from a bearer token or the session cookie; None when anonymous.

    A bearer token that does not resolve is an error (401), not "anonymous": a script with a
    revoked token must be told so.
    """
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    token = bearer_token(request)
    principal: Principal | None
    if token is not None:
        principal = store_of(request).principal_for_token(token)
        if principal is None:
            raise HTTPException(401, "invalid or revoked API token", {"WWW-Authenticate": "Bearer"})
    else:
        uid = request.session.get("uid")
        principal = store_of(request).get(uid) if isinstance(uid, int) else None
        if principal is None and uid is not None:
            request.session.pop("uid", None)  # user removed or deactivated: end the session
    request.state.principal = principal
    return principal


class LoginRequired(Exception):
    """Raised for an anonymous browser request; the app turns it into a redirect to /login."""


def require_roles(*roles: Role) -> Callable[[Request], Awaitable[Principal]]:
    """Dependency factory: the caller must be logged in and hold one of `roles`.

    async on purpose: a sync dependency costs a thread hand-off on every request, more than
    the indexed account lookup it performs.
    """
    allowed: Iterable[Role] = roles or ROLES

    async def dependency(request: Request) -> Principal:
        principal = current_principal(request)
        if principal is None:
            if request.url.path.startswith("/api/"):
                raise HTTPException(401, "authentication required", {"WWW-Authenticate": "Bearer"})
            raise LoginRequired()
        if principal.role not in allowed:
            raise HTTPException(403, f"role {principal.role!r} may not use this")
        return principal

    return dependency


any_user = require_roles(*ROLES)
clinical_user = require_roles("admin", "clinician")
admin_user = require_roles("admin")
