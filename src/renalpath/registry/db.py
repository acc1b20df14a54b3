"""Database URLs, engines and schema migrations.

The URL comes from `--db`, else `RENALPATH_DATABASE_URL`, else SQLite at `./renalpath.db`.
SQLite connections get WAL journaling (readers never block the importer) and
foreign keys on (SQLite leaves them off by default). Migrations are the Alembic scripts shipped
inside this package; Alembic is configured in code, so `renalpath db upgrade` works from any
directory without an alembic.ini.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url

from renalpath.errors import RenalpathError, SchemaMissing
from renalpath.registry.audit_seal import drop_pending, mark_committed, publish_pending

ENV_VAR = "RENALPATH_DATABASE_URL"
# How long an SQLite writer waits for another writer's lock before "the registry is busy".
BUSY_ENV = "RENALPATH_SQLITE_BUSY_TIMEOUT_MS"
BUSY_DEFAULT_MS = 30_000
DEFAULT_URL = "sqlite:///./renalpath.db"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def resolve_url(url: str | None = None) -> str:
    """`--db` wins, then the environment, then the default SQLite file."""
    return url or os.environ.get(ENV_VAR) or DEFAULT_URL


def _busy_ms() -> int:
    raw = os.environ.get(BUSY_ENV, "")
    return int(raw) if raw.isdigit() else BUSY_DEFAULT_MS


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL: a crash loses no committed txn
    cursor.execute(f"PRAGMA busy_timeout={_busy_ms()}")
    # 256 MiB page cache (allocated on demand): bulk imports update several B-tree indexes,
    # and the 2 MiB default makes them thrash; an upper bound, not a reservation.
    cursor.execute("PRAGMA cache_size=-262144")
    cursor.close()


def make_engine(url: str | None = None) -> Engine:
    """An engine for the resolved URL, with the SQLite connection settings applied."""
    resolved = resolve_url(url)
    parsed = make_url(resolved)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(resolved)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(resolved, pool_pre_ping=True)
    # The audit trail's signed head is written just before the transaction that appended to
    # the trail commits, while it still holds the write lock (registry.audit_seal).
    event.listen(engine, "commit", publish_pending)
    event.listen(engine, "rollback", drop_pending)
    event.listen(engine.pool, "checkin", mark_committed)
    return engine


def lock_for_write(conn: Connection) -> None:
    """Take the registry's write lock for the rest of `conn`'s transaction.

    Every transaction that writes (a correction, an import, an audited read) calls this before
    it reads what its writes depend on — the stored record, the head of the audit chain — so
    two writers can never both act on the same old state (a forked chain, a lost update).

    SQLite: the sqlite3 module opens a transaction only at the first INSERT/UPDATE/DELETE, so
    the reads before it run outside any transaction and see whatever was last committed.
    `BEGIN IMMEDIATE` takes the database's single write lock at once (waiting up to the busy
    timeout); if a write already opened the transaction, the lock is held already.
    PostgreSQL: an EXCLUSIVE lock on the audit table (every write is audited, so it is the
    registry's write lock); plain reads (ACCESS SHARE) are not blocked. Idempotent.
    """
    if conn.dialect.name == "sqlite":
        raw = conn.connection.driver_connection
        if not raw.in_transaction:  # type: ignore[union-attr]
            try:
                raw.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]
            except sqlite3.OperationalError as err:
                if is_busy(err):
                    raise RegistryBusy(BUSY_MESSAGE) from err
                raise
        return
    conn.exec_driver_sql("LOCK TABLE audit_log IN EXCLUSIVE MODE")


BUSY_MESSAGE = (
    "the registry is busy: another import or correction held its write lock for the whole "
    f"wait ({BUSY_ENV}, default {BUSY_DEFAULT_MS // 1000} s); nothing was written — try again "
    "when it has finished"
)


class RegistryBusy(RenalpathError, RuntimeError):
    """Another writer held the registry's write lock for the whole busy timeout."""

    http_status = 503


def is_busy(err: BaseException) -> bool:
    """Whether `err` is SQLite's "database is locked" (another writer held the lock for the
    whole busy timeout) — a busy registry, not a fault."""
    return "database is locked" in str(err) or "database is busy" in str(err)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def alembic_config(engine: Engine) -> Config:
    """Alembic configured in code; the engine travels in `attributes` to env.py."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    url = engine.url.render_as_string(hide_password=False)
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # configparser escaping
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Create or migrate the schema to `revision`; returns the revision now in place."""
    command.upgrade(alembic_config(engine), revision)
    return current_revision(engine)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def require_schema(engine: Engine) -> None:
    """Refuse to work on a database that was never initialised or is behind the code."""
    current, head = current_revision(engine), head_revision(engine)
    if current is None and inspect(engine).get_table_names():
        raise SchemaError(
            "the database holds tables but no schema revision: its creation was interrupted "
            "(or it is not a renalpath registry); if it holds no data, delete it and run "
            "`renalpath db init`"
        )
    if current != head:
        raise SchemaError(
            f"database schema is at revision {current or 'none'}, the code needs {head}; "
            "run `renalpath db upgrade` (or `renalpath db init` for a new database)"
        )


def ensure_schema(engine: Engine) -> bool:
    """Create the schema in a brand-new, empty database; otherwise behave as require_schema.

    A newcomer's first `renalpath import DIR` should just work on a fresh SQLite file, but a
    database that already holds tables from an older revision is never migrated implicitly:
    that stays an explicit `renalpath db upgrade`. Returns True when the schema was created.
    """
    if current_revision(engine) is None and not inspect(engine).get_table_names():
        upgrade(engine)
        return True
    require_schema(engine)
    return False


class SchemaError(SchemaMissing, RuntimeError):
    """The database is missing its schema or needs a migration."""
