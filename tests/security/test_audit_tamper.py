"""Trimming or rewriting the audit trail is detected and named, on both backends.

The attacker owns the database (drops the append-only triggers, deletes and updates rows,
recomputes hashes with the public function) but not the audit key nor the signed head, which
live outside the database.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from renalpath.registry import audit
from renalpath.registry.audit_seal import KEY_FILE_ENV, PENDING, publish_pending
from renalpath.registry.importer import import_folder
from renalpath.registry.records import read_record
from tests.registry.registry_fixtures import base_rows, write_folder

KEY = "k" * 16 + "0123456789abcdef0123"


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """An audit key in a file; the signed heads go beside it."""
    folder = tmp_path / "secrets"
    folder.mkdir()
    key_file = folder / "audit.key"
    key_file.write_text(KEY)
    monkeypatch.setenv(KEY_FILE_ENV, str(key_file))
    yield folder


def _drop_protection(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_change ON audit_log"))


def _fill(engine: Engine, tmp_path: Path) -> int:
    import_folder(engine, write_folder(tmp_path / "a", base_rows()), actor="user:alice")
    rows = copy.deepcopy(base_rows())
    rows["pathology"][0]["margin"] = "positive"
    import_folder(engine, write_folder(tmp_path / "b", rows), reason="path review")
    for _ in range(3):
        read_record(engine, "patients", "P1", actor="user:bob")
    result = audit.verify(engine)
    assert result.ok and result.keyed, result
    return result.rows


def _seqs(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return [
            int(s) for s in conn.execute(text("SELECT seq FROM audit_log ORDER BY seq")).scalars()
        ]


def _rechain_from(engine: Engine, seq: int) -> None:
    """Recompute every hash from `seq` on with the public (unkeyed) row hash."""
    cols = ", ".join(audit.CONTENT)
    with engine.begin() as conn:
        prev = (
            conn.execute(
                text("SELECT hash FROM audit_log WHERE seq < :s ORDER BY seq DESC LIMIT 1"),
                {"s": seq},
            ).scalar()
            or audit.GENESIS
        )
        rows = conn.execute(
            text(f"SELECT seq, {cols} FROM audit_log WHERE seq >= :s ORDER BY seq"), {"s": seq}
        ).all()
        for row in rows:
            digest = audit.row_hash(prev, tuple(row[1:]))
            conn.execute(
                text("UPDATE audit_log SET prev_hash = :p, hash = :h WHERE seq = :s"),
                {"p": prev, "h": digest, "s": row[0]},
            )
            prev = digest


def test_deleting_the_last_row_is_detected(engine: Engine, tmp_path: Path, keyed: Path) -> None:
    total = _fill(engine, tmp_path)
    _drop_protection(engine)
    last = _seqs(engine)[-1]
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": last})
    result = audit.verify(engine)
    assert not result.ok and result.kind == audit.DELETED_END, result
    assert "end" in (result.reason or "") and f"{total} rows" in (result.reason or "")


def test_trimming_many_rows_is_detected(engine: Engine, tmp_path: Path, keyed: Path) -> None:
    _fill(engine, tmp_path)
    _drop_protection(engine)
    seqs = _seqs(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq >= :s"), {"s": seqs[5]})
    result = audit.verify(engine)
    assert not result.ok and result.kind == audit.DELETED_END, result


def test_deleting_a_middle_row_is_detected(engine: Engine, tmp_path: Path, keyed: Path) -> None:
    _fill(engine, tmp_path)
    _drop_protection(engine)
    seqs = _seqs(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": seqs[7]})
    result = audit.verify(engine)
    assert not result.ok and result.kind == audit.DELETED_MIDDLE, result
    assert result.first_bad_seq == seqs[8]


def test_deleting_a_middle_row_and_rechaining_is_detected(
    engine: Engine, tmp_path: Path, keyed: Path
) -> None:
    _fill(engine, tmp_path)
    _drop_protection(engine)
    seqs = _seqs(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": seqs[7]})
    _rechain_from(engine, seqs[8])
    result = audit.verify(engine)
    assert not result.ok and result.kind == audit.REWRITTEN, result
    assert result.first_bad_seq == seqs[8]


def test_rewriting_with_recomputed_hashes_is_detected(
    engine: Engine, tmp_path: Path, keyed: Path
) -> None:
    _fill(engine, tmp_path)
    _drop_protection(engine)
    seqs = _seqs(engine)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_log SET actor = 'user:mallory' WHERE seq = :s"), {"s": seqs[4]}
        )
    _rechain_from(engine, seqs[4])
    result = audit.verify(engine)
    assert not result.ok and result.kind == audit.REWRITTEN, result
    assert result.first_bad_seq == seqs[4] and "without the key" in (result.reason or "")


def test_an_edited_row_is_detected(engine: Engine, tmp_path: Path, keyed: Path) -> None:
    _fill(engine, tmp_path)
    _drop_protection(engine)
    seqs = _seqs(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET reason = 'nothing' WHERE seq = :s"), {"s": seqs[2]})
    result = audit.verify(engine)
    assert not result.ok and result.kind == audit.ALTERED and result.first_bad_seq == seqs[2]


def test_a_forged_or_removed_head_is_detected(engine: Engine, tmp_path: Path, keyed: Path) -> None:
    _fill(engine, tmp_path)
    (head,) = keyed.glob("audit-head-*.json")
    doc = json.loads(head.read_text())
    doc["rows"] -= 1
    head.write_text(json.dumps(doc))
    result = audit.verify(engine)
    assert not result.ok and result.kind == audit.HEAD_INVALID, result
    head.unlink()
    result = audit.verify(engine)
    assert not result.ok and result.kind == audit.HEAD_MISSING, result


def test_a_transaction_killed_after_signing_still_verifies(
    engine: Engine, tmp_path: Path, keyed: Path
) -> None:
    """The head is signed just before COMMIT: a crash in between is not tampering."""
    total = _fill(engine, tmp_path)
    with engine.connect() as conn:
        trans = conn.begin()
        audit.append(
            conn,
            [audit.Change("read", "patients", "P1", None, None, None)],
            "user:bob",
            "record viewed",
        )
        assert PENDING in conn.info
        publish_pending(conn)  # the head is on disk …
        trans.rollback()  # … and the commit never happens
    result = audit.verify(engine)
    assert result.ok and result.rows == total, result
    assert any("never committed" in n for n in result.notes)
    read_record(engine, "patients", "P1", actor="user:bob")  # the next writer continues
    result = audit.verify(engine)
    assert result.ok and result.rows == total + 1 and not result.notes, result


def test_an_existing_unkeyed_trail_is_sealed(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows written before a key was configured are protected once the first keyed row
    covers them; rewriting them afterwards is detected."""
    import_folder(engine, write_folder(tmp_path / "a", base_rows()))
    plain = audit.verify(engine)
    assert plain.ok and not plain.keyed and plain.notes  # says it is unkeyed
    key_file = tmp_path / "audit.key"
    key_file.write_text(KEY)
    monkeypatch.setenv(KEY_FILE_ENV, str(key_file))
    assert audit.verify(engine).kind == audit.HEAD_MISSING
    audit.seal(engine, "cli:admin")
    sealed = audit.verify(engine)
    assert sealed.ok and sealed.keyed and sealed.rows == plain.rows + 1, sealed
    _drop_protection(engine)
    seqs = _seqs(engine)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_log SET actor = 'user:mallory' WHERE seq = :s"), {"s": seqs[1]}
        )
    _rechain_from(engine, seqs[1])  # every plain hash recomputed, up to the seal row
    result = audit.verify(engine)
    assert not result.ok and result.first_bad_seq is not None, result
