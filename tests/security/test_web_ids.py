"""Record ids at the API: the documented character set only (no markup, formulas, controls)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from renalpath.registry.ids import RECORD_ID_PATTERN, is_valid_record_id
from tests.web.conftest import bearer
from tests.web.registry_support import registry_db, rw_client  # noqa: F401  (fixtures)

CLEO = bearer("cleo")
PATIENT = {"sex": "female", "birth_date": "1960-01-01", "black_race": False}

BAD_IDS = [
    "<b>x</b>",
    "=HYPERLINK(1)",
    "A\u202eB",  # right-to-left override
    "A\u200bB",  # zero-width space
    "A\r\nB",
    "A/B",
    "A\x00B",
    "A B",
    "-lead",
    "x" * 65,
    "Ａ1",  # fullwidth letter
]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_create_refuses_ids_outside_the_set(rw_client: TestClient, bad: str) -> None:  # noqa: F811
    resp = rw_client.post("/api/v1/patients", headers=CLEO, json={**PATIENT, "patient_id": bad})
    assert resp.status_code == 422, resp.text
    assert resp.json()["errors"][0]["field"] == "patient_id"


def test_create_accepts_a_plain_id(rw_client: TestClient) -> None:  # noqa: F811
    resp = rw_client.post(
        "/api/v1/patients", headers=CLEO, json={**PATIENT, "patient_id": "P-1.a_2"}
    )
    assert resp.status_code == 201, resp.text


def test_child_create_refuses_a_bad_tumour_id(rw_client: TestClient) -> None:  # noqa: F811
    made = rw_client.post("/api/v1/patients", headers=CLEO, json={**PATIENT, "patient_id": "P9"})
    assert made.status_code == 201, made.text
    resp = rw_client.post(
        "/api/v1/patients/P9/tumours",
        headers=CLEO,
        json={"tumour_id": "T<1>", "side": "left", "diagnosis_date": "2020-02-02"},
    )
    assert resp.status_code == 422


@given(st.text(max_size=70))
def test_predicate_matches_its_documented_rule(value: str) -> None:
    import re

    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
    expected = 1 <= len(value) <= 64 and set(value) <= allowed and value[0] not in "._-"
    assert is_valid_record_id(value) == expected
    assert (re.fullmatch(RECORD_ID_PATTERN, value) is not None) == expected
