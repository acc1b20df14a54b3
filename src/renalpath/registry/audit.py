"""Append-only, hash-chained audit trail of every insert, update, delete and audited read.

Each row records who (a user name, or `cli:<os user>` for the command line), when (UTC),
what (entity, id, field, old → new) and why (reason). An insert is one row with `field` NULL and
`new` the whole record as JSON; an update is one row per changed field; a delete is one row with
`old` the whole record; a read of identifiable data is one row with action "read". Each row's
`hash` covers the previous row's hash and the row's own content, so changing, inserting or
deleting any row breaks every later link; the database also refuses UPDATE/DELETE on the table
(triggers in the initial migration). Derived values (eGFR, salvage lineage) are recomputed
from audited data and are not themselves audited.

With a key configured (`registry.audit_seal`) the hash is an HMAC, which only the key holder
can recompute, and every appending transaction signs the trail's head into a file outside the
database: rewriting a row (even with every later hash recomputed) and deleting rows anywhere,
including at the end, are then detected and named by `verify`. Without a key the rows carry
plain SHA-256 links (tamper-evident against accidents and careless edits only) and `verify`
says so. Rows written before a key was configured keep their plain links; the first keyed row
covers the last plain hash, so they are protected from then on.

Appends are serialised (`db.lock_for_write`): the head is read under the write lock, so
concurrent writers — including concurrent audited readers — cannot fork the chain.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import hmac
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat

from sqlalchemy import Connection, Engine, func, select

from renalpath.errors import Conflict
from renalpath.registry.audit_seal import (
    KEY_ENV,
    KEY_FILE_ENV,
    PENDING,
    AuditKey,
    AuditKeyError,
    Head,
    HeadInvalid,
    database_tag,
    head_path,
    keyed_hash,
    load_key,
    read_head,
)
from renalpath.registry.bulk import bulk_insert, copy_escape, copy_lines, is_postgres
from renalpath.registry.db import lock_for_write
from renalpath.registry.models import AuditLog

log = logging.getLogger(__name__)

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


def row_hash(prev_hash: str, content: Sequence[str | None], key: bytes | None = None) -> str:
    """Hash of the previous hash and the row's fields, NULL and "" kept distinct: SHA-256, or
    HMAC-SHA-256 with `key`."""
    payload = _SEP.join([prev_hash, *(_NULL if c is None else c for c in content)])
    if key is not None:
        return keyed_hash(key, payload.encode("utf-8"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _tail(conn: Connection) -> tuple[int, str]:
    """(seq, hash) of the last row, or (0, GENESIS) for an empty trail."""
    last = conn.execute(
        select(AuditLog.seq, AuditLog.hash).order_by(AuditLog.seq.desc()).limit(1)
    ).first()
    return (int(last[0]), str(last[1])) if last else (0, GENESIS)


def _count(conn: Connection, after: int = 0) -> int:
    stmt = select(func.count()).select_from(AuditLog)
    if after:
        stmt = stmt.where(AuditLog.seq > after)
    return int(conn.execute(stmt).scalar_one())


def _hash_at(conn: Connection, seq: int) -> str | None:
    found = conn.execute(select(AuditLog.hash).where(AuditLog.seq == seq)).scalar()
    return None if found is None else str(found)


class _Sealer:
    """Prepares the signed head of one keyed transaction (see `registry.audit_seal`)."""

    def __init__(self, conn: Connection, key: AuditKey) -> None:
        self.conn = conn
        self.key = key
        self.path = head_path(key, conn)
        self.ok = True
        self.start_state = (0, GENESIS, 0)  # (seq, hash, rows) when the transaction began
        self.rows = 0  # rows of the trail now, as this transaction sees it
        self.keyed_after = 0

    def start(self, tail: tuple[int, str]) -> None:
        pending = self.conn.info.get(PENDING)
        if pending is not None and pending[0] == self.path:  # an earlier writer, same txn
            head: Head = pending[2]
            self.start_state = (head.prev_seq, head.prev_hash, head.prev_rows)
            self.rows, self.keyed_after = head.rows, head.keyed_after
            return
        seq, digest = tail
        try:
            found = read_head(self.path, self.key)
        except HeadInvalid as err:
            log.warning("audit head not advanced: %s", err)
            self.ok = False
            return
        if found is None:  # first keyed append: the chain is keyed from here on
            rows, self.keyed_after = _count(self.conn), seq
        elif (seq, digest) == (found.seq, found.hash):
            rows, self.keyed_after = found.rows, found.keyed_after
        elif (seq, digest) == (found.prev_seq, found.prev_hash) and not found.committed:
            # the last writer signed but never committed
            rows, self.keyed_after = found.prev_rows, found.keyed_after
        elif seq > found.seq and _hash_at(self.conn, found.seq) == found.hash:
            # rows appended without advancing the head: verify checks their keyed links
            rows, self.keyed_after = found.rows + _count(self.conn, found.seq), found.keyed_after
        else:
            # The trail no longer contains the signed head: never launder that by re-signing.
            log.warning("audit head not advanced: the trail does not match %s", self.path)
            self.ok = False
            return
        self.start_state = (seq, digest, rows)
        self.rows = rows

    def appended(self, rows: int) -> None:
        if not self.ok:
            return
        self.rows += rows
        seq, digest = _tail(self.conn)
        head = Head(
            seq,
            digest,
            self.rows,
            *self.start_state,
            self.keyed_after,
            database_tag(self.conn),
            committed=False,
        )
        self.conn.info[PENDING] = (self.path, self.key, head)


def _last_hash(conn: Connection) -> tuple[int, str]:
    # Serialise appenders: the head is read under the write lock, so two transactions can
    # never both chain onto it (a fork).
    lock_for_write(conn)
    return _tail(conn)


class ChainWriter:
    """Appends hash-chained audit rows on the caller's transaction, batch by batch.

    A large import hands over one chunk of inserted records at a time, so the audit rows of a
    whole folder are never all in memory. The chain's tail is read (under the registry's write
    lock) at the first write, and every row of one writer carries the same `at`. With a key,
    the rows are HMAC-chained and the transaction's new signed head is prepared, to be written
    just before it commits.
    """

    def __init__(self, conn: Connection, actor: str, reason: str | None) -> None:
        self.conn = conn
        self.actor = actor
        self.reason = reason
        self.at = now_utc()
        self.rows = 0
        self._prev: str | None = None
        self._audit_key = load_key()
        self._key = self._audit_key.secret if self._audit_key else None
        self._sealer = _Sealer(conn, self._audit_key) if self._audit_key else None

    def _tail(self) -> str:
        if self._prev is None:
            tail = _last_hash(self.conn)
            if self._sealer is not None:
                self._sealer.start(tail)
            self._prev = tail[1]
        return self._prev

    def _done(self, rows: int) -> None:
        self.rows += rows
        if self._sealer is not None:
            self._sealer.appended(rows)

    def changes(self, changes: Sequence[Change]) -> None:
        """Chain and write arbitrary changes (updates, deletes, single inserts)."""
        if not changes:
            return
        prev = self._tail()
        rows: list[tuple[str | None, ...]] = []
        for ch in changes:
            content = (
                self.at,
                self.actor,
                ch.action,
                ch.entity,
                ch.entity_id,
                ch.field,
                ch.old,
                ch.new,
                self.reason,
            )
            digest = row_hash(prev, content, self._key)
            rows.append((*content, prev, digest))
            prev = digest
        bulk_insert(self.conn, "audit_log", COLUMNS, rows)
        self._prev = prev
        self._done(len(rows))

    def inserts(self, entity: str, ids: Sequence[str], records: Sequence[str]) -> None:
        """Chain and write one "insert" row per record (field and old NULL, new = record).

        Same digests as `row_hash`, with the constant parts of the payload joined once: at 10⁶
        rows the generic per-row tuple handling would dominate the import.
        """
        if not ids:
            return
        start = prev = self._tail()
        key = self._key
        sha = hashlib.sha256
        head = _SEP + _SEP.join([self.at, self.actor, "insert", entity]) + _SEP
        mid = _SEP + _NULL + _SEP + _NULL + _SEP
        tail = _SEP + (_NULL if self.reason is None else self.reason)
        hashes: list[str] = []
        add = hashes.append
        if key is None:
            for eid, rec in zip(ids, records, strict=True):
                prev = sha((prev + head + eid + mid + rec + tail).encode("utf-8")).hexdigest()
                add(prev)
        else:
            mac = hmac.new(key, digestmod=hashlib.sha256)
            for eid, rec in zip(ids, records, strict=True):
                h = mac.copy()
                h.update((prev + head + eid + mid + rec + tail).encode("utf-8"))
                prev = h.hexdigest()
                add(prev)
        prevs = [start, *hashes[:-1]]
        if is_postgres(self.conn):
            const = "\t".join(
                [copy_escape(self.at), copy_escape(self.actor), "insert", copy_escape(entity)]
            )
            reason = "\\N" if self.reason is None else copy_escape(self.reason)
            cols = (
                repeat(const),
                map(copy_escape, ids),
                repeat("\\N"),
                repeat("\\N"),
                map(copy_escape, records),
                repeat(reason),
                prevs,
                hashes,
            )
            copy_lines(self.conn, "audit_log", COLUMNS, zip(*cols, strict=False))
        else:
            rows = zip(
                repeat(self.at),
                repeat(self.actor),
                repeat("insert"),
                repeat(entity),
                ids,
                repeat(None),
                repeat(None),
                records,
                repeat(self.reason),
                prevs,
                hashes,
            )
            bulk_insert(self.conn, "audit_log", COLUMNS, rows)
        self._prev = prev
        self._done(len(hashes))


def append(conn: Connection, changes: Sequence[Change], actor: str, reason: str | None) -> int:
    """Chain and write `changes` in bulk on the caller's transaction; returns rows written."""
    writer = ChainWriter(conn, actor, reason)
    writer.changes(changes)
    return writer.rows


