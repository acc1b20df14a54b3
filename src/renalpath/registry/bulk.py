"""Bulk writes: SQLite `executemany`, PostgreSQL `COPY` — never row-by-row ORM flushes.

All run on the caller's connection, so they join its transaction: a failed or killed import
leaves nothing behind. SQLite rows go straight to the DBAPI cursor (an iterator of plain tuples:
no SQLAlchemy parameter processing, no list of all rows); PostgreSQL rows are either tuples
(`write_row`) or pre-formatted COPY text (`copy_lines`), which is several times faster for
large tables because the per-row work is one C-level string join.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

if TYPE_CHECKING:
    import psycopg

Row = Sequence[Any]
Progress = Callable[[int], None]

_CHUNK = 20_000
_COPY_BLOCK = 5_000  # lines per copy.write() call

# COPY text format: backslash, tab, newline and carriage return are escaped; NULL is \N.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def copy_escape(text: str) -> str:
    """One value in PostgreSQL COPY text format (never NULL: callers write "\\N" for that)."""
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return text.translate(_COPY_ESCAPES)
    return text


def _psycopg(conn: Connection) -> psycopg.Connection[Any]:
    import psycopg  # the [pg] extra: only PostgreSQL users need the driver

    dbapi = conn.connection.driver_connection
    if not isinstance(dbapi, psycopg.Connection):
        raise TypeError("PostgreSQL bulk load needs the psycopg 3 driver (postgresql+psycopg)")
    return dbapi


def copy_lines(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[str]],
    progress: Progress | None = None,
) -> None:
    """COPY rows whose cells are already COPY text (escaped, "\\N" for NULL) into `table`."""
    cols = ", ".join(f'"{c}"' for c in columns)
    lines = map("\t".join, rows)
    with _psycopg(conn).cursor() as cur, cur.copy(f'COPY "{table}" ({cols}) FROM STDIN') as copy:
        while True:
            block = list(islice(lines, _COPY_BLOCK))
            if not block:
                break
            block.append("")
            copy.write("\n".join(block))
            if progress:
                progress(len(block) - 1)


def bulk_insert(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Row],
    progress: Progress | None = None,
) -> None:
    """Insert `rows` (tuples in `columns` order; dates as ISO text, None = NULL)."""
    cols = ", ".join(f'"{c}"' for c in columns)
    it = iter(rows)
    if is_postgres(conn):
        sql = f'COPY "{table}" ({cols}) FROM STDIN'
        with _psycopg(conn).cursor() as cur, cur.copy(sql) as copy:
            while chunk := list(islice(it, _CHUNK)):
                for row in chunk:
                    copy.write_row(row)
                if progress:
                    progress(len(chunk))
        return
    marks = ", ".join("?" for _ in columns)
    sql = f'INSERT INTO "{table}" ({cols}) VALUES ({marks})'
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if progress is None:
            cursor.executemany(sql, it)
            return
        while chunk := list(islice(it, _CHUNK)):
            cursor.executemany(sql, chunk)
            progress(len(chunk))
    finally:
        cursor.close()


def bulk_update(
    conn: Connection,
    table: str,
    key: Sequence[str],
    columns: Sequence[str],
    rows: Sequence[Row],
) -> None:
    """Set `columns` on the rows identified by `key`; each row is (*key values, *new values).

    PostgreSQL: COPY into a temporary table, then one UPDATE … FROM (executemany of single
    UPDATEs is two orders of magnitude slower there). SQLite: executemany.
    """
    if not rows:
        return
    sets = ", ".join(f'"{c}" = ?' for c in columns)
    where = " AND ".join(f'"{k}" = ?' for k in key)
    if is_postgres(conn):
        tmp = f"tmp_upd_{table}"
        allc = [*key, *columns]
        conn.exec_driver_sql(
            f'CREATE TEMP TABLE "{tmp}" ON COMMIT DROP AS '
            f'SELECT {", ".join(f"{chr(34)}{c}{chr(34)}" for c in allc)} FROM "{table}" LIMIT 0'
        )
        bulk_insert(conn, tmp, allc, rows)
        sets_pg = ", ".join(f'"{c}" = s."{c}"' for c in columns)
        where_pg = " AND ".join(f't."{k}" = s."{k}"' for k in key)
        conn.exec_driver_sql(
            f'UPDATE "{table}" AS t SET {sets_pg} FROM "{tmp}" AS s WHERE {where_pg}'
        )
        conn.exec_driver_sql(f'DROP TABLE "{tmp}"')
        return
    reordered = [(*r[len(key) :], *r[: len(key)]) for r in rows]
    sql = f'UPDATE "{table}" SET {sets} WHERE {where}'
    for start in range(0, len(reordered), _CHUNK):
        conn.exec_driver_sql(sql, reordered[start : start + _CHUNK])


class DeferredIndexes:
    """Bulk-load recipe for tables that are empty when an import starts: drop their secondary
    (non-unique) indexes — and on PostgreSQL their foreign keys — load, then recreate them
    from their exact stored definitions (PostgreSQL manual, "Populating a Database").

    Everything happens inside the import's transaction, so a failed or killed import restores
    the schema with the data. Primary keys and unique constraints stay in place throughout;
    re-adding a foreign key re-checks every loaded row at once (one join instead of a lookup per
    row), so no guarantee is weakened. On PostgreSQL the ALTERs lock the tables until commit —
    acceptable for the first load of an empty table; non-empty tables are never touched. If the
    user may not alter a table, its indexes are simply left in place.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._restore: list[str] = []

    def drop(self, tables: Iterable[str]) -> None:
        for table in tables:
            if is_postgres(self.conn):
                self._drop_pg(table)
            else:
                self._drop_sqlite(table)

    def _drop_sqlite(self, table: str) -> None:
        raw = self.conn.connection.driver_connection
        if not raw.in_transaction:  # type: ignore[union-attr]
            # pysqlite opens transactions only before DML: make sure the DROP is inside one.
            raw.execute("BEGIN")  # type: ignore[union-attr]
        rows = self.conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL",
            (table,),
        ).all()
        for name, sql in rows:
            if "UNIQUE" in str(sql).upper().split("INDEX")[0]:
                continue
            self.conn.exec_driver_sql(f'DROP INDEX "{name}"')
            self._restore.append(str(sql))

    def _drop_pg(self, table: str) -> None:
        fks = self.conn.exec_driver_sql(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %(t)s::regclass AND contype = 'f'",
            {"t": f'"{table}"'},
        ).all()
        idx = self.conn.exec_driver_sql(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid = %(t)s::regclass AND NOT i.indisunique AND NOT i.indisprimary",
            {"t": f'"{table}"'},
        ).all()
        savepoint = self.conn.begin_nested()
        try:
            for name, _ in fks:
                self.conn.exec_driver_sql(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
            for name, _ in idx:
                self.conn.exec_driver_sql(f"DROP INDEX {name}")
        except Exception:
            savepoint.rollback()
            return
        savepoint.commit()
        self._restore.extend(str(sql) for _, sql in idx)
        self._restore.extend(
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}'
            for name, definition in fks
        )

    def restore(self) -> None:
        """Recreate what `drop` removed (indexes first, then foreign keys, which are checked)."""
        for sql in self._restore:
            self.conn.exec_driver_sql(sql)
        self._restore = []
