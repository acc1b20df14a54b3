"""The Alembic migrations build exactly the schema the models declare.

A model change without its migration (or the reverse) would pass every test that creates
tables from the models and still break `renalpath db upgrade` on a department's database.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

# imported for their side effect: they register the account and board-case tables on Base
import renalpath.registry.accounts
import renalpath.registry.board_cases  # noqa: F401
from renalpath.registry.db import make_engine, upgrade
from renalpath.registry.models import Base


def test_migrated_schema_matches_the_models(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    with warnings.catch_warnings():
        # SQLite cannot reflect the expression index; its presence is checked below
        warnings.simplefilter("ignore")
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    with engine.connect() as conn:
        names = {
            r[0]
            for r in conn.exec_driver_sql(
                "select name from sqlite_master where type='index' and tbl_name='interventions'"
            )
        }
    assert {"ix_interventions_effective_intent", "ix_interventions_parent_intervention_id"} <= names