class RevertConflict(Conflict, ValueError):
    """A write would set fields back to the values that the last audited change of each
    replaced — undoing a correction without saying so. Nothing was written."""

    def __init__(self, entity: str, reverts: Sequence[tuple[Change, dict[str, object]]]) -> None:
        self.entity = entity
        self.reverts = list(reverts)
        shown = "; ".join(
            f"{ch.entity_id} {ch.field}: {ch.old!r} → {ch.new!r} would undo the change "
            f"{last['old']!r} → {last['new']!r} by {last['actor']} at {last['at']} "
            f"({last['reason']})"
            for ch, last in self.reverts[:5]
        )
        more = f" … and {len(self.reverts) - 5} more" if len(self.reverts) > 5 else ""
        super().__init__(
            f"{entity}: the folder would revert {len(self.reverts)} earlier change(s) — "
            f"{shown}{more}. Nothing was imported: update the file to the corrected values, "
            "or make the change as a correction with its reason"
        )


_REVERT_CHUNK = 500


def reverted(conn: Connection, changes: Sequence[Change]) -> list[tuple[Change, dict[str, object]]]:
    """The updates in `changes` that set a field back to the value its last audited change
    replaced (old and new swapped), with that last change's row."""
    wanted = {(c.entity, c.entity_id, c.field): c for c in changes if c.action == "update"}
    if not wanted:
        return []
    last: dict[tuple[str, str, str | None], dict[str, object]] = {}
    ids = sorted({k[1] for k in wanted})
    entities = sorted({k[0] for k in wanted})
    cols = (
        AuditLog.seq,
        AuditLog.at,
        AuditLog.actor,
        AuditLog.entity,
        AuditLog.entity_id,
        AuditLog.field,
        AuditLog.old,
        AuditLog.new,
        AuditLog.reason,
    )
    for start in range(0, len(ids), _REVERT_CHUNK):
        rows = conn.execute(
            select(*cols)
            .where(
                AuditLog.entity.in_(entities),
                AuditLog.action == "update",
                AuditLog.entity_id.in_(ids[start : start + _REVERT_CHUNK]),
            )
            .order_by(AuditLog.seq)
        ).mappings()
        for row in rows:
            key = (str(row["entity"]), str(row["entity_id"]), row["field"])
            if key in wanted:
                last[key] = dict(row)
    out: list[tuple[Change, dict[str, object]]] = []
    for key, change in wanted.items():
        prior = last.get(key)
        if prior is not None and (prior["old"], prior["new"]) == (change.new, change.old):
            out.append((change, prior))
    return out


