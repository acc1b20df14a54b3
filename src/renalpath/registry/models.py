"""SQLAlchemy 2 models of the registry plus derived values and the audit log.

Column names equal the CSV column names of `registry.dictionary`, so import, export and the
outcome frames need no mapping table. Derived values live beside the data they come from,
each with its provenance: `labs.egfr` with `labs.egfr_equation`, `labs.loinc` and `labs.ucum`
(codes from `registry/codes/`), and the salvage lineage in
`interventions.intent_derived` / `parent_intervention_id_derived` with `lineage_source`
("explicit" when the CSV gave an intent, "derived" otherwise). Derived columns are never
exported, so an import → export → import round trip only ever carries source data.

Indexes follow the outcome queries: everything a patient has (patient_id), time windows
(dates), procedure / event / test types, and per-tumour histories (tumour_id).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Deterministic constraint names, so Alembic batch mode on SQLite can find them again.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = String(64)
CODE = String(40)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Patient(Base):
    __tablename__ = "patients"

    patient_id: Mapped[str] = mapped_column(ID, primary_key=True)
    sex: Mapped[str] = mapped_column(CODE)
    birth_date: Mapped[dt.date] = mapped_column(Date)
    black_race: Mapped[bool | None] = mapped_column(Boolean)
    solitary_kidney: Mapped[str | None] = mapped_column(CODE)
    hereditary_syndrome: Mapped[str | None] = mapped_column(CODE)
    death_date: Mapped[dt.date | None] = mapped_column(Date)
    death_cause: Mapped[str | None] = mapped_column(CODE)
    last_contact_date: Mapped[dt.date | None] = mapped_column(Date)


class Tumour(Base):
    __tablename__ = "tumours"

    tumour_id: Mapped[str] = mapped_column(ID, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.patient_id"), index=True)
    side: Mapped[str] = mapped_column(CODE)
    diagnosis_date: Mapped[dt.date] = mapped_column(Date, index=True)
    histology: Mapped[str | None] = mapped_column(CODE)
    ct: Mapped[str | None] = mapped_column(CODE)
    cn: Mapped[str | None] = mapped_column(CODE)
    cm: Mapped[str | None] = mapped_column(CODE)
    tnm_prefix: Mapped[str | None] = mapped_column(CODE)  # y / r / a / yr of ct, cn, cm


class Imaging(Base):
    __tablename__ = "imaging"
    __table_args__ = (UniqueConstraint("tumour_id", "date", "modality"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tumour_id: Mapped[str] = mapped_column(ForeignKey("tumours.tumour_id"), index=True)
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    modality: Mapped[str | None] = mapped_column(CODE)
    size_mm: Mapped[float] = mapped_column(Float)
    renal_exophytic_pct: Mapped[float | None] = mapped_column(Float)
    renal_nearness_mm: Mapped[float | None] = mapped_column(Float)
    renal_ap: Mapped[str | None] = mapped_column(CODE)
    renal_polar: Mapped[str | None] = mapped_column(CODE)
    renal_hilar: Mapped[bool | None] = mapped_column(Boolean)
    padua_polar: Mapped[str | None] = mapped_column(CODE)
    padua_exophytic_pct: Mapped[float | None] = mapped_column(Float)
    padua_rim: Mapped[str | None] = mapped_column(CODE)
    padua_sinus: Mapped[bool | None] = mapped_column(Boolean)
    padua_ucs: Mapped[bool | None] = mapped_column(Boolean)
    padua_face: Mapped[str | None] = mapped_column(CODE)


class Intervention(Base):
    __tablename__ = "interventions"
    __table_args__ = (Index("ix_interventions_patient_date", "patient_id", "date"),)

    intervention_id: Mapped[str] = mapped_column(ID, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.patient_id"), index=True)
    tumour_id: Mapped[str | None] = mapped_column(ForeignKey("tumours.tumour_id"), index=True)
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    type: Mapped[str] = mapped_column(CODE, index=True)
    side: Mapped[str | None] = mapped_column(CODE)
    approach: Mapped[str | None] = mapped_column(CODE)
    intent: Mapped[str | None] = mapped_column(CODE)
    warm_ischemia_min: Mapped[float | None] = mapped_column(Float)
    cold_ischemia_min: Mapped[float | None] = mapped_column(Float)
    blood_loss_ml: Mapped[float | None] = mapped_column(Float)
    operative_time_min: Mapped[float | None] = mapped_column(Float)
    transfusion_units: Mapped[int | None] = mapped_column(Integer)
    length_of_stay_days: Mapped[int | None] = mapped_column(Integer)
    conversion: Mapped[str | None] = mapped_column(CODE)
    dialysis_expected_preop: Mapped[bool | None] = mapped_column(Boolean)
    # Deferred so a folder may list a salvage operation before its parent.
    # Indexed: deleting an operation asks whether a salvage operation names it (records.py).
    parent_intervention_id: Mapped[str | None] = mapped_column(
        ForeignKey("interventions.intervention_id", deferrable=True, initially="DEFERRED"),
        index=True,
    )
    # Derived salvage lineage (`registry.derived`; explicit values win): never exported.
    side_derived: Mapped[str | None] = mapped_column(CODE)
    intent_derived: Mapped[str | None] = mapped_column(CODE, index=True)
    parent_intervention_id_derived: Mapped[str | None] = mapped_column(ID)
    lineage_source: Mapped[str | None] = mapped_column(CODE)


# The effective intent (explicit wins over derived) by patient: the web patient
# list's "salvage" filter and column look patients up here (migration 0002).
Index(
    "ix_interventions_effective_intent",
    func.coalesce(Intervention.intent, Intervention.intent_derived),
    Intervention.patient_id,
)


class Pathology(Base):
    __tablename__ = "pathology"

    intervention_id: Mapped[str] = mapped_column(
        ForeignKey("interventions.intervention_id"), primary_key=True
    )
    histology: Mapped[str | None] = mapped_column(CODE)
    isup_grade: Mapped[int | None] = mapped_column(Integer)
    pt: Mapped[str | None] = mapped_column(CODE)
    pn: Mapped[str | None] = mapped_column(CODE)
    pm: Mapped[str | None] = mapped_column(CODE)
    tnm_prefix: Mapped[str | None] = mapped_column(CODE)  # y / r / a / yr of pt, pn, pm
    size_mm: Mapped[float | None] = mapped_column(Float)
    margin: Mapped[str | None] = mapped_column(CODE)
    necrosis: Mapped[bool | None] = mapped_column(Boolean)
    sarcomatoid: Mapped[bool | None] = mapped_column(Boolean)


class Complication(Base):
    __tablename__ = "complications"
    __table_args__ = (UniqueConstraint("intervention_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    intervention_id: Mapped[str] = mapped_column(
        ForeignKey("interventions.intervention_id"), index=True
    )
    # Order of this complication among its intervention's rows in the CSV (upsert key).
    seq: Mapped[int] = mapped_column(Integer)
    date: Mapped[dt.date | None] = mapped_column(Date)
    clavien_dindo: Mapped[str] = mapped_column(CODE)
    description: Mapped[str | None] = mapped_column(Text)


class Lab(Base):
    __tablename__ = "labs"
    __table_args__ = (
        # One index serves both the natural key and "this patient's creatinine over time".
        UniqueConstraint("patient_id", "test", "date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.patient_id"))
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    test: Mapped[str] = mapped_column(CODE)
    value: Mapped[float] = mapped_column(Float)
    # "<", "<=", ">", ">=": the value is a reporting limit (eGFR ">90"); NULL = measured.
    comparator: Mapped[str | None] = mapped_column(CODE)
    unit: Mapped[str] = mapped_column(CODE)
    lln: Mapped[float | None] = mapped_column(Float)
    uln: Mapped[float | None] = mapped_column(Float)
    equation: Mapped[str | None] = mapped_column(CODE)
    # Derived: eGFR recomputed from a creatinine, with the equation that produced it.
    egfr: Mapped[float | None] = mapped_column(Float)
    egfr_equation: Mapped[str | None] = mapped_column(CODE)
    # Derived: the LOINC term of the test (by unit kind and eGFR equation) and the UCUM code
    # of the unit as reported (`registry/codes/loinc.csv`, `ucum.csv`); NULL when none fits.
    loinc: Mapped[str | None] = mapped_column(CODE)
    ucum: Mapped[str | None] = mapped_column(CODE)


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("patient_id", "tumour_id", "date", "type"),
        Index("ix_events_patient_type_date", "patient_id", "type", "date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.patient_id"))
    tumour_id: Mapped[str | None] = mapped_column(ForeignKey("tumours.tumour_id"), index=True)
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    type: Mapped[str] = mapped_column(CODE, index=True)
    detail: Mapped[str | None] = mapped_column(Text)


class Staging(Base):
    """A TNM staging as recorded (clinical, pathological, y- or r-prefixed)."""

    __tablename__ = "staging"
    __table_args__ = (UniqueConstraint("tumour_id", "date", "classification"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tumour_id: Mapped[str] = mapped_column(ForeignKey("tumours.tumour_id"), index=True)
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    classification: Mapped[str] = mapped_column(CODE)
    t_category: Mapped[str | None] = mapped_column(CODE)
    n_category: Mapped[str | None] = mapped_column(CODE)
    m_category: Mapped[str | None] = mapped_column(CODE)
    stage_group: Mapped[str | None] = mapped_column(CODE)
    ajcc_edition: Mapped[str] = mapped_column(CODE)
    basis: Mapped[str | None] = mapped_column(CODE)


class Performance(Base):
    __tablename__ = "performance"
    __table_args__ = (UniqueConstraint("patient_id", "date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.patient_id"))
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    ecog: Mapped[int | None] = mapped_column(Integer)
    karnofsky: Mapped[int | None] = mapped_column(Integer)


class DiseaseStatus(Base):
    __tablename__ = "disease_status"
    __table_args__ = (UniqueConstraint("patient_id", "tumour_id", "date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.patient_id"))
    tumour_id: Mapped[str | None] = mapped_column(ForeignKey("tumours.tumour_id"), index=True)
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(CODE)
    evidence: Mapped[str | None] = mapped_column(CODE)


class Metastasis(Base):
    __tablename__ = "metastases"
    __table_args__ = (UniqueConstraint("patient_id", "date", "site"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.patient_id"))
    tumour_id: Mapped[str | None] = mapped_column(ForeignKey("tumours.tumour_id"), index=True)
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    site: Mapped[str] = mapped_column(CODE)
    detection: Mapped[str | None] = mapped_column(CODE)


class SystemicTherapy(Base):
    __tablename__ = "systemic_therapy"
    __table_args__ = (UniqueConstraint("patient_id", "agent", "start_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.patient_id"))
    tumour_id: Mapped[str | None] = mapped_column(ForeignKey("tumours.tumour_id"), index=True)
    agent: Mapped[str] = mapped_column(CODE)
    regimen: Mapped[str | None] = mapped_column(String(200))
    line: Mapped[int | None] = mapped_column(Integer)
    start_date: Mapped[dt.date] = mapped_column(Date, index=True)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    stop_reason: Mapped[str | None] = mapped_column(CODE)


class Radiotherapy(Base):
    __tablename__ = "radiotherapy"
    __table_args__ = (UniqueConstraint("patient_id", "start_date", "site"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.patient_id"))
    tumour_id: Mapped[str | None] = mapped_column(ForeignKey("tumours.tumour_id"), index=True)
    start_date: Mapped[dt.date] = mapped_column(Date, index=True)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    modality: Mapped[str | None] = mapped_column(CODE)
    site: Mapped[str] = mapped_column(CODE)
    dose_gy: Mapped[float | None] = mapped_column(Float)
    fractions: Mapped[int | None] = mapped_column(Integer)


class AuditLog(Base):
    """Append-only, hash-chained record of every change (see `registry.audit`)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity_record", "entity", "entity_id"),)

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[str] = mapped_column(String(40))  # ISO-8601 UTC, hashed exactly as stored
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(10))  # insert | update | delete
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(400))
    field: Mapped[str | None] = mapped_column(String(64))
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


# Source-data tables in import order, keyed by dictionary file name.
TABLES = {
    "patients": Patient.__table__,
    "tumours": Tumour.__table__,
    "imaging": Imaging.__table__,
    "interventions": Intervention.__table__,
    "pathology": Pathology.__table__,
    "complications": Complication.__table__,
    "labs": Lab.__table__,
    "events": Event.__table__,
    "staging": Staging.__table__,
    "performance": Performance.__table__,
    "disease_status": DiseaseStatus.__table__,
    "metastases": Metastasis.__table__,
    "systemic_therapy": SystemicTherapy.__table__,
    "radiotherapy": Radiotherapy.__table__,
}
