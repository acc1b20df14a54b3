"""recommend and the case schema over HTTP."""

from __future__ import annotations

from fastapi.testclient import TestClient

from .conftest import bearer

# A T1a (35 mm, confined, N0 M0) solid renal mass in a fit 64-year-old with eGFR ~59: EAU
# recommends partial nephrectomy for T1 tumours (EAU RCC guideline, localised disease,
# strong recommendation) — the pathway's expected answer for this classic case.
T1A_CASE = {
    "patient": {"age": 64, "sex": "male", "ecog": 1, "fit_for_surgery": True},
    "kidney": {"creatinine": {"value": 1.35, "unit": "mg/dL"}},
    "tumour": {
        "size_mm": 35,
        "side": "left",
        "cn": "N0",
        "cm": "M0",
        "extension": {},
        "renal": {
            "exophytic_pct": 60,
            "nearness_mm": 8,
            "ap": "a",
            "polar": "outside",
            "hilar": False,
        },
    },
    "metastases": [],
}


def test_recommend_t1a_partial_nephrectomy(client: TestClient) -> None:
    resp = client.post("/api/v1/recommend", json=T1A_CASE, headers=bearer("cleo"))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    # derived values: AJCC 8 example 1 (T1a, stage I), B4 ex. 2 (58.6, G3a),
    # B6 example 1 (4a).
    assert body["derived"]["ct"] == "T1a"
    assert body["derived"]["ckd_stage"] == "G3a"
    assert body["derived"]["renal"] == "4a"
    pn = [o for o in body["options"] if o["option"] == "partial_nephrectomy"]
    assert pn and pn[0]["status"] == "recommended"
    assert pn[0]["sources"] and pn[0]["why"]


def test_recommend_unknown_pack_is_422(client: TestClient) -> None:
    resp = client.post("/api/v1/recommend?pack=nope", json=T1A_CASE, headers=bearer("cleo"))
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] == "pack"


def test_case_schema(client: TestClient) -> None:
    resp = client.get("/api/v1/schema/case", headers=bearer("rhea"))
    assert resp.status_code == 200
    schema = resp.json()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "tumour" in schema["properties"]
