"""User accounts and API tokens, stored beside the registry they protect.

Only hashes are stored: the password hash (Argon2id, computed by the caller — the web layer
owns the hashing policy) and SHA-256 of each API token.  A token is a 256-bit random string,
so a fast hash is enough to make a stolen database useless for calling the API; unlike a
password it cannot be guessed, which is why tokens do not need Argon2.

Every account change is written to the hash-chained audit trail (entity `user` / `api_token`)
with the actor and a reason; hashes themselves are never written to the trail.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Connection,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from renalpath.errors import Refusal
from renalpath.registry import audit
from renalpath.registry.models import Base

ROLES = ("admin", "clinician", "researcher")
NAME_MAX = 64
TOKEN_PREFIX = "rp_"  # recognisable in logs and secret scanners
LOGIN_KEY_MAX = 200  # a typed login name is stored (casefolded) up to this length


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'clinician', 'researcher')", name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[str] = mapped_column(String(40))  # ISO 8601 UTC, as the audit trail


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    label: Mapped[str] = mapped_column(String(NAME_MAX))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[str] = mapped_column(String(40))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class LoginFailure(Base):
    """One failed login, kept only while it counts (the throttle's window).

    Shared by every worker process of a server (and every server on the same database), so
    N workers do not allow N times the attempts; `at` is wall-clock epoch seconds because a
    monotonic clock is not comparable between processes.
    """

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key", "name_key", "address", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name_key: Mapped[str] = mapped_column(String(LOGIN_KEY_MAX))  # casefolded login name
    address: Mapped[str] = mapped_column(String(64))  # client address
    at: Mapped[float] = mapped_column(Float, index=True)


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    role: str
    active: bool


class AccountError(Refusal, ValueError):
    """A refused account change (duplicate name, unknown role, …), with the reason."""


_COLS = (User.id, User.name, User.role, User.active)


def _account(row: Any) -> Account:  # a Row of _COLS (Row typing is per-query)
    return Account(int(row.id), str(row.name), str(row.role), bool(row.active))


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > NAME_MAX or any(c.isspace() for c in cleaned):
        raise AccountError(
            f"user name {name!r} is not allowed (allowed: 1–{NAME_MAX} characters, no spaces)"
        )
    return cleaned


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"role {role!r} is not allowed (allowed: {', '.join(ROLES)})")
    return role


def create_user(
    conn: Connection, name: str, role: str, password_hash: str, actor: str, reason: str | None
) -> Account:
    """Insert a user on the caller's transaction; refuse duplicates by name."""
    name = check_name(name)
    role = check_role(role)
    if conn.execute(select(User.id).where(User.name == name)).first() is not None:
        raise AccountError(f"user {name!r} already exists")
    at = audit.now_utc()
    uid = conn.execute(
        insert(User).values(
            name=name, role=role, password_hash=password_hash, active=True, created_at=at
        )
    ).inserted_primary_key
    assert uid is not None
    record = json.dumps({"name": name, "role": role, "active": True}, sort_keys=True)
    audit.append(conn, [audit.Change("insert", "user", name, None, None, record)], actor, reason)
    return Account(int(uid[0]), name, role, True)


def set_password(
    conn: Connection, name: str, password_hash: str, actor: str, reason: str | None
) -> None:
    found = conn.execute(update(User).where(User.name == name).values(password_hash=password_hash))
    if found.rowcount == 0:
        raise AccountError(f"no user named {name!r}")
    audit.append(
        conn, [audit.Change("update", "user", name, "password", None, "(changed)")], actor, reason
    )


def set_active(conn: Connection, name: str, active: bool, actor: str, reason: str | None) -> None:
    row = conn.execute(select(User.active).where(User.name == name)).first()
    if row is None:
        raise AccountError(f"no user named {name!r}")
    if bool(row[0]) == active:
        return
    conn.execute(update(User).where(User.name == name).values(active=active))
    change = audit.Change(
        "update", "user", name, "active", str(not active).lower(), str(active).lower()
    )
    audit.append(conn, [change], actor, reason)


def password_hash_of(conn: Connection, name: str) -> tuple[Account, str] | None:
    row = conn.execute(select(*_COLS, User.password_hash).where(User.name == name)).first()
    if row is None:
        return None
    return _account(row), str(row.password_hash)


# Built once: these two run on every authenticated request, and building a SELECT (and its
# cache key) costs several times more than SQLite takes to answer it.
_USER_BY_ID = select(*_COLS).where(User.id == bindparam("user_id"))
_USER_BY_TOKEN = (
    select(*_COLS)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_sha256 == bindparam("digest"), ApiToken.revoked.is_(False))
)


