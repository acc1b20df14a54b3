"""Registry fixtures (defined in registry_fixtures.py so tests can import its helpers)."""

from tests.registry.registry_fixtures import db, engine, folder, migrated_sqlite

__all__ = ["db", "engine", "folder", "migrated_sqlite"]
