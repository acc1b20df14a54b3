"""The audit page: a patient's whole trail (labs included), filters, readable times, diffs."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from fastapi.testclient import TestClient

from renalpath.registry.db import make_engine
from renalpath.registry.records import delete_record, read_record, update_record
from renalpath.web.pages.audit import readable_time

from .conftest import login
from .registry_support import registry_db, rw_client  # noqa: F401  (fixtures)


def _rows(html: str) -> list[dict[str, str]]:
    """data-* attributes of every audit row."""
    return [
        dict(re.findall(r'data-(\w+)="([^"]*)"', m))
        for m in re.findall(r"<tr (data-seq=[^>]*)>", html)
    ]


_MGDL = "test='creatinine' and unit='mg/dL'"  # values like 1.11 are valid in this unit


def _lab_ids(db: Path, n: int) -> tuple[str, list[int]]:
    with sqlite3.connect(db) as conn:
        pid = conn.execute(
            f"select patient_id from labs where {_MGDL} group by patient_id "
            "having count(*) >= ? order by patient_id limit 1",
            (n,),
        ).fetchone()[0]
        sql = f"select id from labs where patient_id=? and {_MGDL} order by id limit ?"
        ids = [r[0] for r in conn.execute(sql, (pid, n))]
    return pid, ids


def test_patient_trail_includes_lab_corrections_and_deletions(rw_client: TestClient) -> None:  # noqa: F811
    db: Path = rw_client.db_path  # type: ignore[attr-defined]
    pid, (fixed, gone) = _lab_ids(db, 2)
    engine = make_engine(f"sqlite:///{db}")
    update_record(engine, "labs", fixed, {"value": "1.11"}, "re-run by the lab", "dora")
    delete_record(engine, "labs", gone, "entered for the wrong patient", "dora")
    read_record(engine, "labs", fixed, "dora")  # a view, hidden unless asked for
    engine.dispose()
    login(rw_client, "cleo")
    page = rw_client.get("/audit", params={"patient": pid, "from": "2000-01-01"})
    assert page.status_code == 200, page.text
    rows = _rows(page.text)
    seen = {(r["entity"], r["action"]) for r in rows}
    assert {("labs", "update"), ("labs", "delete"), ("patients", "insert")} <= seen
    assert ("labs", "read") not in seen
    assert "re-run by the lab" in page.text and "entered for the wrong patient" in page.text
    # every row shown belongs to this patient (own id, or a record of the patient)
    with sqlite3.connect(db) as conn:
        tumours = {
            r[0] for r in conn.execute("select tumour_id from tumours where patient_id=?", (pid,))
        }
        ops = {
            r[0]
            for r in conn.execute(
                "select intervention_id from interventions where patient_id=?", (pid,)
            )
        }
        shown = conn.execute(
            f"select entity, entity_id from audit_log where seq in "
            f"({','.join(r['seq'] for r in rows)})"
        ).fetchall()
    for entity, eid in shown:
        owner = eid.split("|")[0]
        assert owner in {pid} | tumours | ops, (entity, eid)
    with_reads = _rows(rw_client.get("/audit", params={"patient": pid, "reads": "1"}).text)
    assert ("labs", "read") in {(r["entity"], r["action"]) for r in with_reads}


def test_action_user_and_date_filters(rw_client: TestClient) -> None:  # noqa: F811
    db: Path = rw_client.db_path  # type: ignore[attr-defined]
    _, (lab,) = _lab_ids(db, 1)
    engine = make_engine(f"sqlite:///{db}")
    update_record(engine, "labs", lab, {"value": "2.22"}, "typo", "erin")
    engine.dispose()
    login(rw_client, "cleo")
    by_user = _rows(rw_client.get("/audit", params={"actor": "erin"}).text)
    assert by_user and {r["action"] for r in by_user} == {"update"}
    updates = _rows(rw_client.get("/audit", params={"action": "update"}).text)
    assert updates and all(r["action"] == "update" for r in updates)
    assert not _rows(rw_client.get("/audit", params={"to": "1999-12-31"}).text)
    bad = rw_client.get("/audit", params={"from": "2024-02-30", "action": "erase"})
    assert bad.status_code == 422
    assert 'data-field="from"' in bad.text and 'data-field="action"' in bad.text


def test_times_are_readable_and_values_are_a_diff(rw_client: TestClient) -> None:  # noqa: F811
    db: Path = rw_client.db_path  # type: ignore[attr-defined]
    _, (lab,) = _lab_ids(db, 1)
    engine = make_engine(f"sqlite:///{db}")
    update_record(engine, "labs", lab, {"value": "3.33"}, "checked", "erin")
    engine.dispose()
    login(rw_client, "cleo")
    html = rw_client.get("/audit", params={"actor": "erin"}).text
    assert re.search(r"<time datetime=\"[^\"]+\">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</time>", html)
    assert not re.search(r">\d{4}-\d\d-\d\dT[^<]*\.\d{6}", html)  # no microseconds shown
    assert re.search(
        r'<del class="old">[^<]+</del> <span aria-hidden="true">→</span> '
        r'<ins class="new">3.33</ins>',
        html,
    )


def test_readable_time() -> None:
    assert readable_time("2026-12-07T05:46:47.918826+00:00") == "2026-12-07 05:46:47"
    assert readable_time("2026-12-07T06:46:47+01:00") == "2026-12-07 05:46:47"
    assert readable_time("not a time") == "not a time"