def seal(engine: Engine, actor: str) -> int:
    """Append one "seal" row with the configured key, starting (or advancing) the signed head
    of an existing trail; returns the seq of that row. AuditKeyError without a key."""
    if load_key() is None:
        raise AuditKeyError(f"no audit key configured: set {KEY_FILE_ENV} or {KEY_ENV}")
    with engine.begin() as conn:
        append(
            conn,
            [Change("seal", "audit", "trail", None, None, None)],
            actor,
            "signed head started or advanced",
        )
        return _tail(conn)[0]


# What `verify` found, by kind (`VerifyResult.kind`).
ALTERED = "altered"  # a row's content does not match its hash
REWRITTEN = "rewritten"  # content and hash changed together, without the key
DELETED_MIDDLE = "deleted-middle"  # a link is broken: rows removed (or inserted) mid-trail
DELETED_END = "deleted-end"  # the trail ends before the signed head
HEAD_MISSING = "head-missing"
HEAD_INVALID = "head-invalid"
UNKEYED_ROW = "unkeyed-row"  # a plain hash where the signed head says rows are keyed


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    rows: int
    first_bad_seq: int | None
    reason: str | None
    kind: str | None = None
    keyed: bool = False  # HMAC chain checked against a signed head
    notes: tuple[str, ...] = ()


