"""Fuzz the single-record endpoints (tumours, imaging, interventions, pathology, events) from
the OpenAPI document against a synthetic registry: no 5xx, documented statuses, responses
match (the patients and labs routes are fuzzed by test_schemathesis_registry.py)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
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

from .registry_support import registry_db  # noqa: F401  (fixture)

_DB = Path(tempfile.mkdtemp(prefix="renalpath-fuzz-records-")) / "registry.db"
_store = MemoryAccountStore()
_store.add_token(_store.add("fuzz", "fuzz-password-123", "clinician"), "fuzz-token-0123456789")
# The engine opens on the first request, after the fixture below has put the registry in place.
APP = create_app(WebSettings(secret_key="fuzz", database_url=f"sqlite:///{_DB}"), _store)
AUTH = {"Authorization": "Bearer fuzz-token-0123456789"}

schema = schemathesis.openapi.from_asgi("/openapi.json", APP).include(
    path_regex=r"^/api/v1/(tumours|imaging|interventions|events)"
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture(scope="module", autouse=True)
def _registry(registry_db: Path) -> None:  # noqa: F811
    if not _DB.exists():
        shutil.copy(registry_db, _DB)


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_record_endpoints_fuzz(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
    response = case.call_and_validate(headers=AUTH, checks=CHECKS)
    assert response.status_code < 500
