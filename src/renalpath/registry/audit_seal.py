"""The audit trail's key and signed head, both kept outside the database.

A hash chain alone proves only that rows fit together: whoever can write the database can
delete the last rows, or rewrite a row and recompute every later hash with the public
function, and the chain still verifies. Two things the database owner cannot reach close that:

- a secret **key**: with it, each row's hash is an HMAC-SHA-256 (RFC 2104), which cannot be
  recomputed without the key. The key comes from `RENALPATH_AUDIT_KEY` (the key itself) or
  `RENALPATH_AUDIT_KEY_FILE` (a file holding it), at least 32 characters, never stored in the
  database;
- a signed **head**: a small JSON file holding the last row's sequence number and hash, the
  number of rows, the row after which the chain is keyed, and an HMAC of all of that. It is
  written by every appending transaction, while it holds the registry's write lock, just
  before it commits; it lives in `RENALPATH_AUDIT_HEAD_DIR` (default: the key file's
  folder), one file per database. Trimming the end of the trail leaves the head pointing at
  rows that are gone.

A transaction killed after writing the head but before its commit leaves the head one step
ahead; the head therefore also keeps the state before that transaction (`prev_*`) and is
marked `committed` only once the commit has happened (when the connection goes back to the
pool). A trail that ends exactly at `prev_*` of an uncommitted head verifies (with a note), as
that is what a crash leaves behind; once the head is marked committed, the same trail is
reported as trimmed. The next writer continues from whichever state is in the database.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from renalpath.errors import Refusal

KEY_ENV = "RENALPATH_AUDIT_KEY"
KEY_FILE_ENV = "RENALPATH_AUDIT_KEY_FILE"
HEAD_DIR_ENV = "RENALPATH_AUDIT_HEAD_DIR"
MIN_KEY_CHARS = 32
HEAD_FORMAT = 1
PENDING = "renalpath_audit_head"  # conn.info slot: the head this transaction will publish
COMMITTING = "renalpath_audit_head_written"  # … and the one it wrote, to mark committed


class AuditKeyError(Refusal, RuntimeError):
    """The configured audit key or head location is unusable."""


@dataclass(frozen=True)
class AuditKey:
    secret: bytes
    head_dir: Path | None
    source: str  # where it came from, for messages (never the key itself)


def load_key() -> AuditKey | None:
    """The configured key, or None when the trail is unkeyed (no key configured)."""
    raw: str | None = os.environ.get(KEY_ENV) or None
    source = KEY_ENV
    key_file = os.environ.get(KEY_FILE_ENV)
    head_dir_env = os.environ.get(HEAD_DIR_ENV)
    head_dir = Path(head_dir_env) if head_dir_env else None
    if raw is None and key_file:
        path = Path(key_file)
        try:
            raw = path.read_text(encoding="utf-8").strip()
        except OSError as err:
            raise AuditKeyError(
                f"{KEY_FILE_ENV}={key_file}: cannot read the audit key ({err.strerror or err})"
            ) from None
        source = f"{KEY_FILE_ENV}={key_file}"
        head_dir = head_dir or path.resolve().parent
    if raw is None:
        return None
    if len(raw) < MIN_KEY_CHARS:
        raise AuditKeyError(
            f"{source}: the audit key must have at least {MIN_KEY_CHARS} characters "
            "(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)"
        )
    return AuditKey(raw.encode("utf-8"), head_dir, source)


def new_key_file(path: Path) -> None:
    """Write a fresh random key to `path`, readable by its owner only."""
    import secrets

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secrets.token_hex(32) + "\n")


def database_tag(engine: Engine | Connection) -> str:
    """A stable name for one database (its URL without password; SQLite: absolute path)."""
    url = engine.engine.url if isinstance(engine, Connection) else engine.url
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        ident = "sqlite:" + str(Path(url.database).resolve())
    else:
        ident = url.render_as_string(hide_password=True)
        ident = ident.replace(url.password or "\x00", "")  # never part of the name
    return hashlib.sha256(ident.encode("utf-8")).hexdigest()[:16]


def head_path(key: AuditKey, engine: Engine | Connection) -> Path:
    if key.head_dir is None:
        raise AuditKeyError(
            f"the audit key comes from {key.source}: set {HEAD_DIR_ENV} to a folder outside "
            "the database where the signed head of the trail is kept"
        )
    return key.head_dir / f"audit-head-{database_tag(engine)}.json"


def keyed_hash(key: bytes, payload: bytes) -> str:
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Head:
    """The signed state of a trail: its last row, its row count, where keying starts."""

    seq: int
    hash: str
    rows: int
    prev_seq: int
    prev_hash: str
    prev_rows: int
    keyed_after: int  # rows with a higher seq carry keyed hashes
    database: str
    committed: bool = False  # the transaction that wrote it is known to have committed

    def body(self) -> bytes:
        fields = {"format": HEAD_FORMAT, **asdict(self)}
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode("utf-8")


class HeadInvalid(Exception):
    """The head file exists but is unreadable or its signature does not match."""


def read_head(path: Path, key: AuditKey) -> Head | None:
    """The head at `path` (None if absent); HeadInvalid if unreadable or badly signed."""
    if not path.exists():
        return None
    with _head_lock(path, shared=True):
        return _read(path, key)


def _read(path: Path, key: AuditKey) -> Head | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise HeadInvalid(f"the signed head {path} cannot be read ({err})") from None
    try:
        mac = doc.pop("mac")
        if doc.pop("format") != HEAD_FORMAT:
            raise HeadInvalid(f"the signed head {path} has an unknown format")
        head = Head(**doc)
    except (KeyError, TypeError) as err:
        raise HeadInvalid(f"the signed head {path} is malformed ({err})") from None
    if not hmac.compare_digest(str(mac), keyed_hash(key.secret, head.body())):
        raise HeadInvalid(
            f"the signed head {path} does not match its signature (edited, or written with "
            "another key)"
        )
    return head


HEAD_BYTES = 2048  # the head is rewritten in place, padded to this size, in one write


@contextmanager
def _head_lock(path: Path, shared: bool = False) -> Iterator[None]:
    """Serialise head-file writers across processes (marking committed runs after the
    registry's write lock is released) and keep readers from seeing a write half done."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def write_head(path: Path, key: AuditKey, head: Head) -> None:
    with _head_lock(path):
        _write(path, key, head)


def _write(path: Path, key: AuditKey, head: Head) -> None:
    """Rewrite the head in place with one write of a fixed-size block, under the head lock.

    No rename and no fsync, on purpose: both cost milliseconds per audited action on a busy
    disk, and neither buys safety here. A head write lost in a crash leaves the head behind
    the trail, which verifies (the later rows' keyed links are checked). The database itself
    (SQLite in WAL mode with synchronous=NORMAL) may lose its last commits in a power failure,
    fsync or not, so after a power failure `verify` may report the last rows as deleted: judge
    that with the system's own logs.
    """
    doc = {"format": HEAD_FORMAT, **asdict(head), "mac": keyed_hash(key.secret, head.body())}
    data = json.dumps(doc, sort_keys=True).encode("utf-8")
    if len(data) > HEAD_BYTES:
        raise AuditKeyError(f"audit head too large ({len(data)} bytes)")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.pwrite(fd, data.ljust(HEAD_BYTES), 0)
    finally:
        os.close(fd)


def publish_pending(conn: Connection) -> None:
    """Before a commit: write the head this transaction prepared (engine "commit" event)."""
    pending = conn.info.pop(PENDING, None)
    if pending is not None:
        path, key, head = pending
        write_head(path, key, head)
        conn.info[COMMITTING] = pending


def drop_pending(conn: Connection) -> None:
    """On rollback: the prepared head never becomes true."""
    conn.info.pop(PENDING, None)
    conn.info.pop(COMMITTING, None)


def mark_committed(_dbapi_connection: Any, record: Any) -> None:
    """After the commit (pool "checkin" event): mark the head committed, unless a later
    writer has replaced it meanwhile."""
    written = record.info.pop(COMMITTING, None) if record is not None else None
    if written is None:
        return
    path, key, head = written
    with _head_lock(path):
        try:
            current = _read(path, key)
        except HeadInvalid:
            return
        if current == head:
            _write(path, key, replace(head, committed=True))
