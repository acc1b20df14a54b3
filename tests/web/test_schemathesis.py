"""Fuzz the calculator endpoints from the OpenAPI document: no 5xx, responses match the schema.

Bodies are generated from each request model (valid and schema-violating ones); the checks
are chosen explicitly because "schema-valid input must be accepted" does not hold for a
calculator: a creatinine of 1e300 is schema-valid JSON and must be refused (422), by name.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from renalpath.web.app import create_app
from renalpath.web.auth import MemoryAccountStore
from renalpath.web.settings import WebSettings

_store = MemoryAccountStore()
_store.add_token(_store.add("fuzz", "fuzz-password-123", "clinician"), "fuzz-token-0123456789")
APP = create_app(WebSettings(secret_key="fuzz"), _store)
AUTH = {"Authorization": "Bearer fuzz-token-0123456789"}

schema = schemathesis.openapi.from_asgi("/openapi.json", APP).include(path_regex=r"^/api/v1/calc/")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_calculator_endpoints_fuzz(case: schemathesis.Case) -> None:
    response = case.call_and_validate(headers=AUTH, checks=CHECKS)
    # 405 is expected too: the coverage phase also tries methods the route does not allow.
    assert response.status_code < 500
