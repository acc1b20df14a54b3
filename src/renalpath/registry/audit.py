"""Append-only, hash-chained audit trail of every insert, update and delete.

Each row records who (a user name, or `cli:<os user>` for the command line), when (UTC),
what (entity, id, field, old → new) and why (reason). An insert is one row with `field` NULL and
`new` the whole record as JSON; an update is one row per changed field; a delete is one row with
`old` the whole record. Each row's `hash` is SHA-256 over the previous row's hash and the row's
own content, so changing, inserting or deleting any row breaks every later hash; the database
also refuses UPDATE/DELETE on the table (triggers in the initial migration). Derived values
(eGFR, salvage lineage) are recomputed from audited data and are not themselves audited.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat

from sqlalchemy import Connection, Engine, select

from renalpath.registry.bulk import bulk_insert, copy_escape, copy_lines, is_postgres
from renalpath.registry.db import lock_for_write
from renalpath.registry.models import AuditLog

GENESIS = "0" * 64
CONTENT = ("at", "actor", "action", "entity", "entity_id", "field", "old", "new", "reason")
COLUMNS = (*CONTENT, "prev_hash", "hash")


def cli_actor() -> str:
    """The actor recorded for command-line changes: `cli:<os user>`."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"cli:{user}"


def now_utc() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Change:
    """One audited change, before it is chained."""

    action: str  # insert | update | delete
    entity: str
    entity_id: str
    field: str | None
    old: str | None
    new: str | None


_NULL = "\x00"  # None, distinct from ""
_SEP = "\x1f"  # unit separator: cannot occur in CSV-derived text unnoticed


def row_hash(prev_hash: str, content: Sequence[str | None]) -> str:
    """SHA-256 of the previous hash and the row's fields, NULL and "" kept distinct."""
    payload = _SEP.join([prev_hash, *(_NULL if c is None else c for c in content)])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _last_hash(conn: Connection) -> str:
    # Serialise appenders: the head is read under the write lock, so two transactions can
    # never both chain onto it (a fork).
    lock_for_write(conn)
    last = conn.execute(select(AuditLog.hash).order_by(AuditLog.seq.desc()).limit(1)).scalar()
    return last or GENESIS


class ChainWriter:
    """Appends hash-chained audit rows on the caller's transaction, batch by batch.

    A large import hands over one chunk of inserted records at a time, so the audit rows of a
    whole folder are never all in memory. The chain's tail is read (and on PostgreSQL the table
    locked) at the first write, and every row of one writer carries the same `at`.
    """

    def __init__(self, conn: Connection, actor: str, reason: str | None) -> None:
        self.conn = conn
        self.actor = actor
        self.reason = reason
        self.at = now_utc()
        self.rows = 0
        self._prev: str | None = None

    def _tail(self) -> str:
        if self._prev is None:
            self._prev = _last_hash(self.conn)
        return self._prev

    def changes(self, changes: Sequence[Change]) -> None:
        """Chain and write arbitrary changes (updates, deletes, single inserts)."""
        if not changes:
            return
        prev = self._tail()
        rows: list[tuple[str | None, ...]] = []
        for ch in changes:
            content = (self.at, self.actor, ch.action, ch.entity, ch.entity_id, ch.field,
                       ch.old, ch.new, self.reason)  # fmt: skip
            digest = row_hash(prev, content)
            rows.append((*content, prev, digest))
            prev = digest
        bulk_insert(self.conn, "audit_log", COLUMNS, rows)
        self._prev = prev
        self.rows += len(rows)

    def inserts(self, entity: str, ids: Sequence[str], records: Sequence[str]) -> None:
        """Chain and write one "insert" row per record (field and old NULL, new = record).

        Same digests as `row_hash`, with the constant parts of the payload joined once: at 10⁶
        rows the generic per-row tuple handling would dominate the import.
        """
        if not ids:
            return
        start = prev = self._tail()
        sha = hashlib.sha256
        head = _SEP + _SEP.join([self.at, self.actor, "insert", entity]) + _SEP
        mid = _SEP + _NULL + _SEP + _NULL + _SEP
        tail = _SEP + (_NULL if self.reason is None else self.reason)
        hashes: list[str] = []
        add = hashes.append
        for eid, rec in zip(ids, records, strict=True):
            prev = sha((prev + head + eid + mid + rec + tail).encode("utf-8")).hexdigest()
            add(prev)
        prevs = [start, *hashes[:-1]]
        if is_postgres(self.conn):
            const = "\t".join(
                [copy_escape(self.at), copy_escape(self.actor), "insert", copy_escape(entity)]
            )
            reason = "\\N" if self.reason is None else copy_escape(self.reason)
            cols = (
                repeat(const), map(copy_escape, ids), repeat("\\N"), repeat("\\N"),
                map(copy_escape, records), repeat(reason), prevs, hashes,
            )  # fmt: skip
            copy_lines(self.conn, "audit_log", COLUMNS, zip(*cols, strict=False))
        else:
            rows = zip(
                repeat(self.at), repeat(self.actor), repeat("insert"), repeat(entity), ids,
                repeat(None), repeat(None), records, repeat(self.reason), prevs, hashes,
            )  # fmt: skip
            bulk_insert(self.conn, "audit_log", COLUMNS, rows)
        self._prev = prev
        self.rows += len(hashes)


def append(conn: Connection, changes: Sequence[Change], actor: str, reason: str | None) -> int:
    """Chain and write `changes` in bulk on the caller's transaction; returns rows written."""
    writer = ChainWriter(conn, actor, reason)
    writer.changes(changes)
    return writer.rows


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    rows: int
    first_bad_seq: int | None
    reason: str | None


def verify(engine: Engine) -> VerifyResult:
    """Recompute the chain; report the first row whose link or content does not match."""
    prev = GENESIS
    count = 0
    cols = [getattr(AuditLog, c) for c in ("seq", *COLUMNS)]
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=50_000).execute(
            select(*cols).order_by(AuditLog.seq)
        )
        for row in result:
            count += 1
            seq, content, prev_hash, digest = row[0], tuple(row[1:10]), row[10], row[11]
            if prev_hash != prev:
                return VerifyResult(
                    False,
                    count,
                    seq,
                    "link to the previous row is broken "
                    "(a row was deleted, inserted or re-chained)",
                )
            if row_hash(prev, content) != digest:
                return VerifyResult(
                    False, count, seq, "row content does not match its hash (the row was altered)"
                )
            prev = digest
    return VerifyResult(True, count, None, None)


def log_rows(
    engine: Engine,
    entity: str | None = None,
    entity_id: str | None = None,
    limit: int | None = 100,
) -> Iterator[dict[str, object]]:
    """Most recent first, optionally filtered (REDCap Logging-page equivalent)."""
    stmt = select(AuditLog).order_by(AuditLog.seq.desc())
    if entity:
        stmt = stmt.where(AuditLog.entity == entity)
    if entity_id:
        stmt = stmt.where(AuditLog.entity_id == entity_id)
    if limit:
        stmt = stmt.limit(limit)
    with engine.connect() as conn:
        for row in conn.execute(stmt).mappings():
            yield {k: row[k] for k in ("seq", *COLUMNS)}
