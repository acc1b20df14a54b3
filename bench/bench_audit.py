"""Audit trail append throughput: one audited action per transaction (what a record view or a
correction costs the trail), unkeyed and keyed (HMAC chain + signed head file written before
every commit), on SQLite; PostgreSQL too when RENALPATH_BENCH_PG_URL is set."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from harness import Figure, report

from renalpath.registry import audit
from renalpath.registry.audit_seal import KEY_FILE_ENV
from renalpath.registry.db import make_engine, upgrade

SECONDS = 2.0


def _appends_per_second(url: str) -> tuple[float, int]:
    engine = make_engine(url)
    upgrade(engine)
    change = [audit.Change("read", "patients", "P1", None, None, None)]
    n = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < SECONDS:
        with engine.begin() as conn:
            audit.append(conn, change, "bench", "record viewed")
        n += 1
    assert audit.verify(engine).ok
    engine.dispose()
    return elapsed, n


def main() -> None:
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="renalpath-bench-audit-") as tmp:
        key = Path(tmp) / "audit.key"
        key.write_text("bench-key-" + "0" * 40)
        for keyed in (False, True):
            if keyed:
                os.environ[KEY_FILE_ENV] = str(key)
            else:
                os.environ.pop(KEY_FILE_ENV, None)
            label = "keyed" if keyed else "unkeyed"
            targets = [("sqlite", f"sqlite:///{tmp}/{label}.db")]
            if pg := os.environ.get("RENALPATH_BENCH_PG_URL"):
                targets.append(("postgresql", pg))
            for backend, url in targets:
                elapsed, n = _appends_per_second(url)
                figures.append(
                    Figure(
                        f"audit append, 1 row/txn, {backend}, {label}",
                        elapsed / n,
                        "appends/s",
                        n / elapsed,
                    )
                )
        os.environ.pop(KEY_FILE_ENV, None)
    report(figures)


if __name__ == "__main__":
    main()
