"""What the Schemathesis tests share: an app with one bearer-token user, the checks, the
Hypothesis settings, and a private copy of the synthetic registry for the registry routes.

The checks are chosen explicitly because "schema-valid input must be accepted" does not hold
here: a creatinine of 1e300 is schema-valid JSON and must be refused (422), by name.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fastapi import FastAPI
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

TOKEN = "fuzz-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
F = TypeVar("F", bound=Callable[..., Any])


def fuzz_app(role: str, db: Path | None = None) -> FastAPI:
    """The real app with one user of `role` holding TOKEN; a registry at `db` if given.

    The engine opens on the first request, so `db` may be filled after the app is made.
    """
    store = MemoryAccountStore()
    store.add_token(store.add("fuzz", "fuzz-password-123", role), TOKEN)
    url = f"sqlite:///{db}" if db is not None else None
    return create_app(WebSettings(secret_key="fuzz", database_url=url, open_docs=True), store)


def private_db(label: str) -> Path:
    """Where this module's copy of the registry goes (a fuzzed write must not leak out)."""
    return Path(tempfile.mkdtemp(prefix=f"renalpath-fuzz-{label}-")) / "registry.db"


def copy_registry_fixture(db: Path) -> Any:
    """A module-scoped autouse fixture that puts the synthetic registry at `db` once."""

    @pytest.fixture(scope="module", autouse=True)
    def _registry(registry_db: Path) -> None:
        if not db.exists():
            shutil.copy(registry_db, db)

    return _registry


def fuzz_settings(max_examples: int) -> Callable[[F], F]:
    """Few examples per operation (the suite has many), no deadline (the registry is real)."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
