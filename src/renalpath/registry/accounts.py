"""User accounts and API tokens, stored beside the registry they protect.

Only hashes are stored: the password hash (Argon2id, computed by the caller — the web layer
owns the hashing policy) and SHA-256 of each API token.  A token is a 256-bit random string,
so a fast hash is enough to make a stolen database useless for calling the API; unlike a
password it cannot be guessed, which is why tokens do not need Argon2.

Every account change is written to the hash-chained audit trail (entity `user` / `api_token`)
with the actor and a reason; hashes themselves are never written to the trail.

Sessions end by version: each user has a `session_version`, copied into the session cookie at
login and compared on every request.  Logging out, deactivation and a password change raise
it, so every cookie issued before (on any browser) stops working; deactivation and a password
change also revoke every API token of the user, so reactivating an account revives neither.

Account rules kept here so the CLI and the web refuse the same things:

* user names: NFKC-normalised, no spaces or control characters, no mix of scripts that a
  reader would confuse (`аdmin` with a Cyrillic а), and no name that looks the same as an
  existing one once confusable characters are mapped to their Latin look-alikes (the
  "skeleton", after Unicode TS #39);
* passwords: at least 10 characters (NIST SP 800-63B asks for at least 8) and not guessable
  by zxcvbn's estimator (score 3 of 4 or better, the user name counted as known to an
  attacker), which checks common-password, name and word lists, keyboard patterns,
  repetitions and dates.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Any

from confusable_homoglyphs import confusables
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
    # Raised by logout, deactivation and password change: ends every older session cookie.
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    label: Mapped[str] = mapped_column(String(NAME_MAX))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[str] = mapped_column(String(40))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[str | None] = mapped_column(String(40), nullable=True)  # ISO 8601 UTC


class LoginFailure(Base):
    """One failed login, kept only while it counts (the throttle's window).

    Shared by every worker process of a server (and every server on the same database), so
    N workers do not allow N times the attempts; `at` is wall-clock epoch seconds because a
    monotonic clock is not comparable between processes.
    """

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_key", "name_key", "address", "at"),
        Index("ix_login_failures_address", "address", "at"),
    )

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
    session_version: int = 1


@dataclass(frozen=True)
class TokenInfo:
    """What an admin sees of a token (never the token itself)."""

    id: int
    user: str
    label: str
    created_at: str
    expires_at: str | None
    revoked: bool


class AccountError(Refusal, ValueError):
    """A refused account change (duplicate name, unknown role, …), with the reason."""


_COLS = (User.id, User.name, User.role, User.active, User.session_version)
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256  # long passphrases welcome; bounded so checking stays cheap
MIN_PASSWORD_SCORE = 3  # zxcvbn: 3 = "safely unguessable: moderate protection offline"


def _account(row: Any) -> Account:  # a Row of _COLS (Row typing is per-query)
    return Account(
        int(row.id), str(row.name), str(row.role), bool(row.active), int(row.session_version)
    )


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_name(name: str) -> str:
    """The name as stored (NFKC), or AccountError saying why it is refused."""
    cleaned = unicodedata.normalize("NFKC", name.strip())
    if (
        not cleaned
        or len(cleaned) > NAME_MAX
        or any(c.isspace() or unicodedata.category(c)[0] in "CZ" for c in cleaned)
    ):
        raise AccountError(
            f"user name {name!r} is not allowed (allowed: 1–{NAME_MAX} characters, no spaces "
            "or control characters)"
        )
    if confusables.is_dangerous(cleaned):
        raise AccountError(
            f"user name {name!r} is not allowed: it mixes scripts whose letters look alike "
            "(allowed: letters of one script, digits and punctuation)"
        )
    return cleaned


def name_skeleton(name: str) -> str:
    """What a name looks like: NFKC, case-folded, confusable characters mapped to Latin.

    Two names with the same skeleton cannot be told apart by a reader, so only one may exist.
    """
    out = []
    for char in unicodedata.normalize("NFKC", name).casefold():
        found = confusables.is_confusable(char, preferred_aliases=["latin"])
        if found and not char.isascii():
            homoglyphs = found[0].get("homoglyphs") or []
            latin = [h["c"] for h in homoglyphs if str(h.get("c", "")).isascii()]
            out.append(latin[0].casefold() if latin else char)
        else:
            out.append(char)
    return "".join(out)


def check_password(password: str, name: str | None = None) -> str:
    """Refuse a short or guessable password (same rule for the CLI and the web)."""
    from zxcvbn import zxcvbn  # loaded only where passwords are set (it loads word lists)

    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            f"password: too short (allowed: at least {MIN_PASSWORD_LENGTH} characters)"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(
            f"password: too long (allowed: at most {MAX_PASSWORD_LENGTH} characters)"
        )
    # zxcvbn's matching is superlinear: score the first 100 characters (plenty for a verdict)
    verdict = zxcvbn(password[:100], user_inputs=[name] if name else [])
    if int(verdict["score"]) < MIN_PASSWORD_SCORE:
        hint = verdict.get("feedback", {}).get("warning") or "it is too easy to guess"
        raise AccountError(
            f"password: too easy to guess ({hint.rstrip('.')}); use a longer passphrase of "
            "unrelated words"
        )
    return password


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
    skeleton = name_skeleton(name)
    for other in conn.execute(select(User.name)).scalars():
        if name_skeleton(other) == skeleton:
            raise AccountError(f"user name {name!r} looks the same as the existing {other!r}")
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
) -> int:
    """Store a new password hash; end every session and revoke every token of the user.

    Returns the new session version (the caller's own session may carry it on).
    """
    found = conn.execute(
        update(User)
        .where(User.name == name)
        .values(password_hash=password_hash, session_version=User.session_version + 1)
    )
    if found.rowcount == 0:
        raise AccountError(f"no user named {name!r}")
    audit.append(
        conn, [audit.Change("update", "user", name, "password", None, "(changed)")], actor, reason
    )
    revoke_tokens(conn, name, actor, "password changed")
    version = conn.execute(select(User.session_version).where(User.name == name)).scalar_one()
    return int(version)


def end_sessions(conn: Connection, user_id: int) -> None:
    """Log the user out everywhere: every session cookie issued so far stops working."""
    conn.execute(
        update(User).where(User.id == user_id).values(session_version=User.session_version + 1)
    )


def set_active(conn: Connection, name: str, active: bool, actor: str, reason: str | None) -> None:
    row = conn.execute(select(User.active).where(User.name == name)).first()
    if row is None:
        raise AccountError(f"no user named {name!r}")
    if bool(row[0]) == active:
        return
    conn.execute(
        update(User)
        .where(User.name == name)
        .values(active=active, session_version=User.session_version + 1)
    )
    change = audit.Change(
        "update", "user", name, "active", str(not active).lower(), str(active).lower()
    )
    audit.append(conn, [change], actor, reason)
    if not active:  # reactivation must not revive old credentials
        revoke_tokens(conn, name, actor, "account deactivated")


def password_hash_of(conn: Connection, name: str) -> tuple[Account, str] | None:
    row = conn.execute(select(*_COLS, User.password_hash).where(User.name == name)).first()
    if row is None:
        return None
    return _account(row), str(row.password_hash)


# Built once: these two run on every authenticated request, and building a SELECT (and its
# cache key) costs several times more than SQLite takes to answer it.
_USER_BY_ID = select(*_COLS).where(User.id == bindparam("user_id"))
_USER_BY_TOKEN = (
    select(*_COLS, ApiToken.expires_at)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_sha256 == bindparam("digest"), ApiToken.revoked.is_(False))
)


def get_user(conn: Connection, user_id: int) -> Account | None:
    found = conn.execute(_USER_BY_ID, {"user_id": user_id}).first()
    return _account(found) if found is not None else None


def list_users(conn: Connection) -> list[Account]:
    return [_account(r) for r in conn.execute(select(*_COLS).order_by(User.name))]


DEFAULT_TOKEN_DAYS = 90


def issue_token(
    conn: Connection,
    name: str,
    label: str,
    actor: str,
    reason: str | None,
    max_age_days: int = DEFAULT_TOKEN_DAYS,
) -> str:
    """Create an API token for user `name`; the token is returned once and never stored.

    It expires after `max_age_days`; until then it can be revoked on its own.
    """
    row = conn.execute(select(User.id).where(User.name == name)).first()
    if row is None:
        raise AccountError(f"no user named {name!r}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = dt.datetime.now(dt.UTC)
    expires = (now + dt.timedelta(days=max_age_days)).isoformat(timespec="microseconds")
    conn.execute(
        insert(ApiToken).values(
            user_id=row[0],
            label=label[:NAME_MAX],
            token_sha256=token_digest(token),
            created_at=now.isoformat(timespec="microseconds"),
            expires_at=expires,
            revoked=False,
        )
    )
    record = json.dumps({"user": name, "label": label, "expires": expires}, sort_keys=True)
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


def list_tokens(conn: Connection, name: str | None = None) -> list[TokenInfo]:
    query = (
        select(
            ApiToken.id,
            User.name,
            ApiToken.label,
            ApiToken.created_at,
            ApiToken.expires_at,
            ApiToken.revoked,
        )
        .join(User, ApiToken.user_id == User.id)
        .order_by(ApiToken.id)
    )
    if name is not None:
        query = query.where(User.name == name)
    return [
        TokenInfo(int(r[0]), str(r[1]), str(r[2]), str(r[3]), r[4], bool(r[5]))
        for r in conn.execute(query)
    ]


def revoke_token(conn: Connection, token_id: int, actor: str, reason: str | None) -> TokenInfo:
    """Revoke one token by its id (from `list_tokens`); the others keep working."""
    found = [t for t in list_tokens(conn) if t.id == token_id]
    if not found:
        raise AccountError(f"no API token with id {token_id}")
    info = found[0]
    if not info.revoked:
        conn.execute(update(ApiToken).where(ApiToken.id == token_id).values(revoked=True))
        change = audit.Change(
            "update", "api_token", info.user, "revoked", "false", f"true (token {token_id})"
        )
        audit.append(conn, [change], actor, reason)
    return info


def account_for_token(conn: Connection, token: str) -> Account | None:
    """The active user holding an unrevoked, unexpired token, or None."""
    row = conn.execute(_USER_BY_TOKEN, {"digest": token_digest(token)}).first()
    if row is None or not row.active:
        return None
    if row.expires_at is not None and str(row.expires_at) <= audit.now_utc():
        return None  # same ISO 8601 UTC form on both sides: text order is time order
    return _account(row)


# --------------------------------------------------------------------- login throttling


def login_key(name: str) -> str:
    """Names compare case-insensitively (as the in-memory throttle does)."""
    return name.casefold()[:LOGIN_KEY_MAX]


@dataclass(frozen=True)
class ThrottleRule:
    """When a login attempt must wait.

    Per user name: after `free` failures within `window_s`, each further attempt waits
    2, 4, 8 … seconds after the name's last failure, capped at `max_backoff_s`; an address
    with fewer than `free` failures for that name is not held back (so someone guessing a
    colleague's password from elsewhere cannot lock the colleague out).  Per address: at
    most `address_max` failures within `window_s`, whatever the names.
    """

    free: int = 3
    max_backoff_s: int = 60
    address_max: int = 20
    window_s: int = 15 * 60


@dataclass(frozen=True)
class FailureCounts:
    """Failures within the window: for the (name, address) pair, the name, the address."""

    pair: int
    name: int
    name_last: float | None
    address: int
    address_first: float | None


def login_wait(counts: FailureCounts, now: float, rule: ThrottleRule) -> int:
    """Seconds the attempt must wait (0: go ahead) under `rule`."""
    waits = [0.0]
    if counts.address >= rule.address_max and counts.address_first is not None:
        waits.append(counts.address_first + rule.window_s - now)
    if counts.pair >= rule.free and counts.name >= rule.free and counts.name_last is not None:
        backoff = min(2.0 ** (counts.name - rule.free + 1), float(rule.max_backoff_s))
        waits.append(counts.name_last + backoff - now)
    wait = max(waits)
    return 0 if wait <= 0 else max(1, int(wait + 0.999))


def _failure_counts(conn: Connection, key: str, address: str, since: float) -> FailureCounts:
    recent = LoginFailure.at > since
    pair = conn.execute(
        select(func.count()).where(
            LoginFailure.name_key == key, LoginFailure.address == address, recent
        )
    ).scalar_one()
    by_name = conn.execute(
        select(func.count(), func.max(LoginFailure.at)).where(LoginFailure.name_key == key, recent)
    ).one()
    by_address = conn.execute(
        select(func.count(), func.min(LoginFailure.at)).where(
            LoginFailure.address == address, recent
        )
    ).one()
    return FailureCounts(
        int(pair),
        int(by_name[0]),
        None if by_name[1] is None else float(by_name[1]),
        int(by_address[0]),
        None if by_address[1] is None else float(by_address[1]),
    )


def admit_login(conn: Connection, name: str, address: str, now: float, rule: ThrottleRule) -> int:
    """Count one attempt atomically; 0 admits it (recorded as a failure until it succeeds).

    The attempt is written first and the counts read after, under a lock that serialises
    attempts (the write lock on SQLite, a table lock on PostgreSQL), so N simultaneous
    attempts are counted as N: none is checked against a count that misses the others.
    Refused attempts are not kept (waiting does not extend the wait).
    """
    key, address = login_key(name), address[:64]
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("LOCK TABLE login_failures IN SHARE ROW EXCLUSIVE MODE")
    conn.execute(delete(LoginFailure).where(LoginFailure.at <= now - rule.window_s))
    inserted = conn.execute(
        insert(LoginFailure).values(name_key=key, address=address, at=now)
    ).inserted_primary_key
    assert inserted is not None
    counts = _failure_counts(conn, key, address, now - rule.window_s)
    before = FailureCounts(  # the counts as they were before this attempt
        counts.pair - 1,
        counts.name - 1,
        _last_before(conn, key, inserted[0], now - rule.window_s),
        counts.address - 1,
        counts.address_first if counts.address > 1 else None,
    )
    wait = login_wait(before, now, rule)
    if wait:
        conn.execute(delete(LoginFailure).where(LoginFailure.id == inserted[0]))
    return wait


def _last_before(conn: Connection, key: str, own_id: int, since: float) -> float | None:
    last = conn.execute(
        select(func.max(LoginFailure.at)).where(
            LoginFailure.name_key == key, LoginFailure.at > since, LoginFailure.id != own_id
        )
    ).scalar_one()
    return None if last is None else float(last)


def clear_login_failures(conn: Connection, name: str, address: str) -> None:
    """After a successful login: the name's failures no longer count (from any address)."""
    conn.execute(delete(LoginFailure).where(LoginFailure.name_key == login_key(name)))
