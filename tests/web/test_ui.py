"""Clinician UI over TestClient: calculators (full page and htmx fragment) and case evaluation."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from .conftest import login

MDRD_FORM = {"creatinine": "1.35", "unit": "mg/dL", "age": "64", "sex": "male", "equation": "mdrd"}
CASE_FORM = {
    "patient.age": "64",
    "patient.sex": "male",
    "patient.performance_status": "ecog:1",
    "patient.fit_for_surgery": "true",
    "kidney.creatinine.value": "1.35",
    "kidney.creatinine.unit": "mg/dL",
    "tumour.size_mm": "35",
    "tumour.side": "left",
    "tumour.cn": "N0",
    "tumour.cm": "M0",
    "tumour.extension.__present": "true",
    "tumour.renal.exophytic_pct": "60",
    "tumour.renal.nearness_mm": "8",
    "tumour.renal.ap": "a",
    "tumour.renal.polar": "outside",
    "tumour.renal.hilar": "false",
}


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_calculator_page_shows_formula_and_sources(client: TestClient) -> None:
    login(client, "rhea")
    html = client.get("/calculators/egfr").text
    assert "Formula" in html and "Sources" in html
    assert 'name="creatinine"' in html and 'hx-post="/calculators/egfr"' in html


def test_calculator_form_post_without_js(client: TestClient) -> None:
    token = login(client, "cleo")
    resp = client.post("/calculators/egfr", data={**MDRD_FORM, "csrf_token": token})
    assert resp.status_code == 200
    body = text(resp.text)
    # MDRD, Levey 2006 example 1: 53.21 → reported 53, G3a
    assert "eGFR 53 mL/min/1.73 m²" in body and "G3a" in body
    assert "<html" in resp.text  # a whole page for the no-JavaScript path


def test_calculator_htmx_returns_fragment(client: TestClient) -> None:
    token = login(client, "cleo")
    resp = client.post(
        "/calculators/egfr", data={**MDRD_FORM, "csrf_token": token}, headers={"HX-Request": "true"}
    )
    assert resp.status_code == 200
    assert "<html" not in resp.text and 'id="calc-body"' in resp.text
    assert "G3a" in resp.text


def test_calculator_error_is_next_to_its_field(client: TestClient) -> None:
    token = login(client, "cleo")
    resp = client.post(
        "/calculators/egfr",
        data={**MDRD_FORM, "creatinine": "1,35", "age": "12", "csrf_token": token},
    )
    assert resp.status_code == 422
    for name in ("creatinine", "age"):
        block = re.search(
            rf'<div class="field has-error" data-field="{name}">(.*?)</div>', resp.text, re.S
        )
        assert block, f"no error marked on {name}"
        assert "field-error" in block.group(1)
    assert "decimal point" in resp.text  # the hint for a decimal comma
    assert 'value="1,35"' in resp.text  # what was typed is kept, not lost


def test_unknown_calculator_is_404_page(client: TestClient) -> None:
    login(client, "cleo")
    resp = client.get("/calculators/nope")
    assert resp.status_code == 404 and "Not found" in resp.text


def test_case_derived_values_while_typing(client: TestClient) -> None:
    token = login(client, "cleo")
    resp = client.post(
        "/case/derived", data={**CASE_FORM, "csrf_token": token}, headers={"HX-Request": "true"}
    )
    body = text(resp.text)
    # TNM example 1 (T1a, stage I); CKD-EPI 2021 example 2 (58.63 → 59, G3a); RENAL ex. 1 (4a)
    assert "T1a N0 M0 — stage I" in body
    assert "59 mL/min/1.73 m² — CKD G3a" in body
    assert "4a" in body


def test_case_evaluation_groups_options(client: TestClient) -> None:
    token = login(client, "cleo")
    resp = client.post("/case", data={**CASE_FORM, "csrf_token": token})
    assert resp.status_code == 200
    assert re.search(r'data-option="partial_nephrectomy" data-status="recommended"', resp.text)
    assert "status-recommended" in resp.text
    # groups are in the fixed order: recommended before not recommended
    assert resp.text.index("status-recommended") < resp.text.index("status-not_recommended")


def test_case_errors_shown_by_field_and_nothing_evaluated(client: TestClient) -> None:
    token = login(client, "cleo")
    bad = {**CASE_FORM, "tumour.size_mm": "3.5cm", "patient.age": "300", "csrf_token": token}
    resp = client.post("/case", data=bad)
    assert resp.status_code == 422
    assert 'data-field="tumour.size_mm"' in resp.text
    for name in ("tumour.size_mm", "patient.age"):
        assert re.search(rf'class="field has-error" data-field="{re.escape(name)}"', resp.text), (
            name
        )
    assert "data-option=" not in resp.text


def test_tumour_board_sheet(client: TestClient) -> None:
    token = login(client, "cleo")
    resp = client.post("/case/sheet", data={**CASE_FORM, "csrf_token": token})
    assert resp.status_code == 200
    assert "Tumour-board sheet" in resp.text and 'media="print"' in resp.text
    assert "Prepared by cleo" in resp.text
    assert 'data-option="partial_nephrectomy"' in resp.text


def test_post_operative_case_shows_follow_up_plan(client: TestClient) -> None:
    token = login(client, "cleo")
    form = {
        "patient.age": "64",
        "patient.sex": "male",
        "pathology.histology": "clear_cell",
        "pathology.pt": "pT1b",
        "pathology.pn": "pNX",
        "pathology.size_mm": "46",
        "pathology.isup_grade": "3",
        "pathology.necrosis": "true",
        "pathology.sarcomatoid": "false",
        "pathology.margin": "negative",
        "pathology.treatment": "partial_nephrectomy",
        "pathology.date": "2024-03-01",
        "csrf_token": token,
    }
    resp = client.post("/case", data=form)
    assert resp.status_code == 200, text(resp.text)[:400]
    body = text(resp.text)
    assert "Follow-up plan" in body
    # Leibovich 2003 by hand: pT1b 2 + pNX 0 + size < 10 cm 0 + grade 3 → 1 + necrosis 1 = 4,
    # intermediate (3–5) [R weights, Leibovich 2003 as recalled]
    assert "Risk: Leibovich risk — intermediate (score 4)" in body


def test_live_recompute_lists_missing_inputs_without_errors(client: TestClient) -> None:
    token = login(client, "cleo")
    headers = {"HX-Request": "true"}
    resp = client.post(
        "/calculators/egfr",
        data={"creatinine": "1.35", "_live": "1", "csrf_token": token},
        headers=headers,
    )
    assert "To calculate, fill in: Unit, Age, Sex" in text(resp.text)
    assert "field-error" not in resp.text
    # a value that is typed but wrong is still an error while typing
    resp = client.post(
        "/calculators/egfr",
        data={"creatinine": "1.35", "age": "12", "_live": "1", "csrf_token": token},
        headers=headers,
    )
    assert re.search(r'class="field has-error" data-field="age"', resp.text)
    # an explicit submit (no _live) reports the missing inputs as errors
    resp = client.post(
        "/calculators/egfr", data={"creatinine": "1.35", "csrf_token": token}, headers=headers
    )
    assert re.search(r'class="field has-error" data-field="unit"', resp.text)
