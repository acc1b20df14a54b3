"""REST API for single registry records: round trips, import-rule errors with field paths,
404 / 409, the audit trail, the role × endpoint matrix and CSRF for cookie sessions."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from renalpath.registry import audit
from renalpath.registry.db import make_engine

from .conftest import bearer, login
from .registry_support import reg_client, registry_db, rw_client  # noqa: F401  (fixtures)

CLEO = bearer("cleo")
PATIENT = {
    "patient_id": "WEB1",
    "sex": "female",
    "birth_date": "1950-04-03",
    "black_race": False,
    "solitary_kidney": "none",
}


def _audit(client: TestClient, entity: str, entity_id: str) -> list[dict[str, object]]:
    engine = make_engine(f"sqlite:///{client.db_path}")
    try:
        return list(audit.log_rows(engine, entity, entity_id, limit=None))
    finally:
        engine.dispose()


def _post(client: TestClient, path: str, data: dict[str, Any], status: int = 201) -> Any:
    resp = client.post(path, json=data, headers=CLEO)
    assert resp.status_code == status, resp.text
    return resp.json()


def test_patient_tumour_event_round_trip(rw_client: TestClient) -> None:  # noqa: F811
    c = rw_client
    made = _post(c, "/api/v1/patients", PATIENT)
    assert made["id"] == "WEB1" and made["record"]["black_race"] == "false"
    assert made["record"]["death_date"] is None
    tum = _post(
        c,
        "/api/v1/patients/WEB1/tumours",
        {"tumour_id": "WEB1-T1", "side": "left", "diagnosis_date": "2020-02-02", "ct": "T1a"},
    )
    assert tum["record"]["patient_id"] == "WEB1"
    got = c.get("/api/v1/tumours/WEB1-T1", headers=CLEO).json()
    assert got["record"] == tum["record"]

    fixed = c.patch(
        "/api/v1/tumours/WEB1-T1",
        headers=CLEO,
        json={"ct": "T1b", "histology": "clear_cell", "reason": "path report"},
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["changed"] == ["histology", "ct"]
    trail = _audit(c, "tumours", "WEB1-T1")
    updates = {
        (r["field"], r["old"], r["new"], r["reason"]) for r in trail if r["action"] == "update"
    }
    assert updates == {
        ("ct", "T1a", "T1b", "path report"),
        ("histology", None, "clear_cell", "path report"),
    }
    assert [r["actor"] for r in trail if r["action"] == "insert"] == ["web:cleo"]

    ev = _post(
        c,
        "/api/v1/patients/WEB1/events",
        {
            "tumour_id": "WEB1-T1",
            "date": "2021-03-03",
            "type": "local_recurrence",
            "detail": "on CT",
        },
    )
    assert (
        isinstance(ev["id"], int) and ev["entity_id"] == "WEB1|WEB1-T1|2021-03-03|local_recurrence"
    )
    # the tumour now has dependents: no cascade
    resp = c.request("DELETE", "/api/v1/tumours/WEB1-T1", json={"reason": "wrong"}, headers=CLEO)
    assert resp.status_code == 409 and "events: WEB1|WEB1-T1|2021-03-03" in resp.text
    resp = c.request(
        "DELETE", f"/api/v1/events/{ev['id']}", json={"reason": "duplicate"}, headers=CLEO
    )
    assert resp.status_code == 200 and resp.json()["record"]["detail"] == "on CT"
    assert c.get(f"/api/v1/events/{ev['id']}", headers=CLEO).status_code == 404
    deleted = _audit(c, "events", ev["entity_id"])[0]
    assert (deleted["action"], deleted["reason"]) == ("delete", "duplicate")
    assert (
        c.request(
            "DELETE", "/api/v1/tumours/WEB1-T1", json={"reason": "wrong"}, headers=CLEO
        ).status_code
        == 200
    )
    assert (
        c.request(
            "DELETE", "/api/v1/patients/WEB1", json={"reason": "test"}, headers=CLEO
        ).status_code
        == 200
    )
    assert c.get("/api/v1/patients/WEB1", headers=CLEO).status_code == 404


def test_intervention_pathology_and_lab(rw_client: TestClient) -> None:  # noqa: F811
    c = rw_client
    _post(c, "/api/v1/patients", PATIENT)
    iv = _post(
        c,
        "/api/v1/patients/WEB1/interventions",
        {
            "intervention_id": "WEB1-I1",
            "date": "2021-01-01",
            "type": "partial_nephrectomy",
            "side": "right",
            "warm_ischemia_min": 18,
            "blood_loss_ml": 250.5,
        },
    )
    assert iv["record"]["warm_ischemia_min"] == "18" and iv["record"]["blood_loss_ml"] == "250.5"
    assert iv["derived"]["intent_derived"] == "primary"
    path = _post(
        c,
        "/api/v1/interventions/WEB1-I1/pathology",
        {"histology": "papillary", "pt": "T1a", "size_mm": 30, "margin": "negative"},
    )
    assert path["id"] == "WEB1-I1"
    warned = c.patch(
        "/api/v1/interventions/WEB1-I1/pathology",
        headers=CLEO,
        json={"size_mm": 55, "reason": "re-measured"},
    )
    assert warned.status_code == 200
    # an import warning (pT1a contradicts 55 mm, AJCC 8) is reported, not blocking
    assert [w["field"] for w in warned.json()["warnings"]] == ["pt"]

    lab = _post(
        c,
        "/api/v1/patients/WEB1/labs",
        {"date": "2021-02-01", "test": "creatinine", "value": 1.1, "unit": "mg/dL"},
    )
    assert lab["derived"]["egfr_equation"] == "ckd-epi-2021" and lab["derived"]["egfr"] > 0
    same = c.get(f"/api/v1/labs/{lab['id']}", headers=CLEO).json()
    assert same["derived"] == lab["derived"]
    # the existing value correction (PATCH /labs/{id}) still serves the same row
    resp = c.patch(f"/api/v1/labs/{lab['id']}", json={"value": 1.3, "reason": "x"}, headers=CLEO)
    assert resp.status_code == 200 and resp.json()["old"] == 1.1
    assert (
        c.request(
            "DELETE", f"/api/v1/labs/{lab['id']}", json={"reason": "wrong patient"}, headers=CLEO
        ).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("path", "data", "field", "message"),
    [
        (
            "/api/v1/patients",
            {**PATIENT, "sex": "unsure"},
            "sex",
            "sex: not one of male | female",
        ),
        (
            "/api/v1/patients",
            {**PATIENT, "birth_date": "1950-02-30"},
            "birth_date",
            "birth_date: not a valid date (YYYY-MM-DD)",
        ),
        ("/api/v1/patients", {**PATIENT, "shoe_size": 42}, "shoe_size", "shoe_size: unknown field"),
        ("/api/v1/patients", {k: v for k, v in PATIENT.items() if k != "sex"}, "sex", None),
        (
            "/api/v1/patients",
            {**PATIENT, "patient_id": "X" * 65},
            "patient_id",
            "patient_id: longer than 64 characters",
        ),
        (
            "/api/v1/patients/SYN000001/labs",
            {"date": "2020-01-01", "test": "creatinine", "value": 120, "unit": "mg/dL"},
            "value",
            None,
        ),
        (
            "/api/v1/patients/SYN000001/interventions",
            {
                "intervention_id": "X1",
                "date": "2020-01-01",
                "type": "cryoablation",
                "transfusion_units": 500,
            },
            "transfusion_units",
            "transfusion_units: outside the plausible range 0–200 units",
        ),
        (
            "/api/v1/patients/SYN000001/events",
            {"date": "2020-01-01", "type": "death", "tumour_id": "NOPE"},
            "tumour_id",
            "tumour_id: unknown tumour (not in tumours.csv nor in the database)",
        ),
    ],
)
def test_refusals_name_the_dictionary_column(
    rw_client: TestClient,  # noqa: F811
    path: str,
    data: dict[str, Any],
    field: str,
    message: str | None,
) -> None:
    resp = rw_client.post(path, json=data, headers=CLEO)
    assert resp.status_code == 422, resp.text
    errors = resp.json()["errors"]
    assert field in [e["field"] for e in errors]
    if message:
        assert message in [e["message"] for e in errors]


def test_not_found_and_conflicts(rw_client: TestClient) -> None:  # noqa: F811
    c = rw_client
    assert (
        c.post(
            "/api/v1/patients/NOPE/tumours",
            headers=CLEO,
            json={"tumour_id": "T", "side": "left", "diagnosis_date": "2020-01-01"},
        ).status_code
        == 404
    )
    assert c.get("/api/v1/tumours/NOPE", headers=CLEO).status_code == 404
    assert c.get("/api/v1/events/999999", headers=CLEO).status_code == 404
    assert (
        c.patch("/api/v1/interventions/NOPE", headers=CLEO, json={"reason": "x"}).status_code == 404
    )
    dup = c.post("/api/v1/patients", headers=CLEO, json={**PATIENT, "patient_id": "SYN000001"})
    assert dup.status_code == 409 and dup.json()["errors"][0]["field"] == "patient_id"
    busy = c.request("DELETE", "/api/v1/patients/SYN000001", json={"reason": "x"}, headers=CLEO)
    assert busy.status_code == 409 and "tumours: SYN000001-T1" in busy.text
    key = c.patch(
        "/api/v1/patients/SYN000001", headers=CLEO, json={"patient_id": "Z", "reason": "x"}
    )
    assert key.status_code == 422 and key.json()["errors"][0]["field"] == "patient_id"
    no_reason = c.patch("/api/v1/tumours/SYN000001-T1", headers=CLEO, json={"ct": "T1b"})
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
    blank = c.request("DELETE", "/api/v1/events/1", json={"reason": ""}, headers=CLEO)
    assert blank.status_code == 422


ROLE_USER = {"admin": "ada", "clinician": "cleo", "researcher": "rhea"}
ROUTES = [
    ("POST", "/api/v1/patients"),
    ("PATCH", "/api/v1/patients/SYN000001"),
    ("DELETE", "/api/v1/patients/SYN000001"),
    ("POST", "/api/v1/patients/SYN000001/tumours"),
    ("GET", "/api/v1/tumours/SYN000001-T1"),
    ("PATCH", "/api/v1/tumours/SYN000001-T1"),
    ("DELETE", "/api/v1/tumours/SYN000001-T1"),
    ("POST", "/api/v1/tumours/SYN000001-T1/imaging"),
    ("GET", "/api/v1/imaging/1"),
    ("POST", "/api/v1/patients/SYN000001/interventions"),
    ("GET", "/api/v1/interventions/SYN000001-I1"),
    ("PATCH", "/api/v1/interventions/SYN000001-I1"),
    ("DELETE", "/api/v1/interventions/SYN000001-I1"),
    ("POST", "/api/v1/interventions/SYN000002-I1/pathology"),
    ("GET", "/api/v1/interventions/SYN000002-I1/pathology"),
    ("PATCH", "/api/v1/interventions/SYN000002-I1/pathology"),
    ("DELETE", "/api/v1/interventions/SYN000002-I1/pathology"),
    ("POST", "/api/v1/patients/SYN000001/labs"),
    ("GET", "/api/v1/labs/1"),
    ("DELETE", "/api/v1/labs/1"),
    ("POST", "/api/v1/patients/SYN000001/events"),
    ("GET", "/api/v1/events/1"),
    ("PATCH", "/api/v1/events/1"),
    ("DELETE", "/api/v1/events/1"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_role_matrix(reg_client: TestClient, method: str, path: str) -> None:  # noqa: F811
    """Anonymous 401, researchers 403; clinicians and admins get past the role check (a
    deliberately empty body then fails validation: nothing in the shared registry changes)."""
    kwargs: dict[str, Any] = {}
    if method in ("POST", "PATCH"):
        kwargs["json"] = {"unknown_column": 1}
    if method == "DELETE":
        kwargs["json"] = {"reason": ""}  # refused (422) before anything is deleted
    assert reg_client.request(method, path, **kwargs).status_code == 401
    assert reg_client.request(method, path, headers=bearer("rhea"), **kwargs).status_code == 403
    for user in ("ada", "cleo"):
        status = reg_client.request(method, path, headers=bearer(user), **kwargs).status_code
        assert status == (200 if method == "GET" else 422), (user, method, path)


def test_cookie_session_needs_csrf(rw_client: TestClient) -> None:  # noqa: F811
    token = login(rw_client, "cleo")
    resp = rw_client.post("/api/v1/patients", json=PATIENT)
    assert resp.status_code == 403 and "CSRF" in resp.text
    resp = rw_client.post("/api/v1/patients", json=PATIENT, headers={"X-CSRF-Token": token})
    assert resp.status_code == 201
    resp = rw_client.request("DELETE", "/api/v1/patients/WEB1", json={"reason": "test"})
    assert resp.status_code == 403
    resp = rw_client.request(
        "DELETE",
        "/api/v1/patients/WEB1",
        json={"reason": "test"},
        headers={"X-CSRF-Token": token},
    )
    assert resp.status_code == 200


def test_openapi_lists_dictionary_fields(reg_client: TestClient) -> None:  # noqa: F811
    doc = reg_client.get("/openapi.json").json()
    schema = doc["components"]["schemas"]["InterventionNew"]
    assert "patient_id" not in schema["properties"]  # taken from the URL
    assert set(schema["required"]) == {"intervention_id", "date", "type"}
    wit = schema["properties"]["warm_ischemia_min"]
    assert "Unit: min." in wit["description"] and wit["maximum"] == 180
    assert schema["additionalProperties"] is False
    assert "reason" in doc["components"]["schemas"]["EventCorrection"]["required"]


def test_every_view_of_a_record_is_audited_once(rw_client: TestClient) -> None:  # noqa: F811
    # Each read of identifiable data is in the trail — one row per view, and a
    # parent looked up only to check it exists is not a view
    c = rw_client
    pid, tid = "SYN000002", "SYN000002-T1"

    def reads(entity: str, entity_id: str) -> int:
        return sum(r["action"] == "read" for r in _audit(c, entity, entity_id))

    before_tumour, before_patient = reads("tumours", tid), reads("patients", pid)
    assert c.get(f"/api/v1/tumours/{tid}", headers=CLEO).status_code == 200
    assert reads("tumours", tid) == before_tumour + 1
    login(c, "cleo")
    assert c.get(f"/patients/{pid}/records/tumours/{tid}").status_code == 200
    assert reads("tumours", tid) == before_tumour + 2
    _post(c, f"/api/v1/patients/{pid}/events", {"date": "2021-05-05", "type": "local_recurrence"})
    assert reads("patients", pid) == before_patient


@pytest.mark.parametrize("template", ["{id}%0A", "%20{id}", "+{id}", "{id}.0", "{id}\u0665"])
def test_row_id_with_anything_but_digits_is_refused(
    rw_client: TestClient,  # noqa: F811
    template: str,
) -> None:
    # Schemathesis found DELETE /labs/5%0A deleting lab 5: pydantic reads "5\n" as 5.
    c = rw_client
    _post(c, "/api/v1/patients", PATIENT)
    lab = _post(
        c,
        "/api/v1/patients/WEB1/labs",
        {"date": "2021-02-01", "test": "creatinine", "value": 1.1, "unit": "mg/dL"},
    )
    raw = template.format(id=lab["id"])  # \u0665: ARABIC-INDIC DIGIT FIVE
    resp = c.request("DELETE", f"/api/v1/labs/{raw}", json={"reason": "typo"}, headers=CLEO)
    assert resp.status_code == 422, resp.text
    assert c.get(f"/api/v1/labs/{lab['id']}", headers=CLEO).status_code == 200  # still there
