"""Fuzz the calculator endpoints from the OpenAPI document: no 5xx, responses match the schema.

Bodies are generated from each request model (valid and schema-violating ones); the checks
are chosen explicitly because "schema-valid input must be accepted" does not hold for a
calculator: a creatinine of 1e300 is schema-valid JSON and must be refused (422), by name.
"""

from __future__ import annotations

import schemathesis

from .fuzz_support import AUTH, CHECKS, fuzz_app, fuzz_settings

APP = fuzz_app("clinician")
schema = schemathesis.openapi.from_asgi("/openapi.json", APP).include(path_regex=r"^/api/v1/calc/")


@schema.parametrize()
@fuzz_settings(30)
def test_calculator_endpoints_fuzz(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
    # 405 is expected too: the coverage phase also tries methods the route does not allow.
    response = case.call_and_validate(headers=AUTH, checks=CHECKS)
    assert response.status_code < 500
