"""Who is asking: session or bearer-token principals, roles, and login throttling.

The web layer talks to accounts only through `AccountStore`, so the routes, the role checks
and the throttle are the same whether accounts live in the registry database (production,
demo) or in memory (unit tests of the web layer alone). The role checks routes depend on
(`any_user`, `clinical_user`, `admin_user`) are in `deps.py`, built on `current_principal`.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from fastapi import HTTPException, Request

from renalpath.registry.accounts import (
    TOKEN_PREFIX,
    Account,
    AccountError,
    FailureCounts,
    ThrottleRule,
    TokenInfo,
    check_name,
    check_password,
    check_role,
    login_key,
    login_wait,
    name_skeleton,
)
from renalpath.web.passwords import PASSWORDS as PASSWORDS  # the name the callers import
from renalpath.web.settings import WebSettings

Role = Literal["admin", "clinician", "researcher"]
ROLES: tuple[Role, ...] = ("admin", "clinician", "researcher")


@dataclass(frozen=True)
class Principal:
    user_id: int
    name: str
    role: Role
    via: Literal["session", "token"] = "session"
    session_version: int = 1


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

    def issue_token(
        self, name: str, label: str, actor: str, reason: str | None, max_age_days: int = 90
    ) -> str: ...

    def list_tokens(self, name: str | None = None) -> list[TokenInfo]: ...

    def revoke_token(self, token_id: int, actor: str, reason: str | None) -> TokenInfo: ...

    def end_sessions(self, user_id: int) -> None: ...

    def change_password(
        self, name: str, current: str, new: str, actor: str, reason: str | None
    ) -> int: ...


@dataclass
class _MemUser:
    name: str
    role: Role
    pw_hash: str
    active: bool
    version: int = 1


@dataclass
class _MemToken:
    user_id: int
    label: str
    expires: float
    revoked: bool = False


@dataclass
class MemoryAccountStore:
    """Accounts in memory: tests of the web layer, and a fallback when no database is set."""

    _users: dict[int, _MemUser] = field(default_factory=dict)
    _tokens: dict[str, _MemToken] = field(default_factory=dict)

    def add(self, name: str, password: str, role: Role, active: bool = True) -> int:
        uid = len(self._users) + 1
        self._users[uid] = _MemUser(name, role, PASSWORDS.hash(password), active)
        return uid

    def add_token(self, user_id: int, token: str, expires: float = float("inf")) -> None:
        self._tokens[token] = _MemToken(user_id, "test", expires)

    def _principal(self, uid: int, via: Literal["session", "token"] = "session") -> Principal:
        u = self._users[uid]
        return Principal(uid, u.name, u.role, via, u.version)

    def authenticate(self, name: str, password: str) -> Principal | None:
        for uid, u in self._users.items():
            if u.name == name:
                ok = PASSWORDS.verify(password, u.pw_hash)
                return self._principal(uid) if ok and u.active else None
        PASSWORDS.hash(password)  # same cost for unknown names: no user enumeration by timing
        return None

    def get(self, user_id: int) -> Principal | None:
        u = self._users.get(user_id)
        return self._principal(user_id) if u is not None and u.active else None

    def principal_for_token(self, token: str) -> Principal | None:
        t = self._tokens.get(token)
        if t is None or t.revoked or t.expires <= time.time():
            return None
        p = self.get(t.user_id)
        return self._principal(p.user_id, "token") if p else None

    def _uid(self, name: str) -> int:
        for uid, u in self._users.items():
            if u.name == name:
                return uid
        raise AccountError(f"no user named {name!r}")

    def list_users(self) -> list[Account]:
        rows = sorted(self._users.items(), key=lambda kv: kv[1].name)
        return [Account(uid, u.name, u.role, u.active, u.version) for uid, u in rows]

    def create_user(
        self, name: str, role: str, password: str, actor: str, reason: str | None
    ) -> Account:
        name, role_ = check_name(name), check_role(role)
        check_password(password, name)
        skeleton = name_skeleton(name)
        for u in self._users.values():
            if u.name == name:
                raise AccountError(f"user {name!r} already exists")
            if name_skeleton(u.name) == skeleton:
                raise AccountError(f"user name {name!r} looks the same as the existing {u.name!r}")
        uid = self.add(name, password, role_)  # type: ignore[arg-type]  # checked above
        return Account(uid, name, role_, True)

    def _revoke_all(self, uid: int) -> None:
        for t in self._tokens.values():
            if t.user_id == uid:
                t.revoked = True

    def set_active(self, name: str, active: bool, actor: str, reason: str | None) -> None:
        uid = self._uid(name)
        u = self._users[uid]
        if u.active != active:
            u.active, u.version = active, u.version + 1
            if not active:
                self._revoke_all(uid)

    def issue_token(
        self, name: str, label: str, actor: str, reason: str | None, max_age_days: int = 90
    ) -> str:
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self._tokens[token] = _MemToken(self._uid(name), label, time.time() + max_age_days * 86400)
        return token

    def list_tokens(self, name: str | None = None) -> list[TokenInfo]:
        return [
            TokenInfo(i, self._users[t.user_id].name, t.label, "", None, t.revoked)
            for i, t in enumerate(self._tokens.values(), start=1)
            if name is None or self._users[t.user_id].name == name
        ]

    def revoke_token(self, token_id: int, actor: str, reason: str | None) -> TokenInfo:
        for i, t in enumerate(self._tokens.values(), start=1):
            if i == token_id:
                t.revoked = True
                return TokenInfo(i, self._users[t.user_id].name, t.label, "", None, True)
        raise AccountError(f"no API token with id {token_id}")

    def end_sessions(self, user_id: int) -> None:
        if user_id in self._users:
            self._users[user_id].version += 1

    def change_password(
        self, name: str, current: str, new: str, actor: str, reason: str | None
    ) -> int:
        uid = self._uid(name)
        u = self._users[uid]
        if not PASSWORDS.verify(current, u.pw_hash):
            raise AccountError("current password: wrong password")
        check_password(new, name)
        u.pw_hash, u.version = PASSWORDS.hash(new), u.version + 1
        self._revoke_all(uid)
        return u.version


class LoginThrottle:
    """`ThrottleRule` counted in this process's memory (no database configured)."""

    def __init__(self, rule: ThrottleRule, clock: Callable[[], float] = time.monotonic) -> None:
        self.rule = rule
        self.clock = clock
        self._failures: list[tuple[str, str, float]] = []  # (name key, address, at)
        self._lock = threading.Lock()

    def begin(self, name: str, address: str) -> int:
        """Seconds to wait; 0 admits the attempt (a failure until `succeeded`)."""
        key = login_key(name)
        with self._lock:
            now = self.clock()
            self._failures = [f for f in self._failures if f[2] > now - self.rule.window_s]
            by_name = [f[2] for f in self._failures if f[0] == key]
            by_address = [f[2] for f in self._failures if f[1] == address]
            counts = FailureCounts(
                sum(1 for f in self._failures if f[0] == key and f[1] == address),
                len(by_name),
                max(by_name, default=None),
                len(by_address),
                min(by_address, default=None),
            )
            wait = login_wait(counts, now, self.rule)
            if not wait:
                self._failures.append((key, address, now))
            return wait

    def succeeded(self, name: str, address: str) -> None:
        key = login_key(name)
        with self._lock:
            self._failures = [f for f in self._failures if f[0] != key]


