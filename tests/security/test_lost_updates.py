"""No lost updates: a correction never overwrites a change it did not see, an import and a
correction running together leave a consistent history, and the lab form never touches
another patient's lab."""

from __future__ import annotations

import copy
import itertools
import re
import sqlite3
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from renalpath.registry.audit import RevertConflict
from renalpath.registry.importer import import_folder
from renalpath.registry.models import AuditLog, Lab
from renalpath.registry.records import RecordConflict, read_record, update_record
from tests.registry.registry_fixtures import base_rows, write_folder
from tests.web.conftest import bearer, login

ROUNDS = 6


def _sql(db: Path, query: str, *args: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(query, args))


def _value_history(engine: Engine, lab_key: str) -> list[tuple[str | None, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(AuditLog.old, AuditLog.new)
            .where(
                AuditLog.entity == "labs", AuditLog.entity_id == lab_key, AuditLog.field == "value"
            )
            .order_by(AuditLog.seq)
        ).all()
    return [(r[0], r[1]) for r in rows]


def test_import_and_correction_together_lose_nothing(engine: Engine, tmp_path: Path) -> None:
    """Each round an import sets P1's creatinine to one value while a clinician corrects it
    to another. Whatever the order, every audited change must start from the value the
    previous one left (no "90 → 91" when the value was 80), and the stored value must be the
    last audited one."""
    import_folder(engine, write_folder(tmp_path / "base", base_rows()))
    key = "P1|2018-01-20|creatinine"
    with engine.connect() as conn:
        lab_id = conn.execute(select(Lab.id).order_by(Lab.id)).scalars().first()
    assert lab_id is not None
    errors: list[BaseException] = []
    for n in range(ROUNDS):
        rows = copy.deepcopy(base_rows())
        rows["labs"][0]["value"] = f"1.{n}5"
        folder = write_folder(tmp_path / f"r{n}", rows)

        def importer(folder: Path = folder) -> None:
            try:
                import_folder(engine, folder, reason="monthly import")
            except BaseException as err:
                errors.append(err)

        def corrector(n: int = n) -> None:
            try:
                update_record(engine, "labs", lab_id, {"value": f"2.{n}"}, "re-run", "user:cleo")
            except BaseException as err:
                errors.append(err)

        threads = [threading.Thread(target=importer), threading.Thread(target=corrector)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors, errors
    history = _value_history(engine, key)
    assert len(history) >= ROUNDS
    for (_, before_new), (next_old, _) in itertools.pairwise(history):
        assert next_old == before_new, history
    stored = read_record(engine, "labs", lab_id).cells["value"]
    assert history[-1][1] == stored


def test_stale_version_is_refused(engine: Engine, folder: Path) -> None:
    import_folder(engine, folder)
    seen = read_record(engine, "patients", "P1")
    update_record(
        engine, "patients", "P1", {"last_contact_date": "2023-02-01"}, "visit", "user:ann"
    )
    try:
        update_record(
            engine,
            "patients",
            "P1",
            {"last_contact_date": "2023-03-01"},
            "visit",
            "user:bob",
            if_match=seen.version,
        )
    except RecordConflict as err:
        assert "changed since" in err.message
    else:
        raise AssertionError("a correction based on a stale version was written")
    assert read_record(engine, "patients", "P1").cells["last_contact_date"] == "2023-02-01"


def test_api_if_match(rw_client: TestClient) -> None:
    db = rw_client.db_path
    (event_id,) = _sql(db, "select id from events order by id limit 1")[0]
    got = rw_client.get(f"/api/v1/events/{event_id}", headers=bearer("cleo"))
    assert got.status_code == 200
    version = got.json()["version"]
    first = rw_client.patch(
        f"/api/v1/events/{event_id}",
        json={"detail": "first", "reason": "r"},
        headers={**bearer("cleo"), "If-Match": f'"{version}"'},
    )
    assert first.status_code == 200, first.text
    stale = rw_client.patch(
        f"/api/v1/events/{event_id}",
        json={"detail": "second", "reason": "r"},
        headers={**bearer("cleo"), "If-Match": f'"{version}"'},
    )
    assert stale.status_code == 409, stale.text
    assert _sql(db, "select detail from events where id=?", event_id)[0][0] == "first"


def test_lab_api_refuses_a_correction_of_a_value_it_did_not_see(rw_client: TestClient) -> None:
    db = rw_client.db_path
    lab_id, value = _sql(db, "select id, value from labs where test='hemoglobin' limit 1")[0]
    resp = rw_client.patch(
        f"/api/v1/labs/{lab_id}",
        json={"value": 13.3, "reason": "typo", "seen": float(value) + 1},  # type: ignore[arg-type]
        headers=bearer("cleo"),
    )
    assert resp.status_code == 409, resp.text
    assert _sql(db, "select value from labs where id=?", lab_id)[0][0] == value


def test_lab_form_does_not_touch_another_patients_lab(rw_client: TestClient) -> None:
    db = rw_client.db_path
    lab_id, owner, value = _sql(db, "select id, patient_id, value from labs limit 1")[0]
    (other,) = _sql(db, "select patient_id from patients where patient_id != ? limit 1", owner)[0]
    audit_rows = _sql(db, "select count(*) from audit_log where action='update'")[0][0]
    token = login(rw_client, "cleo")
    resp = rw_client.post(
        f"/patients/{other}/labs/{lab_id}",
        data={"value": str(float(value) + 0.5), "reason": "wrong page", "csrf_token": token},  # type: ignore[arg-type]
        follow_redirects=False,
    )
    assert resp.status_code == 404
    assert _sql(db, "select value from labs where id=?", lab_id)[0][0] == value
    assert _sql(db, "select count(*) from audit_log where action='update'")[0][0] == audit_rows


def test_an_import_never_silently_reverts_a_correction(engine: Engine, tmp_path: Path) -> None:
    """The monthly import still carries the value a clinician corrected: importing it again
    must not put the wrong value back without a word."""
    src = write_folder(tmp_path / "base", base_rows())
    import_folder(engine, src)
    with engine.connect() as conn:
        lab_id = conn.execute(select(Lab.id).order_by(Lab.id)).scalars().first()
    assert lab_id is not None
    update_record(engine, "labs", lab_id, {"value": "1.3"}, "lab re-run", "user:cleo")
    changed = copy.deepcopy(base_rows())
    changed["events"][1]["detail"] = "a new detail elsewhere in the folder"
    with pytest.raises(RevertConflict, match=r"revert 1 earlier change.*user:cleo"):
        import_folder(engine, write_folder(tmp_path / "again", changed))
    assert read_record(engine, "labs", lab_id).cells["value"] == "1.3"
    assert read_record(engine, "events", 2).cells["detail"] == ""  # nothing was imported
    # the folder corrected to the new value imports (its other change applied on request)
    changed["labs"][0]["value"] = "1.3"
    fixed = write_folder(tmp_path / "fixed", changed)
    assert import_folder(engine, fixed, update=True, reason="monthly update").written


def test_edit_form_refuses_a_record_changed_since_it_was_shown(rw_client: TestClient) -> None:
    db = rw_client.db_path
    event_id, pid = _sql(db, "select id, patient_id from events order by id limit 1")[0]
    token = login(rw_client, "cleo")
    page = rw_client.get(f"/patients/{pid}/records/events/{event_id}")
    assert page.status_code == 200
    match = re.search(r'name="version" value="([0-9a-f]+)"', page.text)
    assert match, "the edit form carries no version"
    other = rw_client.patch(
        f"/api/v1/events/{event_id}",
        json={"detail": "changed meanwhile", "reason": "r"},
        headers=bearer("cleo"),
    )
    assert other.status_code == 200
    stale = rw_client.post(
        f"/patients/{pid}/records/events/{event_id}",
        data={
            "detail": "my edit",
            "reason": "typo",
            "csrf_token": token,
            "version": match.group(1),
            "date": "",
            "type": "",
        },
        follow_redirects=False,
    )
    assert stale.status_code == 409, stale.text[:500]
    assert "changed since" in stale.text
    assert _sql(db, "select detail from events where id=?", event_id)[0][0] == "changed meanwhile"
