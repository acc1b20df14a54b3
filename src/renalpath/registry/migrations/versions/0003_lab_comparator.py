"""Censored laboratory results: `labs.comparator` ("<", "<=", ">", ">=" or NULL).

A laboratory reports eGFR above its upper reporting limit as ">90"; the import stores the
number (90) with its comparator, so the value stays analysable and nothing is lost.

Revision ID: 0003
Revises: accounts_0002
Create Date: 2026-12-07

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "accounts_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("labs", sa.Column("comparator", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("labs") as batch:
        batch.drop_column("comparator")