class Throttle(Protocol):
    """What the login route needs: `LoginThrottle` (memory) or `SqlLoginThrottle` (database)."""

    def begin(self, name: str, address: str) -> int: ...

    def succeeded(self, name: str, address: str) -> None: ...


def throttle_rule(settings: WebSettings) -> ThrottleRule:
    return ThrottleRule(
        free=settings.login_free_failures,
        max_backoff_s=settings.login_max_backoff_s,
        address_max=settings.login_max_failures,
        window_s=settings.login_window_s,
    )


def login_throttle(settings: WebSettings, store: AccountStore) -> Throttle:
    """Shared through the database when one is configured, else in this process's memory.

    Several worker processes (`serve --workers N`) must share one count, or each would allow
    the attempts of its own.
    """
    if not settings.database_url:
        return LoginThrottle(throttle_rule(settings))
    from renalpath.registry.db import make_engine
    from renalpath.web.accounts_store import SqlAccountStore, SqlLoginThrottle

    engine = (
        store.engine if isinstance(store, SqlAccountStore) else make_engine(settings.database_url)
    )
    return SqlLoginThrottle(engine, throttle_rule(settings))


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
        principal = _session_principal(request)
    request.state.principal = principal
    return principal


def start_session(request: Request, principal: Principal) -> None:
    """A fresh session (and CSRF token) for a newly authenticated user."""
    request.session.clear()
    request.session["uid"] = principal.user_id
    request.session["sv"] = principal.session_version
    request.session["iat"] = int(time.time())


def _session_principal(request: Request) -> Principal | None:
    """The session's user while the session is valid.

    A session ends when its user is removed or deactivated, when the user's session version
    has moved on (logout, password change, deactivation: on every browser), and at the
    absolute lifetime counted from login (the cookie is re-signed on every response, so its
    own expiry would slide forever).
    """
    uid, version, issued = (request.session.get(k) for k in ("uid", "sv", "iat"))
    if uid is None:
        return None
    principal = store_of(request).get(uid) if isinstance(uid, int) else None
    max_age = request.app.state.settings.session_max_age_s
    if (
        principal is None
        or version != principal.session_version
        or not isinstance(issued, int)
        or time.time() - issued > max_age
    ):
        request.session.clear()
        return None
    return principal


class LoginRequired(Exception):
    """Raised for an anonymous browser request; the app turns it into a redirect to /login."""
