"""Bulk writes: SQLite `executemany`, PostgreSQL `COPY` — never row-by-row ORM flushes.

Both run on the caller's connection, so they join its transaction: a failed or killed import
leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from sqlalchemy import Connection

Row = Sequence[Any]
Progress = Callable[[int], None]

_CHUNK = 20_000


def bulk_insert(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Row],
    progress: Progress | None = None,
) -> None:
    """Insert `rows` (tuples in `columns` order; dates as ISO text, None = NULL)."""
    if not rows:
        return
    cols = ", ".join(f'"{c}"' for c in columns)
    if conn.dialect.name == "postgresql":
        dbapi = conn.connection.driver_connection
        if not isinstance(dbapi, psycopg.Connection):
            raise TypeError("PostgreSQL bulk load needs the psycopg 3 driver (postgresql+psycopg)")
        with dbapi.cursor() as cur, cur.copy(f'COPY "{table}" ({cols}) FROM STDIN') as copy:
            for start in range(0, len(rows), _CHUNK):
                for row in rows[start : start + _CHUNK]:
                    copy.write_row(row)
                if progress:
                    progress(len(rows[start : start + _CHUNK]))
        return
    marks = ", ".join("?" for _ in columns)
    sql = f'INSERT INTO "{table}" ({cols}) VALUES ({marks})'
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        conn.exec_driver_sql(sql, [tuple(r) for r in chunk])
        if progress:
            progress(len(chunk))


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
    if conn.dialect.name == "postgresql":
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
