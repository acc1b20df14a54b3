"""Fuzz the single-record endpoints (tumours, imaging, interventions, pathology, events) from
the OpenAPI document against a synthetic registry: no 5xx, documented statuses, responses
match (the patients and labs routes are fuzzed by test_schemathesis_registry.py)."""

from __future__ import annotations

import schemathesis

from .fuzz_support import AUTH, CHECKS, copy_registry_fixture, fuzz_app, fuzz_settings, private_db
from .registry_support import registry_db  # noqa: F401  (fixture)

_DB = private_db("records")
APP = fuzz_app("clinician", _DB)
_registry = copy_registry_fixture(_DB)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP).include(
    path_regex=r"^/api/v1/(tumours|imaging|interventions|events)"
)


@schema.parametrize()
@fuzz_settings(15)
def test_record_endpoints_fuzz(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
    response = case.call_and_validate(headers=AUTH, checks=CHECKS)
    assert response.status_code < 500
