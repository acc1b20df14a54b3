"""The audit trail stays one chain while clients read and correct records at the same time.

Every audited read appends a row, so concurrent viewers are concurrent writers of the chain: if
two of them read the same head before either writes, the chain forks and `audit verify` can no
longer tell tampering from a race. 8 readers and 2 correcting writers run for a few seconds
(10 s with RENALPATH_SLOW_TESTS=1) on each backend; the trail must verify intact and hold every
row the clients were told was written.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from renalpath.registry import audit
from renalpath.registry.audit_seal import KEY_FILE_ENV
from renalpath.registry.importer import import_folder
from renalpath.registry.models import Lab
from renalpath.registry.records import read_record, update_record

SECONDS = 10.0 if os.environ.get("RENALPATH_SLOW_TESTS") == "1" else 3.0
READERS, WRITERS = 8, 2


def _lab_ids(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return [int(i) for i in conn.execute(select(Lab.id).order_by(Lab.id)).scalars()]


@pytest.mark.parametrize("keyed", [False, True], ids=["unkeyed", "keyed"])
def test_readers_and_writers_never_fork_the_chain(
    engine: Engine, folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keyed: bool
) -> None:
    if keyed:
        key_file = tmp_path / "audit.key"
        key_file.write_text("0123456789abcdef" * 4)
        monkeypatch.setenv(KEY_FILE_ENV, str(key_file))
    import_folder(engine, folder)
    labs = _lab_ids(engine)
    deadline = time.monotonic() + SECONDS
    done = {"reads": 0, "writes": 0}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def reader(n: int) -> None:
        while time.monotonic() < deadline:
            try:
                read_record(engine, "patients", "P1", actor=f"user:reader{n}")
            except BaseException as err:
                errors.append(err)
                return
            with lock:
                done["reads"] += 1

    def writer(n: int) -> None:
        step = 0
        while time.monotonic() < deadline:
            step += 1
            # writer 0 corrects P1's creatinine in mg/dL, writer 1 P2's haemoglobin in g/dL
            lab = labs[0] if n == 0 else labs[2]
            value = f"{1 + step % 9 / 10:.1f}" if n == 0 else f"{12 + step % 7 / 10:.1f}"
            try:
                res = update_record(
                    engine,
                    "labs",
                    lab,
                    {"value": value},
                    f"correction {n}.{step}",
                    f"user:writer{n}",
                )
            except BaseException as err:
                errors.append(err)
                return
            with lock:
                done["writes"] += res.audit_rows

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(READERS)]
    threads += [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    before = audit.verify(engine).rows
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    result = audit.verify(engine)
    print(f"{engine.dialect.name}: {done['reads']} audited reads, {done['writes']} correction rows")
    assert result.ok and (not result.notes or not keyed), f"chain forked: {result}"
    assert result.keyed == keyed
    assert result.rows == before + done["reads"] + done["writes"]
    assert done["reads"] > 0 and done["writes"] > 0
