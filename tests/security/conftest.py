"""Fixtures of the attack suite: fresh registry databases (SQLite file or PostgreSQL) and the
web app over a synthetic registry."""

from tests.registry.registry_fixtures import db, engine, folder
from tests.web.conftest import accounts
from tests.web.registry_support import registry_db, rw_client

__all__ = ["accounts", "db", "engine", "folder", "registry_db", "rw_client"]
