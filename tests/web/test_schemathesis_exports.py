"""Fuzz the export and concordance endpoints from the OpenAPI document against a synthetic
registry: no 5xx, documented status codes and content types, responses match the schema."""

from __future__ import annotations

import schemathesis

from .fuzz_support import AUTH, CHECKS, copy_registry_fixture, fuzz_app, fuzz_settings, private_db
from .registry_support import registry_db  # noqa: F401  (fixture)

_DB = private_db("export")
APP = fuzz_app("researcher", _DB)
_registry = copy_registry_fixture(_DB)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP).include(
    path_regex=r"^/api/v1/(export|concordance)"
)


@schema.parametrize()
@fuzz_settings(8)
def test_export_and_concordance_fuzz(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
    response = case.call_and_validate(headers=AUTH, checks=CHECKS)
    assert response.status_code < 500
