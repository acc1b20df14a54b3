"""Audit trail: append-only, hash-chained, tamper-evident — on both databases."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from renalpath.registry import audit
from renalpath.registry.importer import import_folder
from tests.registry.registry_fixtures import base_rows, write_folder


def _drop_protection(engine: Engine) -> None:
    """What an attacker with DBA rights would do first."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_change ON audit_log"))


def _two_imports(engine: Engine, tmp_path: Path) -> None:
    import_folder(engine, write_folder(tmp_path / "a", base_rows()), actor="user:alice")
    rows = copy.deepcopy(base_rows())
    rows["pathology"][0]["margin"] = "positive"
    import_folder(engine, write_folder(tmp_path / "b", rows), reason="path review", update=True)


def test_chain_verifies_and_records_who_what_why(engine: Engine, tmp_path: Path) -> None:
    _two_imports(engine, tmp_path)
    result = audit.verify(engine)
    assert result.ok and result.rows == 17
    latest = next(audit.log_rows(engine))
    assert latest["actor"] == audit.cli_actor() and latest["actor"].startswith("cli:")
    assert (latest["entity"], latest["entity_id"], latest["field"]) == ("pathology", "I2", "margin")
    assert (latest["old"], latest["new"], latest["reason"]) == (
        "negative",
        "positive",
        "path review",
    )
    first = list(audit.log_rows(engine, limit=None))[-1]
    assert first["actor"] == "user:alice" and first["action"] == "insert"


def test_database_refuses_to_change_audit_rows(engine: Engine, tmp_path: Path) -> None:
    _two_imports(engine, tmp_path)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'mallory'"))
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 1"))


@pytest.mark.parametrize(
    ("statement", "bad_seq", "why"),
    [
        ('UPDATE audit_log SET new = \'{"sex": "female"}\' WHERE seq = 1', 1, "altered"),
        ("UPDATE audit_log SET old = 'positive' WHERE seq = 17", 17, "altered"),
        ("DELETE FROM audit_log WHERE seq = 5", 6, "broken"),
    ],
    ids=["altered-first", "altered-last", "deleted"],
)
def test_tampering_is_detected(
    engine: Engine, tmp_path: Path, statement: str, bad_seq: int, why: str
) -> None:
    _two_imports(engine, tmp_path)
    _drop_protection(engine)
    with engine.begin() as conn:
        conn.execute(text(statement))
    result = audit.verify(engine)
    assert not result.ok
    assert result.first_bad_seq == bad_seq
    assert result.reason is not None and why in result.reason
