"""Concordance page and API: the CLI's JSON, aggregate-only for researchers, assumptions."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import run_cli

from .conftest import bearer, login
from .registry_support import reg_client, registry_db  # noqa: F401  (fixtures)

API = "/api/v1/concordance"


def cli_json(db: Path, *args: str) -> dict[str, Any]:
    done = run_cli("audit", "concordance", "--json", "--db", f"sqlite:///{db}", *args)
    assert done.returncode == 0, done.stderr
    doc: dict[str, Any] = json.loads(done.stdout)
    return doc


@pytest.fixture(scope="module")
def expected(registry_db: Path) -> dict[str, Any]:  # noqa: F811
    return cli_json(registry_db)


@pytest.mark.parametrize("user", ["cleo", "ada"])
def test_api_equals_cli_json_for_clinicians(
    reg_client: TestClient,  # noqa: F811
    expected: dict[str, Any],
    user: str,
) -> None:
    resp = reg_client.get(API, headers=bearer(user))
    assert resp.status_code == 200, resp.text
    assert resp.json() == expected
    assert expected["n_treatments"] > 0 and expected["treatments"]


def test_researcher_gets_aggregates_without_patient_rows(
    reg_client: TestClient,  # noqa: F811
    expected: dict[str, Any],
) -> None:
    resp = reg_client.get(API, headers=bearer("rhea"))
    assert resp.status_code == 200
    got = resp.json()
    assert "treatments" not in got
    assert got == {k: v for k, v in expected.items() if k != "treatments"}
    ids = {t["patient_id"] for t in expected["treatments"]}
    assert not [i for i in ids if i in resp.text]


def test_anonymous_is_401(reg_client: TestClient) -> None:  # noqa: F811
    assert reg_client.get(API).status_code == 401
    page = reg_client.get("/studies/concordance", follow_redirects=False)
    assert page.status_code == 303 and "/login" in page.headers["location"]


def test_assume_and_window_match_the_cli(
    reg_client: TestClient,  # noqa: F811
    registry_db: Path,  # noqa: F811
) -> None:
    args = (
        "--assume",
        "patient.fit_for_surgery=true",
        "--assume",
        "tumour.central=false",
        "--from",
        "2012-01-01",
        "--to",
        "2020-12-31",
    )
    want = cli_json(registry_db, *args)
    url = (
        f"{API}?assume=patient.fit_for_surgery%3Dtrue&assume=tumour.central%3Dfalse"
        "&from=2012-01-01&to=2020-12-31"
    )
    resp = reg_client.get(url, headers=bearer("cleo"))
    assert resp.status_code == 200, resp.text
    assert resp.json() == want
    assert want["assumptions"] == {"patient.fit_for_surgery": True, "tumour.central": False}


def test_bad_parameters_name_their_field(reg_client: TestClient) -> None:  # noqa: F811
    resp = reg_client.get(
        f"{API}?assume=patient.fitt%3Dtrue&assume=nonsense&from=2020-02-30", headers=bearer("cleo")
    )
    assert resp.status_code == 422
    errors = resp.json()["errors"]
    assert sorted(e["field"] for e in errors) == ["assume", "assume", "from"]
    text = " ".join(e["message"] for e in errors)
    assert "patient.fitt" in text and "FIELD=VALUE" in text
    bad_value = reg_client.get(f"{API}?assume=patient.ecog%3Dseven", headers=bearer("rhea"))
    assert bad_value.status_code == 422
    assert "patient.ecog" in bad_value.json()["errors"][0]["message"]


def _number(html: str, dom_id: str) -> str:
    match = re.search(rf'id="{dom_id}">([^<]+)<', html)
    assert match, dom_id
    return match.group(1)


def test_page_shows_the_cli_numbers(reg_client: TestClient, expected: dict[str, Any]) -> None:  # noqa: F811
    login(reg_client, "rhea")
    page = reg_client.get("/studies/concordance")
    assert page.status_code == 200
    html = page.text
    assert int(_number(html, "n-treatments")) == expected["n_treatments"]
    rate = expected["pn_rate_ct1a"]["rate_pct"]
    assert _number(html, "pn-rate") == (f"{rate:.1f} %" if rate is not None else "n/a")
    for year in expected["by_year"]:
        assert f'data-year="{year}"' in html
    for ct in expected["by_ct"]:
        assert f'data-ct="{ct}"' in html
    assert 'id="treatments"' not in html  # researcher: no patient rows
    assert 'href="/studies/concordance"' in html  # nav link
    assert 'id="f-patient-fit_for_surgery"' in html


def test_page_for_clinician_lists_treatments_and_assumptions(
    reg_client: TestClient,  # noqa: F811
) -> None:
    login(reg_client, "cleo")
    page = reg_client.get(
        "/studies/concordance?patient.fit_for_surgery=true&more=patient.frail%3Dfalse"
    )
    assert page.status_code == 200
    assert 'id="treatments"' in page.text
    assert "<code>patient.fit_for_surgery</code> = true" in page.text
    assert "<code>patient.frail</code> = false" in page.text
    link = re.search(r'id="dl-json" href="([^"]+)"', page.text)
    assert link
    via_link = reg_client.get(link.group(1).replace("&amp;", "&"))
    assert via_link.json()["assumptions"] == {
        "patient.fit_for_surgery": True,
        "patient.frail": False,
    }


def test_page_refuses_bad_input_next_to_the_field(reg_client: TestClient) -> None:  # noqa: F811
    login(reg_client, "cleo")
    page = reg_client.get("/studies/concordance?patient.ecog=9&more=garbage&to=yesterday")
    assert page.status_code == 422
    assert 'data-field="patient.ecog"' in page.text
    assert 'data-field="assume"' in page.text
    assert 'data-field="to"' in page.text
