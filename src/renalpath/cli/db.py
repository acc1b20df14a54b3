"""`renalpath db init|upgrade`: create or migrate the registry schema (Alembic)."""

from __future__ import annotations

import typer

from renalpath.cli.options import DbOpt, sub_app

app = sub_app("Create or migrate the registry database.")


@app.command("init")
def db_init(db: DbOpt = None) -> None:
    """Create the registry schema (same as upgrade on an empty database)."""
    _migrate(db)


@app.command("upgrade")
def db_upgrade(db: DbOpt = None) -> None:
    """Migrate the registry schema to the latest revision."""
    _migrate(db)


def _migrate(db: str | None) -> None:
    from renalpath.cli.database import database_errors, engine_for
    from renalpath.registry.db import upgrade

    engine = engine_for(db, create=True)
    with database_errors(engine):
        rev = upgrade(engine)
    typer.echo(f"database {engine.url.render_as_string()} at revision {rev}")
