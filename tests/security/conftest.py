"""Fixtures of the attack suite: the registry's fresh databases (SQLite file or PostgreSQL)."""

from tests.registry.registry_fixtures import db, engine, folder

__all__ = ["db", "engine", "folder"]
