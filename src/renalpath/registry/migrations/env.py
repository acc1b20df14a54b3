"""Alembic environment, configured from code (see `renalpath.registry.db.alembic_config`).

The engine is handed over in `config.attributes["engine"]`, so no alembic.ini is needed and
the SQLite connection settings (foreign keys, WAL) apply during migrations too. Batch mode is
on for SQLite, whose ALTER TABLE cannot change constraints in place.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, create_engine

from renalpath.registry.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    engine = config.attributes.get("engine")
    if not isinstance(engine, Engine):
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
