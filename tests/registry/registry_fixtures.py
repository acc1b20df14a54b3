"""Registry test fixtures: a fresh database per test (SQLite file, or a private PostgreSQL
schema), and hand-built registry folders written into tmp dirs."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from renalpath.registry.db import make_engine, upgrade
from renalpath.registry.dictionary import FILES
from renalpath.registry.kits19 import write_folder as write_rows

Rows = dict[str, list[dict[str, str]]]


def base_rows() -> Rows:
    """A small, valid, hand-written registry: two patients, salvage after cryoablation."""
    return {
        "patients": [
            {
                "patient_id": "P1",
                "sex": "male",
                "birth_date": "1950-01-01",
                "last_contact_date": "2023-01-01",
                "solitary_kidney": "none",
            },
            {
                "patient_id": "P2",
                "sex": "female",
                "birth_date": "1960-05-05",
                "death_date": "2022-01-01",
                "death_cause": "rcc",
                "black_race": "false",
            },
        ],
        "tumours": [
            {
                "tumour_id": "T1",
                "patient_id": "P1",
                "side": "left",
                "diagnosis_date": "2018-01-10",
                "histology": "clear_cell",
                "ct": "T1a",
                "cn": "N0",
                "cm": "M0",
            },
            {"tumour_id": "T3", "patient_id": "P2", "side": "left", "diagnosis_date": "2019-02-01"},
        ],
        "imaging": [
            {
                "tumour_id": "T1",
                "date": "2018-01-10",
                "modality": "ct",
                "size_mm": "28",
                "renal_exophytic_pct": "60",
                "renal_ap": "a",
                "renal_hilar": "false",
            },
        ],
        "interventions": [
            {
                "intervention_id": "I1",
                "patient_id": "P1",
                "tumour_id": "T1",
                "date": "2018-02-01",
                "type": "cryoablation",
                "approach": "percutaneous",
            },
            {
                "intervention_id": "I2",
                "patient_id": "P1",
                "tumour_id": "T1",
                "date": "2019-06-01",
                "type": "partial_nephrectomy",
                "approach": "robotic",
                "warm_ischemia_min": "18",
                "blood_loss_ml": "650.5",
                "transfusion_units": "1",
            },
            {
                "intervention_id": "I3",
                "patient_id": "P2",
                "tumour_id": "T3",
                "date": "2019-03-01",
                "type": "radical_nephrectomy",
                "approach": "open",
            },
        ],
        "pathology": [
            {
                "intervention_id": "I2",
                "histology": "clear_cell",
                "isup_grade": "2",
                "pt": "T1a",
                "pn": "NX",
                "size_mm": "25",
                "margin": "negative",
                "necrosis": "false",
                "sarcomatoid": "false",
            },
        ],
        "complications": [
            {
                "intervention_id": "I2",
                "date": "2019-06-03",
                "clavien_dindo": "II",
                "description": "transfusion, rising, anaemia",
            },
            {"intervention_id": "I2", "date": "2019-06-05", "clavien_dindo": "IIIa"},
        ],
        "labs": [
            {
                "patient_id": "P1",
                "date": "2018-01-20",
                "test": "creatinine",
                "value": "1.1",
                "unit": "mg/dL",
            },
            {
                "patient_id": "P1",
                "date": "2019-07-01",
                "test": "creatinine",
                "value": "110",
                "unit": "µmol/L",
            },
            {
                "patient_id": "P2",
                "date": "2019-01-01",
                "test": "hemoglobin",
                "value": "12.5",
                "unit": "g/dL",
                "lln": "12",
                "uln": "16",
            },
        ],
        "events": [
            {
                "patient_id": "P1",
                "tumour_id": "T1",
                "date": "2019-01-15",
                "type": "local_recurrence",
            },
            {"patient_id": "P2", "date": "2022-01-01", "type": "death"},
        ],
    }


def write_folder(folder: Path, rows: Rows, *, every_file: bool = True) -> Path:
    """Write `rows` as a registry folder (dictionary headers; missing cells blank). Files
    without rows are written with their header only (as the export writes them), unless
    `every_file` is False: then only the files in `rows` (an older folder, say)."""
    if every_file:
        rows = {name: rows.get(name, []) for name in FILES}
    return write_rows(rows, folder)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_folder(tmp_path / "reg", base_rows())


def _pg_engine(pg_url: str) -> Iterator[tuple[Engine, str]]:
    schema = f"rp_{uuid.uuid4().hex[:12]}"
    admin = make_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in pg_url else "?"
    url = f"{pg_url}{sep}options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    try:
        yield engine, url
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite registry migrated once per test process.

    Why: each test gets a copy of this file instead of running the migrations again (≈ 50 ms
    of Python building DDL against ≈ 0.2 ms for the copy), and starts from exactly what
    `upgrade` makes.  The engine is disposed first, so the file holds every page (no
    write-ahead log left beside it)."""
    path = tmp_path_factory.mktemp("migrated") / "registry.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    assert not path.with_name(path.name + "-wal").exists(), "the template kept a WAL file"
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def db(
    request: pytest.FixtureRequest, tmp_path: Path, migrated_sqlite: Path
) -> Iterator[tuple[Engine, str]]:
    """(engine, url) of a freshly migrated, empty database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "registry.db"
        shutil.copyfile(migrated_sqlite, path)
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        yield engine, url
        engine.dispose()
        return
    pg_url = request.getfixturevalue("pg_url")
    for engine, url in _pg_engine(pg_url):
        upgrade(engine)
        yield engine, url


@pytest.fixture
def engine(db: tuple[Engine, str]) -> Engine:
    return db[0]
