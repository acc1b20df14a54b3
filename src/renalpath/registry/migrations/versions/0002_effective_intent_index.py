"""Index on the effective intervention intent by patient (web patient list), and on
the explicit parent of a salvage operation (a record delete looks for operations naming it).

`coalesce(intent, intent_derived)` is the intent that counts (an explicit intent wins over
the derived lineage, docs/data-model.md); indexing it with patient_id turns the patient list's
"has salvage surgery" filter and column from a probe per patient into one index range.

Revision ID: 0002
Revises: accounts_0001
Create Date: 2026-11-22

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "accounts_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_interventions_effective_intent",
        "interventions",
        [sa.text("coalesce(intent, intent_derived)"), "patient_id"],
        unique=False,
    )
    op.create_index(
        "ix_interventions_parent_intervention_id",
        "interventions",
        ["parent_intervention_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_interventions_parent_intervention_id", table_name="interventions")
    op.drop_index("ix_interventions_effective_intent", table_name="interventions")
