"""The case form asks performance status once: one choice that names its scale.

The case model has three inputs for it (patient ECOG, patient Karnofsky, Karnofsky for IMDC);
the form fills exactly one, keeps what a saved case holds, and puts every refusal or missing
input about any of them on the one field.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from renalpath.pathway import recommend
from renalpath.web import case_form
from renalpath.web.forms import compact

from .conftest import login
from .test_ui import CASE_FORM

VIGNETTES = sorted((Path(__file__).resolve().parents[1] / "pathway" / "cases").glob("*.json"))
PS = "patient.performance_status"


def test_the_form_has_one_performance_status_input(client: TestClient) -> None:
    login(client, "cleo")
    html = client.get("/case").text
    assert html.count(f'name="{PS}"') == 1
    for name in case_form.PS_CASE_PATHS:
        assert f'name="{name}"' not in html
    # Karnofsky first, then ECOG for a patient whose Karnofsky was not assessed
    options = re.findall(
        rf'<select id="f-patient-performance_status" name="{PS}".*?</select>', html, re.S
    )[0]
    labels = re.findall(r"<option [^>]*>([^<]+)</option>", options)
    assert labels[1] == "Karnofsky 100 %" and labels[10] == "Karnofsky 10 %"
    assert labels[11] == "ECOG 0 (Karnofsky not assessed)" and len(labels) == 16


@pytest.mark.parametrize(
    ("choice", "case"),
    [("kps:80", {"patient": {"kps": 80}}), ("ecog:1", {"patient": {"ecog": 1}}), ("", {})],
)
def test_the_choice_fills_the_input_of_its_scale(choice: str, case: dict[str, object]) -> None:
    data, problems = case_form.form_data({PS: choice})
    assert problems == [] and compact(data) == case


@pytest.mark.parametrize("bad", ["80", "kps:", "kps:eighty", "whoops:1"])
def test_a_choice_not_from_the_list_is_refused_on_the_field(bad: str) -> None:
    _, problems = case_form.form_data({PS: bad})
    assert [p.field for p in problems] == [PS]


@pytest.mark.parametrize("path", VIGNETTES, ids=lambda p: p.stem)
def test_each_vignette_keeps_its_performance_status_through_the_form(path: Path) -> None:
    case = json.loads(path.read_text())
    values = case_form.values_from_case(case)
    data, problems = case_form.form_data(values)
    assert problems == []
    for ps_path in case_form.PS_CASE_PATHS:
        part, key = ps_path.split(".")
        assert (data.get(part) or {}).get(key) == (case.get(part) or {}).get(key), ps_path
    # and the engine reads the same performance status from the round trip
    before = recommend(case).to_dict()["derived"]
    after = recommend(compact(data)).to_dict()["derived"]
    assert {k: before.get(k) for k in ("imdc", "mskcc")} == {
        k: after.get(k) for k in ("imdc", "mskcc")
    }


def test_a_case_with_two_scales_says_which_one_the_form_keeps() -> None:
    values = case_form.values_from_case({"patient": {"kps": 80, "ecog": 2}})
    assert values[PS] == "kps:80"
    assert "ECOG 2" in values[f"{PS}:note"] and "Karnofsky 80 %" in values[f"{PS}:note"]


def test_live_panel_shows_the_other_scale_and_how_the_pathway_reads_it(client: TestClient) -> None:
    token = login(client, "cleo")
    html = client.post("/case/derived", data={PS: "ecog:1", "csrf_token": token}).text
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "ECOG 1" in text and "about Karnofsky 70–80 %" in text
    assert "both readings" in text  # ECOG 1 straddles Karnofsky 80
    html = client.post("/case/derived", data={PS: "kps:60", "csrf_token": token}).text
    assert "about ECOG 2" in html and "factor (IMDC, MSKCC) present" in html


def test_missing_performance_status_is_one_link_to_the_one_field(client: TestClient) -> None:
    token = login(client, "cleo")
    form = {
        **CASE_FORM,
        PS: "",
        "tumour.cm": "M1",
        "metastases[0].organ": "lung",
        "csrf_token": token,
    }
    html = client.post("/case", data=form).text
    missing = re.search(r'<details class="missing-inputs".*?</details>', html, re.S)
    assert missing is not None
    links = re.findall(r'href="#f-patient-performance_status"[^>]*>([^<]+)<', missing.group(0))
    assert links == ["Performance status"]


def test_an_engine_refusal_of_karnofsky_is_marked_on_the_one_field(client: TestClient) -> None:
    token = login(client, "cleo")
    resp = client.post("/case", data={**CASE_FORM, PS: "kps:85", "csrf_token": token})
    assert resp.status_code == 422
    assert re.search(r'class="field has-error" data-field="patient.performance_status"', resp.text)
    select = re.search(r'<select id="f-patient-performance_status"[^>]*>', resp.text)
    assert select is not None and 'aria-invalid="true"' in select.group(0)
    assert 'value="kps:85" selected' in resp.text  # what was sent is kept, not lost


def test_a_partial_risk_score_is_shown_as_its_range(client: TestClient) -> None:
    token = login(client, "cleo")
    # Karnofsky 60 and no laboratory factors: IMDC 1 known factor (KPS < 80) of six → 1–6
    # (Heng 2009: intermediate 1–2, poor 3–6).
    form = {
        **CASE_FORM,
        PS: "kps:60",
        "tumour.cm": "M1",
        "metastases[0].organ": "lung",
        "csrf_token": token,
    }
    html = client.post("/case", data=form).text
    found = re.search(r'<dd class="score-range">([^<]+)</dd>', html)
    assert found is not None, html
    assert "intermediate or poor" in found.group(1)
    assert "points; depends on" in found.group(1)
