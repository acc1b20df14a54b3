"""Patient list (SQL filters, paging), patient page (timeline, eGFR plot), audited reads,
lab corrections with reason and import-equal validation."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from renalpath.web.labels import equation

from .conftest import bearer, login
from .registry_support import reg_client, registry_db, rw_client  # noqa: F401  (fixtures)


def _sql(db: Path, query: str, *args: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(query, args).fetchall()


def test_list_filters_agree_with_sql(reg_client: TestClient, registry_db: Path) -> None:  # noqa: F811
    (female,) = _sql(registry_db, "select count(*) from patients where sex='female'")[0]
    got = reg_client.get("/api/v1/patients?sex=female&page_size=10", headers=bearer("cleo"))
    assert got.status_code == 200, got.text
    doc = got.json()
    assert doc["total"] == female and len(doc["items"]) == 10
    assert all(p["sex"] == "female" for p in doc["items"])
    salvage_ids = {
        r[0]
        for r in _sql(
            registry_db,
            "select distinct patient_id from interventions "
            "where coalesce(intent, intent_derived) = 'salvage'",
        )
    }
    doc = reg_client.get("/api/v1/patients?salvage=yes&page_size=200", headers=bearer("ada")).json()
    assert {p["patient_id"] for p in doc["items"]} == salvage_ids and salvage_ids
    assert all(p["has_salvage"] for p in doc["items"])


def test_list_paging_and_prefix_search(reg_client: TestClient, registry_db: Path) -> None:  # noqa: F811
    ids = [r[0] for r in _sql(registry_db, "select patient_id from patients order by 1")]
    p1 = reg_client.get("/api/v1/patients?page_size=40", headers=bearer("cleo")).json()
    p2 = reg_client.get("/api/v1/patients?page_size=40&page=2", headers=bearer("cleo")).json()
    assert [p["patient_id"] for p in p1["items"] + p2["items"]] == ids[:80]
    target = ids[7]
    found = reg_client.get(f"/api/v1/patients?q={target}", headers=bearer("cleo")).json()
    assert [p["patient_id"] for p in found["items"]] == [target]
    wild = reg_client.get("/api/v1/patients?q=%25", headers=bearer("cleo")).json()
    assert wild["total"] == 0  # a literal %, not a wildcard


def test_list_refuses_bad_filters(reg_client: TestClient) -> None:  # noqa: F811
    resp = reg_client.get("/api/v1/patients?sex=x&salvage=maybe", headers=bearer("cleo"))
    assert resp.status_code == 422
    assert {e["field"] for e in resp.json()["errors"]} == {"sex", "salvage"}
    assert reg_client.get("/api/v1/patients?page=0", headers=bearer("cleo")).status_code == 422


def test_researcher_gets_403(reg_client: TestClient, registry_db: Path) -> None:  # noqa: F811
    pid = _sql(registry_db, "select patient_id from patients limit 1")[0][0]
    for path in ("/api/v1/patients", f"/api/v1/patients/{pid}"):
        assert reg_client.get(path, headers=bearer("rhea")).status_code == 403
    login(reg_client, "rhea")
    assert reg_client.get("/patients").status_code == 403
    assert reg_client.get(f"/patients/{pid}").status_code == 403


def test_patient_page_timeline_plot_and_audited_read(rw_client: TestClient) -> None:  # noqa: F811
    db = rw_client.db_path
    pid = _sql(
        db, "select patient_id from labs where egfr is not null group by 1 order by count(*) desc"
    )[0][0]
    n_labs = _sql(db, "select count(*) from labs where patient_id=?", pid)[0][0]
    n_iv = _sql(db, "select count(*) from interventions where patient_id=?", pid)[0][0]
    login(rw_client, "cleo")
    page = rw_client.get(f"/patients/{pid}")
    assert page.status_code == 200, page.text
    html = page.text
    assert html.count('data-kind="lab"') == n_labs
    assert html.count('data-kind="intervention"') == n_iv
    assert 'id="egfr-trend" src="data:image/svg+xml;base64,' in html
    eq = _sql(
        db, "select distinct egfr_equation from labs where patient_id=? and egfr is not null", pid
    )[0][0]
    # the equation in words, in the caption and in the table
    assert f'data-series="computed-{eq}">eGFR {equation(eq)}, computed from creatinine' in html
    assert html.count('data-marker="') == n_iv  # each intervention marked on the trend
    assert "<style" not in html and " style=" not in html
    reads = _sql(
        db,
        "select actor, action from audit_log where entity='patients' "
        "and entity_id=? and action='read'",
        pid,
    )
    assert reads == [("web:cleo", "read")]
    rw_client.get(f"/api/v1/patients/{pid}", headers=bearer("ada"))
    assert len(_sql(db, "select 1 from audit_log where action='read' and entity_id=?", pid)) == 2


def test_unknown_patient_is_404(reg_client: TestClient) -> None:  # noqa: F811
    assert reg_client.get("/api/v1/patients/nobody", headers=bearer("cleo")).status_code == 404


def _creatinine_lab(db: Path) -> tuple[int, str, str, float]:
    row = _sql(
        db,
        "select id, patient_id, unit, value from labs where test='creatinine' "
        "and unit='mg/dL' and egfr is not null order by id limit 1",
    )[0]
    return int(str(row[0])), str(row[1]), str(row[2]), float(str(row[3]))


def test_patch_lab_updates_egfr_and_audits(rw_client: TestClient) -> None:  # noqa: F811
    db = rw_client.db_path
    lab_id, _pid, _unit, old = _creatinine_lab(db)
    new = 2.0 if old != 2.0 else 2.5
    (egfr_before,) = _sql(db, "select egfr from labs where id=?", lab_id)[0]
    resp = rw_client.patch(
        f"/api/v1/labs/{lab_id}",
        json={"value": new, "reason": "transcription error"},
        headers=bearer("cleo"),
    )
    assert resp.status_code == 200, resp.text
    value, egfr = _sql(db, "select value, egfr from labs where id=?", lab_id)[0]
    assert value == new and egfr == pytest.approx(resp.json()["egfr"])
    # every eGFR equation decreases as creatinine rises
    assert (egfr < egfr_before) if new > old else (egfr > egfr_before)  # type: ignore[operator]
    last_update = (
        "select actor, action, entity, field, old, new, reason from audit_log "
        "where entity='labs' and action='update' order by seq desc limit 1"
    )
    rows = _sql(db, last_update)
    assert rows[0][:4] == ("web:cleo", "update", "labs", "value")
    assert float(rows[0][4]) == old and float(rows[0][5]) == new  # type: ignore[arg-type]
    assert rows[0][6] == "transcription error"


def test_patch_lab_refuses_implausible_creatinine_and_missing_reason(
    rw_client: TestClient,  # noqa: F811
) -> None:
    db = rw_client.db_path
    lab_id, _pid, _unit, old = _creatinine_lab(db)
    resp = rw_client.patch(
        f"/api/v1/labs/{lab_id}", json={"value": 120, "reason": "typo"}, headers=bearer("cleo")
    )
    assert resp.status_code == 422
    err = resp.json()["errors"][0]
    assert err["field"] == "value" and "µmol/L" in (err["message"] + (err["hint"] or ""))
    resp = rw_client.patch(
        f"/api/v1/labs/{lab_id}", json={"value": 1.1, "reason": ""}, headers=bearer("cleo")
    )
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "reason"
    assert _sql(db, "select value from labs where id=?", lab_id)[0][0] == old  # nothing saved
    assert (
        rw_client.patch(
            "/api/v1/labs/1", json={"value": 1, "reason": "x"}, headers=bearer("rhea")
        ).status_code
        == 403
    )


def test_correction_form_and_audit_page(rw_client: TestClient) -> None:  # noqa: F811
    db = rw_client.db_path
    lab_id, pid, _unit, _old = _creatinine_lab(db)
    token = login(rw_client, "cleo")
    # reason missing: shown next to the field, nothing saved
    bad = rw_client.post(
        f"/patients/{pid}/labs/{lab_id}", data={"value": "1.7", "reason": "", "csrf_token": token}
    )
    assert bad.status_code == 422 and 'data-field="reason"' in bad.text
    ok = rw_client.post(
        f"/patients/{pid}/labs/{lab_id}",
        data={"value": "1.7", "reason": "lab re-run", "csrf_token": token},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert _sql(db, "select value from labs where id=?", lab_id)[0][0] == 1.7
    audit = rw_client.get("/audit?entity=labs")
    assert audit.status_code == 200
    assert "lab re-run" in audit.text and "1.7" in audit.text
