"""Coded records: staging, performance status, disease status, metastases, systemic-therapy
and radiotherapy courses; derived LOINC and UCUM codes of laboratory values.

`labs.loinc` / `labs.ucum` are derived (like `labs.egfr`): filled here for the stored rows from
the code tables in `registry/codes/`, then by every import and correction.

Revision ID: coded_0001
Revises: accounts_0003
Create Date: 2026-12-14

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from renalpath.registry.vocab import lab_loinc, ucum_units

# revision identifiers, used by Alembic.
revision: str = "coded_0001"
down_revision: str | Sequence[str] | None = "accounts_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=64)
CODE = sa.String(length=40)


def _pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}"))


def _fk(table: str, column: str, parent: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{parent}.{column}"], name=op.f(f"fk_{table}_{column}_{parent}")
    )


def _indexes(table: str, *columns: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def upgrade() -> None:
    op.create_table(
        "staging",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tumour_id", ID, nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("classification", CODE, nullable=False),
        sa.Column("t_category", CODE, nullable=True),
        sa.Column("n_category", CODE, nullable=True),
        sa.Column("m_category", CODE, nullable=True),
        sa.Column("stage_group", CODE, nullable=True),
        sa.Column("ajcc_edition", CODE, nullable=False),
        sa.Column("basis", CODE, nullable=True),
        _fk("staging", "tumour_id", "tumours"),
        _pk("staging"),
        sa.UniqueConstraint(
            "tumour_id", "date", "classification", name=op.f("uq_staging_tumour_id")
        ),
    )
    _indexes("staging", "date", "tumour_id")

    op.create_table(
        "performance",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("ecog", sa.Integer(), nullable=True),
        sa.Column("karnofsky", sa.Integer(), nullable=True),
        _fk("performance", "patient_id", "patients"),
        _pk("performance"),
        sa.UniqueConstraint("patient_id", "date", name=op.f("uq_performance_patient_id")),
    )
    _indexes("performance", "date")

    op.create_table(
        "disease_status",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("tumour_id", ID, nullable=True),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("status", CODE, nullable=False),
        sa.Column("evidence", CODE, nullable=True),
        _fk("disease_status", "patient_id", "patients"),
        _fk("disease_status", "tumour_id", "tumours"),
        _pk("disease_status"),
        sa.UniqueConstraint(
            "patient_id", "tumour_id", "date", name=op.f("uq_disease_status_patient_id")
        ),
    )
    _indexes("disease_status", "date", "tumour_id")

    op.create_table(
        "metastases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("tumour_id", ID, nullable=True),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("site", CODE, nullable=False),
        sa.Column("detection", CODE, nullable=True),
        _fk("metastases", "patient_id", "patients"),
        _fk("metastases", "tumour_id", "tumours"),
        _pk("metastases"),
        sa.UniqueConstraint("patient_id", "date", "site", name=op.f("uq_metastases_patient_id")),
    )
    _indexes("metastases", "date", "tumour_id")

    op.create_table(
        "systemic_therapy",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("tumour_id", ID, nullable=True),
        sa.Column("agent", CODE, nullable=False),
        sa.Column("regimen", sa.String(length=200), nullable=True),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("stop_reason", CODE, nullable=True),
        _fk("systemic_therapy", "patient_id", "patients"),
        _fk("systemic_therapy", "tumour_id", "tumours"),
        _pk("systemic_therapy"),
        sa.UniqueConstraint(
            "patient_id", "agent", "start_date", name=op.f("uq_systemic_therapy_patient_id")
        ),
    )
    _indexes("systemic_therapy", "start_date", "tumour_id")

    op.create_table(
        "radiotherapy",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("tumour_id", ID, nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("modality", CODE, nullable=True),
        sa.Column("site", CODE, nullable=False),
        sa.Column("dose_gy", sa.Float(), nullable=True),
        sa.Column("fractions", sa.Integer(), nullable=True),
        _fk("radiotherapy", "patient_id", "patients"),
        _fk("radiotherapy", "tumour_id", "tumours"),
        _pk("radiotherapy"),
        sa.UniqueConstraint(
            "patient_id", "start_date", "site", name=op.f("uq_radiotherapy_patient_id")
        ),
    )
    _indexes("radiotherapy", "start_date", "tumour_id")

    op.add_column("labs", sa.Column("loinc", CODE, nullable=True))
    op.add_column("labs", sa.Column("ucum", CODE, nullable=True))
    _backfill_lab_codes()


def _backfill_lab_codes() -> None:
    """Derived codes of the stored labs, one UPDATE per distinct (test, unit, equation)."""
    conn = op.get_bind()
    labs = sa.table(
        "labs",
        sa.column("test", CODE),
        sa.column("unit", CODE),
        sa.column("equation", CODE),
        sa.column("loinc", CODE),
        sa.column("ucum", CODE),
    )
    combos = conn.execute(sa.select(labs.c.test, labs.c.unit, labs.c.equation).distinct()).all()
    units = ucum_units()
    for test, unit, equation in combos:
        code = lab_loinc(test, unit, equation or "")
        ucum = units.get(unit, ("", ""))[0]
        if code is None and not ucum:
            continue
        eq = labs.c.equation.is_(None) if equation is None else labs.c.equation == equation
        conn.execute(
            sa.update(labs)
            .where(labs.c.test == test, labs.c.unit == unit, eq)
            .values(loinc=code.loinc if code else None, ucum=ucum or None)
        )


def downgrade() -> None:
    with op.batch_alter_table("labs") as batch:
        batch.drop_column("ucum")
        batch.drop_column("loinc")
    for table in (
        "radiotherapy",
        "systemic_therapy",
        "metastases",
        "disease_status",
        "performance",
        "staging",
    ):
        op.drop_table(table)
