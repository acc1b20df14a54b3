"""Fuzz the registry endpoints (studies, patients, lab correction, import) from the OpenAPI
document against a synthetic registry: no 5xx, documented status codes, responses match."""

from __future__ import annotations

import schemathesis

from .fuzz_support import AUTH, CHECKS, copy_registry_fixture, fuzz_app, fuzz_settings, private_db
from .registry_support import registry_db  # noqa: F401  (fixture)

_DB = private_db("registry")
APP = fuzz_app("clinician", _DB)
_registry = copy_registry_fixture(_DB)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP).include(
    path_regex=r"^/api/v1/(studies/|patients|labs/|import)"
)


@schema.parametrize()
@fuzz_settings(15)
def test_registry_endpoints_fuzz(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
    response = case.call_and_validate(headers=AUTH, checks=CHECKS)
    assert response.status_code < 500
