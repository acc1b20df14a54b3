"""Study pages and API: same JSON as the CLI, tables, plots as data: URIs, downloads."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from fastapi.testclient import TestClient

from tests.conftest import run_cli

from .conftest import bearer, login
from .registry_support import reg_client, registry_db  # noqa: F401  (fixtures)


def test_salvage_api_equals_cli_json(
    reg_client: TestClient,  # noqa: F811
    registry_db: Path,  # noqa: F811
) -> None:
    api = reg_client.get("/api/v1/studies/salvage", headers=bearer("rhea"))
    assert api.status_code == 200, api.text
    cli = run_cli("study", "salvage", "--json", "--db", f"sqlite:///{registry_db}")
    assert cli.returncode == 0, cli.stderr
    expected = json.loads(cli.stdout)
    got = api.json()
    for key in ("software", "definitions"):  # versions/timestamps may differ between processes
        expected.pop(key, None), got.pop(key, None)
    assert got == expected
    assert got["n_salvage"] > 0


def test_survival_api_equals_cli_json(
    reg_client: TestClient,  # noqa: F811
    registry_db: Path,  # noqa: F811
) -> None:
    url = "/api/v1/studies/survival?endpoint=overall&by=sex"
    api = reg_client.get(url, headers=bearer("cleo"))
    assert api.status_code == 200, api.text
    cli = run_cli("study", "survival", "--json", "--by", "sex", "--db", f"sqlite:///{registry_db}")
    assert cli.returncode == 0, cli.stderr
    expected, got = json.loads(cli.stdout), api.json()
    for key in ("software", "definitions"):
        expected.pop(key, None), got.pop(key, None)
    assert got == expected


def test_study_api_refuses_bad_params_with_field(reg_client: TestClient) -> None:  # noqa: F811
    resp = reg_client.get(
        "/api/v1/studies/salvage?equation=cockcroft&from=2020-13-01", headers=bearer("cleo")
    )
    assert resp.status_code == 422
    fields = {e["field"] for e in resp.json()["errors"]}
    assert fields == {"equation", "from"}
    resp = reg_client.get(
        "/api/v1/studies/survival?from=2021-01-01&to=2020-01-01&by=shoe", headers=bearer("cleo")
    )
    assert resp.status_code == 422
    assert {e["field"] for e in resp.json()["errors"]} == {"to", "by"}


def test_salvage_page_has_tables_plots_and_links(reg_client: TestClient) -> None:  # noqa: F811
    login(reg_client, "rhea")  # researchers see aggregate results
    page = reg_client.get("/studies/salvage?equation=ckd-epi-2021")
    assert page.status_code == 200, page.text
    html = page.text
    assert 'id="km-plot" src="data:image/png;base64,' in html
    assert 'id="egfr-plot" src="data:image/png;base64,' in html
    assert "<style" not in html and "<script>" not in html and " style=" not in html
    assert "format=csv" in html and "format=pdf" in html and "format=html" in html
    api = reg_client.get("/api/v1/studies/salvage?equation=ckd-epi-2021").json()
    assert f'id="n-salvage">{api["n_salvage"]}<' in html


def test_salvage_csv_download_is_cohort_summary(reg_client: TestClient) -> None:  # noqa: F811
    login(reg_client, "cleo")
    resp = reg_client.get("/studies/salvage?format=csv")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/csv")
    assert "attachment" in resp.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    by_measure = {(r["section"], r["measure"]): r["value"] for r in rows}
    api = reg_client.get("/api/v1/studies/salvage").json()
    assert by_measure[("cohort", "n_salvage")] == str(api["n_salvage"])
    assert by_measure[("renal_function", "equation")] == api["renal_function"]["equation"]


def test_salvage_html_download_is_report(reg_client: TestClient) -> None:  # noqa: F811
    login(reg_client, "cleo")
    resp = reg_client.get("/studies/salvage?format=html")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert "Salvage" in resp.text and "data:image" in resp.text


def test_survival_page_and_csv(reg_client: TestClient) -> None:  # noqa: F811
    login(reg_client, "rhea")
    page = reg_client.get("/studies/survival?endpoint=overall&by=sex")
    assert page.status_code == 200, page.text
    assert 'id="km-plot" src="data:image/png;base64,' in page.text
    rows = list(
        csv.DictReader(
            io.StringIO(reg_client.get("/studies/survival?endpoint=overall&by=sex&format=csv").text)
        )
    )
    api = reg_client.get("/api/v1/studies/survival?endpoint=overall&by=sex").json()
    assert [r["group"] for r in rows] == [g["group"] for g in api["groups"]]
    assert sum(int(r["n"]) for r in rows) == api["n"]


def test_study_page_shows_field_errors(reg_client: TestClient) -> None:  # noqa: F811
    login(reg_client, "cleo")
    page = reg_client.get("/studies/salvage?from=yesterday")
    assert page.status_code == 422
    assert 'data-field="from"' in page.text and "not a date" in page.text


def test_studies_without_database_are_503(client: TestClient) -> None:
    resp = client.get("/api/v1/studies/salvage", headers=bearer("cleo"))
    assert resp.status_code == 503
    assert "database" in resp.json()["errors"][0]["message"]


def test_pdf_downloads(reg_client: TestClient) -> None:  # noqa: F811
    login(reg_client, "cleo")
    for path in ("/studies/survival?format=pdf", "/studies/salvage?format=pdf"):
        resp = reg_client.get(path)
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"] == "application/pdf"
        assert resp.content.startswith(b"%PDF")