def get_user(conn: Connection, user_id: int) -> Account | None:
    found = conn.execute(_USER_BY_ID, {"user_id": user_id}).first()
    return _account(found) if found is not None else None


def list_users(conn: Connection) -> list[Account]:
    return [_account(r) for r in conn.execute(select(*_COLS).order_by(User.name))]


def issue_token(conn: Connection, name: str, label: str, actor: str, reason: str | None) -> str:
    """Create an API token for user `name`; the token is returned once and never stored."""
    row = conn.execute(select(User.id).where(User.name == name)).first()
    if row is None:
        raise AccountError(f"no user named {name!r}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        insert(ApiToken).values(
            user_id=row[0],
            label=label[:NAME_MAX],
            token_sha256=token_digest(token),
            created_at=audit.now_utc(),
            revoked=False,
        )
    )
    record = json.dumps({"user": name, "label": label}, sort_keys=True)
    audit.append(
        conn, [audit.Change("insert", "api_token", name, None, None, record)], actor, reason
    )
    return token


def revoke_tokens(conn: Connection, name: str, actor: str, reason: str | None) -> int:
    row = conn.execute(select(User.id).where(User.name == name)).first()
    if row is None:
        raise AccountError(f"no user named {name!r}")
    done = conn.execute(
        update(ApiToken)
        .where(ApiToken.user_id == row[0], ApiToken.revoked.is_(False))
        .values(revoked=True)
    ).rowcount
    if done:
        change = audit.Change("update", "api_token", name, "revoked", "false", f"true ({done})")
        audit.append(conn, [change], actor, reason)
    return int(done)


def account_for_token(conn: Connection, token: str) -> Account | None:
    """The active user holding an unrevoked token, or None."""
    row = conn.execute(_USER_BY_TOKEN, {"digest": token_digest(token)}).first()
    if row is None or not row.active:
        return None
    return _account(row)


# --------------------------------------------------------------------- login throttling


def login_key(name: str) -> str:
    """Names compare case-insensitively (as the in-memory throttle does)."""
    return name.casefold()[:LOGIN_KEY_MAX]


def recent_login_failures(
    conn: Connection, name: str, address: str, since: float
) -> tuple[int, float | None]:
    """(count, earliest time) of the failures for name and address after `since`."""
    row = conn.execute(
        select(func.count(), func.min(LoginFailure.at)).where(
            LoginFailure.name_key == login_key(name),
            LoginFailure.address == address[:64],
            LoginFailure.at > since,
        )
    ).one()
    return int(row[0]), (float(row[1]) if row[1] is not None else None)


def record_login_failure(
    conn: Connection, name: str, address: str, at: float, forget_before: float
) -> None:
    """Add one failure; drop every failure that no longer counts (older than the window)."""
    conn.execute(delete(LoginFailure).where(LoginFailure.at <= forget_before))
    conn.execute(insert(LoginFailure).values(name_key=login_key(name), address=address[:64], at=at))


def clear_login_failures(conn: Connection, name: str, address: str) -> None:
    conn.execute(
        delete(LoginFailure).where(
            LoginFailure.name_key == login_key(name), LoginFailure.address == address[:64]
        )
    )
