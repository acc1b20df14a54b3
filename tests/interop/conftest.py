"""FHIR test fixtures (registry databases come from the registry tests' fixtures)."""

from tests.registry.registry_fixtures import db, engine, migrated_sqlite

__all__ = ["db", "engine", "migrated_sqlite"]
