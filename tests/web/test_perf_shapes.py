"""The shapes the performance work relies on, checked without timing anything.

- POST /api/v1/recommend reads its own body (no FastAPI body parameter): the refusals must
  still be FastAPI's, the checks must still run before the body is read, and the OpenAPI
  document must still describe the Case body and the `pack` parameter.
- The patient list's salvage filter is one range of the expression index (migration 0002),
  and it selects exactly the patients whose effective intent is salvage.
"""

from __future__ import annotations

import gc
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from renalpath.web.api import pathway

from .conftest import bearer, login
from .registry_support import reg_client, registry_db  # noqa: F401  (fixtures)
from .test_api_pathway import T1A_CASE

JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("raw", "headers", "status", "message"),
    [
        (b"{not json", JSON, 422, "request body is not valid JSON"),
        (b"[]", JSON, 422, "Input should be a valid dictionary"),
        (b"null", JSON, 422, "Input should be a valid dictionary"),
        (b"", JSON, 422, "Field required"),
        (b"{}", {"content-type": "text/plain"}, 422, "Input should be a valid dictionary"),
        (b"{}", {}, 422, "Input should be a valid dictionary"),  # no content type: not JSON
        (b'{"x": "\xe9"}', JSON, 400, "There was an error parsing the body"),  # not UTF-8
    ],
)
def test_recommend_body_refusals(
    client: TestClient, raw: bytes, headers: dict[str, str], status: int, message: str
) -> None:
    resp = client.post("/api/v1/recommend", content=raw, headers={**bearer("cleo"), **headers})
    assert resp.status_code == status, resp.text
    errors = resp.json()["errors"]
    assert errors[0]["field"] is None and errors[0]["message"].startswith(message)


@pytest.mark.parametrize("ctype", ["application/json; charset=utf-8", "application/case+json"])
def test_recommend_json_content_types(client: TestClient, ctype: str) -> None:
    resp = client.post(
        "/api/v1/recommend", json=T1A_CASE, headers={**bearer("cleo"), "content-type": ctype}
    )
    assert resp.status_code == 200, resp.text


def test_recommend_checks_caller_before_reading_the_body(client: TestClient) -> None:
    bad = {"content": b"{not json", "headers": JSON}
    assert client.post("/api/v1/recommend", **bad).status_code == 401
    resp = client.post(
        "/api/v1/recommend", content=b"{not json", headers={**bearer("rhea"), **JSON}
    )
    assert resp.status_code == 403  # researchers: aggregate results only


def test_recommend_field_paths_and_packs(client: TestClient) -> None:
    resp = client.post(
        "/api/v1/recommend", json={"tumour": {"size_mm": -1}}, headers=bearer("cleo")
    )
    assert resp.status_code == 422
    assert [e["field"] for e in resp.json()["errors"]] == ["tumour.size_mm"]
    resp = client.post("/api/v1/recommend?pack=eau", json=T1A_CASE, headers=bearer("cleo"))
    assert [p["id"] for p in resp.json()["packs"]] == ["eau"]
    resp = client.post(
        "/api/v1/recommend?pack=eau&pack=nope", json=T1A_CASE, headers=bearer("cleo")
    )
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "pack"


def test_recommend_with_session_cookie_needs_csrf(client: TestClient) -> None:
    csrf = login(client, "cleo")
    assert client.post("/api/v1/recommend", json=T1A_CASE).status_code == 403
    resp = client.post("/api/v1/recommend", json=T1A_CASE, headers={"X-CSRF-Token": csrf})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-security-policy"].startswith("default-src 'self'")
    assert resp.headers["cache-control"] == "no-store"


def test_recommend_openapi_documents_body_and_pack(client: TestClient) -> None:
    op = client.get("/openapi.json").json()["paths"]["/api/v1/recommend"]["post"]
    body = op["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/Case"} and op["requestBody"]["required"]
    assert [p["name"] for p in op["parameters"]] == ["pack"]
    assert op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/RecommendOut"
    )


def test_warm_up_loads_packs_and_freezes_the_heap() -> None:
    try:
        pathway.warm_up()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def _sql(db: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(query).fetchall()


def test_salvage_filter_is_exact_both_ways(reg_client: TestClient, registry_db: Path) -> None:  # noqa: F811
    salvage = {
        r[0]
        for r in _sql(
            registry_db,
            "select patient_id from interventions where intent = 'salvage' "
            "or (intent is null and intent_derived = 'salvage')",
        )
    }
    everyone = {r[0] for r in _sql(registry_db, "select patient_id from patients")}
    got: dict[str, set[str]] = {}
    for choice in ("yes", "no"):
        doc = reg_client.get(
            f"/api/v1/patients?salvage={choice}&page_size=200", headers=bearer("cleo")
        ).json()
        assert doc["total"] == len(doc["items"])  # 150 patients fit one page
        got[choice] = {p["patient_id"] for p in doc["items"]}
        assert all(p["has_salvage"] is (choice == "yes") for p in doc["items"])
    assert salvage and got["yes"] == salvage and got["no"] == everyone - salvage


def test_salvage_filter_reads_the_expression_index(registry_db: Path) -> None:  # noqa: F811
    plan = _sql(
        registry_db,
        "explain query plan select patient_id from interventions "
        "where coalesce(intent, intent_derived) = 'salvage'",
    )
    assert any("ix_interventions_effective_intent" in str(row[-1]) for row in plan), plan
