"""Saved tumour-board cases (draft → presented → decided), audited like registry records.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "board_cases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("board_date", sa.Date(), nullable=True),
        sa.Column("question", sa.Text(), nullable=True),
        sa.Column("case_json", sa.Text(), nullable=False),
        sa.Column("provenance_json", sa.Text(), nullable=True),
        sa.Column("decision", sa.Text(), nullable=True),
        sa.Column("decision_option", sa.String(length=60), nullable=True),
        sa.Column("decision_date", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.Column("updated_at", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.patient_id"],
            name="fk_board_cases_patient_id_patients",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_board_cases"),
    )
    op.create_index("ix_board_cases_patient_id", "board_cases", ["patient_id"])
    op.create_index("ix_board_cases_board_date", "board_cases", ["board_date"])


def downgrade() -> None:
    op.drop_index("ix_board_cases_board_date", table_name="board_cases")
    op.drop_index("ix_board_cases_patient_id", table_name="board_cases")
    op.drop_table("board_cases")
