"""Patient-page forms: add records, correct with a reason, delete — import rules, each
problem next to its field, CSRF on every form, a "saved" notice after the redirect."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from renalpath.registry import audit
from renalpath.registry.db import make_engine

from .conftest import csrf_from, login
from .registry_support import registry_db, rw_client  # noqa: F401  (fixtures)

PID = "SYN000002"


def _field_errors(html: str, field: str, form: str | None = None) -> list[str]:
    """Messages shown under one input (of the add form `form`, if given)."""
    if form:
        scope = re.search(rf'id="add-{form}"(.*?)</details>', html, re.S)
        assert scope, f"no form {form}"
        html = scope.group(1)
    block = re.search(rf'data-field="{re.escape(field)}">(.*?)</div>', html, re.S)
    assert block, f"no field {field}"
    return re.findall(r'class="field-error"[^>]*>([^<]*)<', block.group(1))


def test_add_event_and_lab_through_the_forms(rw_client: TestClient) -> None:  # noqa: F811
    c = rw_client
    login(c, "cleo")
    page = c.get(f"/patients/{PID}")
    assert page.status_code == 200 and 'id="add-events"' in page.text
    token = csrf_from(page.text)
    bad = c.post(
        f"/patients/{PID}/add/events",
        data={"csrf_token": token, "date": "2020-13-01", "type": "Dead"},
    )
    assert bad.status_code == 422
    assert _field_errors(bad.text, "date", "events") == ["date: not a valid date (YYYY-MM-DD)"]
    assert "not one of" in _field_errors(bad.text, "type", "events")[0]
    assert 'value="2020-13-01"' in bad.text  # the typed values are kept
    ok = c.post(
        f"/patients/{PID}/add/events",
        follow_redirects=False,
        data={
            "csrf_token": token,
            "date": "2020-06-01",
            "type": "local_recurrence",
            "detail": "seen on MRI",
        },
    )
    assert ok.status_code == 303, ok.text
    shown = c.get(ok.headers["location"]).text
    assert 'id="saved"' in shown and "seen on MRI" in shown
    # an intervention whose pathology is refused: neither is saved
    bad_iv = c.post(
        f"/patients/{PID}/add/interventions",
        data={
            "csrf_token": token,
            "intervention_id": "NEW-I",
            "date": "2020-07-01",
            "type": "partial_nephrectomy",
            "pathology.pt": "T9",
        },
    )
    assert bad_iv.status_code == 422
    assert _field_errors(bad_iv.text, "pathology.pt", "interventions")[0].startswith(
        "pathology.pt: not one of"
    )
    assert c.get("/api/v1/interventions/NEW-I").status_code in (401, 404)
    no_csrf = c.post(f"/patients/{PID}/add/labs", data={"date": "2020-01-01"})
    assert no_csrf.status_code == 403


def test_correct_and_delete_with_reason(rw_client: TestClient) -> None:  # noqa: F811
    c = rw_client
    login(c, "cleo")
    url = f"/patients/{PID}/records/tumours/{PID}-T1"
    page = c.get(url)
    assert page.status_code == 200
    token = csrf_from(page.text)
    no_reason = c.post(url, data={"csrf_token": token, "side": "left", "ct": "T2a"})
    assert no_reason.status_code == 422 and _field_errors(no_reason.text, "reason")
    fixed = c.post(
        url,
        follow_redirects=False,
        data={
            "csrf_token": token,
            "side": "left",
            "diagnosis_date": "2019-02-10",
            "histology": "papillary",
            "ct": "T1b",
            "cn": "N0",
            "cm": "M0",
            "reason": "staging review",
        },
    )
    assert fixed.status_code == 303, fixed.text
    assert "corrected" in fixed.headers["location"]
    engine = make_engine(f"sqlite:///{c.db_path}")
    rows = list(audit.log_rows(engine, "tumours", f"{PID}-T1"))
    engine.dispose()
    assert (rows[0]["field"], rows[0]["new"], rows[0]["reason"]) == ("ct", "T1b", "staging review")
    blocked = c.post(f"{url}/delete", data={"csrf_token": token, "reason": "duplicate"})
    assert blocked.status_code == 409 and "interventions:" in blocked.text
    other = c.get(f"/patients/SYN000001/records/tumours/{PID}-T1")
    assert other.status_code == 404  # not this patient's record


def test_record_page_needs_an_ascii_row_id(rw_client: TestClient) -> None:  # noqa: F811
    # int() reads Arabic-Indic digits, so "٧" used to open (and could correct) row 7.
    c = rw_client
    login(c, "cleo")
    engine = make_engine(f"sqlite:///{c.db_path}")
    try:
        with engine.connect() as conn:
            lab_id = conn.exec_driver_sql(
                "SELECT id FROM labs WHERE patient_id = ? ORDER BY id LIMIT 1", (PID,)
            ).scalar_one()
    finally:
        engine.dispose()
    assert c.get(f"/patients/{PID}/records/labs/{lab_id}").status_code == 200
    indic = "".join(chr(0x0660 + int(d)) for d in str(lab_id))
    assert c.get(f"/patients/{PID}/records/labs/{indic}").status_code == 404
