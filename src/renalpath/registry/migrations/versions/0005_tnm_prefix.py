"""The TNM prefix that carries meaning: `tumours.tnm_prefix`, `pathology.tnm_prefix`.

A category written ypT2 (after neoadjuvant therapy), rpT3a (recurrence) or aT1 (autopsy) was
refused before, because the registry had nowhere to keep the y, r or a; it is now stored as
the canonical category (T2) plus the prefix ("y", "r", "a" or "yr"; NULL = primary).

Revision ID: 0005
Revises: coded_0001
Create Date: 2026-12-07

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "coded_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("tumours", "pathology")


def upgrade() -> None:
    for table in _TABLES:
        op.add_column(table, sa.Column("tnm_prefix", sa.String(length=40), nullable=True))


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("tnm_prefix")
