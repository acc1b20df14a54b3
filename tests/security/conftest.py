"""Fixtures of the attack suite: fresh registry databases (SQLite file or PostgreSQL), the
web app over a synthetic registry, and the web layer's apps and logged-in clients."""

from tests.registry.registry_fixtures import db, engine, folder, migrated_sqlite
from tests.web.conftest import accounts, app, client
from tests.web.registry_support import empty_client, registry_db, rw_client

__all__ = [
    "accounts",
    "app",
    "client",
    "db",
    "empty_client",
    "engine",
    "folder",
    "migrated_sqlite",
    "registry_db",
    "rw_client",
]
