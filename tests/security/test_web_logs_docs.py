"""No patient data in access logs or URLs; API description behind login unless opened."""

from __future__ import annotations

import logging

from fastapi.testclient import TestClient

from renalpath.web.access_log import PathMaskingFilter, mask_path
from renalpath.web.app import create_app
from renalpath.web.auth import MemoryAccountStore
from renalpath.web.settings import WebSettings
from tests.web.conftest import bearer, login
from tests.web.registry_support import registry_db, rw_client  # noqa: F401  (fixtures)


def test_access_log_line_names_no_patient() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("10.0.0.1:5000", "GET", "/patients/SYN000123/labs/7?next=/patients/SYN000999", "1.1", 200),
        None,
    )
    assert PathMaskingFilter("secret").filter(record)
    line = record.getMessage()
    assert "SYN000123" not in line and "SYN000999" not in line and "/7" not in line
    assert line.startswith('10.0.0.1:5000 - "GET /patients/~')


def test_masked_ids_are_stable_and_keyed() -> None:
    a = mask_path("/api/v1/patients/P1", b"k1")
    assert a == mask_path("/api/v1/patients/P1", b"k1")
    assert a != mask_path("/api/v1/patients/P2", b"k1")
    assert a != mask_path("/api/v1/patients/P1", b"k2")
    assert mask_path("/calculators/egfr", b"k") == "/calculators/egfr"


def test_delete_reason_is_not_taken_from_the_query_string(rw_client: TestClient) -> None:  # noqa: F811
    resp = rw_client.delete(
        "/api/v1/events/1", params={"reason": "patient asked"}, headers=bearer("cleo")
    )
    assert resp.status_code == 422
    resp = rw_client.request(
        "DELETE", "/api/v1/events/1", json={"reason": "patient asked"}, headers=bearer("cleo")
    )
    assert resp.status_code == 200, resp.text


def test_api_description_needs_login(accounts: MemoryAccountStore) -> None:
    with TestClient(create_app(WebSettings(secret_key="k"), accounts)) as c:
        assert c.get("/openapi.json").status_code == 401
        docs = c.get("/docs", follow_redirects=False)
        assert docs.status_code == 303 and docs.headers["location"].startswith("/login")
        assert c.get("/openapi.json", headers=bearer("rhea")).status_code == 200
        login(c, "rhea")
        assert c.get("/docs").status_code == 200
        assert "paths" in c.get("/openapi.json").json()


def test_a_setting_opens_the_api_description(accounts: MemoryAccountStore) -> None:
    with TestClient(create_app(WebSettings(secret_key="k", open_docs=True), accounts)) as c:
        assert c.get("/openapi.json").status_code == 200
        assert c.get("/docs").status_code == 200


def test_fhir_patient_ids_are_masked_but_operations_are_kept() -> None:
    masked = mask_path("/api/v1/fhir/Patient/p-SYN000123/$everything", b"k")
    assert "SYN000123" not in masked and masked.endswith("/$everything")
    assert mask_path("/api/v1/fhir/Patient/$export", b"k") == "/api/v1/fhir/Patient/$export"
