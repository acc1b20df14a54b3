"""No form input may produce a server error: random values into every UI form field."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from renalpath.calculators import all_calculators
from renalpath.web.case_form import ALL_FIELDS
from renalpath.web.forms import fields_of

from .conftest import login

CALCULATORS = all_calculators()

VALUES = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "nan", "inf", "-1", "1e308", "0", "35", "true", "false", "µmol/L", "M1"]),
)


@pytest.fixture(scope="module")
def logged_in(accounts) -> Iterator[tuple[TestClient, str]]:  # type: ignore[no-untyped-def]
    from renalpath.web.app import create_app
    from renalpath.web.settings import WebSettings

    app: FastAPI = create_app(WebSettings(secret_key="fuzz"), accounts)
    with TestClient(app) as c:
        yield c, login(c, "cleo")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.sampled_from(sorted(CALCULATORS)),
    data=st.data(),
)
def test_calculator_forms_never_500(logged_in, name: str, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    client, token = logged_in
    names = [f.name for f in fields_of(CALCULATORS[name].request)]
    form = data.draw(st.dictionaries(st.sampled_from(names), VALUES))
    resp = client.post(f"/calculators/{name}", data={**form, "csrf_token": token})
    assert resp.status_code in (200, 422), resp.text[:500]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(form=st.dictionaries(st.sampled_from([f.name for f in ALL_FIELDS]), VALUES, max_size=25))
def test_case_form_never_500(logged_in, form: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    client, token = logged_in
    for path in ("/case", "/case/derived"):
        resp = client.post(path, data={**form, "csrf_token": token})
        assert resp.status_code in (200, 422), (path, resp.text[:500])
