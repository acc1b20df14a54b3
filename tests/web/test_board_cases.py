"""Saved tumour-board cases over HTTP: build from a registry patient, save, present, decide.

Runs on a private copy of the synthetic registry; the audit trail is read back to check that
every step of the case's life is recorded.
"""

from __future__ import annotations

import datetime as dt
import json
import re

from fastapi.testclient import TestClient
from sqlalchemy import select

import renalpath.registry.board_cases  # noqa: F401  (registers the table on Base)
from renalpath.registry.audit import verify
from renalpath.registry.board_cases import get_case, list_cases
from renalpath.registry.case_builder import build_case
from renalpath.registry.db import make_engine
from renalpath.registry.models import AuditLog, Lab, Patient

from .conftest import login
from .registry_support import registry_db, rw_client  # noqa: F401  (fixtures)


def _patient_with_creatinine(engine) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        row = conn.execute(
            select(Lab.patient_id, Lab.date, Lab.value, Lab.unit)
            .where(Lab.test == "creatinine")
            .order_by(Lab.patient_id, Lab.date.desc())
            .limit(1)
        ).one()
    return row.patient_id, {"date": row.date, "value": row.value, "unit": row.unit}


def test_build_case_takes_latest_creatinine_with_its_date(rw_client: TestClient) -> None:  # noqa: F811
    engine = make_engine(f"sqlite:///{rw_client.db_path}")
    pid, lab = _patient_with_creatinine(engine)
    built = build_case(engine, pid)
    assert built is not None
    assert built.case["kidney"]["creatinine"]["value"] == lab["value"]
    prov = built.provenance["kidney.creatinine.value"]
    assert prov["date"] == lab["date"].isoformat() and "creatinine" in str(prov["source"])
    with engine.connect() as conn:
        birth = conn.execute(select(Patient.birth_date).where(Patient.patient_id == pid)).scalar()
    today = dt.date.today()
    age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    assert built.case["patient"]["age"] == age
    assert build_case(engine, "no-such-patient") is None


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def test_evaluate_save_present_decide_is_audited(rw_client: TestClient) -> None:  # noqa: F811
    client = rw_client
    login(client, "cleo")
    engine = make_engine(f"sqlite:///{client.db_path}")
    pid, _ = _patient_with_creatinine(engine)
    page = client.get(f"/patients/{pid}")
    assert f"/patients/{pid}/evaluate" in page.text and "Evaluate this patient" in page.text
    built = client.get(f"/patients/{pid}/evaluate")
    assert built.status_code == 200, built.text
    assert "Facts from the registry" in built.text and "lab: creatinine" in built.text
    token = _csrf(built.text)
    # the form as the page shows it: every input's current value
    form = dict(re.findall(r'<input type="text"[^>]*name="([^"]+)" value="([^"]*)"', built.text))
    selected = (
        r'<select id="[^"]+" name="([^"]+)"[^>]*>'
        r'(?:(?!</select>).)*?<option value="([^"]*)" selected'
    )
    form.update(dict(re.findall(selected, built.text, re.S)))
    prov = re.search(r"name=\"provenance\" value='([^']*)'", built.text).group(1)  # type: ignore[union-attr]
    board = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    form.update(
        csrf_token=token,
        question="Surgery or surveillance?",
        board_date=board,
        provenance=json.loads(json.dumps(prov)),
    )
    saved = client.post(f"/patients/{pid}/cases", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    case_url = saved.headers["location"].split("?")[0]
    case_id = int(case_url.rsplit("/", 1)[1])
    stored = get_case(engine, case_id)
    assert stored.status == "draft" and stored.question == "Surgery or surveillance?"
    assert stored.provenance["fields"]["kidney.creatinine.value"]["source"] == "lab: creatinine"
    # re-openable: GET works, and the board list for that date shows it
    again = client.get(case_url)
    assert again.status_code == 200 and "Surgery or surveillance?" in again.text
    listing = client.get(f"/board?date={board}")
    assert f'href="/cases/{case_id}"' in listing.text
    assert f'href="/cases/{case_id}"' in client.get("/board").text  # the next board
    assert f'href="/cases/{case_id}"' in client.get(f"/board?patient_id={pid}").text
    # a decision without its text is refused, on its field
    r = client.post(
        f"/cases/{case_id}/status",
        data={
            "csrf_token": token,
            "action": "decide",
            "decision": "",
            "decision_date": dt.date.today().isoformat(),
        },
    )
    assert (
        r.status_code == 422
        and 'id="m-decision" name="decision" rows="2" aria-invalid="true"' in r.text
    )
    r = client.post(
        f"/cases/{case_id}/status",
        data={"csrf_token": token, "action": "present"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and get_case(engine, case_id).status == "presented"
    today = dt.date.today().isoformat()
    r = client.post(
        f"/cases/{case_id}/status",
        data={
            "csrf_token": token,
            "action": "decide",
            "decision_date": today,
            "decision": "Partial nephrectomy",
            "decision_option": "partial_nephrectomy",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    done = get_case(engine, case_id)
    assert (done.status, done.decision_option, done.decision_date.isoformat()) == (
        "decided",
        "partial_nephrectomy",
        today,
    )
    page = client.get(case_url).text
    assert re.search(r'id="agreement">[^<]+<', page)  # the decision against the pathway
    # closed: a further edit is refused
    r = client.post(case_url, data=form)
    assert r.status_code == 422 and "closed" in r.text
    with engine.connect() as conn:
        trail = conn.execute(
            select(AuditLog.action, AuditLog.field, AuditLog.new, AuditLog.reason)
            .where(AuditLog.entity == "board_cases", AuditLog.entity_id == str(case_id))
            .order_by(AuditLog.seq)
        ).all()
    assert trail[0].action == "insert"
    assert ("update", "status", "presented", "case presented at the board") in trail
    assert ("update", "decision", "Partial nephrectomy", "board decision recorded") in trail
    assert verify(engine).ok
    assert [c.id for c in list_cases(engine, patient_id=pid)] == [case_id]


def test_researcher_may_use_the_blank_form_but_not_saved_cases(rw_client: TestClient) -> None:  # noqa: F811
    login(rw_client, "rhea")
    assert rw_client.get("/case").status_code == 200
    assert rw_client.get("/board").status_code == 403
    assert rw_client.get("/cases/1").status_code == 403
    nav = rw_client.get("/case").text
    assert 'href="/patients"' not in nav and 'href="/studies/survival"' in nav


def test_sheet_get_no_longer_405(rw_client: TestClient) -> None:  # noqa: F811
    login(rw_client, "cleo")
    home = rw_client.get("/").text
    for href in (
        'href="/patients"',
        'href="/studies/salvage"',
        'href="/studies/survival"',
        'href="/board"',
        'class="skip-link"',
    ):
        assert href in home, href
    r = rw_client.get("/case/sheet", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/case"


def test_audit_page_filters_by_patient_with_its_records(rw_client: TestClient) -> None:  # noqa: F811
    client = rw_client
    token = login(client, "cleo")
    engine = make_engine(f"sqlite:///{client.db_path}")
    pid, _ = _patient_with_creatinine(engine)
    with engine.connect() as conn:
        lab_id, value = conn.execute(
            select(Lab.id, Lab.value)
            .where(Lab.patient_id == pid, Lab.test == "creatinine")
            .limit(1)
        ).one()
    r = client.post(
        f"/patients/{pid}/labs/{lab_id}",
        data={"csrf_token": token, "value": str(value + 1), "reason": "re-run"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = client.get(f"/audit?patient={pid}")
    assert page.status_code == 200
    rows = re.findall(r'<tr data-seq="\d+" data-entity="(\w+)" data-action="(\w+)"', page.text)
    assert ("labs", "update") in rows  # the lab correction belongs to the patient
    assert ("tumours", "insert") in rows
    assert all(action != "read" for _, action in rows)
    # every row names the patient (synthetic record ids start with the patient id)
    for cells in re.findall(r'<tr data-seq="\d+"[^>]*>(.*?)</tr>', page.text, re.S):
        assert pid in cells
    other = client.get(f"/audit?patient={pid}&actor=nobody")
    assert 'data-entity="labs"' not in other.text
    assert (
        client.get(f"/audit?patient={pid}&actor=cleo&from=2000-01-01").text.count(
            'data-action="update"'
        )
        >= 1
    )
    bad = client.get("/audit?from=yesterday")
    assert bad.status_code == 422 and 'id="f-from"' in bad.text and "aria-invalid" in bad.text


def test_live_panel_shows_imdc_with_its_factors(rw_client: TestClient) -> None:  # noqa: F811
    # Vignette: metastatic RCC, KPS 60, 14 days from diagnosis to therapy, anaemia,
    # hypercalcaemia, neutrophilia, normal platelets → IMDC 5 factors, poor risk (Heng 2009:
    # 3–6 factors = poor).
    token = login(rw_client, "cleo")
    form = {
        "csrf_token": token,
        "tumour.size_mm": "80",
        "tumour.cm": "M1",
        "metastases[0].organ": "lung",
        "patient.performance_status": "kps:60",
        "systemic.needs_systemic_therapy": "yes",
        "systemic.dx_to_systemic_days": "14",
        "systemic.hb_below_lln": "true",
        "systemic.calcium_corrected_above_uln": "true",
        "systemic.neutrophils_above_uln": "true",
        "systemic.platelets_above_uln": "false",
    }
    html = rw_client.post("/case/derived", data=form).text
    assert "<dt>IMDC risk</dt>" in html and "poor (5 points)" in html
    assert "haemoglobin below the lower limit" in html
    assert "platelets above" not in html  # absent factors are not listed


def test_none_states_absence_in_a_multiple_choice() -> None:
    from renalpath.web.case_form import ALL_FIELDS, values_from_case
    from renalpath.web.forms import NONE, form_to_data

    data, problems = form_to_data(
        {"metastases[0].organ": "bone", "metastases[0].symptoms": NONE}, ALL_FIELDS
    )
    assert problems == [] and data["metastases"][0]["symptoms"] == []  # stated: no symptoms
    data, problems = form_to_data({"metastases[0].organ": "bone"}, ALL_FIELDS)
    assert "symptoms" not in data["metastases"][0]  # not stated: unknown
    _, problems = form_to_data({"tumour.symptoms": [NONE, "flank_pain"]}, ALL_FIELDS)
    assert [p.field for p in problems] == ["tumour.symptoms"]
    values = values_from_case({"metastases": [{"organ": "bone", "symptoms": []}]})
    assert values["metastases[0].symptoms"] == [NONE]


def test_a_registry_fact_changed_by_the_clinician_says_so(rw_client: TestClient) -> None:  # noqa: F811
    token = login(rw_client, "cleo")
    engine = make_engine(f"sqlite:///{rw_client.db_path}")
    pid, lab = _patient_with_creatinine(engine)
    built = build_case(engine, pid)
    assert built is not None
    prov = json.dumps({"fields": built.provenance, "notes": []}, default=str)
    form = {
        "csrf_token": token,
        "provenance": prov,
        "kidney.creatinine.value": "999",
        "kidney.creatinine.unit": "µmol/L",
    }
    html = rw_client.post(f"/patients/{pid}/evaluate", data=form).text
    row = re.search(r'<tr data-path="kidney.creatinine.value">(.*?)</tr>', html, re.S)
    assert row is not None and "changed here" in row.group(1) and str(lab["value"]) in row.group(1)


def test_a_malformed_provenance_field_is_ignored_not_a_crash(rw_client: TestClient) -> None:  # noqa: F811
    token = login(rw_client, "cleo")
    engine = make_engine(f"sqlite:///{rw_client.db_path}")
    pid, _ = _patient_with_creatinine(engine)
    bad = (
        '{"fields": [1, 2], "notes": 5}',
        "[]",
        "not json",
        '{"fields": {"a": 3}}',
        '{"fields": {"[1]": {"value": 2, "date": 7}, "tumour.size_mm": {"date": 7, "value": []}}}',
    )
    for prov in bad:
        r = rw_client.post(
            f"/patients/{pid}/evaluate", data={"csrf_token": token, "provenance": prov}
        )
        assert r.status_code == 200, (prov, r.text[:300])


def test_an_overlong_question_is_refused_on_its_field(rw_client: TestClient) -> None:  # noqa: F811
    token = login(rw_client, "cleo")
    engine = make_engine(f"sqlite:///{rw_client.db_path}")
    pid, _ = _patient_with_creatinine(engine)
    r = rw_client.post(f"/patients/{pid}/cases", data={"csrf_token": token, "question": "x" * 5000})
    assert r.status_code == 422 and "at most 4000 characters" in r.text
    assert "x" * 5000 in r.text  # what was typed is kept for correcting
    assert list_cases(engine, patient_id=pid) == []