def verify(engine: Engine) -> VerifyResult:
    """Recompute the chain (and, with a key, check it against the signed head); report the
    first row whose link or content does not match, and what kind of tampering that is."""
    key = load_key()
    head: Head | None = None
    notes: list[str] = []
    if key is not None:
        path = head_path(key, engine)
        try:
            head = read_head(path, key)
        except HeadInvalid as err:
            return VerifyResult(False, 0, None, str(err), HEAD_INVALID, True)
        if head is None:
            return VerifyResult(
                False,
                0,
                None,
                f"no signed head at {path}: it was removed, or this trail was never written "
                "with the key (then run `renalpath audit seal` once)",
                HEAD_MISSING,
                True,
            )
    keyed_after = head.keyed_after if head else None
    secret = key.secret if key else None
    prev = GENESIS
    count = 0
    last_seq = 0
    cols = [getattr(AuditLog, c) for c in ("seq", *COLUMNS)]
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=50_000).execute(
            select(*cols).order_by(AuditLog.seq)
        )
        for row in result:
            count += 1
            seq, content, prev_hash, digest = row[0], tuple(row[1:10]), row[10], row[11]
            keyed = keyed_after is not None and seq > keyed_after
            if prev_hash != prev:
                gap = f" (rows {last_seq + 1}–{seq - 1} are missing)" if seq > last_seq + 1 else ""
                return VerifyResult(
                    False,
                    count,
                    seq,
                    f"link to the previous row is broken before row {seq}{gap}: rows were "
                    "deleted, inserted or re-chained in the middle of the trail",
                    DELETED_MIDDLE,
                    head is not None,
                )
            expected = row_hash(prev, content, secret if keyed else None)
            if expected != digest:
                return _bad_content(seq, count, prev, content, digest, keyed, key, head)
            prev = digest
            last_seq = seq
    if head is None:
        if key is None:
            notes.append(
                "unkeyed trail: plain SHA-256 links detect careless edits, not someone who "
                "recomputes the hashes or deletes the last rows; configure "
                f"{KEY_FILE_ENV} (or {KEY_ENV}) to seal it"
            )
        return VerifyResult(True, count, None, None, None, False, tuple(notes))
    return _check_head(head, count, last_seq, prev, engine, notes)


def _bad_content(
    seq: int,
    count: int,
    prev: str,
    content: tuple[str | None, ...],
    digest: str,
    keyed: bool,
    key: AuditKey | None,
    head: Head | None,
) -> VerifyResult:
    if keyed and row_hash(prev, content) == digest:
        return VerifyResult(
            False,
            count,
            seq,
            f"row {seq} was rewritten and its hash recomputed without the key (a plain "
            "SHA-256 where the trail is keyed)",
            REWRITTEN,
            True,
        )
    hint = ""
    if key is None:
        hint = f" (if this trail was written with a key, set {KEY_FILE_ENV} or {KEY_ENV})"
    return VerifyResult(
        False,
        count,
        seq,
        f"row {seq}: content does not match its hash (the row was altered){hint}",
        ALTERED,
        head is not None,
    )


def _check_head(
    head: Head, count: int, last_seq: int, last_hash: str, engine: Engine, notes: list[str]
) -> VerifyResult:
    with engine.connect() as conn:
        at_head = _hash_at(conn, head.seq) if head.seq else GENESIS
        upto = count - (_count(conn, after=head.seq) if head.seq else count)
    if at_head == head.hash and upto == head.rows:
        if last_seq > head.seq:
            notes.append(
                f"{count - head.rows} row(s) after the signed head (row {head.seq}) were "
                "written without advancing it; their keyed links verify"
            )
        return VerifyResult(True, count, None, None, None, True, tuple(notes))
    interrupted = (last_seq, last_hash) == (head.prev_seq, head.prev_hash)
    if interrupted and count == head.prev_rows and not head.committed:
        notes.append(
            f"the last transaction signed row {head.seq} but never committed (interrupted); "
            f"the trail ends at the state before it (row {head.prev_seq})"
        )
        return VerifyResult(True, count, None, None, None, True, tuple(notes))
    if at_head is None and last_seq < head.seq:
        missing = head.rows - count
        return VerifyResult(
            False,
            count,
            last_seq + 1 if last_seq else 1,
            f"rows were deleted at the end of the trail: it ends at row {last_seq} with "
            f"{count} rows, the signed head records {head.rows} rows up to row {head.seq} "
            f"({missing} missing)",
            DELETED_END,
            True,
        )
    if at_head != head.hash:
        return VerifyResult(
            False,
            count,
            head.seq,
            f"row {head.seq} does not carry the hash the signed head records (the trail was "
            "rewritten from there on)",
            REWRITTEN,
            True,
        )
    return VerifyResult(
        False,
        count,
        None,
        f"the trail holds {upto} rows up to row {head.seq}, the signed head records "
        f"{head.rows}: rows were deleted",
        DELETED_MIDDLE,
        True,
    )


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
